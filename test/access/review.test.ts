// Access reviews of permanent users (src/access/review/): when they fall due, the reminder, the expired
// action, Keep (an approver other than the owner) and Revoke (the normal revocation), and the list; on a
// real SQLite store with the real outbox and a recording notifier.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicy } from '../../src/access/core/policy.js';
import type { Notifier } from '../../src/access/core/ports.js';
import { createReviews, type Reviews } from '../../src/access/review/index.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { openStore, type Store } from '../../src/store/store.js';
import { loadTestConfig, USERS } from '../e2e/harness.js';
import { testNotices, type TestNotices } from '../fakes/notices.js';
import { newRequest } from '../store/fixtures.js';

const DAY = 24 * 3600_000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

// dev keeps the defaults (90 days, 14 days' grace, then notify); audited revokes after 30 days + 2 × 7.
const AUDITED = `
  - name: audited
    dialect: sqlserver
    connection: { host: db-audited, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: audited-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    permanentApprovers: { users: [${USERS.ltAdmin}, ${USERS.requester}] }
    channels: { approvals: C0APPROVALS, reminders: C0REMINDERS }
    policy: { reviewEvery: 30d, reviewGrace: 7d, reviewExpiredAction: revoke }
`;

let dir: string;
let now: number;
let store: Store;
let config: Config;
let sent: { kind: string; text: string; requestId?: string }[];
let revoked: { requestId: string; actor: string; reason: string; by?: string }[];
let delivery: TestNotices;
let reviews: Reviews;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-review-'));
  now = T0;
  const clock = { now: () => now };
  store = openStore(join(dir, 'db.sqlite'), { clock });
  config = loadTestConfig(join(dir, 'db.sqlite'), AUDITED);
  sent = [];
  revoked = [];
  const notifier = {
    threadReply: async (channel: string, ts: string | null, text: string) => void sent.push({ kind: 'threadReply', text: `${channel}/${ts ?? '-'} ${text}` }),
    reviewRequested: async (r: AccessRequest, _e: unknown, text: string) => {
      sent.push({ kind: 'reviewRequested', text, requestId: r.id });
      return { channel: 'C0APPROVALS', ts: `${now}.5` };
    },
    reviewUpdated: async (r: AccessRequest, _e: unknown, message: { ts: string }, status: string) => void sent.push({ kind: 'reviewUpdated', text: `${message.ts} ${status}`, requestId: r.id }),
    channelNotice: async (env: { name: string }, channel: string, text: string) => void sent.push({ kind: 'channelNotice', text: `${env.name}/${channel} ${text}` }),
  } satisfies Partial<Notifier>;
  // Only the methods reviews use: anything else would be a bug, and fails the flush loudly.
  delivery = testNotices({ store, notifier: notifier as unknown as Notifier, config, clock });
  const policy = createPolicy({ config, store, directory: { displayName: async (u) => u, groupMembers: async () => [USERS.groupApprover], knownGroupMembers: () => undefined } });
  reviews = createReviews({
    store,
    notices: delivery.notices,
    clock,
    log: createLogger({ level: 'silent' }),
    policy,
    attemptRevoke: async (requestId, actor, reason, options = {}) => {
      revoked.push({ requestId, actor, reason, ...options });
      return 'revoked';
    },
  });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An active user of `kind` in `env`, activated at the clock's now. */
function activeUser(env: string, kind: 'permanent' | 'temporary' = 'permanent', requester: string = USERS.requester, access: 'readonly' | 'readwrite' = 'readonly'): AccessRequest {
  // One permanent user per environment and access (requests_one_permanent).
  let current = store.requests.create(newRequest({ env, kind, requester, access, ...(kind === 'permanent' ? { via: 'vpn' as const } : {}) }), requester);
  for (const to of ['approved', 'provisioning', 'active'] as const) {
    current = store.requests.transition(current.id, {
      from: [current.state],
      to,
      actor: 'bot',
      set: to === 'provisioning' ? { username: access === 'readonly' ? `dbx_${env}_perm` : `dbx_${env}_rw` } : to === 'active' ? { activatedAt: now, expiresAt: kind === 'permanent' ? null : now + 3600_000 } : {},
    })!;
  }
  return current;
}

async function at(time: number): Promise<void> {
  now = time;
  reviews.tick(now);
  await delivery.flush();
}

const actions = (requestId: string) => store.audit.list({ requestId }).map((e) => e.action).filter((a) => a.startsWith('review_'));

