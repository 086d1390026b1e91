// The temporary-user use cases with a real store, a dry-run database and a recording notifier:
// what the e2e suite cannot reach (crash reconciliation, failed deliveries, clocks).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notifier } from '../../src/access/core/ports.js';
import { createAccess } from '../../src/access/index.js';
import { createDatabase } from '../../src/dialects/database.js';
import { dryRunExecutor, type DryRunExecutor } from '../../src/dialects/executor.js';
import { dialectOf, targetOf } from '../../src/dialects/index.js';
import { createLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/store.js';
import { testNotices } from '../fakes/notices.js';
import { loadTestConfig, USERS } from '../e2e/harness.js';

interface Sent {
  kind: keyof Notifier;
  text: string;
}

let dir: string;
let store: Store;
let executor: DryRunExecutor;
let sent: Sent[];
let failing: Set<keyof Notifier>;
let now: number;

/** Group members the directory knows without asking Slack; undefined: not cached. */
let knownMembers: string[] | undefined;

function setup() {
  const config = loadTestConfig(join(dir, 'db.sqlite'));
  const notifier: Notifier = {
    approvalRequested: async (r) => {
      sent.push({ kind: 'approvalRequested', text: r.id });
      if (failing.has('approvalRequested')) throw new Error('slack down');
      return { channel: 'C0APPROVALS', ts: '1.1' };
    },
    approvalUpdated: async (_r, _e, status) => {
      sent.push({ kind: 'approvalUpdated', text: status });
      if (failing.has('approvalUpdated')) throw new Error('slack down');
    },
    notifyRequester: async (_r, text) => void sent.push({ kind: 'notifyRequester', text }),
    deliverCredentials: async (_r, _e, password) => {
      sent.push({ kind: 'deliverCredentials', text: password });
      if (failing.has('deliverCredentials')) throw new Error('ephemeral failed');
    },
    directMessage: async (user, text) => void sent.push({ kind: 'directMessage', text: `${user} ${text}` }),
    channelNotice: async (env, channel, text) => void sent.push({ kind: 'channelNotice', text: `${env.name}/${channel} ${text}` }),
    expiryReminder: async (_r, _e, reminder) => void sent.push({ kind: 'expiryReminder', text: reminder.text }),
    reminderUpdated: async (_r, _e, message, update) => void sent.push({ kind: 'reminderUpdated', text: `${message.ts} ${update.status}` }),
    revoked: async (_r, _e, text) => void sent.push({ kind: 'revoked', text }),
    revokeFailed: async (_r, _e, text) => void sent.push({ kind: 'revokeFailed', text }),
    remindApprovers: async (_r, _e, text) => void sent.push({ kind: 'remindApprovers', text }),
    orphanReport: async (env, report) => void sent.push({ kind: 'orphanReport', text: `${env.name} ${JSON.stringify(report)}` }),
    rotationRequested: async () => ({ ts: '2.2' }),
    rotationDecided: async () => {},
    interopRequested: async () => ({ channel: 'C0APPROVALS', ts: '3.3' }),
    interopUpdated: async () => {},
    deliverInteropCredentials: async () => {},
    threadReply: async () => {},
    reviewRequested: async () => ({ channel: 'C0APPROVALS', ts: '4.4' }),
    reviewUpdated: async () => {},
  };
  const delivery = testNotices({ store, notifier, config, clock: { now: () => now } });
  const access = createAccess({
    config,
    store,
    notices: delivery.notices,
    database: (env) => createDatabase({ dialect: dialectOf(env), executor, target: targetOf(env), dropRetry: { attempts: 1, delayMs: 0 } }),
    notifier,
    directory: { displayName: async () => 'Maria Silva', groupMembers: async () => [USERS.groupApprover], knownGroupMembers: () => knownMembers },
    clock: { now: () => now },
    log: createLogger({ level: 'silent' }),
  });
  return { access, config, flush: delivery.flush };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-access-'));
  now = Date.UTC(2026, 10, 22, 9, 0, 0);
  store = openStore(join(dir, 'db.sqlite'), { clock: { now: () => now } });
  executor = dryRunExecutor();
  sent = [];
  failing = new Set();
  knownMembers = undefined;
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reconcile after a restart', () => {
  it('drops the half-made user of a request caught mid-provisioning, marks it failed and tells the requester', async () => {
    const { access } = setup();
    const { request } = await access.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x' });
    // The approval was recorded by a process that crashed before it created anything (decide() itself would create at once).
    store.requests.transition(request.id, { from: ['pending'], to: 'approved', actor: USERS.approver, set: { decidedBy: USERS.approver, decidedAt: now } });
    // The crash: provisioning started (username recorded), the CREATE may or may not have run.
    store.requests.transition(request.id, { from: ['approved'], to: 'provisioning', actor: 'bot' });
    const after = setup();
    const counts = await after.access.reconcile();
    await after.flush();
    expect(counts).toEqual({ provisioned: 0, failed: 1, revoked: 0, cleaning: 0 });
    expect(executor.statements.map((s) => s.kind)).toEqual(['block login', 'query', 'drop user', 'drop login']);
    expect(executor.statements[0]!.params.find((p) => p.name === 'username')?.value).toBe(request.username);
    expect(store.requests.get(request.id)!.state).toBe('failed');
    expect(sent.at(-1)).toMatchObject({ kind: 'notifyRequester', text: expect.stringContaining('interrupted by a restart') });
  });

  it('provisions an approved request the crash left waiting; a chosen password is lost, so one is generated and the requester told', async () => {
    const first = setup();
    const { request } = await first.access.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x', password: 'Harbour-Lights-77' });
    // Approved by a process that crashed before it created the user.
    store.requests.transition(request.id, { from: ['pending'], to: 'approved', actor: USERS.approver, set: { decidedBy: USERS.approver, decidedAt: now } });
    // A new process: the chosen password lived only in the old one's memory.
    const second = setup();
    const counts = await second.access.reconcile();
    await second.flush();
    expect(counts.provisioned).toBe(1);
    const active = store.requests.get(request.id)!;
    expect(active.state).toBe('active');
    expect(active.expiresAt).toBe(now + 12 * 3600_000);
    const delivered = sent.find((s) => s.kind === 'deliverCredentials')!.text;
    expect(delivered).not.toBe('Harbour-Lights-77');
    expect(executor.statements.find((s) => s.kind === 'create login')!.params.find((p) => p.name === 'password')?.value).toBe(delivered);
    expect(sent.some((s) => s.kind === 'notifyRequester' && s.text.includes('was lost when the bot restarted'))).toBe(true);
  });

  it('finishes a revocation a crash interrupted', async () => {
    const { access } = setup();
    const { request } = await access.requestTemporary({ env: 'dev', requester: USERS.ltAdmin, reason: '' });
    await access.provision(request.id);
    store.requests.transition(request.id, { from: ['active'], to: 'revoking', actor: USERS.ltAdmin });
    executor.statements.length = 0;
    expect(await setup().access.reconcile()).toEqual({ provisioned: 0, failed: 0, revoked: 1, cleaning: 0 });
    expect(store.requests.get(request.id)!.state).toBe('revoked');
    expect(executor.statements.at(-1)?.kind).toBe('drop login');
  });
});

