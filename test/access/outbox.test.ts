// The outbox dispatcher on a real SQLite file with fake timers: delivery, retries, deadlines, give-up, isolation, store back-off, lease take-over, order per key.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOutbox, isPermanentSlackError, type OutboxHandler, type OutboxOptions } from '../../src/access/core/outbox.js';
import { createLogger } from '../../src/log.js';
import type { OutboxItem } from '../../src/store/outbox.js';
import type { Store } from '../../src/store/store.js';
import { newRequest, useTempStores } from '../store/fixtures.js';

const temp = useTempStores();
const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);
// Date.now is faked with the timers: the store, the dispatcher and within() share one simulated time.
const clock = { now: () => Date.now() };

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function setup(overrides: Partial<OutboxOptions> = {}, store: Store = temp.open(undefined, clock).store) {
  const lines: LogLine[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
  const outbox = createOutbox({ store, clock, log, random: () => 0.5, owner: 'one', ...overrides });
  return { store, outbox, lines };
}

/** A handler that never settles: a Slack call that hangs. */
const hang: OutboxHandler = () => new Promise<void>(() => {});

function slackError(code: string): Error {
  return Object.assign(new Error(`An API error occurred: ${code}`), { code: 'slack_webapi_platform_error', data: { ok: false, error: code } });
}

describe('delivery', () => {
  it('sends a row through its topic handler and marks it sent', async () => {
    const seen: OutboxItem[] = [];
    const { store, outbox } = setup({ handlers: { 'revoked.requester': async (item) => void seen.push(item) } });
    outbox.start();
    const id = outbox.enqueue({ topic: 'revoked.requester', requestId: 'r_aaaaaaaaaa', payload: { user: 'U01' } });

    await vi.advanceTimersByTimeAsync(0);
    await outbox.idle();

    expect(seen).toMatchObject([{ id, payload: { user: 'U01' }, attempts: 1 }]);
    expect(store.outbox.list()).toMatchObject([{ id, state: 'sent', sentAt: T0 }]);
    expect(outbox.pending()).toBe(0);
    await outbox.stop();
  });

  it('retries a failing handler after the configured delays, then sends', async () => {
    const calls: number[] = [];
    const { store, outbox } = setup({
      retryDelaysMs: [1_000, 5_000],
      handlers: {
        dm: async () => {
          calls.push(Date.now());
          if (calls.length < 3) throw new Error('ratelimited');
        },
      },
    });
    outbox.start();
    outbox.enqueue({ topic: 'dm', payload: {} });

    await vi.advanceTimersByTimeAsync(60_000);

    expect(calls).toEqual([T0, T0 + 1_000, T0 + 6_000]);
    expect(store.outbox.list()).toMatchObject([{ state: 'sent', attempts: 3, lastError: 'ratelimited' }]);
    await outbox.stop();
  });

  it('jitters each delay by ±20% with the injected random', async () => {
    const calls: number[] = [];
    const { outbox } = setup({ random: () => 0, retryDelaysMs: [10_000] });
    outbox.register('fail', async () => {
      calls.push(Date.now());
      throw new Error('no');
    });
    outbox.start();
    outbox.enqueue({ topic: 'fail', payload: {} });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls).toEqual([T0, T0 + 8_000]);
    await outbox.stop();
  });

  it('gives up after the last retry, with an audit entry, and never logs the payload', async () => {
    const { store, outbox, lines } = setup({
      retryDelaysMs: [1_000],
      sanitize: (message) => message.replace(/hunter2/g, '[redacted]'),
      handlers: { dm: async () => Promise.reject(new Error('refused for hunter2')) },
    });
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    outbox.start();
    outbox.enqueue({ topic: 'dm', requestId: request.id, env: 'dev', payload: { text: 'PAYLOAD-MARK' } });

    await vi.advanceTimersByTimeAsync(10_000);

    expect(store.outbox.list()).toMatchObject([{ state: 'dead', attempts: 2, lastError: 'refused for [redacted]' }]);
    expect(store.audit.list({ requestId: request.id }).at(-1)).toMatchObject({
      actor: 'bot',
      action: 'delivery_failed',
      detail: { what: 'dm', error: 'refused for [redacted]' },
    });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('PAYLOAD-MARK');
    expect(text).not.toContain('hunter2');
    expect(lines.map((l) => l.msg)).toContain('outbox delivery given up');
    await outbox.stop();
  });

  it.each(['channel_not_found', 'not_in_channel', 'user_not_found', 'invalid_auth'])('gives up at once on Slack %s, audited', async (code) => {
    const { store, outbox } = setup({ handlers: { dm: async () => Promise.reject(slackError(code)) } });
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    outbox.start();
    outbox.enqueue({ topic: 'dm', requestId: request.id, payload: {} });

    await vi.advanceTimersByTimeAsync(0);
    await outbox.idle();

    expect(store.outbox.list()).toMatchObject([{ state: 'dead', attempts: 1 }]);
    expect(store.audit.list({ requestId: request.id }).at(-1)).toMatchObject({ action: 'delivery_failed', detail: { what: 'dm' } });
    await outbox.stop();
  });

  it('isPermanentSlackError: only platform errors retrying cannot fix', () => {
    expect(isPermanentSlackError(slackError('channel_not_found'))).toBe(true);
    expect(isPermanentSlackError(slackError('ratelimited'))).toBe(false);
    expect(isPermanentSlackError(new Error('channel_not_found'))).toBe(false);
    expect(isPermanentSlackError(undefined)).toBe(false);
  });
});

