// The outbox on a real SQLite file: order per key, lease exclusivity and expiry, give-up with its audit entry, secret refusal, nextDueAt.
import { describe, expect, it } from 'vitest';
import { T0, newRequest, testClock, useTempStores, thrown } from './fixtures.js';

const temp = useTempStores();
const LEASE = 30_000;

describe('enqueue', () => {
  it('writes a pending row, due now unless told otherwise', () => {
    const { store } = temp.open();
    const id = store.outbox.enqueue({ topic: 'revoked.requester', requestId: 'r_aaaaaaaaaa', env: 'dev', payload: { user: 'U01' } });
    const later = store.outbox.enqueue({ topic: 'reminder.expiry', payload: {}, notBefore: T0 + 60_000 });

    expect(store.outbox.list()).toMatchObject([
      { id, topic: 'revoked.requester', requestId: 'r_aaaaaaaaaa', env: 'dev', orderKey: null, payload: { user: 'U01' }, state: 'pending', attempts: 0, nextAttemptAt: T0 },
      { id: later, nextAttemptAt: T0 + 60_000 },
    ]);
    expect(store.outbox.pending()).toBe(2);
  });

  it.each([
    ['at the top', { password: 'x' }],
    ['nested', { user: { name: 'a', secret: 'x' } }],
    ['in an array', { blocks: [{ text: 'a' }, { apiToken: 'x' }] }],
  ])('refuses a key named like a secret %s, writing nothing', (_where, payload) => {
    const { store } = temp.open();
    const err = thrown(() => store.outbox.enqueue({ topic: 'credentials.dm', payload }));
    expect(err.code).toBe('internal');
    expect(store.outbox.list()).toEqual([]);
  });

  it.each(['', 'Revoked', 'a b', 'x'.repeat(65)])('refuses the topic %j', (topic) => {
    const { store } = temp.open();
    expect(thrown(() => store.outbox.enqueue({ topic, payload: {} })).code).toBe('internal');
  });

  it('joins a store transaction: rolled back with the change it announces', () => {
    const { store } = temp.open();
    expect(() =>
      store.transaction(() => {
        store.outbox.enqueue({ topic: 'revoked.requester', payload: {} });
        throw new Error('the state change failed');
      }),
    ).toThrow('the state change failed');
    expect(store.outbox.pending()).toBe(0);
  });
});

describe('lease', () => {
  it('takes due rows only, counts the attempt and records the owner', () => {
    const { store } = temp.open();
    const now = store.outbox.enqueue({ topic: 'a', payload: {} });
    store.outbox.enqueue({ topic: 'b', payload: {}, notBefore: T0 + 1 });

    const leased = store.outbox.lease(T0, 'one', LEASE, 10);

    expect(leased).toMatchObject([{ id: now, attempts: 1, leaseOwner: 'one', leaseUntil: T0 + LEASE }]);
  });

  it('gives rows of one key out one at a time, in enqueue order; rows without a key are independent', () => {
    const { store } = temp.open();
    const k1 = store.outbox.enqueue({ topic: 'a', key: 'r_1', payload: { n: 1 } });
    const k2 = store.outbox.enqueue({ topic: 'b', key: 'r_1', payload: { n: 2 } });
    const free1 = store.outbox.enqueue({ topic: 'c', payload: {} });
    const free2 = store.outbox.enqueue({ topic: 'c', payload: {} });

    expect(store.outbox.lease(T0, 'one', LEASE, 10).map((i) => i.id)).toEqual([k1, free1, free2]);
    // Held by its own dispatcher, failed and due again: still the first of its key, so k2 waits.
    store.outbox.markFailed(k1, 'one', 'slow', T0 + 5_000);
    expect(store.outbox.lease(T0 + 5_000, 'one', LEASE, 10).map((i) => i.id)).toEqual([k1]);
    expect(store.outbox.markSent(k1, 'one')).toBe(true);
    expect(store.outbox.lease(T0 + 5_000, 'one', LEASE, 10).map((i) => i.id)).toEqual([k2]);
  });

  it('lets a later row of a key go once the first is dead', () => {
    const { store } = temp.open();
    const first = store.outbox.enqueue({ topic: 'a', key: 'k', payload: {} });
    const second = store.outbox.enqueue({ topic: 'a', key: 'k', payload: {} });
    store.outbox.lease(T0, 'one', LEASE, 10);
    store.outbox.markDead(first, 'one', 'channel_not_found');
    expect(store.outbox.lease(T0, 'one', LEASE, 10).map((i) => i.id)).toEqual([second]);
  });

  it('never gives one row to two owners, even on two connections to the file', () => {
    const { store: a, path } = temp.open();
    const { store: b } = temp.open(path);
    for (let i = 0; i < 6; i++) a.outbox.enqueue({ topic: 'a', payload: { i } });

    const first = a.outbox.lease(T0, 'one', LEASE, 4).map((i) => i.id);
    const second = b.outbox.lease(T0, 'two', LEASE, 4).map((i) => i.id);

    expect(first).toHaveLength(4);
    expect(second).toHaveLength(2);
    expect(first.filter((id) => second.includes(id))).toEqual([]);
    expect(b.outbox.markSent(first[0] ?? 0, 'two')).toBe(false);
    expect(a.outbox.markSent(first[0] ?? 0, 'one')).toBe(true);
  });

  it('re-leases a row whose lease expired (its dispatcher crashed); the old owner can no longer settle it', () => {
    const { store } = temp.open();
    const id = store.outbox.enqueue({ topic: 'a', payload: {} });
    store.outbox.lease(T0, 'crashed', LEASE, 1);

    expect(store.outbox.lease(T0 + LEASE - 1, 'two', LEASE, 1)).toEqual([]);
    expect(store.outbox.lease(T0 + LEASE, 'two', LEASE, 1)).toMatchObject([{ id, attempts: 2, leaseOwner: 'two' }]);
    expect(store.outbox.markSent(id, 'crashed')).toBe(false);
    expect(store.outbox.markFailed(id, 'crashed', 'late', T0)).toBe(false);
    expect(store.outbox.markDead(id, 'crashed', 'late')).toBe(false);
    expect(store.outbox.markSent(id, 'two')).toBe(true);
    expect(store.outbox.list()).toMatchObject([{ id, state: 'sent', leaseOwner: null }]);
  });
});