describe('falling due', () => {
  it('asks reviewEvery after creation, once, with the owner, access, since when and last rotation', async () => {
    const user = activeUser('dev');
    reviews.tick(now);
    expect(reviews.nextDueAt()).toBe(T0 + 90 * DAY);

    await at(T0 + 90 * DAY - 1);
    expect(sent).toEqual([]);

    await at(T0 + 90 * DAY);
    await at(T0 + 90 * DAY + 1);
    expect(sent.map((s) => s.kind)).toEqual(['reviewRequested']);
    expect(sent[0]?.text).toContain('`dbx_dev_perm` in *dev* (read-only)');
    expect(sent[0]?.text).toContain(`Owner: <@${USERS.requester}>`);
    expect(sent[0]?.text).toContain('last password rotation: never');
    expect(store.reviews.get(user.id)?.message).toEqual({ channel: 'C0APPROVALS', ts: `${T0 + 90 * DAY}.5` });
    expect(actions(user.id)).toEqual(['review_requested']);
  });

  it('never reviews a temporary user', async () => {
    activeUser('dev', 'temporary');
    await at(T0 + 365 * DAY);
    expect(sent).toEqual([]);
    expect(reviews.nextDueAt()).toBeNull();
  });

  it('notify (the default): a reminder after the grace, then the reminder channel is told; the review stays open', async () => {
    const user = activeUser('dev');
    await at(T0 + 90 * DAY);
    await at(T0 + 104 * DAY);
    await at(T0 + 118 * DAY);
    await at(T0 + 200 * DAY);

    expect(sent.map((s) => s.kind)).toEqual(['reviewRequested', 'threadReply', 'channelNotice']);
    expect(sent[1]?.text).toMatch(new RegExp(`^C0APPROVALS/${T0 + 90 * DAY}\\.5 :bell: The access review`));
    expect(sent[2]?.text).toContain('dev/reminders :warning: The access review of `dbx_dev_perm`');
    expect(actions(user.id)).toEqual(['review_requested', 'review_reminded', 'review_expired']);
    expect(revoked).toEqual([]);
    expect(store.reviews.get(user.id)?.askedAt).not.toBeNull();
  });

  it('revoke: after the reminder and a second grace the user goes through the normal revocation', async () => {
    const user = activeUser('audited');
    await at(T0 + 30 * DAY);
    await at(T0 + 37 * DAY);
    expect(revoked).toEqual([]);
    await at(T0 + 44 * DAY);

    expect(revoked).toEqual([{ requestId: user.id, actor: 'scheduler', reason: 'review_expired' }]);
    expect(sent.map((s) => s.kind)).toEqual(['reviewRequested', 'threadReply', 'reviewUpdated']);
    expect(sent[2]?.text).toContain('Nobody reviewed `dbx_audited_perm` in time: revoked');
    expect(store.audit.list({ requestId: user.id }).find((e) => e.action === 'review_expired')?.detail).toEqual({ then: 'revoke' });
  });
});

describe('Keep and Revoke', () => {
  it.each([
    ['its owner, even a permanent-user approver', USERS.requester, 'You own this user, so another permanent-user approver must keep it'],
    ['an approver of temporary users only', USERS.approver, 'Only permanent-user approvers of audited can keep a user'],
    ['someone else', USERS.other, 'Only permanent-user approvers of audited can keep a user'],
  ])('refuses Keep by %s', async (_who, actor, problem) => {
    const user = activeUser('audited');
    await at(T0 + 30 * DAY);
    await expect(reviews.keep({ requestId: user.id, actor })).rejects.toThrow(problem);
    expect(actions(user.id)).toEqual(['review_requested']);
  });

  it('Keep by another permanent-user approver closes the review and schedules the next; a second click is told', async () => {
    const user = activeUser('audited');
    await at(T0 + 30 * DAY);
    now = T0 + 31 * DAY;
    const { nextDueAt } = await reviews.keep({ requestId: user.id, actor: USERS.ltAdmin });
    await delivery.flush();

    expect(nextDueAt).toBe(T0 + 61 * DAY);
    expect(store.reviews.get(user.id)).toMatchObject({ dueAt: T0 + 61 * DAY, askedAt: null, lastReviewedBy: USERS.ltAdmin });
    expect(sent.at(-1)?.text).toContain(`Kept by <@${USERS.ltAdmin}>`);
    expect(actions(user.id)).toEqual(['review_requested', 'review_kept']);
    await expect(reviews.keep({ requestId: user.id, actor: USERS.ltAdmin })).rejects.toThrow('This review was already decided');
    // No reminder for the closed review; the next one falls due 30 days after the Keep.
    await at(T0 + 45 * DAY);
    expect(sent.filter((s) => s.kind === 'threadReply')).toEqual([]);
    await at(T0 + 61 * DAY);
    expect(sent.filter((s) => s.kind === 'reviewRequested')).toHaveLength(2);
  });

  it('Revoke by an approver revokes through the normal revocation, audited; a stranger may not', async () => {
    const user = activeUser('dev');
    await at(T0 + 90 * DAY);
    await expect(reviews.revoke({ requestId: user.id, actor: USERS.other })).rejects.toThrow('Only the owner of this user or an approver can revoke it');

    await expect(reviews.revoke({ requestId: user.id, actor: USERS.approver })).resolves.toBe('revoked');
    await delivery.flush();

    expect(revoked).toEqual([{ requestId: user.id, actor: USERS.approver, reason: 'requested', by: 'approver' }]);
    expect(actions(user.id)).toEqual(['review_requested', 'review_revoked']);
    expect(sent.at(-1)?.text).toContain(`Revoked by <@${USERS.approver}> after its access review`);
  });
});

describe('/dbuser reviews', () => {
  it('lists open reviews first, then those due within the grace, to approvers only', async () => {
    const open = activeUser('dev');
    now = T0 + 10 * DAY;
    activeUser('dev', 'permanent', USERS.other, 'readwrite');
    await at(T0 + 90 * DAY);

    const lines = await reviews.due(USERS.approver);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`owner <@${USERS.requester}>`);
    expect(lines[0]).toContain('waiting, asked');
    expect(lines[1]).toContain(`owner <@${USERS.other}>`);
    expect(lines[1]).toContain('due <!date^');
    await expect(reviews.due(USERS.other)).rejects.toThrow('Only approvers see access reviews');
    expect(open.kind).toBe('permanent');
  });
});