describe('isolation', () => {
  it('times out a handler that never settles, while rows of other keys and topics go out meanwhile', async () => {
    const sent: string[] = [];
    const { store, outbox } = setup({
      timeoutMs: 10_000,
      handlers: { hang, dm: async (item) => void sent.push(String(item.payload.n)) },
    });
    outbox.start();
    const stuck = outbox.enqueue({ topic: 'hang', key: 'k1', payload: {} });
    outbox.enqueue({ topic: 'dm', key: 'k2', payload: { n: 'a' } });
    outbox.enqueue({ topic: 'dm', key: 'k2', payload: { n: 'b' } });
    outbox.enqueue({ topic: 'dm', payload: { n: 'c' } });

    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent).toEqual(['a', 'c', 'b']);

    await vi.advanceTimersByTimeAsync(9_000);
    expect(store.outbox.list({ state: 'pending' })).toMatchObject([
      { id: stuck, attempts: 1, leaseOwner: null, lastError: 'The handler did not finish within 10000 ms.' },
    ]);
    await outbox.stop();
  });

  it('delivers the other 39 of 40 independent rows while one handler hangs, never more than 4 at once', async () => {
    const sent: number[] = [];
    let active = 0;
    let maxActive = 0;
    const { outbox } = setup({
      concurrency: 4,
      handlers: {
        dm: async (item) => {
          active++;
          maxActive = Math.max(maxActive, active);
          if (item.payload.n === 0) return hang(item);
          await Promise.resolve();
          active--;
          sent.push(Number(item.payload.n));
        },
      },
    });
    outbox.start();
    for (let n = 0; n < 40; n++) outbox.enqueue({ topic: 'dm', payload: { n } });

    await vi.advanceTimersByTimeAsync(1_000);

    expect(sent.sort((a, b) => a - b)).toEqual(Array.from({ length: 39 }, (_, i) => i + 1));
    expect(maxActive).toBe(4);
    expect(outbox.pending()).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    await outbox.stop();
  });

  it('keeps the order within a key when the first row failed once', async () => {
    const attempts: string[] = [];
    const { outbox } = setup({
      retryDelaysMs: [3_000],
      handlers: {
        dm: async (item) => {
          const n = String(item.payload.n);
          attempts.push(n);
          if (n === 'first' && item.attempts === 1) throw new Error('timeout');
        },
      },
    });
    outbox.start();
    outbox.enqueue({ topic: 'dm', key: 'r_1', payload: { n: 'first' } });
    outbox.enqueue({ topic: 'dm', key: 'r_1', payload: { n: 'second' } });

    await vi.advanceTimersByTimeAsync(2_000);
    expect(attempts).toEqual(['first']);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(attempts).toEqual(['first', 'first', 'second']);
    await outbox.stop();
  });
});

