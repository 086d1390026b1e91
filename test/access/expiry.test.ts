// Expiry with a real store, a dry-run database, a recording notifier and a clock the test moves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createExpiry } from '../../src/access/expiry.js';
import type { Notifier } from '../../src/access/core/ports.js';
import { createAccess } from '../../src/access/index.js';
import type { Config } from '../../src/config.js';
import { createDatabase } from '../../src/dialects/database.js';
import { DatabaseError, dryRunExecutor, type DryRunResponder } from '../../src/dialects/executor.js';
import { dialectOf, targetOf } from '../../src/dialects/index.js';
import { createLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/store.js';
import { loadTestConfig, USERS } from '../e2e/harness.js';
import { testNotices } from '../fakes/notices.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);

interface Sent {
  kind: keyof Notifier;
  text: string;
  requestId?: string;
  /** expiryReminder: whether Extend was offered; reminderUpdated: whether it still is. */
  extend?: boolean;
}

let dir: string;
let store: Store;
let now: number;
let sent: Sent[];
let responder: DryRunResponder;
let statements: string[];
let config: Config;

function build() {
  const executor = dryRunExecutor((s) => {
    statements.push(s.kind);
    return responder(s);
  });
  const record =
    (kind: keyof Notifier) =>
    async (r: { id: string }, _e: unknown, text: string): Promise<void> =>
      void sent.push({ kind, text, requestId: r.id });
  const notifier: Notifier = {
    approvalRequested: async () => ({ channel: 'C0APPROVALS', ts: '1.1' }),
    approvalUpdated: record('approvalUpdated'),
    notifyRequester: async (r, text) => void sent.push({ kind: 'notifyRequester', text, requestId: r.id }),
    deliverCredentials: async () => {},
    directMessage: async (user, text) => void sent.push({ kind: 'directMessage', text: `${user} ${text}` }),
    channelNotice: async (env, channel, text) => void sent.push({ kind: 'channelNotice', text: `${env.name}/${channel} ${text}` }),
    expiryReminder: async (r, _e, reminder) => {
      sent.push({ kind: 'expiryReminder', text: reminder.text, requestId: r.id, extend: reminder.extend });
      // As Slack would: one message in the reminder channel, one in the owner's DM.
      reminder.posted({ channel: 'C0REMINDERS', ts: `${now}.1` });
      reminder.posted({ channel: 'D0OWNER', ts: `${now}.2` });
    },
    reminderUpdated: async (r, _e, message, update) => void sent.push({ kind: 'reminderUpdated', text: `${message.channel} ${update.status}`, requestId: r.id, extend: update.extend }),
    revoked: record('revoked'),
    revokeFailed: record('revokeFailed'),
    remindApprovers: record('remindApprovers'),
    orphanReport: async (env, report) => void sent.push({ kind: 'orphanReport', text: `${env.name} ${JSON.stringify(report)}` }),
    rotationRequested: async () => ({ ts: '2.2' }),
    rotationDecided: async () => {},
    interopRequested: async () => ({ channel: 'C0APPROVALS', ts: '3.3' }),
    interopUpdated: async () => {},
    deliverInteropCredentials: async () => {},
    threadReply: async (channel, _ts, text) => void sent.push({ kind: 'threadReply', text: `${channel} ${text}` }),
    reviewRequested: async (r, _e, text) => {
      sent.push({ kind: 'reviewRequested', text, requestId: r.id });
      return { channel: 'C0APPROVALS', ts: `${now}.4` };
    },
    reviewUpdated: async (r, _e, _m, status) => void sent.push({ kind: 'reviewUpdated', text: status, requestId: r.id }),
  };
  const delivery = testNotices({ store, notifier, config, clock: { now: () => now } });
  const deps = {
    config,
    store,
    notices: delivery.notices,
    database: (env: Parameters<typeof dialectOf>[0] & Parameters<typeof targetOf>[0]) =>
      createDatabase({ dialect: dialectOf(env), executor, target: targetOf(env), dropRetry: { attempts: 1, delayMs: 0 } }),
    notifier,
    directory: { displayName: async () => 'Maria Silva', groupMembers: async () => [USERS.groupApprover], knownGroupMembers: () => undefined },
    clock: { now: () => now },
    log: createLogger({ level: 'silent' }),
    random: () => 0.5, // no jitter: delays are exact
    revocation: { retryDelaysMs: [5_000, 15_000], slowRetryMs: 15 * MIN },
  };
  const temporary = createAccess(deps);
  const created = createExpiry({ ...deps, access: temporary });
  // runDue as the bot runs it, then the outbox delivers what it queued, so `sent` shows what Slack was told.
  const expiry = {
    ...created,
    runDue: async (at: number) => {
      await created.runDue(at);
      await delivery.flush();
    },
  };
  return { temporary, expiry, flush: delivery.flush };
}

/** An active temporary user in dev (self-service, so no approval step), for `duration`. */
async function activeUser(requester: string = USERS.ltAdmin, duration = 4 * HOUR) {
  const { temporary } = build();
  const { request } = await temporary.requestTemporary({ env: 'dev', requester, reason: 'x', durationMs: duration });
  const active = await temporary.provision(request.id);
  expect(active?.state).toBe('active');
  return active!;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-expiry-'));
  now = T0;
  store = openStore(join(dir, 'db.sqlite'), { clock: { now: () => now } });
  sent = [];
  statements = [];
  responder = () => [];
  config = loadTestConfig(join(dir, 'db.sqlite'));
  // The ltAdmin may self-serve in dev; give dev a policy with room to extend.
  const dev = config.environments.find((e) => e.name === 'dev')!;
  dev.selfService.push(USERS.onCall);
  Object.assign(dev.policy, { ttl: 4 * HOUR, maxTtl: 12 * HOUR, maxExtensions: 1, reminders: [60 * MIN, 10 * MIN], pendingTimeout: 8 * HOUR, approverReminders: [15 * MIN, 45 * MIN] });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('revocation at expiry', () => {
  it('revokes exactly the users that are due, records the lateness, and tells channel and owner', async () => {
    const early = await activeUser(USERS.ltAdmin, 1 * HOUR);
    const late = await activeUser(USERS.onCall, 2 * HOUR);
    const { expiry } = build();
    now = T0 + HOUR + 250;
    statements = [];
    await expiry.runDue(now);
    expect(store.requests.get(early.id)!.state).toBe('revoked');
    expect(store.requests.get(late.id)!.state).toBe('active');
    expect(statements).toEqual(['block login', 'query', 'drop user', 'drop login']);
    const revokedEntry = store.audit.list({ requestId: early.id }).find((e) => e.action === 'state:revoked')!;
    expect(revokedEntry.actor).toBe('scheduler');
    expect(revokedEntry.detail).toMatchObject({ reason: 'expired', lateMs: 250 });
    expect(sent.filter((s) => s.kind === 'revoked').map((s) => s.requestId)).toEqual([early.id]);
  });

  it('retries a failed revocation with backoff, then marks it revoke_failed, alerts once, and keeps trying slowly', async () => {
    const user = await activeUser();
    const { expiry } = build();
    responder = (s) => {
      if (s.kind === 'drop login') throw new DatabaseError('db_error', 'login in use', { serverCode: 15434 });
      return [];
    };
    now = user.expiresAt!;
    await expiry.runDue(now);
    let r = store.requests.get(user.id)!;
    expect([r.state, r.revokeAttempts, r.nextAttemptAt]).toEqual(['revoking', 1, now + 5_000]);
    expect(expiry.nextDueAt()).toBe(now + 5_000);
    now += 5_000;
    await expiry.runDue(now);
    r = store.requests.get(user.id)!;
    expect([r.state, r.revokeAttempts, r.nextAttemptAt]).toEqual(['revoking', 2, now + 15_000]);
    now += 15_000;
    await expiry.runDue(now);
    r = store.requests.get(user.id)!;
    expect([r.state, r.revokeAttempts, r.nextAttemptAt]).toEqual(['revoke_failed', 3, now + 15 * MIN]);
    expect(r.error).toContain('drop the login: login in use');
    now += 15 * MIN;
    await expiry.runDue(now);
    expect(store.requests.get(user.id)!.state).toBe('revoke_failed');
    expect(sent.filter((s) => s.kind === 'revokeFailed')).toHaveLength(1);
    // The database recovers: the slow retry finishes the job.
    responder = () => [];
    now += 15 * MIN;
    await expiry.runDue(now);
    expect(store.requests.get(user.id)!.state).toBe('revoked');
    expect(store.requests.get(user.id)!.revokeAttempts).toBe(5);
  });

  it('nothing is due: nextDueAt is null and a run does nothing', async () => {
    const { expiry } = build();
    expect(expiry.nextDueAt()).toBeNull();
    await expiry.runDue(now);
    expect(statements).toEqual([]);
  });
});

describe('reminders', () => {
  it('sends the 60 and 10 minute reminders once each, at their time, and not again after a restart', async () => {
    const user = await activeUser(USERS.ltAdmin, 4 * HOUR);
    let { expiry } = build();
    await expiry.runDue(now);
    expect(sent.filter((s) => s.kind === 'expiryReminder')).toEqual([]);
    expect(expiry.nextDueAt()).toBe(user.expiresAt! - 60 * MIN);
    now = user.expiresAt! - 60 * MIN;
    await expiry.runDue(now);
    expect(sent.filter((s) => s.kind === 'expiryReminder').map((s) => s.text)).toEqual([expect.stringContaining('expires in 1h')]);
    ({ expiry } = build()); // a restart: the window starts over, the claims remain
    await expiry.runDue(now + 1_000);
    expect(sent.filter((s) => s.kind === 'expiryReminder')).toHaveLength(1);
    now = user.expiresAt! - 10 * MIN;
    await expiry.runDue(now);
    expect(sent.filter((s) => s.kind === 'expiryReminder').map((s) => s.text).at(-1)).toContain('expires in 10m');
    expect(sent.filter((s) => s.kind === 'expiryReminder')).toHaveLength(2);
  });

  it('after downtime that skipped both, sends only the nearest', async () => {
    const user = await activeUser(USERS.ltAdmin, 4 * HOUR);
    now = user.expiresAt! - 5 * MIN;
    const { expiry } = build();
    await expiry.runDue(now);
    const reminders = sent.filter((s) => s.kind === 'expiryReminder');
    expect(reminders).toHaveLength(1);
    expect(reminders[0]!.text).toContain('expires in 5m');
    await build().expiry.runDue(now + 1_000);
    expect(sent.filter((s) => s.kind === 'expiryReminder')).toHaveLength(1);
  });

  it('a user living shorter than a reminder lead time does not get that reminder', async () => {
    const user = await activeUser(USERS.ltAdmin, 30 * MIN);
    const { expiry } = build();
    for (const t of [now, user.expiresAt! - 20 * MIN, user.expiresAt! - 10 * MIN]) {
      now = t;
      await expiry.runDue(now);
    }
    expect(sent.filter((s) => s.kind === 'expiryReminder').map((s) => s.text)).toEqual([expect.stringContaining('expires in 10m')]);
  });

  it('a reminder claimed but never sent (a crash between) is sent after the restart', async () => {
    const user = await activeUser(USERS.ltAdmin, 4 * HOUR);
    store.reminders.claim(user.id, `expiry:${60 * MIN}:${user.expiresAt}`);
    now = user.expiresAt! - 50 * MIN;
    await build().expiry.runDue(now);
    expect(sent.filter((s) => s.kind === 'expiryReminder')).toHaveLength(1);
  });
});

describe('extension', () => {
  it('adds the requested duration, at most maxExtensions times, never past maxTtl, and earns fresh reminders', async () => {
    const user = await activeUser(USERS.ltAdmin, 4 * HOUR);
    const { expiry } = build();
    now = user.expiresAt! - 60 * MIN;
    await expiry.runDue(now);
    const extended = await expiry.extend({ requestId: user.id, actor: USERS.ltAdmin });
    expect(extended.expiresAt).toBe(user.activatedAt! + 8 * HOUR);
    expect(extended.extensions).toBe(1);
    await expect(expiry.extend({ requestId: user.id, actor: USERS.ltAdmin })).rejects.toThrow(/already extended 1 time\(s\); dev allows 1/);
    now = extended.expiresAt! - 60 * MIN;
    await expiry.runDue(now);
    expect(sent.filter((s) => s.kind === 'expiryReminder')).toHaveLength(2);
  });

  it('stops at maxTtl', async () => {
    const dev = config.environments.find((e) => e.name === 'dev')!;
    dev.policy.maxExtensions = 5;
    dev.policy.maxTtl = 6 * HOUR;
    const user = await activeUser(USERS.ltAdmin, 4 * HOUR);
    const { expiry } = build();
    expect((await expiry.extend({ requestId: user.id, actor: USERS.ltAdmin })).expiresAt).toBe(user.activatedAt! + 6 * HOUR);
    await expect(expiry.extend({ requestId: user.id, actor: USERS.ltAdmin })).rejects.toThrow(/longest lifetime dev allows \(6h\)/);
  });

  it('offers Extend only while one is left, and rewrites the reminders already posted on extension and on revocation (issue 16, item 14)', async () => {
    const user = await activeUser(USERS.ltAdmin, 4 * HOUR);
    const { expiry, flush } = build();
    now = user.expiresAt! - 60 * MIN;
    await expiry.runDue(now);
    expect(sent.filter((s) => s.kind === 'expiryReminder').map((s) => s.extend)).toEqual([true]);
    expect(store.reminders.messagesFor(user.id)).toEqual([
      { channel: 'C0REMINDERS', ts: `${now}.1` },
      { channel: 'D0OWNER', ts: `${now}.2` },
    ]);
    await expiry.extend({ requestId: user.id, actor: USERS.ltAdmin });
    await flush();
    // Both old messages rewritten: the new expiry, and no Extend (dev allows one extension).
    const afterExtension = sent.filter((s) => s.kind === 'reminderUpdated');
    expect(afterExtension.map((s) => s.text)).toEqual([`C0REMINDERS :white_check_mark: Extended by <@${USERS.ltAdmin}> (1 of 1).`, `D0OWNER :white_check_mark: Extended by <@${USERS.ltAdmin}> (1 of 1).`]);
    expect(afterExtension.every((s) => s.extend === false)).toBe(true);
    // The fresh reminder of the new expiry does not offer Extend either.
    now = store.requests.get(user.id)!.expiresAt! - 60 * MIN;
    await expiry.runDue(now);
    expect(sent.filter((s) => s.kind === 'expiryReminder').map((s) => s.extend)).toEqual([true, false]);
    sent.length = 0;
    await expiry.revokeNow({ requestId: user.id, actor: USERS.ltAdmin });
    await flush();
    const afterRevoke = sent.filter((s) => s.kind === 'reminderUpdated');
    expect(afterRevoke).toHaveLength(4);
    expect(afterRevoke.every((s) => s.text.includes('was revoked') && s.extend === false)).toBe(true);
  });

  it('with extensionNeedsApproval, the owner cannot extend but an approver can; strangers never', async () => {
    config.environments.find((e) => e.name === 'dev')!.policy.extensionNeedsApproval = true;
    const user = await activeUser(USERS.ltAdmin, 2 * HOUR);
    const { expiry } = build();
    await expect(expiry.extend({ requestId: user.id, actor: USERS.ltAdmin })).rejects.toThrow(/another approver must extend your temporary user/);
    await expect(expiry.extend({ requestId: user.id, actor: USERS.other })).rejects.toThrow(/Only the owner of this user or an approver/);
    await expect(expiry.extend({ requestId: user.id, actor: USERS.approver })).resolves.toMatchObject({ extensions: 1 });
  });
});

describe('undecided requests', () => {
  it('nudges approvers at 15 and 45 minutes, then expires the request after pendingTimeout', async () => {
    const { temporary, expiry } = build();
    const { request } = await temporary.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x' });
    expect(expiry.nextDueAt()).toBe(T0 + 15 * MIN);
    for (const t of [14 * MIN, 15 * MIN, 20 * MIN, 45 * MIN, 2 * HOUR]) {
      now = T0 + t;
      await expiry.runDue(now);
    }
    expect(sent.filter((s) => s.kind === 'remindApprovers').map((s) => s.text)).toEqual([expect.stringContaining('15m'), expect.stringContaining('45m')]);
    expect(expiry.nextDueAt()).toBe(T0 + 8 * HOUR);
    now = T0 + 8 * HOUR;
    await expiry.runDue(now);
    expect(store.requests.get(request.id)!.state).toBe('expired');
    expect(sent.some((s) => s.kind === 'notifyRequester' && s.text.includes('expired: nobody decided within 8h'))).toBe(true);
    expect(sent.some((s) => s.kind === 'approvalUpdated' && s.text.startsWith('Expired'))).toBe(true);
  });
});

describe('revoke by name, orphans', () => {
  it('only approvers revoke someone else’s user by name', async () => {
    const user = await activeUser();
    const { expiry } = build();
    await expect(expiry.revokeByUsername({ username: user.username!, actor: USERS.other })).rejects.toThrow(/Only approvers of dev/);
    await expect(expiry.revokeByUsername({ username: 'dbx_nobody_x1y2', actor: USERS.approver })).rejects.toThrow(/No active user is called/);
    await expect(expiry.revokeByUsername({ username: user.username!.toUpperCase(), actor: USERS.approver })).resolves.toMatchObject({ outcome: 'revoked' });
    expect(store.audit.list({ requestId: user.id }).at(-1)).toMatchObject({ actor: USERS.approver, action: 'state:revoked' });
  });

  it('finds users the state does not know and active users whose login is gone; drops only orphans, only for approvers', async () => {
    const user = await activeUser();
    responder = (s) => (s.label.startsWith('list users') ? [{ name: 'dbx_leftover_a1b2' }, { name: user.username!.replace(/.$/, (c) => (c === 'z' ? 'y' : 'z')) }] : []);
    const { expiry, flush } = build();
    const env = config.environments.find((e) => e.name === 'dev')!;
    const report = await expiry.findOrphans(env);
    expect(report.unknown).toEqual(['dbx_leftover_a1b2', user.username!.replace(/.$/, (c) => (c === 'z' ? 'y' : 'z'))]);
    expect(report.missing).toEqual([{ requestId: user.id, username: user.username, requester: USERS.ltAdmin }]);
    await expiry.reportOrphans();
    await flush();
    expect(sent.filter((s) => s.kind === 'orphanReport' && s.text.startsWith('dev '))).toHaveLength(1);
    await expect(expiry.dropOrphan({ env: 'dev', username: 'dbx_leftover_a1b2', actor: USERS.other })).rejects.toThrow(/Only approvers/);
    await expect(expiry.dropOrphan({ env: 'dev', username: user.username!, actor: USERS.approver })).rejects.toThrow(/not an orphan/);
    statements = [];
    await expect(expiry.dropOrphan({ env: 'dev', username: 'dbx_leftover_a1b2', actor: USERS.approver })).resolves.toMatchObject({ complete: true });
    expect(statements).toContain('drop login');
    expect(store.audit.list({ env: 'dev' }).at(-1)).toMatchObject({ action: 'orphan_dropped', actor: USERS.approver });
  });

  it('never reports, nor drops, a user that another environment owns (their databases may share a server)', async () => {
    const user = await activeUser(); // active in dev
    responder = (s) => (s.label.startsWith('list users') ? [{ name: user.username! }, { name: 'dbx_leftover_a1b2' }] : []);
    const { expiry } = build();
    const other = config.environments.find((e) => e.name !== 'dev' && e.dialect !== 'oracle')!;
    const report = await expiry.findOrphans(other);
    expect(report.unknown).toEqual(['dbx_leftover_a1b2']);
    await expect(expiry.dropOrphan({ env: other.name, username: user.username!, actor: USERS.approver })).rejects.toThrow(/not an orphan/);
  });
});
