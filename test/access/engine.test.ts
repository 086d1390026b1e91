// The access engine's guarantee under faults (issue 13): one environment's hanging database, a locked
// state database, a drop that fails after a crash, an environment gone from the configuration, the
// rules of Extend and break-glass, and passwords that must not outlive their request. Real SQLite,
// dry-run databases that can hang or fail per environment, the real outbox, a clock the test moves.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withDeadline } from '../../src/access/core/deadline.js';
import { createExpiry } from '../../src/access/expiry.js';
import { createPermanentAccess } from '../../src/access/permanent.js';
import type { Directory, Notifier } from '../../src/access/core/ports.js';
import { createAccess } from '../../src/access/index.js';
import type { Config, LoadedEnvironment } from '../../src/config.js';
import { createDatabase, type Database as Db } from '../../src/dialects/database.js';
import { DatabaseError, dryRunExecutor, type DryRunExecutor, type DryRunResponder } from '../../src/dialects/executor.js';
import { dialectOf, targetOf } from '../../src/dialects/index.js';
import { ALL_MISSING_WRITE_LABEL } from '../../src/dialects/permissions.js';
import { createLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/store.js';
import { loadTestConfig, USERS } from '../e2e/harness.js';
import { testNotices } from '../fakes/notices.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);

/** A second SQL Server environment the LifeTime administrator may self-serve in, beside dev. */
const SECOND = `
  - name: dev2
    dialect: sqlserver
    connection: { host: db-dev2, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: dev2-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    selfService: [${USERS.ltAdmin}]
    channels: { approvals: C0APPROVALS, reminders: C0REMINDERS2 }
`;

let dir: string;
let store: Store;
let now: number;
let config: Config;
let sent: { kind: string; text: string }[];
let responders: Map<string, DryRunResponder>;
let executors: Map<string, DryRunExecutor>;
let notifierOverrides: Partial<Notifier>;

function build(options: { deadlineMs?: number; config?: Config; storeRetryDelaysMs?: number[]; concurrency?: number; directory?: Directory } = {}) {
  const cfg = options.config ?? config;
  const record =
    (kind: string) =>
    async (...args: unknown[]): Promise<void> =>
      void sent.push({ kind, text: String(args.at(-1)) });
  const notifier: Notifier = {
    approvalRequested: async () => ({ channel: 'C0APPROVALS', ts: '1.1' }),
    approvalUpdated: record('approvalUpdated'),
    notifyRequester: record('notifyRequester'),
    deliverCredentials: async (r) => void sent.push({ kind: 'deliverCredentials', text: r.id }),
    directMessage: async (user, text) => void sent.push({ kind: 'directMessage', text: `${user} ${text}` }),
    channelNotice: async (env, channel, text) => void sent.push({ kind: 'channelNotice', text: `${env.name}/${channel} ${text}` }),
    expiryReminder: async (_r, _e, reminder) => void sent.push({ kind: 'expiryReminder', text: reminder.text }),
    reminderUpdated: async (_r, _e, message, update) => void sent.push({ kind: 'reminderUpdated', text: `${message.ts} ${update.status}` }),
    revoked: record('revoked'),
    revokeFailed: record('revokeFailed'),
    remindApprovers: record('remindApprovers'),
    orphanReport: async () => {},
    rotationRequested: async () => ({ ts: '2.2' }),
    rotationDecided: record('rotationDecided'),
    interopRequested: async () => ({ channel: 'C0APPROVALS', ts: '3.3' }),
    interopUpdated: async () => {},
    deliverInteropCredentials: async () => {},
    threadReply: async (channel, _ts, text) => void sent.push({ kind: 'threadReply', text: `${channel} ${text}` }),
    reviewRequested: async () => ({ channel: 'C0APPROVALS', ts: '4.4' }),
    reviewUpdated: async (_r, _e, _m, status) => void sent.push({ kind: 'reviewUpdated', text: status }),
    ...notifierOverrides,
  };
  const databases = new Map<string, Db>();
  const database = (env: LoadedEnvironment): Db => {
    let db = databases.get(env.name);
    if (!db) {
      const executor = executors.get(env.name) ?? dryRunExecutor((s) => (responders.get(env.name) ?? (() => []))(s));
      executors.set(env.name, executor);
      db = createDatabase({ dialect: dialectOf(env), executor, target: targetOf(env), dropRetry: { attempts: 1, delayMs: 0 } });
      if (options.deadlineMs) db = withDeadline(db, options.deadlineMs, env.name);
      databases.set(env.name, db);
    }
    return db;
  };
  const delivery = testNotices({ store, notifier, config: cfg, clock: { now: () => now } });
  const deps = {
    config: cfg,
    store,
    database,
    notifier,
    notices: delivery.notices,
    directory: options.directory ?? { displayName: async () => 'Maria Silva', groupMembers: async () => [USERS.groupApprover], knownGroupMembers: () => undefined },
    clock: { now: () => now },
    log: createLogger({ level: 'silent' }),
    random: () => 0.5,
    revocation: { retryDelaysMs: [5_000, 15_000], slowRetryMs: 15 * MIN },
    ...(options.storeRetryDelaysMs ? { storeRetryDelaysMs: options.storeRetryDelaysMs } : {}),
  };
  const temporary = createAccess(deps);
  const expiry = createExpiry({ ...deps, access: temporary, ...(options.concurrency ? { settings: { concurrency: options.concurrency } } : {}) });
  const permanent = createPermanentAccess({ ...deps, access: temporary });
  return { temporary, expiry, permanent, flush: delivery.flush, outbox: delivery.outbox };
}

async function activeUser(env: string, requester: string = USERS.ltAdmin, duration = 1 * HOUR) {
  const { temporary } = build();
  const { request } = await temporary.requestTemporary({ env, requester, reason: 'x', durationMs: duration });
  const active = await temporary.provision(request.id);
  expect(active?.state).toBe('active');
  return active!;
}

/** Polls until `check` holds, for at most `ms` of real time (generous: a busy machine must still pass). */
async function eventually(check: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-engine-'));
  now = T0;
  store = openStore(join(dir, 'db.sqlite'), { clock: { now: () => now } });
  config = loadTestConfig(join(dir, 'db.sqlite'), SECOND);
  sent = [];
  responders = new Map();
  executors = new Map();
  notifierOverrides = {};
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('isolation: one environment whose database hangs', () => {
  it('delays no revocation in another environment, and its own is retried after the deadline', async () => {
    const stuck = await activeUser('dev');
    const healthy = await activeUser('dev2');
    let release: () => void = () => {};
    const hung = new Promise<[]>((resolve) => (release = () => resolve([])));
    responders.set('dev', () => hung);
    const { expiry } = build({ deadlineMs: 50 });
    now = T0 + HOUR + 1;
    expiry.tick(now);
    // dev2 is revoked while dev's database has not answered at all.
    await eventually(() => store.requests.get(healthy.id)!.state === 'revoked');
    expect(store.requests.get(stuck.id)!.state).toBe('revoking');
    // dev's attempt ends at its deadline and is scheduled again, not lost.
    await eventually(() => store.requests.get(stuck.id)!.nextAttemptAt !== null);
    expect(store.requests.get(stuck.id)!.error).toContain('did not answer');
    release();
    responders.set('dev', () => []);
    now = store.requests.get(stuck.id)!.nextAttemptAt!;
    await expiry.runDue(now);
    expect(store.requests.get(stuck.id)!.state).toBe('revoked');
  });

  it('a full lane of one environment leaves the timer sleeping, not spinning, and the others served', async () => {
    const dev = config.environments.find((e) => e.name === 'dev')!;
    for (let i = 0; i < 3; i++) {
      dev.selfService.push(`U0DEV${i}`);
      await activeUser('dev', `U0DEV${i}`);
    }
    const healthy = await activeUser('dev2');
    responders.set('dev', () => new Promise<[]>(() => {}));
    const { expiry } = build({ concurrency: 2 });
    now = T0 + HOUR + 1;
    // Two of dev's three start (its lane holds two), and dev2's one.
    expect(expiry.tick(now)).toBe(3);
    await eventually(() => store.requests.get(healthy.id)!.state === 'revoked');
    // dev's third user waits for a free slot: the timer is not told it is due now (it would spin), but sleeps.
    const next = expiry.nextDueAt();
    expect(next === null || next > now).toBe(true);
    expect(expiry.tick(now)).toBe(0);
  });
});

/** Another process (a backup, an operator's shell) holding SQLite's write lock until released. */
function lockStore(): { release(): void } {
  const other = new Database(join(dir, 'db.sqlite'));
  other.exec('BEGIN EXCLUSIVE');
  return {
    release() {
      other.exec('ROLLBACK');
      other.close();
    },
  };
}

describe('the state database fails right after CREATE LOGIN', () => {
  it('a lock that lets go in time: the write is retried asynchronously and the user becomes active', async () => {
    const { temporary } = build({ storeRetryDelaysMs: [20, 20, 50, 100, 200, 400] });
    const { request } = await temporary.requestTemporary({ env: 'dev', requester: USERS.ltAdmin, reason: 'x' });
    let lock: { release(): void } | undefined;
    // The lock is taken just as the server answers the last statement of the create.
    responders.set('dev', (s) => {
      if (s.label === ALL_MISSING_WRITE_LABEL && !lock) lock = lockStore();
      return [];
    });
    setTimeout(() => lock?.release(), 150);
    const active = await temporary.provision(request.id);
    expect(active?.state).toBe('active');
    expect(active?.expiresAt).not.toBeNull();
  });

  it('a lock that stays: the login is dropped at once, never left alive untracked; the sweep settles the request once the store is back', async () => {
    const { temporary } = build({ storeRetryDelaysMs: [10, 10] });
    const { request } = await temporary.requestTemporary({ env: 'dev', requester: USERS.ltAdmin, reason: 'x' });
    let lock: { release(): void } | undefined;
    responders.set('dev', (s) => {
      if (s.label === ALL_MISSING_WRITE_LABEL && !lock) lock = lockStore();
      return [];
    });
    const after = await temporary.provision(request.id);
    const kinds = executors.get('dev')!.statements.map((s) => s.kind);
    // Created, then dropped again: block, end sessions, drop user, drop login.
    expect(kinds.slice(kinds.indexOf('drop user') - 2)).toEqual(['block login', 'query', 'drop user', 'drop login']);
    // Nothing could be written: the request is still provisioning (never "failed" with a live login, never active).
    expect(after?.state).toBe('provisioning');
    lock!.release();
    expect(store.requests.get(request.id)!.state).toBe('provisioning');
    // The sweep finds it once it is stale, drops again (idempotent) and records the outcome.
    now += 2 * config.environments.find((e) => e.name === 'dev')!.policy.dbTimeout + 61_000;
    const fresh = build();
    fresh.temporary.sweep(now);
    await eventually(() => store.requests.get(request.id)!.state === 'failed');
    await fresh.flush();
    expect(sent.some((s) => s.kind === 'notifyRequester' && s.text.includes('could not be created'))).toBe(true);
  });

  it('no synchronous wait on the event loop longer than 50 ms: a locked store refuses at once (busy_timeout), callers retry asynchronously', () => {
    expect(store.busyTimeoutMs()).toBeLessThanOrEqual(50);
    const lock = lockStore();
    try {
      expect(() => store.audit.append({ actor: 'bot', action: 'probe' })).toThrow(/locked|busy/i);
    } finally {
      lock.release();
    }
    expect(store.audit.append({ actor: 'bot', action: 'probe' }).action).toBe('probe');
  });
});

describe('reconciliation after a crash acts on its own drop', () => {
  it('database unreachable at restart: the request is being revoked and retried, never closed as "nothing left behind"', async () => {
    const { temporary } = build();
    const { request } = await temporary.requestTemporary({ env: 'dev', requester: USERS.ltAdmin, reason: 'x' });
    // The crash: provisioning began (username recorded), the CREATE may have run.
    store.requests.transition(request.id, { from: ['approved'], to: 'provisioning', actor: 'bot' });
    responders.set('dev', () => {
      throw new DatabaseError('db_unreachable', 'The server db-dev cannot be reached.');
    });
    const restarted = build();
    const counts = await restarted.temporary.reconcile();
    await restarted.flush();
    expect(counts).toMatchObject({ failed: 0, cleaning: 1 });
    const after = store.requests.get(request.id)!;
    expect(after.state).toBe('revoking');
    expect(after.nextAttemptAt).not.toBeNull();
    expect(sent.some((s) => /nothing was left behind/i.test(s.text))).toBe(false);
    // Once the server answers, the revoker finishes it: failed, and the requester told whatever was made is gone.
    responders.set('dev', () => []);
    now = after.nextAttemptAt!;
    await restarted.expiry.runDue(now);
    await restarted.flush();
    expect(store.requests.get(request.id)!.state).toBe('failed');
    expect(sent.some((s) => s.kind === 'notifyRequester' && s.text.includes('Whatever was made has been removed'))).toBe(true);
  });
});

describe('an environment removed from the configuration while it has open requests', () => {
  it('is reported once and left alone; start-up, the timer and every other environment go on', async () => {
    const orphaned = await activeUser('dev2');
    const kept = await activeUser('dev');
    const pending = await build().temporary.requestTemporary({ env: 'dev2', requester: USERS.requester, reason: 'x', password: 'Harbour-Lights-77' });
    // The operator removes dev2 and restarts.
    const shrunk = loadTestConfig(join(dir, 'db.sqlite'));
    const { temporary, expiry, flush } = build({ config: shrunk });
    config = shrunk;
    await expect(temporary.reconcile()).resolves.toBeDefined();
    expect(temporary.unknownEnvironments()).toEqual(['dev2']);
    now = T0 + 9 * HOUR;
    await expiry.runDue(now);
    await expiry.runDue(now + MIN);
    await flush();
    expect(store.requests.get(kept.id)!.state).toBe('revoked');
    expect(store.requests.get(orphaned.id)!.state).toBe('active');
    expect(store.requests.get(pending.request.id)!.state).toBe('pending');
    const warnings = sent.filter((s) => s.kind === 'channelNotice' && s.text.includes('"dev2"'));
    // Once, in each configured environment's reminder channel.
    expect(warnings.map((w) => w.text.split(' ')[0])).toEqual(shrunk.environments.map((e) => `${e.name}/reminders`));
    // Nothing of dev2's counts as due: the timer sleeps instead of spinning on what it must leave alone.
    const next = expiry.nextDueAt();
    expect(next === null || next > now + MIN).toBe(true);
  });
});

describe('the rules of Extend', () => {
  it('is refused once the user has expired, even before the revocation ran', async () => {
    const user = await activeUser('dev', USERS.ltAdmin, HOUR);
    const { expiry } = build();
    now = user.expiresAt! + 1;
    await expect(expiry.extend({ requestId: user.id, actor: USERS.ltAdmin })).rejects.toThrow(/has expired/);
    await expiry.runDue(now);
    expect(store.requests.get(user.id)!.state).toBe('revoked');
  });

  it('an extension that lands between the listing and the attempt wins: the revocation re-checks the expiry', async () => {
    const user = await activeUser('dev', USERS.ltAdmin, HOUR);
    const { expiry } = build();
    now = user.expiresAt! - 1;
    await expiry.extend({ requestId: user.id, actor: USERS.ltAdmin });
    // The old expiry passes; a revocation started for it skips the extended user.
    now = user.expiresAt! + 1;
    await expect(expiry.attemptRevoke(user.id, 'scheduler', 'expired')).resolves.toBe('skipped');
    expect(store.requests.get(user.id)!.state).toBe('active');
  });

  it('where extensionNeedsApproval is set, an approver cannot extend their own user', async () => {
    const dev = config.environments.find((e) => e.name === 'dev')!;
    dev.policy.extensionNeedsApproval = true;
    dev.approvers.users.push(USERS.ltAdmin);
    const user = await activeUser('dev', USERS.ltAdmin, HOUR);
    const { expiry } = build();
    await expect(expiry.extend({ requestId: user.id, actor: USERS.ltAdmin })).rejects.toThrow(/another approver must extend/);
    await expect(expiry.extend({ requestId: user.id, actor: USERS.approver })).resolves.toMatchObject({ extensions: 1 });
  });
});

describe('break-glass never waits for its alerts', () => {
  it('40 approvers whose DMs hang: the user is created at once, and each alert is a notice of its own', async () => {
    const dev = config.environments.find((e) => e.name === 'dev')!;
    for (let i = 0; i < 40; i++) dev.approvers.users.push(`U0APPR${String(i).padStart(2, '0')}`);
    notifierOverrides = { directMessage: () => new Promise(() => {}) };
    const { temporary } = build();
    const { request, route } = await temporary.requestTemporary({ env: 'dev', requester: USERS.onCall, reason: 'orders stuck', breakGlass: true });
    expect(route).toBe('break-glass');
    const active = await temporary.provision(request.id);
    expect(active?.state).toBe('active');
    // 40 + the configured approver + the approver group's member (looked up after the fact); not the requester.
    await eventually(() => store.outbox.list({ topic: 'direct.message' }).length === 42);
    const alerts = store.outbox.list({ topic: 'direct.message' });
    expect(new Set(alerts.map((a) => a.payload['user'])).size).toBe(42);
    expect(alerts.some((a) => a.payload['user'] === USERS.onCall)).toBe(false);
    expect(store.outbox.list({ topic: 'channel.notice' })).toHaveLength(1);
  });
});

describe('passwords', () => {
  it('New password on a permanent user is refused: its rotation needs an approver', async () => {
    const { permanent, temporary } = build();
    const { requests } = await permanent.requestPermanent({ envs: ['dev'], requester: USERS.requester, access: 'readonly', via: 'vpn', ips: [], reason: 'reports' });
    await temporary.decide({ requestId: requests[0]!.id, actor: USERS.approver, decision: 'approve' });
    await temporary.provision(requests[0]!.id);
    const statements = executors.get('dev')!.statements.length;
    await expect(temporary.rotatePassword({ requestId: requests[0]!.id, user: USERS.requester })).rejects.toThrow(/needs an approver/);
    expect(executors.get('dev')!.statements.length).toBe(statements);
  });

  it('an approved permanent rotation whose delivery fails is never reported as shown', async () => {
    notifierOverrides = {
      deliverCredentials: async (r) => {
        if (r.kind === 'permanent' && sent.some((s) => s.kind === 'rotationAsked')) throw new Error('ephemeral failed');
      },
      rotationRequested: async () => {
        sent.push({ kind: 'rotationAsked', text: '' });
        return { ts: '2.2' };
      },
    };
    const { permanent, temporary, flush } = build();
    const { requests } = await permanent.requestPermanent({ envs: ['dev'], requester: USERS.requester, access: 'readonly', via: 'vpn', ips: [], reason: 'reports' });
    await temporary.decide({ requestId: requests[0]!.id, actor: USERS.approver, decision: 'approve' });
    await temporary.provision(requests[0]!.id);
    await permanent.requestRotation({ env: 'dev', access: 'readonly', user: USERS.requester });
    await permanent.decideRotation({ requestId: requests[0]!.id, actor: USERS.approver, decision: 'approve' });
    await flush();
    const decided = sent.filter((s) => s.kind === 'rotationDecided').map((s) => s.text);
    expect(decided).toHaveLength(1);
    expect(decided[0]).toContain('could not be shown');
    expect(decided[0]).not.toContain('and shown to');
    expect(sent.some((s) => s.kind === 'notifyRequester' && s.text.includes('old one no longer works'))).toBe(true);
    expect(store.audit.list({ requestId: requests[0]!.id }).map((e) => e.action)).toContain('credentials_not_shown');
  });

  it('a chosen password leaves memory when its request ends, whatever the end', async () => {
    const { temporary, expiry } = build();
    await temporary.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x', password: 'Harbour-Lights-77' });
    expect(temporary.heldPasswords()).toBe(1);
    // Nobody decides: the request times out.
    now = T0 + config.environments.find((e) => e.name === 'dev')!.policy.pendingTimeout;
    await expiry.runDue(now);
    expect(temporary.heldPasswords()).toBe(0);
  });
});

describe('connection rules are checked where the request is inserted', () => {
  it('two overlapping permanent requests, one by VPN and one by allowlist: only one is created', async () => {
    config.environments.find((e) => e.name === 'dev')!.network = 'none';
    const waiting: (() => void)[] = [];
    // Both requests pass their first checks, then wait on Slack for the requester's name.
    const directory: Directory = { displayName: () => new Promise<string>((resolve) => waiting.push(() => resolve('Maria'))), groupMembers: async () => [], knownGroupMembers: () => undefined };
    const { permanent } = build({ directory });
    const vpn = permanent.requestPermanent({ envs: ['dev'], requester: USERS.requester, access: 'readonly', via: 'vpn', ips: [], reason: 'a' });
    const allowlist = permanent.requestPermanent({ envs: ['dev'], requester: USERS.other, access: 'readwrite', via: 'allowlist', ips: ['8.8.8.8'], reason: 'b' });
    await eventually(() => waiting.length === 2);
    for (const go of waiting) go();
    const outcomes = await Promise.allSettled([vpn, allowlist]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
    expect(String(refused.reason)).toMatch(/cannot coexist|would end that allowlist/);
  });
});

describe('quorum: policy.approvals', () => {
  it('two approvers for a temporary user: one person counts once, the requester never, and the second approval creates the user', async () => {
    const dev = config.environments.find((e) => e.name === 'dev')!;
    dev.policy.approvals = { temporary: 2, permanent: 1, interop: 1 };
    dev.policy.allowSelfApproval = true;
    dev.approvers.users.push(USERS.requester, USERS.other);
    const { temporary, flush } = build();
    const { request } = await temporary.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x' });
    await expect(temporary.decide({ requestId: request.id, actor: USERS.requester, decision: 'approve' })).rejects.toThrow(/yours does not count/);
    const first = await temporary.decide({ requestId: request.id, actor: USERS.approver, decision: 'approve' });
    expect(first).toMatchObject({ changed: true, request: { state: 'pending' } });
    await expect(temporary.decide({ requestId: request.id, actor: USERS.approver, decision: 'approve' })).rejects.toThrow(/approved this already \(1 of 2\)/);
    await flush();
    expect(sent.filter((s) => s.kind === 'approvalUpdated').map((s) => s.text)).toEqual([`Approved by <@${USERS.approver}> (1 of 2); waiting for another approver.`]);
    await temporary.decide({ requestId: request.id, actor: USERS.other, decision: 'approve' });
    // The workflow creates the user itself once the quorum is reached.
    await eventually(() => store.requests.get(request.id)!.state === 'active');
    const approved = store.audit.list({ requestId: request.id }).find((e) => e.action === 'state:approved')!;
    expect(approved.detail).toMatchObject({ approvers: [USERS.approver, USERS.other] });
    expect(store.audit.list({ requestId: request.id }).filter((e) => e.action === 'approval_recorded')).toHaveLength(1);
  });

  it('a denial needs one approver, whatever the quorum', async () => {
    const dev = config.environments.find((e) => e.name === 'dev')!;
    dev.policy.approvals = { temporary: 2, permanent: 1, interop: 1 };
    const { temporary } = build();
    const { request } = await temporary.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x' });
    await temporary.decide({ requestId: request.id, actor: USERS.approver, decision: 'deny' });
    expect(store.requests.get(request.id)!.state).toBe('denied');
  });
});
