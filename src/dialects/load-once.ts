// A driver module imported on first use and then kept: a bot whose environments never use a driver
// never pays for loading it (mssql costs about 30 MiB and 200 ms at start, issue 18). A failed import
// is not kept, so the next statement tries again.
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  };
}
