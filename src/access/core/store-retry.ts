// A state write that must not be lost (a login exists, or is gone) is retried asynchronously when SQLite
// is busy or failing, instead of waiting synchronously on the event loop (busy_timeout stays short).
import { isSqliteError } from '../../store/sqlite-errors.js';

/** Pauses between tries: about 6 s in all, enough for a backup or an operator's shell to let go of the lock. */
export const STORE_RETRY_DELAYS_MS: readonly number[] = [50, 100, 250, 500, 1_000, 2_000, 2_000];

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Runs the synchronous store call `write`; on a SQLite error tries again after each delay, then throws the last error. */
export async function retryStore<T>(write: () => T, delaysMs: readonly number[] = STORE_RETRY_DELAYS_MS): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return write();
    } catch (err) {
      if (!isSqliteError(err) || attempt >= delaysMs.length) throw err;
      await pause(delaysMs[attempt]!);
    }
  }
}
