// The audit log on a real SQLite file: append and list, filters and order, append-only triggers, the secret-key guard.
import { describe, expect, it } from 'vitest';
import { T0, newRequest, testClock, useTempStores, thrown } from './fixtures.js';

const temp = useTempStores();

describe('append', () => {
  it('returns the stored entry, timed by the clock, with its detail as written', () => {
    const { store } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');

    const entry = store.audit.append({
      actor: 'scheduler',
      action: 'reminder_sent',
      requestId: request.id,
      env: 'dev',
      detail: { channel: 'C0REMIND', minutesLeft: 30, nested: { list: [1, 'two', null] } },
    });

    expect(entry).toEqual({
      id: expect.any(Number),
      at: T0,
      actor: 'scheduler',
      action: 'reminder_sent',
      requestId: request.id,
      env: 'dev',
      detail: { channel: 'C0REMIND', minutesLeft: 30, nested: { list: [1, 'two', null] } },
    });
    expect(store.audit.list({ requestId: request.id }).at(-1)).toEqual(entry);
  });

  it('stores null for what was left out', () => {
    const { store } = temp.open();
    const entry = store.audit.append({ actor: 'bot', action: 'started' });
    expect(entry).toMatchObject({ requestId: null, env: null, detail: null });
    expect(store.audit.list()).toEqual([entry]);
  });

  it('refuses an entry about a request that does not exist (foreign keys are on)', () => {
    const { store } = temp.open();
    const err = thrown(() => store.audit.append({ actor: 'bot', action: 'x', requestId: 'r_aaaaaaaaaa' }));
    expect(err.code).toBe('internal');
    expect(store.audit.list()).toEqual([]);
  });

  it('refuses a detail that is not JSON', () => {
    const { store } = temp.open();
    expect(thrown(() => store.audit.append({ actor: 'bot', action: 'x', detail: { big: 1n } })).code).toBe('internal');
    expect(store.audit.list()).toEqual([]);
  });
});

describe('the secret-key guard', () => {
  // The log cannot be corrected afterwards, so a credential must never reach it, whatever the caller's bug.
  it.each([
    ['password', { password: 'x' }],
    ['Password at depth', { plan: { Password: 'x' } }],
    ['a pass key inside an array', { steps: [{ ok: 1 }, { dbPass: 'x' }] }],
    ['secret', { clientSecret: 'x' }],
    ['token', { slack_token: 'x' }],
    ['a secret-named key even with a harmless value', { ownPassword: false }],
  ])('refuses %s and writes nothing', (_label, detail) => {
    const { store } = temp.open();

    const err = thrown(() => store.audit.append({ actor: 'bot', action: 'x', detail }));

    expect(err.code).toBe('internal');
    expect(err.message).not.toMatch(/'x'/);
    expect(store.audit.list()).toEqual([]);
  });

  it('lets ordinary keys through', () => {
    const { store } = temp.open();
    expect(() => store.audit.append({ actor: 'bot', action: 'x', detail: { username: 'dbx_ana', grantedTables: ['OSUSR_ABC_ORDER'] } })).not.toThrow();
  });
});

describe('list', () => {
  function seed() {
    const clock = testClock();
    const { store, path } = temp.open(undefined, clock);
    const a = store.requests.create(newRequest({ env: 'dev' }), 'U01');
    clock.advance(1_000);
    const b = store.requests.create(newRequest({ env: 'qa', requester: 'U02' }), 'U02');
    clock.advance(1_000);
    store.audit.append({ actor: 'bot', action: 'note', requestId: a.id, env: 'dev' });
    store.audit.append({ actor: 'bot', action: 'orphan_found', env: 'qa' });
    clock.advance(1_000);
    store.audit.append({ actor: 'bot', action: 'note', requestId: b.id, env: 'qa' });
    return { store, path, a, b };
  }

  it('returns everything, oldest first', () => {
    const { store } = seed();
    expect(store.audit.list().map((e) => [e.action, e.at])).toEqual([
      ['requested', T0],
      ['requested', T0 + 1_000],
      ['note', T0 + 2_000],
      ['orphan_found', T0 + 2_000],
      ['note', T0 + 3_000],
    ]);
  });

  it('filters by request, environment and time, alone or together, and limits', () => {
    const { store, a, b } = seed();
    const actions = (filter: Parameters<typeof store.audit.list>[0]) => store.audit.list(filter).map((e) => `${e.action}@${e.at - T0}`);

    expect(actions({ requestId: a.id })).toEqual(['requested@0', 'note@2000']);
    expect(actions({ env: 'qa' })).toEqual(['requested@1000', 'orphan_found@2000', 'note@3000']);
    expect(actions({ since: T0 + 2_000 })).toEqual(['note@2000', 'orphan_found@2000', 'note@3000']);
    expect(actions({ env: 'qa', since: T0 + 2_000 })).toEqual(['orphan_found@2000', 'note@3000']);
    expect(actions({ requestId: b.id, env: 'qa', since: T0 + 3_000 })).toEqual(['note@3000']);
    expect(actions({ requestId: b.id, env: 'dev' })).toEqual([]);
    expect(actions({ limit: 2 })).toEqual(['requested@0', 'requested@1000']);
    expect(actions({ env: 'qa', limit: 1 })).toEqual(['requested@1000']);
  });

  it('refuses a limit that is not a positive whole number', () => {
    const { store } = seed();
    expect(thrown(() => store.audit.list({ limit: 0 })).code).toBe('internal');
    expect(thrown(() => store.audit.list({ limit: 1.5 })).code).toBe('internal');
  });
});

describe('append-only', () => {
  it('refuses UPDATE and DELETE through raw SQL, leaving the entries as they were', () => {
    const { store, path } = temp.open();
    store.requests.create(newRequest(), 'U0AAAAAAA');
    store.audit.append({ actor: 'bot', action: 'note' });
    const before = store.audit.list();
    const raw = temp.raw(path);

    expect(() => raw.prepare(`UPDATE audit_log SET actor = 'someone else'`).run()).toThrow('audit log is append-only');
    expect(() => raw.prepare('DELETE FROM audit_log WHERE id = ?').run(before[0]?.id)).toThrow('audit log is append-only');
    expect(() => raw.prepare('DELETE FROM audit_log').run()).toThrow('audit log is append-only');
    expect(store.audit.list()).toEqual(before);
  });
});
