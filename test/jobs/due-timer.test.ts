// The due timer with fake timers and an injected clock: when it wakes, that it never overlaps runs, and recovers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDueTimer } from '../../src/jobs/due-timer.js';
import { createLogger } from '../../src/log.js';

const log = createLogger({ level: 'silent' });
const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

const clock = { now: () => Date.now() };

describe('createDueTimer', () => {
  it('wakes exactly when the next item is due, not on a fixed tick', async () => {
    const due = [T0 + 2_500, T0 + 7_250];
    const runs: number[] = [];
    const timer = createDueTimer({
      clock,
      log,
      nextDueAt: () => due.find((d) => !runs.some((r) => r >= d)) ?? null,
      run: async (now) => void runs.push(now),
    });
    timer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([T0]); // the start-up catch-up run
    await vi.advanceTimersByTimeAsync(2_499);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs.at(-1)).toBe(T0 + 2_500);
    await vi.advanceTimersByTimeAsync(4_750);
    expect(runs.at(-1)).toBe(T0 + 7_250);
    await timer.stop();
  });

  it('sleeps at most maxSleepMs when nothing is due, so a missed change costs little', async () => {
    const runs: number[] = [];
    const timer = createDueTimer({ clock, log, maxSleepMs: 10_000, nextDueAt: () => null, run: async (now) => void runs.push(now) });
    timer.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(runs).toEqual([T0, T0 + 10_000, T0 + 20_000, T0 + 30_000]);
    await timer.stop();
  });

  it('runs an overdue item at once', async () => {
    const runs: number[] = [];
    let due: number | null = null;
    const timer = createDueTimer({ clock, log, nextDueAt: () => due, run: async (now) => void runs.push(now) });
    timer.start();
    await vi.advanceTimersByTimeAsync(1_000);
    due = T0 - 60_000;
    timer.poke();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs.at(-1)).toBe(T0 + 1_000);
    due = null;
    await timer.stop();
  });

  it('a poke during a run causes one more run right after, never two at once', async () => {
    let active = 0;
    let maxActive = 0;
    let release: () => void = () => {};
    const runs: number[] = [];
    const timer = createDueTimer({
      clock,
      log,
      nextDueAt: () => null,
      run: async (now) => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs.push(now);
        if (runs.length === 1) await new Promise<void>((r) => (release = r));
        active--;
      },
    });
    timer.start();
    await vi.advanceTimersByTimeAsync(0);
    timer.poke();
    timer.poke();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toHaveLength(1);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toHaveLength(2);
    expect(maxActive).toBe(1);
    await timer.stop();
  });

  it('after a failed run, tries again after retryMs', async () => {
    const runs: number[] = [];
    const timer = createDueTimer({
      clock,
      log,
      retryMs: 500,
      maxSleepMs: 60_000,
      nextDueAt: () => null,
      run: async (now) => {
        runs.push(now);
        if (runs.length === 1) throw new Error('database down');
      },
    });
    timer.start();
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toEqual([T0, T0 + 500]);
    await timer.stop();
  });

  it('stop waits for the run in progress and nothing runs after', async () => {
    let finished = false;
    const runs: number[] = [];
    const timer = createDueTimer({
      clock,
      log,
      nextDueAt: () => T0,
      run: async (now) => {
        runs.push(now);
        await new Promise((r) => setTimeout(r, 100));
        finished = true;
      },
    });
    timer.start();
    await vi.advanceTimersByTimeAsync(0);
    const stopping = timer.stop();
    await vi.advanceTimersByTimeAsync(100);
    await stopping;
    expect(finished).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toHaveLength(1);
  });
});
