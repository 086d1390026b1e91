// One lane per environment: its database work runs there with bounded concurrency, so a database that
// hangs or fails fills only its own lane and delays nothing in another environment (issue 13, isolation).
import type { Logger } from '../../log.js';

export interface LaneOptions {
  /** Work items one lane runs at once. */
  concurrency: number;
  log: Logger;
  /** Told after each item settles (its slot is free again): the scheduler looks for more work. */
  onSettled?: (lane: string, key: string) => void;
}

export interface Lanes {
  /**
   * Starts `work` in `lane` unless an item with `key` is already running in any lane or the lane is
   * full; true when it started. The work's own errors are logged, never thrown to the caller.
   */
  run(lane: string, key: string, work: () => Promise<unknown>): boolean;
  /** Slots left in `lane`. */
  free(lane: string): number;
  /** Keys of every item running. */
  keys(): string[];
  has(key: string): boolean;
  /** Resolves once nothing runs in any lane (tests, shutdown). */
  idle(): Promise<void>;
}

export function createLanes(options: LaneOptions): Lanes {
  const running = new Map<string, { lane: string; done: Promise<void> }>();
  const counts = new Map<string, number>();

  return {
    run(lane, key, work) {
      if (running.has(key) || (counts.get(lane) ?? 0) >= options.concurrency) return false;
      counts.set(lane, (counts.get(lane) ?? 0) + 1);
      const done = (async () => {
        try {
          await work();
        } catch (err) {
          options.log.error({ err, lane, key }, 'lane work failed');
        } finally {
          running.delete(key);
          counts.set(lane, (counts.get(lane) ?? 1) - 1);
        }
        options.onSettled?.(lane, key);
      })();
      running.set(key, { lane, done });
      return true;
    },
    free: (lane) => Math.max(options.concurrency - (counts.get(lane) ?? 0), 0),
    keys: () => [...running.keys()],
    has: (key) => running.has(key),
    async idle() {
      while (running.size > 0) await Promise.all([...running.values()].map((r) => r.done));
    },
  };
}
