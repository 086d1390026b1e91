// Escalation of undecided requests (src/access/escalation/ and who may then decide, core/policy.ts): once,
// across restarts, after policy.escalateAfter, to the escalation approvers; on a real SQLite store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicy } from '../../src/access/core/policy.js';
import type { Notifier } from '../../src/access/core/ports.js';
import { createEscalation } from '../../src/access/escalation/index.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { openStore, type Store } from '../../src/store/store.js';
import { loadTestConfig, USERS } from '../e2e/harness.js';
import { testNotices, type TestNotices } from '../fakes/notices.js';
import { newRequest } from '../store/fixtures.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const BOSS = 'U0BOSS';

const ESCALATING = `
  - name: esc
    dialect: sqlserver
    connection: { host: db-esc, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: esc-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    escalationApprovers: { users: [${BOSS}], groups: [S0LEADS] }
    channels: { approvals: C0APPROVALS, reminders: C0REMINDERS }
    policy: { escalateAfter: 1h }
`;

let dir: string;
let now: number;
let store: Store;
let config: Config;
let sent: { kind: string; text: string }[];
let delivery: TestNotices;

function escalation() {
  const policy = createPolicy({ config, store, directory: { displayName: async (u) => u, groupMembers: async () => [USERS.groupApprover], knownGroupMembers: () => undefined } });
  return { policy, escalation: createEscalation({ store, config, notices: delivery.notices, clock: { now: () => now }, log: createLogger({ level: 'silent' }), policy }) };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-escalation-'));
  now = T0;
  const clock = { now: () => now };
  store = openStore(join(dir, 'db.sqlite'), { clock });
  config = loadTestConfig(join(dir, 'db.sqlite'), ESCALATING);
  sent = [];
  const notifier = {
    threadReply: async (channel: string, ts: string | null, text: string) => void sent.push({ kind: 'threadReply', text: `${channel}/${ts ?? '-'} ${text}` }),
    directMessage: async (user: string, text: string) => void sent.push({ kind: 'directMessage', text: `${user} ${text}` }),
  } satisfies Partial<Notifier>;
  delivery = testNotices({ store, notifier: notifier as unknown as Notifier, config, clock });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function pending(env = 'esc') {
  const request = store.requests.create(newRequest({ env, requester: USERS.requester }), USERS.requester);
  store.requests.setApprovalMessage(request.id, 'C0APPROVALS', '111.222');
  return request;
}

describe('escalating an undecided request', () => {
  it('once escalateAfter has passed: under the approval message and to each escalation user, saying who was asked first and since when', async () => {
    const request = pending();
    const { escalation: e } = escalation();
    expect(e.nextDueAt()).toBe(T0 + 60 * MIN);

    now = T0 + 59 * MIN;
    expect(e.tick(now)).toBe(0);
    now = T0 + 60 * MIN;
    expect(e.tick(now)).toBe(1);
    await delivery.flush();

    expect(sent.map((s) => s.kind)).toEqual(['threadReply', 'directMessage']);
    expect(sent[0]?.text).toMatch(/^C0APPROVALS\/111\.222 :arrow_double_up: \*Escalated\*/);
    expect(sent[0]?.text).toContain(`First asked: <@${USERS.approver}>, since <!date^${T0 / 1000}^`);
    expect(sent[0]?.text).toContain(`<@${BOSS}>, <!subteam^S0LEADS>: you may now approve or deny it`);
    expect(sent[1]?.text).toMatch(new RegExp(`^${BOSS} `));
    expect(store.audit.list({ requestId: request.id }).filter((a) => a.action === 'escalated')).toHaveLength(1);
    expect(e.nextDueAt()).toBeNull();
  });

  it('once means once: a second tick and a restarted bot (a new escalation over the same file) send nothing more', async () => {
    pending();
    now = T0 + 2 * 60 * MIN;
    escalation().escalation.tick(now);
    await delivery.flush();
    const before = sent.length;

    escalation().escalation.tick(now + MIN);
    store.close();
    store = openStore(join(dir, 'db.sqlite'), { clock: { now: () => now } });
    delivery = testNotices({ store, notifier: { threadReply: async () => void sent.push({ kind: 'again', text: '' }), directMessage: async () => void sent.push({ kind: 'again', text: '' }) } as unknown as Notifier, config, clock: { now: () => now } });
    expect(escalation().escalation.tick(now + 2 * MIN)).toBe(0);
    await delivery.flush();

    expect(sent).toHaveLength(before);
  });

  it('leaves environments without escalateAfter alone', () => {
    pending('dev');
    now = T0 + 7 * 60 * MIN;
    const { escalation: e } = escalation();
    expect(e.tick(now)).toBe(0);
    expect(e.nextDueAt()).toBeNull();
  });
});

describe('who may decide an escalated request', () => {
  it('an escalation approver only once it was escalated; the approvers always', async () => {
    const request = pending();
    const { policy, escalation: e } = escalation();
    await expect(policy.assertCanDecide(request.id, BOSS)).rejects.toThrow(`Only approvers of esc can decide: <@${USERS.approver}>.`);

    now = T0 + 60 * MIN;
    e.tick(now);

    await expect(policy.assertCanDecide(request.id, BOSS)).resolves.toMatchObject({ env: { name: 'esc' } });
    await expect(policy.assertCanDecide(request.id, USERS.groupApprover)).resolves.toMatchObject({ env: { name: 'esc' } });
    await expect(policy.assertCanDecide(request.id, USERS.approver)).resolves.toMatchObject({ env: { name: 'esc' } });
    await expect(policy.assertCanDecide(request.id, USERS.other)).rejects.toThrow(`<@${USERS.approver}>, or <@${BOSS}>, <!subteam^S0LEADS>`);
  });

  it('an interop action escalated is decided by the escalation approvers too', async () => {
    const { policy } = escalation();
    const env = policy.environment('esc');
    expect(await policy.mayDecide(BOSS, env, 'interop', 'i_ESCALATED1')).toBe(false);
    store.escalations.add('i_ESCALATED1');
    expect(await policy.mayDecide(BOSS, env, 'interop', 'i_ESCALATED1')).toBe(true);
    expect(await policy.mayDecide(USERS.other, env, 'interop', 'i_ESCALATED1')).toBe(false);
  });
});
