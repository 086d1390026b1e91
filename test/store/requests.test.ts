// The request repository on a real SQLite file: round-trips, one open request per person, the state machine, races, and the lists.
import { describe, expect, it } from 'vitest';
import {
  NEXT_DUE_SQL,
  OPEN_STATES,
  REQUEST_STATES,
  TRANSITIONS,
  type AccessRequest,
  type RequestState,
} from '../../src/store/requests.js';
import type { Store } from '../../src/store/store.js';
import { HOUR, T0, newRequest, testClock, useTempStores, thrown } from './fixtures.js';

const temp = useTempStores();

/** A pending request of U0AAAAAAA in dev, inserted behind the repository's back. */
const RAW_PENDING_INSERT = `INSERT INTO requests (id, kind, env, requester, requester_name, access, duration_ms, reason, state,
    requester_chose_credential, break_glass, created_at, updated_at)
  VALUES ('r_bbbbbbbbbb', 'temporary', 'dev', 'U0AAAAAAA', 'Ana', 'readwrite', 1, 'x', 'pending', 0, 0, 0, 0)`;

/** Drives a fresh request to `state` along the allowed path, with the fields each step needs. */
function requestIn(store: Store, state: RequestState, overrides: Parameters<typeof newRequest>[0] = {}): AccessRequest {
  const created = store.requests.create(newRequest(overrides), 'U0AAAAAAA');
  const path: Record<RequestState, RequestState[]> = {
    pending: [],
    approved: ['approved'],
    provisioning: ['approved', 'provisioning'],
    active: ['approved', 'provisioning', 'active'],
    revoking: ['approved', 'provisioning', 'active', 'revoking'],
    revoke_failed: ['approved', 'provisioning', 'active', 'revoking', 'revoke_failed'],
    revoked: ['approved', 'provisioning', 'active', 'revoking', 'revoked'],
    denied: ['denied'],
    expired: ['expired'],
    failed: ['failed'],
  };
  let current = created;
  for (const to of path[state]) {
    const next = store.requests.transition(current.id, {
      from: [current.state],
      to,
      actor: 'bot',
      set: to === 'provisioning' ? { username: `dbx_${current.requester.toLowerCase()}` } : to === 'active' ? { activatedAt: T0, expiresAt: T0 + 12 * HOUR } : {},
    });
    if (next === undefined) throw new Error(`could not move ${current.id} to ${to}`);
    current = next;
  }
  return current;
}

describe('create and get', () => {
  it('round-trips every field of a new request, with a crypto id and the clock as createdAt', () => {
    const { store } = temp.open();
    const input = newRequest({ access: 'readonly', durationMs: 90 * 60_000, ownPassword: true, breakGlass: true, requesterName: 'Zoë O’Brien' });

    const created = store.requests.create(input, 'U0AAAAAAA');

    expect(created.id).toMatch(/^r_[a-z2-7]{10}$/);
    const expected: AccessRequest = {
      id: created.id,
      kind: 'temporary',
      env: 'dev',
      requester: 'U0AAAAAAA',
      requesterName: 'Zoë O’Brien',
      access: 'readonly',
      durationMs: 90 * 60_000,
      reason: 'fix a stuck timer in OSUSR_ABC_ORDER',
      state: 'pending',
      username: null,
      ownPassword: true,
      breakGlass: true,
      createdAt: T0,
      updatedAt: T0,
      decidedBy: null,
      decidedAt: null,
      decisionReason: null,
      activatedAt: null,
      expiresAt: null,
      approvalChannel: null,
      approvalTs: null,
      error: null,
      revokeAttempts: 0,
      nextAttemptAt: null,
      extensions: 0,
      via: null,
      ips: [],
      rotationRequestedBy: null,
      rotationRequestedAt: null,
      rotationApprovalTs: null,
      ticket: null,
      requiredApprovals: null,
      outsideWindow: null,
    };
    expect(created).toEqual(expected);
    expect(store.requests.get(created.id)).toEqual(expected);
  });

  it('round-trips every field a transition can set', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const created = store.requests.create(newRequest(), 'U0AAAAAAA');
    store.requests.setApprovalMessage(created.id, 'C0APPROVAL', '1736931600.000100');
    clock.advance(60_000);
    store.requests.transition(created.id, {
      from: ['pending'],
      to: 'approved',
      actor: 'U0BBBBBBB',
      set: { decidedBy: 'U0BBBBBBB', decidedAt: T0 + 60_000, decisionReason: 'ok for the incident' },
    });
    store.requests.transition(created.id, { from: ['approved'], to: 'provisioning', actor: 'bot', set: { username: 'dbx_ana_silva' } });
    clock.advance(1_000);
    const active = store.requests.transition(created.id, {
      from: ['provisioning'],
      to: 'active',
      actor: 'bot',
      set: { activatedAt: T0 + 61_000, expiresAt: T0 + 61_000 + 12 * HOUR, error: 'first attempt timed out; retried' },
    });

    const expected = {
      ...created,
      state: 'active',
      username: 'dbx_ana_silva',
      updatedAt: T0 + 61_000,
      decidedBy: 'U0BBBBBBB',
      decidedAt: T0 + 60_000,
      decisionReason: 'ok for the incident',
      activatedAt: T0 + 61_000,
      expiresAt: T0 + 61_000 + 12 * HOUR,
      approvalChannel: 'C0APPROVAL',
      approvalTs: '1736931600.000100',
      error: 'first attempt timed out; retried',
    } satisfies AccessRequest;
    expect(active).toEqual(expected);
    expect(store.requests.get(created.id)).toEqual(expected);
  });

  it('writes a "requested" audit entry with the request in the same transaction', () => {
    const { store } = temp.open();
    const created = store.requests.create(newRequest({ breakGlass: true }), 'U0AAAAAAA');

    expect(store.audit.list({ requestId: created.id })).toEqual([
      {
        id: expect.any(Number),
        at: T0,
        actor: 'U0AAAAAAA',
        action: 'requested',
        requestId: created.id,
        env: 'dev',
        detail: { kind: 'temporary', access: 'readwrite', durationMs: 12 * HOUR, breakGlass: true, reason: created.reason },
      },
    ]);
  });

  it('returns undefined for an unknown id', () => {
    const { store } = temp.open();
    expect(store.requests.get('r_aaaaaaaaaa')).toBeUndefined();
  });

  it.each([
    ['an unknown kind', { kind: 'permanent' }],
    ['an unknown access', { access: 'dbo' }],
    ['a zero duration', { durationMs: 0 }],
    ['an empty environment', { env: '' }],
  ])('refuses %s through the CHECK constraints, writing nothing', (_label, overrides) => {
    const { store } = temp.open();
    const err = thrown(() => store.requests.create(newRequest(overrides as Parameters<typeof newRequest>[0]), 'U0AAAAAAA'));
    expect(err.code).toBe('internal');
    expect(store.requests.listByRequester('U0AAAAAAA')).toEqual([]);
    expect(store.audit.list()).toEqual([]);
  });
});