describe('deliveries that fail', () => {
  it('an approval request that cannot be posted is withdrawn, not left pending where nobody sees it', async () => {
    failing.add('approvalRequested');
    const { access } = setup();
    await expect(access.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x' })).rejects.toThrow(/could not be posted to the approval channel/);
    const [request] = store.requests.listByRequester(USERS.requester);
    expect(request?.state).toBe('failed');
    expect(store.audit.list({ requestId: request!.id }).map((e) => e.action)).toContain('delivery_failed');
    // And the person may ask again at once.
    failing.clear();
    await expect(access.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x' })).resolves.toMatchObject({ route: 'approval' });
  });

  it('a credentials message that cannot be delivered leaves the user active and the failure in the audit log', async () => {
    failing.add('deliverCredentials');
    const { access } = setup();
    const { request } = await access.requestTemporary({ env: 'dev', requester: USERS.ltAdmin, reason: '' });
    const active = await access.provision(request.id);
    expect(active?.state).toBe('active');
    const audit = store.audit.list({ requestId: request.id });
    expect(audit.find((e) => e.action === 'delivery_failed')?.detail).toMatchObject({ what: 'credentials', error: 'ephemeral failed' });
    // The way back: a new password, shown in reply to the click.
    const rotated = await access.rotatePassword({ requestId: request.id, user: USERS.ltAdmin });
    expect(rotated.password).toHaveLength(24);
    expect(JSON.stringify(audit)).not.toContain(sent.find((s) => s.kind === 'deliverCredentials')!.text);
  });
});

describe('policy', () => {
  it('lets an approver decide their own request only when the environment allows it', async () => {
    const { access, config } = setup();
    const { request } = await access.requestTemporary({ env: 'dev', requester: USERS.approver, reason: 'x' });
    await expect(access.decide({ requestId: request.id, actor: USERS.approver, decision: 'approve' })).rejects.toThrow(/your own request/);
    config.environments.find((e) => e.name === 'dev')!.policy.allowSelfApproval = true;
    await expect(access.decide({ requestId: request.id, actor: USERS.approver, decision: 'approve' })).resolves.toMatchObject({ changed: true });
  });

  it('a withdrawn request frees the slot; a denied one does too', async () => {
    const { access } = setup();
    const { request } = await access.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x' });
    await access.remove({ env: 'dev', user: USERS.requester });
    expect(store.requests.get(request.id)!.state).toBe('denied');
    expect(store.requests.get(request.id)!.decisionReason).toBe('withdrawn by the requester');
    await expect(access.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'again' })).resolves.toBeDefined();
  });

  it('an incomplete revocation stays "revoking" and says which steps failed', async () => {
    const { access } = setup();
    const { request } = await access.requestTemporary({ env: 'dev', requester: USERS.ltAdmin, reason: '' });
    await access.provision(request.id);
    executor = dryRunExecutor((s) => {
      if (s.kind === 'drop login') throw Object.assign(new Error('login in use'), { code: 'db_error' });
      return [];
    });
    const again = setup().access;
    await expect(again.remove({ env: 'dev', user: USERS.ltAdmin })).rejects.toThrow(/could not be fully removed yet: revocation incomplete \(drop the login: login in use\)\. .*keeps retrying/);
    expect(store.requests.get(request.id)!.state).toBe('revoking');
    expect(store.requests.get(request.id)!.error).toContain('drop the login');
  });
});

describe('list and listKnown', () => {
  it('listKnown answers as list does once the approver groups are known, and defers to list while they are not', async () => {
    const { access } = setup();
    await access.requestTemporary({ env: 'dev', requester: USERS.requester, reason: 'x' });

    expect(access.listKnown(USERS.groupApprover)).toBeUndefined();

    knownMembers = [USERS.groupApprover];
    const known = access.listKnown(USERS.groupApprover);
    const asked = await access.list(USERS.groupApprover);
    expect(known).toEqual(asked);
    expect(known!.approving.map((r) => r.requester)).toEqual([USERS.requester]);
    expect(access.listKnown(USERS.requester)).toEqual({ own: [expect.objectContaining({ requester: USERS.requester })], approving: [] });
  });
});