describe('leases and the store', () => {
  it('a row leased by a dispatcher that crashed before markSent is delivered by another once the lease expires', async () => {
    const sent: number[] = [];
    const { store, outbox } = setup({ owner: 'two', leaseMs: 30_000, handlers: { dm: async (item) => void sent.push(item.id) } });
    const id = store.outbox.enqueue({ topic: 'dm', payload: {} });
    store.outbox.lease(T0, 'crashed', 30_000, 10);

    await outbox.runDue(T0 + 29_999);
    await outbox.idle();
    expect(sent).toEqual([]);

    await outbox.runDue(T0 + 30_000);
    await outbox.idle();
    expect(sent).toEqual([id]);
    expect(store.outbox.list()).toMatchObject([{ id, state: 'sent', attempts: 2 }]);
  });

  it('backs off when the store throws (1 s, 2 s, 4 s … 60 s), warns once per streak, and says when it recovered', async () => {
    const real = temp.open(undefined, clock).store;
    let broken = true;
    const leaseCalls: number[] = [];
    const store: Store = {
      ...real,
      outbox: {
        ...real.outbox,
        lease: (...args) => {
          leaseCalls.push(Date.now());
          if (broken) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
          return real.outbox.lease(...args);
        },
      },
    };
    const sent: number[] = [];
    const { outbox, lines } = setup({ handlers: { dm: async (item) => void sent.push(item.id) } }, store);
    outbox.start();
    const id = outbox.enqueue({ topic: 'dm', payload: {} });

    await vi.advanceTimersByTimeAsync(30_000);
    // Enqueues poke the dispatcher; while it backs off, a poke does not cut the pause short.
    for (let n = 0; n < 5; n++) outbox.enqueue({ topic: 'dm', payload: { n } });
    await vi.advanceTimersByTimeAsync(10 * 60_000 - 30_000);

    const gaps = leaseCalls.slice(1).map((at, i) => at - (leaseCalls[i] ?? 0));
    expect(gaps.slice(0, 8)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    expect(leaseCalls.length).toBeLessThan(20);
    expect(lines.filter((l) => l.msg === 'outbox store failed; backing off')).toHaveLength(1);

    broken = false;
    await vi.advanceTimersByTimeAsync(60_000);
    await outbox.idle();
    expect(sent).toHaveLength(6);
    expect(sent[0]).toBe(id);
    expect(lines.filter((l) => l.msg === 'outbox store recovered')).toHaveLength(1);
    await outbox.stop();
  });

  it('stop waits for the handlers in flight; nothing runs after it', async () => {
    let finish: () => void = () => {};
    const calls: number[] = [];
    const { store, outbox } = setup({
      handlers: {
        dm: (item) => {
          calls.push(item.id);
          return new Promise<void>((resolve) => (finish = resolve));
        },
      },
    });
    outbox.start();
    outbox.enqueue({ topic: 'dm', key: 'k', payload: {} });
    outbox.enqueue({ topic: 'dm', key: 'k', payload: {} });
    await vi.advanceTimersByTimeAsync(0);

    let stopped = false;
    const stopping = outbox.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    await vi.advanceTimersByTimeAsync(60_000);

    expect(calls).toHaveLength(1);
    expect(store.outbox.list().map((i) => i.state)).toEqual(['sent', 'pending']);
  });

  it('refuses a second handler for one topic', () => {
    const { outbox } = setup({ handlers: { dm: async () => {} } });
    expect(() => outbox.register('dm', async () => {})).toThrow('has a handler already');
  });
});
