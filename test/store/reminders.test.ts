// The reminder log on a real SQLite file: one claim per request and kind, across stores and restarts; sent, unsent, released; kind validation.
import { describe, expect, it } from 'vitest';
import { HOUR, T0, newRequest, testClock, useTempStores, thrown } from './fixtures.js';

const temp = useTempStores();

describe('claim', () => {
  it('is true for the first caller only', () => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');

    expect(store.reminders.claim(request.id, 'expiry:3600000')).toBe(true);
    expect(store.reminders.claim(request.id, 'expiry:3600000')).toBe(false);
    expect(store.reminders.claim(request.id, 'expiry:600000')).toBe(true);
  });

  it('is false for a second store on the same file (another process), and after a restart', () => {
    const { store: a, path } = temp.open();
    const { store: b } = temp.open(path);
    const request = a.requests.create(newRequest(), 'U0AAAAAAA');

    expect(a.reminders.claim(request.id, 'pending:1')).toBe(true);
    expect(b.reminders.claim(request.id, 'pending:1')).toBe(false);
    a.reminders.markSent(request.id, 'pending:1');
    a.close();
    b.close();

    const { store: restarted } = temp.open(path, testClock(T0 + HOUR));
    expect(restarted.reminders.claim(request.id, 'pending:1')).toBe(false);
    expect(restarted.reminders.kindsFor(request.id)).toEqual(['pending:1']);
  });

  it('keeps claims per request: the same kind on another request is its own', () => {
    const { store } = temp.open();
    const a = store.requests.create(newRequest({ requester: 'U01' }), 'U01');
    const b = store.requests.create(newRequest({ requester: 'U02' }), 'U02');

    expect(store.reminders.claim(a.id, 'pending:1')).toBe(true);
    expect(store.reminders.claim(b.id, 'pending:1')).toBe(true);
  });

  it('refuses a request that does not exist', () => {
    const { store } = temp.open();
    expect(thrown(() => store.reminders.claim('r_aaaaaaaaaa', 'pending:1')).code).toBe('internal');
  });

  it('joins a store transaction: rolled back with it', () => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');

    expect(() =>
      store.transaction(() => {
        store.reminders.claim(request.id, 'pending:1');
        throw new Error('the send could not even start');
      }),
    ).toThrow('the send could not even start');

    expect(store.reminders.claim(request.id, 'pending:1')).toBe(true);
  });
});

describe('markSent and listUnsent', () => {
  it('lists only claims never marked sent and older than the cut-off, oldest first, as claimed', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    store.reminders.claim(request.id, 'expiry:3600000');
    clock.advance(1_000);
    store.reminders.claim(request.id, 'pending:1');
    store.reminders.claim(request.id, 'pending:2');
    store.reminders.markSent(request.id, 'pending:2');
    clock.advance(1_000);
    store.reminders.claim(request.id, 'pending:3');

    expect(store.reminders.listUnsent(T0 + 2_000)).toEqual([
      { requestId: request.id, kind: 'expiry:3600000', claimedAt: T0 },
      { requestId: request.id, kind: 'pending:1', claimedAt: T0 + 1_000 },
    ]);
    // `before` is exclusive: a claim made at the cut-off is still being sent.
    expect(store.reminders.listUnsent(T0 + 1_000)).toEqual([{ requestId: request.id, kind: 'expiry:3600000', claimedAt: T0 }]);
    expect(store.reminders.listUnsent(T0)).toEqual([]);

    store.reminders.markSent(request.id, 'expiry:3600000');
    expect(store.reminders.listUnsent(T0 + 3_000).map((r) => r.kind)).toEqual(['pending:1', 'pending:3']);
  });

  it('records the clock as sent_at, keeping the first when marked twice', () => {
    const clock = testClock();
    const { store, path } = temp.open(undefined, clock);
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    store.reminders.claim(request.id, 'pending:1');
    clock.advance(5_000);
    store.reminders.markSent(request.id, 'pending:1');
    clock.advance(5_000);
    store.reminders.markSent(request.id, 'pending:1');

    expect(temp.raw(path).prepare('SELECT request_id AS requestId, kind, claimed_at AS claimedAt, sent_at AS sentAt FROM reminders').all()).toEqual([
      { requestId: request.id, kind: 'pending:1', claimedAt: T0, sentAt: T0 + 5_000 },
    ]);
  });

  it('refuses to mark sent a reminder never claimed', () => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    expect(thrown(() => store.reminders.markSent(request.id, 'pending:1')).code).toBe('internal');
  });
});