describe('one open request per person, environment and kind', () => {
  it('refuses a second open request, naming the first, and writes nothing', () => {
    const { store } = temp.open();
    const first = store.requests.create(newRequest(), 'U0AAAAAAA');

    const err = thrown(() => store.requests.create(newRequest({ reason: 'again' }), 'U0AAAAAAA'));

    expect(err.code).toBe('conflict');
    expect(err.message).toContain(first.id);
    expect(err.message).toContain('pending');
    expect(store.requests.listByRequester('U0AAAAAAA')).toHaveLength(1);
    expect(store.audit.list()).toHaveLength(1);
  });

  it('allows a new request once the first is terminal', () => {
    const { store } = temp.open();
    const first = store.requests.create(newRequest(), 'U0AAAAAAA');
    store.requests.transition(first.id, { from: ['pending'], to: 'denied', actor: 'U0BBBBBBB' });

    const second = store.requests.create(newRequest(), 'U0AAAAAAA');

    expect(second.id).not.toBe(first.id);
    expect(store.requests.findOpen('dev', 'U0AAAAAAA', 'temporary')?.id).toBe(second.id);
  });

  it('allows the same person in another environment, and another person in the same one', () => {
    const { store } = temp.open();
    store.requests.create(newRequest(), 'U0AAAAAAA');

    expect(() => store.requests.create(newRequest({ env: 'qa' }), 'U0AAAAAAA')).not.toThrow();
    expect(() => store.requests.create(newRequest({ requester: 'U0CCCCCCC', requesterName: 'Rui' }), 'U0CCCCCCC')).not.toThrow();
  });

  it.each(REQUEST_STATES.map((state) => [state, OPEN_STATES.includes(state)] as const))(
    'a first request in %s blocks a second: %s, in the repository and in the unique index alike',
    (state, blocks) => {
      const { store, path } = temp.open();
      const first = requestIn(store, state);
      expect(first.state).toBe(state);
      // The index on its own, without the repository's findOpen in front of it.
      const rawInsert = () => temp.raw(path).prepare(RAW_PENDING_INSERT).run();
      const create = () => store.requests.create(newRequest(), 'U0AAAAAAA');

      if (blocks) {
        expect(rawInsert).toThrow(/UNIQUE constraint failed/);
        expect(thrown(create).code).toBe('conflict');
      } else {
        expect(rawInsert).not.toThrow();
        expect(thrown(create).code).toBe('conflict'); // now blocked by the raw pending row
      }
    },
  );

  it('holds across two stores on the same file (two processes): the second create conflicts', () => {
    const { store: a, path } = temp.open();
    const { store: b } = temp.open(path);

    const first = a.requests.create(newRequest(), 'U0AAAAAAA');
    const err = thrown(() => b.requests.create(newRequest(), 'U0AAAAAAA'));

    expect(err.code).toBe('conflict');
    expect(err.message).toContain(first.id);
  });

  it('is enforced by the database itself: a raw insert of a second open row fails', () => {
    const { store, path } = temp.open();
    store.requests.create(newRequest(), 'U0AAAAAAA');
    const raw = temp.raw(path);

    expect(() => raw.prepare(RAW_PENDING_INSERT.replace(`'pending'`, `'approved'`)).run()).toThrow(/UNIQUE constraint failed/);
  });
});

