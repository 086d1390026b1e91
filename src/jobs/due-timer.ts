// A timer that sleeps until the next moment work is due, runs it, and sleeps again.
// Revocation must be on time to the second: a minute cron would be up to 60 s late, so the timer aims
// at the exact expiry, and a cap on each sleep bounds drift, clock jumps and anything it was not told.
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';

export interface TimerApi {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: TimerApi = { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) };

export interface DueTimerOptions {
  /** The earliest moment (ms epoch) anything is due, or null when nothing is. */
  nextDueAt: () => number | null;
  /** Does everything due at `now`; the timer never runs two at once. */
  run: (now: number) => Promise<void>;
  clock: Clock;
  log: Logger;
  /** Longest sleep, so a missed poke or a clock change costs at most this much. Default 15 s. */
  maxSleepMs?: number;
  /** Pause after a failed run before trying again; it doubles with each failure in a row, up to maxRetryMs. Default 1 s. */
  retryMs?: number;
  /** Longest pause between failed runs (a store that stays locked is tried this often, no more). Default 60 s. */
  maxRetryMs?: number;
  timers?: TimerApi;
}

export interface DueTimer {
  start(): void;
  /** Something changed (a user activated, an expiry extended): look again at once. */
  poke(): void;
  /** Stops, after the run in progress (if any) finishes. */
  stop(): Promise<void>;
  /** Resolves when no run is in progress (tests). */
  idle(): Promise<void>;
  /** Started and not stopped (readiness). */
  isRunning(): boolean;
}

export function createDueTimer(options: DueTimerOptions): DueTimer {
  const { clock, log } = options;
  const timers = options.timers ?? realTimers;
  const maxSleep = options.maxSleepMs ?? 15_000;
  const retryMs = options.retryMs ?? 1000;
  const maxRetryMs = options.maxRetryMs ?? 60_000;
  /** Failed runs in a row: the pause before the next doubles with each, so a failing store is not hammered. */
  let failures = 0;
  let handle: unknown;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  function schedule(delay?: number): void {
    if (stopped) return;
    if (handle !== undefined) timers.clear(handle);
    let ms = delay;
    if (ms === undefined) {
      let next: number | null;
      try {
        next = options.nextDueAt();
      } catch (err) {
        // The store cannot be read: try again after the backoff rather than stop the timer for good.
        failures++;
        if (failures === 1 || failures % 10 === 0) log.error({ err, failures }, 'could not read when work is next due');
        next = clock.now() + Math.min(retryMs * 2 ** (failures - 1), maxRetryMs);
      }
      ms = next === null ? maxSleep : Math.min(Math.max(next - clock.now(), 0), maxSleep);
    }
    handle = timers.set(tick, ms);
  }

  /** After a run: at once when poked meanwhile, after the backoff when it failed, else when next due. */
  function nextRun(failed: boolean): void {
    if (failed) {
      again = false;
      schedule(Math.min(retryMs * 2 ** (failures - 1), maxRetryMs));
    } else if (again) {
      again = false;
      schedule(0);
    } else {
      schedule();
    }
  }

  function tick(): void {
    handle = undefined;
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      let failed = false;
      try {
        await options.run(clock.now());
        if (failures > 0) log.info({ failures }, 'scheduled runs work again');
        failures = 0;
      } catch (err) {
        failed = true;
        failures++;
        // One line when a streak starts, then every tenth: a locked store must not flood the log.
        if (failures === 1 || failures % 10 === 0) log.error({ err, failures }, 'scheduled run failed');
      } finally {
        running = undefined;
      }
      nextRun(failed);
    })();
  }

  return {
    start() {
      stopped = false;
      schedule(0);
    },
    poke() {
      if (stopped) return;
      if (running) again = true;
      // While failing, the backoff stands: a poke per finished revocation must not turn it into a spin.
      else if (failures === 0) schedule();
    },
    async stop() {
      stopped = true;
      if (handle !== undefined) timers.clear(handle);
      handle = undefined;
      await running;
    },
    async idle() {
      while (running) await running;
    },
    isRunning: () => !stopped,
  };
}