describe('release', () => {
  it('drops an unsent claim so it can be claimed again', () => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    store.reminders.claim(request.id, 'pending:1');

    store.reminders.release(request.id, 'pending:1');

    expect(store.reminders.kindsFor(request.id)).toEqual([]);
    expect(store.reminders.listUnsent(T0 + HOUR)).toEqual([]);
    expect(store.reminders.claim(request.id, 'pending:1')).toBe(true);
  });

  it('is a no-op for a claim that does not exist', () => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    expect(() => store.reminders.release(request.id, 'pending:1')).not.toThrow();
  });

  it('refuses a reminder already sent, which stays claimed', () => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    store.reminders.claim(request.id, 'pending:1');
    store.reminders.markSent(request.id, 'pending:1');

    expect(thrown(() => store.reminders.release(request.id, 'pending:1')).code).toBe('internal');
    expect(store.reminders.claim(request.id, 'pending:1')).toBe(false);
  });
});

describe('kindsFor', () => {
  it('lists the kinds claimed for that request, sent or not, in claim order', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const a = store.requests.create(newRequest({ requester: 'U01' }), 'U01');
    const b = store.requests.create(newRequest({ requester: 'U02' }), 'U02');
    store.reminders.claim(a.id, 'pending:2');
    store.reminders.claim(a.id, 'expiry:3600000');
    clock.advance(1_000);
    store.reminders.claim(a.id, 'expiry:600000');
    store.reminders.markSent(a.id, 'pending:2');
    store.reminders.claim(b.id, 'pending:1');

    expect(store.reminders.kindsFor(a.id)).toEqual(['pending:2', 'expiry:3600000', 'expiry:600000']);
    expect(store.reminders.kindsFor(b.id)).toEqual(['pending:1']);
    expect(store.reminders.kindsFor('r_aaaaaaaaaa')).toEqual([]);
  });
});

describe('kind validation', () => {
  it.each([
    ['longer than 64 characters', 'x'.repeat(65)],
    ['empty', ''],
    ['upper case', 'Pending:1'],
    ['a space', 'pending 1'],
    ['a dot', 'expiry:1.5'],
    ['a quote', "pending'1"],
    ['a newline', 'pending:1\n'],
  ])('refuses a kind %s in claim, markSent and release, writing nothing', (_label, kind) => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');

    for (const call of [store.reminders.claim, store.reminders.markSent, store.reminders.release]) {
      expect(thrown(() => call(request.id, kind)).code).toBe('internal');
    }
    expect(store.reminders.kindsFor(request.id)).toEqual([]);
  });

  it.each(['x'.repeat(64), 'expiry:3600000', 'pending:1', 'orphan_report-2025'])('accepts %s', (kind) => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    expect(store.reminders.claim(request.id, kind)).toBe(true);
  });

  it('is enforced by the table too', () => {
    const { store, path } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    const insert = temp.raw(path).prepare('INSERT INTO reminders (request_id, kind, claimed_at) VALUES (?, ?, 0)');

    expect(() => insert.run(request.id, 'Pending 1')).toThrow(/CHECK constraint failed/);
    expect(() => insert.run(request.id, 'x'.repeat(65))).toThrow(/CHECK constraint failed/);
  });
});

describe('reminder messages', () => {
  it('are recorded once per channel and ts, listed per request oldest first, and survive a restart', () => {
    const { store, path } = temp.open();
    const a = store.requests.create(newRequest({ requester: 'U01' }), 'U01');
    const b = store.requests.create(newRequest({ requester: 'U02' }), 'U02');
    store.reminders.recordMessage(a.id, { channel: 'C0REMINDERS', ts: '1.1' });
    store.reminders.recordMessage(a.id, { channel: 'D0OWNER', ts: '1.2' });
    store.reminders.recordMessage(a.id, { channel: 'C0REMINDERS', ts: '1.1' }); // an outbox retry
    store.reminders.recordMessage(b.id, { channel: 'C0REMINDERS', ts: '2.1' });
    store.close();
    const { store: restarted } = temp.open(path);
    expect(restarted.reminders.messagesFor(a.id)).toEqual([
      { channel: 'C0REMINDERS', ts: '1.1' },
      { channel: 'D0OWNER', ts: '1.2' },
    ]);
    expect(restarted.reminders.messagesFor(b.id)).toEqual([{ channel: 'C0REMINDERS', ts: '2.1' }]);
    expect(restarted.reminders.messagesFor('r_nobody')).toEqual([]);
  });

  it('refuses a message of a request that does not exist, or without channel or ts', () => {
    const { store } = temp.open();
    const a = store.requests.create(newRequest(), 'U01');
    expect(() => store.reminders.recordMessage('r_nobody', { channel: 'C0', ts: '1.1' })).toThrow();
    expect(() => store.reminders.recordMessage(a.id, { channel: '', ts: '1.1' })).toThrow();
    expect(() => store.reminders.recordMessage(a.id, { channel: 'C0', ts: '' })).toThrow();
  });
});