describe('markFailed and markDead', () => {
  it('markFailed keeps the row pending from the next attempt on, with the error, lease released', () => {
    const { store } = temp.open();
    const id = store.outbox.enqueue({ topic: 'a', payload: {} });
    store.outbox.lease(T0, 'one', LEASE, 1);
    store.outbox.markFailed(id, 'one', 'x'.repeat(1_000), T0 + 2_000);

    const [row] = store.outbox.list();
    expect(row).toMatchObject({ state: 'pending', nextAttemptAt: T0 + 2_000, leaseOwner: null, leaseUntil: null });
    expect(row?.lastError?.length).toBeLessThanOrEqual(300);
    expect(store.outbox.lease(T0 + 1_999, 'one', LEASE, 1)).toEqual([]);
  });

  it('markDead appends the delivery_failed audit entry, about the request', () => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    const id = store.outbox.enqueue({ topic: 'revoked.requester', requestId: request.id, env: 'dev', payload: {} });
    store.outbox.lease(T0, 'one', LEASE, 1);

    expect(store.outbox.markDead(id, 'one', 'channel_not_found')).toBe(true);

    expect(store.outbox.list()).toMatchObject([{ state: 'dead', lastError: 'channel_not_found' }]);
    expect(store.audit.list({ requestId: request.id }).at(-1)).toMatchObject({
      actor: 'bot',
      action: 'delivery_failed',
      env: 'dev',
      detail: { what: 'revoked.requester', error: 'channel_not_found' },
    });
    expect(store.outbox.pending()).toBe(0);
  });

  it('markDead names an interop action in the detail (the audit log only references requests)', () => {
    const { store } = temp.open();
    const id = store.outbox.enqueue({ topic: 'interop.done', requestId: 'i_aaaaaaaaaa', env: 'dev', payload: {} });
    store.outbox.lease(T0, 'one', LEASE, 1);
    store.outbox.markDead(id, 'one', 'user_not_found');
    expect(store.audit.list().at(-1)).toMatchObject({ action: 'delivery_failed', requestId: null, detail: { what: 'interop.done', subject: 'i_aaaaaaaaaa' } });
  });

  it('markDead is one transaction with its audit entry: a refused entry leaves the row pending', () => {
    const { store, path } = temp.open();
    const id = store.outbox.enqueue({ topic: 'a', payload: {} });
    store.outbox.lease(T0, 'one', LEASE, 1);
    // Make the audit insert fail: a trigger another connection adds.
    temp.raw(path).exec(`CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END`);

    expect(() => store.outbox.markDead(id, 'one', 'boom')).toThrow('audit refused');
    expect(store.outbox.list()).toMatchObject([{ id, state: 'pending', leaseOwner: 'one' }]);
  });
});

describe('nextDueAt', () => {
  it('is null with nothing pending', () => {
    const { store } = temp.open();
    expect(store.outbox.nextDueAt(T0)).toBeNull();
  });

  it('is the earliest due row, the end of a live lease, and ignores rows held back by their key', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const first = store.outbox.enqueue({ topic: 'a', key: 'k', payload: {}, notBefore: T0 + 10_000 });
    store.outbox.enqueue({ topic: 'a', key: 'k', payload: {} }); // due now, but behind `first`
    expect(store.outbox.nextDueAt(T0)).toBe(T0 + 10_000);

    store.outbox.lease(T0 + 10_000, 'one', LEASE, 1);
    expect(store.outbox.nextDueAt(T0 + 10_000)).toBe(T0 + 10_000 + LEASE);

    store.outbox.markSent(first, 'one');
    expect(store.outbox.nextDueAt(T0 + 10_000)).toBe(T0);
  });
});

describe('prune', () => {
  it('deletes sent rows older than the cut-off only', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const old = store.outbox.enqueue({ topic: 'a', payload: {} });
    const dead = store.outbox.enqueue({ topic: 'b', payload: {} });
    store.outbox.enqueue({ topic: 'c', payload: {}, notBefore: T0 + 1 });
    store.outbox.lease(T0, 'one', LEASE, 10);
    store.outbox.markSent(old, 'one');
    store.outbox.markDead(dead, 'one', 'gone');
    clock.advance(1_000);

    expect(store.outbox.prune(T0 + 1)).toBe(1);
    expect(store.outbox.list().map((i) => i.state)).toEqual(['dead', 'pending']);
  });
});
