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
  /** Pause after a failed run before trying again. Default 1 s. */
  retryMs?: number;
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
  let handle: unknown;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  function schedule(delay?: number): void {
    if (stopped) return;
    if (handle !== undefined) timers.clear(handle);
    let ms = delay;
    if (ms === undefined) {
      const next = options.nextDueAt();
      ms = next === null ? maxSleep : Math.min(Math.max(next - clock.now(), 0), maxSleep);
    }
    handle = timers.set(tick, ms);
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
      } catch (err) {
        failed = true;
        log.error({ err }, 'scheduled run failed');
      } finally {
        running = undefined;
      }
      if (again) {
        again = false;
        schedule(0);
      } else {
        schedule(failed ? retryMs : undefined);
      }
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
      else schedule();
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