describe('transition', () => {
  it('moves the request, bumps updatedAt and appends an audit entry with actor, action, request, env and detail', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const created = store.requests.create(newRequest(), 'U0AAAAAAA');
    clock.advance(5 * 60_000);

    const approved = store.requests.transition(created.id, {
      from: ['pending'],
      to: 'approved',
      actor: 'U0BBBBBBB',
      set: { decidedBy: 'U0BBBBBBB', decidedAt: T0 + 5 * 60_000, decisionReason: 'incident 4711' },
      detail: { via: 'button' },
    });

    expect(approved).toMatchObject({ state: 'approved', updatedAt: T0 + 5 * 60_000, decidedBy: 'U0BBBBBBB', createdAt: T0 });
    const entries = store.audit.list({ requestId: created.id });
    expect(entries.map((e) => e.action)).toEqual(['requested', 'state:approved']);
    expect(entries[1]).toEqual({
      id: expect.any(Number),
      at: T0 + 5 * 60_000,
      actor: 'U0BBBBBBB',
      action: 'state:approved',
      requestId: created.id,
      env: 'dev',
      detail: {
        via: 'button',
        from: 'pending',
        changes: { decidedBy: 'U0BBBBBBB', decidedAt: T0 + 5 * 60_000, decisionReason: 'incident 4711' },
      },
    });
  });

  it('keeps a field whose set value is undefined, and clears one set to null', () => {
    const { store } = temp.open();
    const active = requestIn(store, 'active');
    const withError = store.requests.transition(active.id, { from: ['active'], to: 'revoking', actor: 'scheduler', set: { error: 'login still connected' } });
    expect(withError?.error).toBe('login still connected');

    const retried = store.requests.transition(active.id, {
      from: ['revoking'],
      to: 'revoking',
      actor: 'scheduler',
      set: { error: undefined, expiresAt: undefined },
      detail: { attempt: 2 },
    });
    expect(retried).toMatchObject({ error: 'login still connected', expiresAt: active.expiresAt });

    const revoked = store.requests.transition(active.id, { from: ['revoking'], to: 'revoked', actor: 'scheduler', set: { error: null } });
    expect(revoked).toMatchObject({ state: 'revoked', error: null, username: active.username });
  });

  it('records the whole lifecycle, extension and revocation retry included, in audit order', () => {
    const { store } = temp.open();
    const active = requestIn(store, 'active');
    store.requests.transition(active.id, { from: ['active'], to: 'active', actor: 'U0AAAAAAA', set: { expiresAt: T0 + 24 * HOUR }, detail: { extension: 1 } });
    store.requests.transition(active.id, { from: ['active'], to: 'revoking', actor: 'scheduler' });
    store.requests.transition(active.id, { from: ['revoking'], to: 'revoking', actor: 'scheduler', detail: { attempt: 2 } });
    store.requests.transition(active.id, { from: ['revoking'], to: 'revoked', actor: 'scheduler' });

    const entries = store.audit.list({ requestId: active.id });
    expect(entries.map((e) => e.action)).toEqual([
      'requested',
      'state:approved',
      'state:provisioning',
      'state:active',
      'state:active',
      'state:revoking',
      'state:revoking',
      'state:revoked',
    ]);
    expect(entries[4]?.detail).toEqual({ extension: 1, from: 'active', changes: { expiresAt: T0 + 24 * HOUR } });
    expect(entries[6]?.detail).toEqual({ attempt: 2, from: 'revoking' });
  });

  it('returns undefined when the request is no longer in a `from` state, and writes nothing', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const created = store.requests.create(newRequest(), 'U0AAAAAAA');
    const denied = store.requests.transition(created.id, { from: ['pending'], to: 'denied', actor: 'U0BBBBBBB' });
    const auditBefore = store.audit.list();
    clock.advance(1_000);

    const lost = store.requests.transition(created.id, { from: ['pending'], to: 'approved', actor: 'U0CCCCCCC', set: { decidedBy: 'U0CCCCCCC' } });

    expect(lost).toBeUndefined();
    expect(store.requests.get(created.id)).toEqual(denied);
    expect(store.audit.list()).toEqual(auditBefore);
  });

  it('lets exactly one of two clicks on the same pending request win', () => {
    const { store } = temp.open();
    const created = store.requests.create(newRequest(), 'U0AAAAAAA');
    const approve = (approver: string) =>
      store.requests.transition(created.id, { from: ['pending'], to: 'approved', actor: approver, set: { decidedBy: approver } });

    const results = [approve('U0BBBBBBB'), approve('U0CCCCCCC')];

    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    expect(store.requests.get(created.id)?.decidedBy).toBe('U0BBBBBBB');
    expect(store.audit.list({ requestId: created.id }).filter((e) => e.action === 'state:approved')).toHaveLength(1);
  });

  it('lets exactly one of an approval and a denial, through two stores on one file, win', () => {
    const { store: a, path } = temp.open();
    const { store: b } = temp.open(path);
    const created = a.requests.create(newRequest(), 'U0AAAAAAA');

    const approved = a.requests.transition(created.id, { from: ['pending'], to: 'approved', actor: 'U0BBBBBBB' });
    const denied = b.requests.transition(created.id, { from: ['pending'], to: 'denied', actor: 'U0CCCCCCC' });

    expect(approved?.state).toBe('approved');
    expect(denied).toBeUndefined();
    expect(b.audit.list({ requestId: created.id }).map((e) => e.action)).toEqual(['requested', 'state:approved']);
  });

  it('round-trips the revocation bookkeeping and the extension count, and clears nextAttemptAt with null', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const active = requestIn(store, 'active');

    const extended = store.requests.transition(active.id, { from: ['active'], to: 'active', actor: 'U0AAAAAAA', set: { expiresAt: T0 + 24 * HOUR, extensions: 1 } });
    clock.advance(HOUR);
    const retrying = store.requests.transition(active.id, {
      from: ['active'],
      to: 'revoking',
      actor: 'scheduler',
      set: { revokeAttempts: 1, nextAttemptAt: T0 + HOUR + 60_000, error: 'login still connected' },
    });
    const gaveUp = store.requests.transition(active.id, { from: ['revoking'], to: 'revoke_failed', actor: 'scheduler', set: { revokeAttempts: 5, nextAttemptAt: null } });

    expect(extended).toMatchObject({ extensions: 1, revokeAttempts: 0, nextAttemptAt: null });
    expect(retrying).toMatchObject({ state: 'revoking', extensions: 1, revokeAttempts: 1, nextAttemptAt: T0 + HOUR + 60_000 });
    expect(gaveUp).toMatchObject({ state: 'revoke_failed', extensions: 1, revokeAttempts: 5, nextAttemptAt: null, error: 'login still connected' });
    expect(store.requests.get(active.id)).toEqual(gaveUp);
    expect(store.audit.list({ requestId: active.id }).at(-1)?.detail).toEqual({ from: 'revoking', changes: { revokeAttempts: 5, nextAttemptAt: null } });
  });

  it('records a revocation that fails, is retried later and finally succeeds, in audit order', () => {
    const { store } = temp.open();
    const active = requestIn(store, 'active');
    store.requests.transition(active.id, { from: ['active'], to: 'revoking', actor: 'scheduler', set: { revokeAttempts: 1 } });
    store.requests.transition(active.id, { from: ['revoking'], to: 'revoke_failed', actor: 'scheduler', set: { nextAttemptAt: T0 + HOUR } });
    store.requests.transition(active.id, { from: ['revoke_failed'], to: 'revoking', actor: 'scheduler', set: { revokeAttempts: 2 } });
    store.requests.transition(active.id, { from: ['revoking'], to: 'revoke_failed', actor: 'scheduler' });
    const revoked = store.requests.transition(active.id, { from: ['revoke_failed'], to: 'revoked', actor: 'U0BBBBBBB', detail: { confirmed: 'user gone' } });

    expect(revoked).toMatchObject({ state: 'revoked', revokeAttempts: 2, username: active.username });
    expect(store.audit.list({ requestId: active.id }).slice(4).map((e) => `${e.action} from ${String(e.detail?.['from'])}`)).toEqual([
      'state:revoking from active',
      'state:revoke_failed from revoking',
      'state:revoking from revoke_failed',
      'state:revoke_failed from revoking',
      'state:revoked from revoke_failed',
    ]);
  });

  it.each([
    ['a negative attempt count', { revokeAttempts: -1 }],
    ['a fractional attempt count', { revokeAttempts: 1.5 }],
    ['a missing attempt count', { revokeAttempts: null }],
    ['a negative extension count', { extensions: -1 }],
  ])('refuses %s through the schema, writing nothing', (_label, set) => {
    const { store } = temp.open();
    const request = requestIn(store, 'active');
    const auditBefore = store.audit.list();

    const err = thrown(() =>
      store.requests.transition(request.id, { from: ['active'], to: 'revoking', actor: 'bot', set: set as { revokeAttempts: number } }),
    );

    expect(err.code).toBe('internal');
    expect(store.requests.get(request.id)).toEqual(request);
    expect(store.audit.list()).toEqual(auditBefore);
  });

  const forbidden = REQUEST_STATES.flatMap((from) =>
    REQUEST_STATES.filter((to) => !TRANSITIONS[from].includes(to)).map((to) => [from, to] as const),
  );

  it.each(forbidden)('refuses %s → %s with an internal error and no write, even from the current state', (from, to) => {
    const { store } = temp.open();
    const request = requestIn(store, from);
    const auditBefore = store.audit.list();

    const err = thrown(() => store.requests.transition(request.id, { from: [from], to, actor: 'bot' }));

    expect(err.code).toBe('internal');
    expect(err.message).toContain(`${from} → ${to}`);
    expect(store.requests.get(request.id)).toEqual(request);
    expect(store.audit.list()).toEqual(auditBefore);
  });

  it('refuses a forbidden pair hidden among allowed ones, whatever the current state', () => {
    const { store } = temp.open();
    const request = requestIn(store, 'pending');

    const err = thrown(() => store.requests.transition(request.id, { from: ['pending', 'revoking'], to: 'approved', actor: 'bot' }));

    expect(err.code).toBe('internal');
    expect(store.requests.get(request.id)?.state).toBe('pending');
  });

  it('checks the state machine before the database: a forbidden move on an unknown id is internal, not not_found', () => {
    const { store } = temp.open();
    expect(thrown(() => store.requests.transition('r_aaaaaaaaaa', { from: ['revoked'], to: 'active', actor: 'bot' })).code).toBe('internal');
    expect(thrown(() => store.requests.transition('r_aaaaaaaaaa', { from: [], to: 'active', actor: 'bot' })).code).toBe('internal');
  });

  it('throws not_found for an allowed move on an unknown id', () => {
    const { store } = temp.open();
    expect(thrown(() => store.requests.transition('r_aaaaaaaaaa', { from: ['pending'], to: 'approved', actor: 'bot' })).code).toBe('not_found');
  });

  it('refuses a set key that is not a settable field', () => {
    const { store } = temp.open();
    const request = requestIn(store, 'pending');
    const set = { decidedBy: 'U0BBBBBBB', state: 'active' } as unknown as { decidedBy: string };

    const err = thrown(() => store.requests.transition(request.id, { from: ['pending'], to: 'approved', actor: 'bot', set }));

    expect(err.code).toBe('internal');
    expect(store.requests.get(request.id)).toEqual(request);
  });

  it.each([
    ['provisioning without a username', 'approved', 'provisioning', {}],
    ['active without an expiry', 'provisioning', 'active', { expiresAt: null }],
  ] as const)('refuses %s through the schema, writing nothing', (_label, from, to, set) => {
    const { store } = temp.open();
    const request = requestIn(store, from);
    const auditBefore = store.audit.list();
    const err = thrown(() => store.requests.transition(request.id, { from: [from], to, actor: 'bot', set }));

    expect(err.code).toBe('internal');
    expect(store.requests.get(request.id)).toEqual(request);
    expect(store.audit.list()).toEqual(auditBefore);
  });

  it.each(['password', 'dbPassword', 'pass', 'clientSecret', 'botToken'])('refuses a detail key named %s, writing nothing', (key) => {
    const { store } = temp.open();
    const request = requestIn(store, 'pending');

    const err = thrown(() =>
      store.requests.transition(request.id, { from: ['pending'], to: 'approved', actor: 'bot', detail: { plan: { steps: [{ [key]: 'x' }] } } }),
    );

    expect(err.code).toBe('internal');
    expect(err.message).not.toContain("'x'");
    expect(store.requests.get(request.id)?.state).toBe('pending');
    expect(store.audit.list()).toHaveLength(1);
  });
});

