// The audit stream's cursors on a real SQLite file: where a sink starts, how it advances and fails, what is waiting, the source id.
import { describe, expect, it } from 'vitest';
import { T0, testClock, useTempStores } from './fixtures.js';

const temp = useTempStores();

function appendMany(store: ReturnType<typeof temp.open>['store'], count: number): number[] {
  return Array.from({ length: count }, (_, i) => store.audit.append({ actor: 'bot', action: `step-${i}` }).id);
}

describe('open', () => {
  it.each([
    { from: 'beginning' as const, lastId: () => 0, waiting: 3 },
    { from: 'now' as const, lastId: (ids: number[]) => ids.at(-1)!, waiting: 0 },
  ])('from $from starts the cursor where it says', ({ from, lastId, waiting }) => {
    const { store } = temp.open();
    const ids = appendMany(store, 3);

    const cursor = store.auditStream.open('webhook', from);

    expect(cursor).toEqual({ sink: 'webhook', lastId: lastId(ids), failures: 0, nextAttemptAt: 0, lastError: null, failingSince: null });
    expect(store.auditStream.waiting('webhook')).toBe(waiting);
  });

  it('leaves an existing cursor where it is, whatever `from` says now', () => {
    const { store } = temp.open();
    const [first] = appendMany(store, 3);
    store.auditStream.open('stdout', 'beginning');
    store.auditStream.advance('stdout', first!);

    expect(store.auditStream.open('stdout', 'now').lastId).toBe(first);
  });

  it('keeps the cursors of different sinks apart', () => {
    const { store } = temp.open();
    const ids = appendMany(store, 2);
    store.auditStream.open('stdout', 'beginning');
    store.auditStream.open('webhook', 'beginning');
    store.auditStream.advance('stdout', ids[1]!);

    expect(store.auditStream.waiting('stdout')).toBe(0);
    expect(store.auditStream.waiting('webhook')).toBe(2);
  });
});

describe('after', () => {
  it('returns the entries after an id, oldest first, at most `limit`', () => {
    const { store } = temp.open();
    const ids = appendMany(store, 5);

    expect(store.auditStream.after(ids[1]!, 2).map((e) => e.id)).toEqual([ids[2], ids[3]]);
    expect(store.auditStream.after(ids[4]!, 10)).toEqual([]);
  });
});

describe('advance and failed', () => {
  it('counts failures in a row with the first one\'s time, and clears them when a delivery is accepted', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const ids = appendMany(store, 2);
    store.auditStream.open('webhook', 'beginning');

    store.auditStream.failed('webhook', 'HTTP 500', T0 + 1_000);
    clock.advance(1_000);
    const second = store.auditStream.failed('webhook', 'no answer within 10s', T0 + 3_000);
    expect(second).toMatchObject({ failures: 2, nextAttemptAt: T0 + 3_000, lastError: 'no answer within 10s', failingSince: T0 });

    store.auditStream.advance('webhook', ids[1]!);
    expect(store.auditStream.cursor('webhook')).toEqual({
      sink: 'webhook',
      lastId: ids[1],
      failures: 0,
      nextAttemptAt: 0,
      lastError: null,
      failingSince: null,
    });
  });

  it('never moves a cursor back', () => {
    const { store } = temp.open();
    const ids = appendMany(store, 3);
    store.auditStream.open('stdout', 'beginning');
    store.auditStream.advance('stdout', ids[2]!);
    store.auditStream.advance('stdout', ids[0]!);

    expect(store.auditStream.cursor('stdout')?.lastId).toBe(ids[2]);
  });

  it('keeps only the start of a long error', () => {
    const { store } = temp.open();
    store.auditStream.open('webhook', 'beginning');
    expect(store.auditStream.failed('webhook', 'x'.repeat(5_000), T0).lastError).toHaveLength(300);
  });
});

describe('source', () => {
  it('is 16 hex digits, the same across reopenings, different per database', () => {
    const { store: a, path } = temp.open();
    const { store: b } = temp.open();
    const source = a.auditStream.source();
    a.close();
    const { store: reopened } = temp.open(path);

    expect(source).toMatch(/^[0-9a-f]{16}$/);
    expect(reopened.auditStream.source()).toBe(source);
    expect(b.auditStream.source()).not.toBe(source);
  });
});

describe('the table', () => {
  it('refuses a sink it does not know', () => {
    const { store, path } = temp.open();
    expect(store.auditStream.waiting('webhook')).toBe(0);
    expect(() => temp.raw(path).prepare("INSERT INTO audit_stream (sink, last_id, updated_at) VALUES ('syslog', 0, 0)").run()).toThrow(/CHECK/);
  });
});
