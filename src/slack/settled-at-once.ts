// Whether some work has already finished (or failed) before waiting on any I/O: the part of a use case
// that only checks memory and SQLite, answered inside Slack's acknowledgement.
//
// Why: a use case such as requestPermanent validates synchronously, then posts to Slack. A form must
// show the validation's refusals next to their fields (in the acknowledgement, Slack's 3 seconds),
// and must not wait for the posts. Everything that settles before the event loop's next turn
// happened without a network round trip; the rest is acknowledged first and awaited after.

export type AtOnce<T> = { done: T } | { failed: unknown } | 'running';

/** `work`'s outcome if it settles before the next turn of the event loop, else 'running' (the work carries on). */
export function settledAtOnce<T>(work: Promise<T>): Promise<AtOnce<T>> {
  return new Promise((resolve) => {
    const turn = setImmediate(() => resolve('running'));
    work.then(
      (done) => {
        clearImmediate(turn);
        resolve({ done });
      },
      (failed: unknown) => {
        clearImmediate(turn);
        resolve({ failed });
      },
    );
  });
}