describe('the state machine table', () => {
  it('is the one agreed: terminal states lead nowhere, and revoking (or revoke_failed) never returns to active', () => {
    expect(TRANSITIONS).toEqual({
      pending: ['approved', 'denied', 'expired', 'failed'],
      approved: ['provisioning', 'failed'],
      provisioning: ['active', 'failed', 'revoking'],
      active: ['revoking', 'active'],
      revoking: ['revoked', 'revoking', 'revoke_failed', 'failed'],
      revoke_failed: ['revoking', 'revoked', 'failed'],
      revoked: [],
      denied: [],
      expired: [],
      failed: [],
    });
    expect(Object.isFrozen(TRANSITIONS)).toBe(true);
    expect(Object.isFrozen(TRANSITIONS.pending)).toBe(true);
  });

  it('keeps revoke_failed open: its user may still exist', () => {
    expect(OPEN_STATES).toContain('revoke_failed');
    expect(TRANSITIONS.revoke_failed).not.toContain('active');
  });

  it('lists as open exactly the states that can still lead to a database user', () => {
    const terminal = REQUEST_STATES.filter((state) => TRANSITIONS[state].length === 0);
    expect([...OPEN_STATES].sort()).toEqual(REQUEST_STATES.filter((state) => !terminal.includes(state)).sort());
  });
});

describe('setApprovalMessage', () => {
  it('stores the channel and ts without a state change or audit entry', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const created = store.requests.create(newRequest(), 'U0AAAAAAA');
    clock.advance(2_000);

    store.requests.setApprovalMessage(created.id, 'C0APPROVAL', '1736931600.000200');

    expect(store.requests.get(created.id)).toEqual({ ...created, approvalChannel: 'C0APPROVAL', approvalTs: '1736931600.000200', updatedAt: T0 + 2_000 });
    expect(store.audit.list()).toHaveLength(1);
  });

  it('throws not_found for an unknown id', () => {
    const { store } = temp.open();
    expect(thrown(() => store.requests.setApprovalMessage('r_aaaaaaaaaa', 'C0APPROVAL', '1.2')).code).toBe('not_found');
  });
});

describe('queries', () => {
  it('findOpen and listByRequester(OPEN_STATES) see a revoke_failed request', () => {
    const { store } = temp.open();
    const failed = requestIn(store, 'revoke_failed');

    expect(store.requests.findOpen('dev', 'U0AAAAAAA', 'temporary')).toEqual(failed);
    expect(store.requests.listByRequester('U0AAAAAAA', OPEN_STATES)).toEqual([failed]);
  });

  it('findOpen returns the open request of that person, kind and environment only', () => {
    const { store } = temp.open();
    const open = store.requests.create(newRequest(), 'U0AAAAAAA');
    store.requests.create(newRequest({ env: 'qa' }), 'U0AAAAAAA');

    expect(store.requests.findOpen('dev', 'U0AAAAAAA', 'temporary')).toEqual(open);
    expect(store.requests.findOpen('dev', 'U0CCCCCCC', 'temporary')).toBeUndefined();
    expect(store.requests.findOpen('prod', 'U0AAAAAAA', 'temporary')).toBeUndefined();

    store.requests.transition(open.id, { from: ['pending'], to: 'expired', actor: 'scheduler' });
    expect(store.requests.findOpen('dev', 'U0AAAAAAA', 'temporary')).toBeUndefined();
  });

  it('listByRequester is newest first, optionally filtered by state, and only that requester', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const first = store.requests.create(newRequest({ env: 'dev' }), 'U0AAAAAAA');
    store.requests.transition(first.id, { from: ['pending'], to: 'denied', actor: 'U0BBBBBBB' });
    clock.advance(1_000);
    const second = store.requests.create(newRequest({ env: 'dev' }), 'U0AAAAAAA');
    // Same millisecond as the second: insertion order breaks the tie.
    const third = store.requests.create(newRequest({ env: 'qa' }), 'U0AAAAAAA');
    store.requests.create(newRequest({ requester: 'U0CCCCCCC' }), 'U0CCCCCCC');

    expect(store.requests.listByRequester('U0AAAAAAA').map((r) => r.id)).toEqual([third.id, second.id, first.id]);
    expect(store.requests.listByRequester('U0AAAAAAA', OPEN_STATES).map((r) => r.id)).toEqual([third.id, second.id]);
    expect(store.requests.listByRequester('U0AAAAAAA', ['denied']).map((r) => r.id)).toEqual([first.id]);
    expect(store.requests.listByRequester('U0AAAAAAA', [])).toEqual([]);
  });

  it('listInStates is oldest first across requesters', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const a = store.requests.create(newRequest({ requester: 'U01' }), 'U01');
    clock.advance(1_000);
    const b = requestIn(store, 'approved', { requester: 'U02' });
    clock.advance(1_000);
    const c = store.requests.create(newRequest({ requester: 'U03' }), 'U03');
    requestIn(store, 'denied', { requester: 'U04' });

    expect(store.requests.listInStates(['pending']).map((r) => r.id)).toEqual([a.id, c.id]);
    expect(store.requests.listInStates(['approved', 'pending']).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
  });

  it('listExpiring returns only active requests due by `at`, soonest first, at most `limit`', () => {
    const { store } = temp.open();
    const activeAt = (requester: string, expiresAt: number) => {
      const request = requestIn(store, 'active', { requester });
      return store.requests.transition(request.id, { from: ['active'], to: 'active', actor: 'bot', set: { expiresAt } })!;
    };
    const late = activeAt('U01', T0 + 3 * HOUR);
    const soonest = activeAt('U02', T0 + 1 * HOUR);
    const exact = activeAt('U03', T0 + 4 * HOUR);
    activeAt('U04', T0 + 5 * HOUR);
    // A revoking request past its expiry is not "expiring": revocation already started.
    const revoking = activeAt('U05', T0);
    store.requests.transition(revoking.id, { from: ['active'], to: 'revoking', actor: 'scheduler' });
    requestIn(store, 'pending', { requester: 'U06' });

    const at = T0 + 4 * HOUR;
    expect(store.requests.listExpiring(at, 10).map((r) => r.id)).toEqual([soonest.id, late.id, exact.id]);
    expect(store.requests.listExpiring(at, 2).map((r) => r.id)).toEqual([soonest.id, late.id]);
    expect(store.requests.listExpiring(T0, 10)).toEqual([]);
    expect(thrown(() => store.requests.listExpiring(at, 0)).code).toBe('internal');
  });

  it('the (state, expires_at) index serves the expiry query', () => {
    const { path } = temp.open();
    const plan = temp
      .raw(path)
      .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN SELECT * FROM requests WHERE state = 'active' AND expires_at <= 0 ORDER BY expires_at, rowid LIMIT 1`)
      .all()
      .map((row) => row.detail)
      .join('\n');
    expect(plan).toContain('requests_expiry');
  });

  /** A request of `requester` in revoking or revoke_failed (or a terminal state reached through them), with nextAttemptAt set. */
  function retrying(store: Store, requester: string, state: RequestState, nextAttemptAt: number | null): AccessRequest {
    const active = requestIn(store, 'active', { requester });
    let current = store.requests.transition(active.id, { from: ['active'], to: 'revoking', actor: 'scheduler', set: { nextAttemptAt, revokeAttempts: 1 } })!;
    if (state !== 'revoking') current = store.requests.transition(active.id, { from: ['revoking'], to: state, actor: 'scheduler' })!;
    expect(current).toMatchObject({ state, nextAttemptAt });
    return current;
  }

  it('listRetryDue returns revoking and revoke_failed requests due by `at`, soonest first, at most `limit`', () => {
    const { store } = temp.open();
    const late = retrying(store, 'U01', 'revoking', T0 + 3 * HOUR);
    const soonest = retrying(store, 'U02', 'revoke_failed', T0 + 1 * HOUR);
    const exact = retrying(store, 'U03', 'revoking', T0 + 4 * HOUR);
    retrying(store, 'U04', 'revoke_failed', T0 + 5 * HOUR);
    // Not scheduled (a person resolves it), and past its time but already revoked: neither is due.
    retrying(store, 'U05', 'revoke_failed', null);
    retrying(store, 'U06', 'revoked', T0);
    // An active request past its expiry is listExpiring's, not a retry.
    const active = requestIn(store, 'active', { requester: 'U07' });
    store.requests.transition(active.id, { from: ['active'], to: 'active', actor: 'bot', set: { expiresAt: T0 } });

    const at = T0 + 4 * HOUR;
    expect(store.requests.listRetryDue(at, 10).map((r) => r.id)).toEqual([soonest.id, late.id, exact.id]);
    expect(store.requests.listRetryDue(at, 2).map((r) => r.id)).toEqual([soonest.id, late.id]);
    expect(store.requests.listRetryDue(T0, 10)).toEqual([]);
    expect(thrown(() => store.requests.listRetryDue(at, 0)).code).toBe('internal');
    expect(thrown(() => store.requests.listRetryDue(at, 1.5)).code).toBe('internal');
  });

  it('nextDueAt is null with nothing to do, even with pending and terminal requests about', () => {
    const { store } = temp.open();
    expect(store.requests.nextDueAt()).toBeNull();

    requestIn(store, 'pending', { requester: 'U01' });
    requestIn(store, 'provisioning', { requester: 'U02' });
    retrying(store, 'U03', 'revoked', T0);
    retrying(store, 'U04', 'revoke_failed', null);
    for (const [i, state] of (['denied', 'expired', 'failed'] as const).entries()) requestIn(store, state, { requester: `U1${i}` });

    expect(store.requests.nextDueAt()).toBeNull();
  });

  it('nextDueAt is the earliest of active expiries and retry times, whichever kind holds it', () => {
    const { store } = temp.open();
    const activeUntil = (requester: string, expiresAt: number) => {
      const request = requestIn(store, 'active', { requester });
      store.requests.transition(request.id, { from: ['active'], to: 'active', actor: 'bot', set: { expiresAt } });
    };
    activeUntil('U01', T0 + 5 * HOUR);
    retrying(store, 'U02', 'revoking', T0 + 6 * HOUR);
    // A revoked request keeps its last nextAttemptAt; it is not work.
    retrying(store, 'U03', 'revoked', T0);
    expect(store.requests.nextDueAt()).toBe(T0 + 5 * HOUR);

    retrying(store, 'U04', 'revoke_failed', T0 + 4 * HOUR);
    expect(store.requests.nextDueAt()).toBe(T0 + 4 * HOUR);

    retrying(store, 'U05', 'revoking', T0 + 3 * HOUR);
    expect(store.requests.nextDueAt()).toBe(T0 + 3 * HOUR);

    activeUntil('U06', T0 + 2 * HOUR);
    expect(store.requests.nextDueAt()).toBe(T0 + 2 * HOUR);
  });

  it('listPendingOlderThan returns pending requests created by `at`, oldest first, at most `limit`', () => {
    const clock = testClock();
    const { store } = temp.open(undefined, clock);
    const first = store.requests.create(newRequest({ requester: 'U01' }), 'U01');
    // Same millisecond: insertion order breaks the tie.
    const second = store.requests.create(newRequest({ requester: 'U02' }), 'U02');
    requestIn(store, 'approved', { requester: 'U03' });
    requestIn(store, 'denied', { requester: 'U04' });
    clock.advance(HOUR);
    const third = store.requests.create(newRequest({ requester: 'U05' }), 'U05');
    clock.advance(HOUR);
    store.requests.create(newRequest({ requester: 'U06' }), 'U06');

    expect(store.requests.listPendingOlderThan(T0 + HOUR, 10).map((r) => r.id)).toEqual([first.id, second.id, third.id]);
    expect(store.requests.listPendingOlderThan(T0 + HOUR, 2).map((r) => r.id)).toEqual([first.id, second.id]);
    expect(store.requests.listPendingOlderThan(T0 - 1, 10)).toEqual([]);
    expect(thrown(() => store.requests.listPendingOlderThan(T0, -1)).code).toBe('internal');
  });

  function plan(path: string, sql: string): string[] {
    return temp
      .raw(path)
      .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all()
      .map((row) => row.detail);
  }

  it('nextDueAt searches its indexes and never scans requests', () => {
    const { path } = temp.open();
    const steps = plan(path, NEXT_DUE_SQL);

    expect(steps.filter((step) => /SCAN requests\b/.test(step))).toEqual([]);
    expect(steps).toContainEqual(expect.stringMatching(/^SEARCH requests USING COVERING INDEX requests_expiry \(state=\?/));
    expect(steps.filter((step) => /^SEARCH requests USING COVERING INDEX requests_retry \(state=\?/.test(step))).toHaveLength(2);
  });

  it.each([
    ['listRetryDue', 'requests_retry', `SELECT * FROM requests WHERE state IN ('revoking', 'revoke_failed') AND next_attempt_at <= 0 ORDER BY next_attempt_at, rowid LIMIT 1`],
    ['listPendingOlderThan', 'requests_by_state', `SELECT * FROM requests WHERE state = 'pending' AND created_at <= 0 ORDER BY created_at, rowid LIMIT 1`],
  ])('%s searches %s', (_label, index, sql) => {
    const { path } = temp.open();
    const steps = plan(path, sql);
    expect(steps.filter((step) => /SCAN requests\b/.test(step))).toEqual([]);
    expect(steps.join('\n')).toContain(index);
  });
});

describe('permanent users', () => {
  const permanent = (overrides: Parameters<typeof newRequest>[0] = {}) =>
    newRequest({ kind: 'permanent', access: 'readonly', durationMs: 0, via: 'allowlist', ips: ['52.95.110.1'], username: 'dbx_ro_dev_k3x9', ...overrides });

  /** Moves a request to active; permanent users have no expiry. */
  function activate(store: Store, id: string) {
    store.requests.transition(id, { from: ['pending'], to: 'approved', actor: 'U0APPROVER' });
    store.requests.transition(id, { from: ['approved'], to: 'provisioning', actor: 'bot' });
    return store.requests.transition(id, { from: ['provisioning'], to: 'active', actor: 'bot', set: { activatedAt: T0 } });
  }

  it('round-trips how it connects, and becomes active without an expiry', () => {
    const { store } = temp.open();
    const created = store.requests.create(permanent(), 'U0AAAAAAA');
    expect(created).toMatchObject({ kind: 'permanent', via: 'allowlist', ips: ['52.95.110.1'], durationMs: 0 });
    expect(activate(store, created.id)).toMatchObject({ state: 'active', expiresAt: null });
  });

  it('allows one read-only and one read-write per environment, whoever asks', () => {
    const { store } = temp.open();
    store.requests.create(permanent({ requester: 'U0AAAAAAA' }), 'U0AAAAAAA');
    expect(thrown(() => store.requests.create(permanent({ requester: 'U0BBBBBBB' }), 'U0BBBBBBB')).code).toBe('conflict');
    expect(store.requests.create(permanent({ requester: 'U0BBBBBBB', access: 'readwrite', username: 'dbx_rw_dev_k3x9' }), 'U0BBBBBBB').access).toBe('readwrite');
    expect(store.requests.create(permanent({ env: 'prod' }), 'U0AAAAAAA').env).toBe('prod');
    expect(store.requests.findPermanent('dev', 'readonly')?.requester).toBe('U0AAAAAAA');
    // A temporary user of the same person is another matter.
    expect(store.requests.create(newRequest({ requester: 'U0AAAAAAA' }), 'U0AAAAAAA').kind).toBe('temporary');
  });

  it('refuses a permanent user without a connection method', () => {
    const { store } = temp.open();
    expect(thrown(() => store.requests.create(newRequest({ kind: 'permanent', durationMs: 0 }), 'U0AAAAAAA')).code).toBe('internal');
  });

  it('keeps at most one rotation pending, ends it once, and audits both', () => {
    const { store } = temp.open();
    const created = store.requests.create(permanent(), 'U0AAAAAAA');
    expect(store.requests.requestRotation(created.id, 'U0AAAAAAA')).toBe(false); // not active yet
    activate(store, created.id);
    expect(store.requests.requestRotation(created.id, 'U0AAAAAAA')).toBe(true);
    expect(store.requests.requestRotation(created.id, 'U0AAAAAAA')).toBe(false);
    store.requests.setRotationMessage(created.id, '9.9');
    expect(store.requests.get(created.id)).toMatchObject({ rotationRequestedBy: 'U0AAAAAAA', rotationApprovalTs: '9.9' });
    expect(store.requests.finishRotation(created.id, 'U0APPROVER', 'approved')?.rotationRequestedBy).toBe('U0AAAAAAA');
    expect(store.requests.finishRotation(created.id, 'U0APPROVER', 'approved')).toBeUndefined();
    expect(store.requests.get(created.id)).toMatchObject({ rotationRequestedBy: null, rotationApprovalTs: null });
    expect(store.audit.list({ requestId: created.id }).map((e) => `${e.actor} ${e.action}`).slice(-2)).toEqual(['U0AAAAAAA rotation_requested', 'U0APPROVER rotation_approved']);
  });
});
