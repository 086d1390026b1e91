// Who may do what: every /dbuser command and every button, tried by every kind of actor, each cell on a
// fresh bot. Exactly the cells the product's rules allow succeed; every other one changes nothing and,
// where Slack lets the bot answer, says why. Rules: README "Running it in Slack", "Permanent users", "Expiry".
import { describe, it } from 'vitest';
import { USAGE } from '../../src/commands/dbuser.js';
import type { SlackDriver } from '../fakes/slack-driver.js';
import { ACTIONS } from '../../src/slack/blocks.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { APPROVALS, callText, eventually, REMINDERS, sleep, startReliabilityHarness, USERS, type ReliabilityHarness } from './support.js';

/**
 * requester: owns the target (not an approver). approver: an approver of dev acting on the
 * requester's target. self-approval: an approver acting on their own target (for approvals, deciding
 * their own request). other: neither owner nor approver. other workspace: a request signed with the
 * app's secret but carrying another team id, from the actor the row would allow.
 */
type Actor = 'requester' | 'approver' | 'self-approval' | 'other';
const ACTORS: Actor[] = ['requester', 'approver', 'self-approval', 'other'];

interface Fixture {
  request?: AccessRequest;
  /** Statements of dev before the action, to look only at what the action ran. */
  statementsBefore: number;
}

interface Row {
  name: string;
  /** Builds the state the action works on, owned by `owner`. */
  setup(h: ReliabilityHarness, owner: string): Promise<AccessRequest | undefined>;
  /** Sends the command or click; returns the response_url Slack gave it ('' for a form). */
  act(h: ReliabilityHarness, driver: SlackDriver, actor: string, target: AccessRequest | undefined): Promise<string>;
  succeeded(h: ReliabilityHarness, fixture: Fixture, actor: string): boolean;
  allowed: Actor[];
  /** What a refused actor is told (null: the reply is a normal one that simply leaves the target out). */
  refusal: RegExp | null;
  /** Who, allowed here, sends the other workspace's request. */
  foreignAs: 'requester' | 'approver';
}

const ORPHAN = 'dbx_leftover_a1b2';

/** An approver other than `owner`, to decide the owner's requests in fixtures. */
function deciderFor(owner: string): string {
  return owner === USERS.approver ? USERS.groupApprover : USERS.approver;
}

async function pendingTemporary(h: ReliabilityHarness, owner: string, durationMs?: number): Promise<AccessRequest> {
  const { request } = await h.bot.access.requestTemporary({ env: 'dev', requester: owner, reason: 'authorization matrix', ...(durationMs ? { durationMs } : {}) });
  return request;
}

async function activeTemporary(h: ReliabilityHarness, owner: string, durationMs?: number): Promise<AccessRequest> {
  const pending = await pendingTemporary(h, owner, durationMs);
  await h.bot.access.decide({ requestId: pending.id, actor: deciderFor(owner), decision: 'approve' });
  const active = await h.bot.access.provision(pending.id);
  if (active?.state !== 'active') throw new Error(`fixture not active: ${active?.state}`);
  return active;
}

async function activePermanent(h: ReliabilityHarness, owner: string): Promise<AccessRequest> {
  const { requests } = await h.bot.permanent.requestPermanent({ envs: ['dev'], requester: owner, access: 'readonly', via: 'vpn', ips: [], reason: 'authorization matrix' });
  const id = requests[0]!.id;
  await h.bot.access.decide({ requestId: id, actor: deciderFor(owner), decision: 'approve' });
  const active = await h.bot.access.provision(id);
  if (active?.state !== 'active') throw new Error(`fixture not active: ${active?.state}`);
  return active;
}

async function pendingRotation(h: ReliabilityHarness, owner: string): Promise<AccessRequest> {
  await activePermanent(h, owner);
  return h.bot.permanent.requestRotation({ env: 'dev', access: 'readonly', user: owner });
}

async function revokeFailed(h: ReliabilityHarness, owner: string): Promise<AccessRequest> {
  const active = await activeTemporary(h, owner);
  h.respond('dev', (s) => {
    if (s.kind === 'drop login') throw new Error('Cannot drop the login while it is in use.');
    return [];
  });
  await h.bot.access.revoker.attempt(active.id, 'bot', 'requested');
  h.respond('dev', () => []);
  const failed = h.bot.store.requests.get(active.id)!;
  if (failed.state !== 'revoke_failed') throw new Error(`fixture not revoke_failed: ${failed.state}`);
  return failed;
}

async function slash(driver: SlackDriver, user: string, text: string): Promise<string> {
  return (await driver.slashCommand({ user, command: '/dbuser', text })).responseUrl;
}

function click(channel: string, actionId: string, value: (t: AccessRequest | undefined) => string) {
  return async (_h: ReliabilityHarness, driver: SlackDriver, actor: string, target: AccessRequest | undefined) =>
    (await driver.blockAction({ user: actor, actionId, value: value(target), container: { channel, messageTs: '1700000000.000100' } })).responseUrl;
}

const state = (h: ReliabilityHarness, f: Fixture) => h.bot.store.requests.get(f.request!.id)!;
const ranOnTarget = (h: ReliabilityHarness, f: Fixture, kind: string, username = f.request!.username) =>
  (h.executors.get('dev')?.statements ?? []).slice(f.statementsBefore).some((s) => s.kind === kind && s.params.some((p) => p.value === username));

const ROWS: Row[] = [
  {
    name: '/dbuser request dev',
    setup: async () => undefined,
    act: (_h, d, actor) => slash(d, actor, 'request dev --reason "authorization matrix"'),
    succeeded: (h, _f, actor) => h.bot.store.requests.findOpen('dev', actor, 'temporary') !== undefined,
    allowed: ['requester', 'approver', 'self-approval', 'other'],
    refusal: null,
    foreignAs: 'requester',
  },
  {
    name: '/dbuser details dev',
    setup: (h, owner) => activeTemporary(h, owner),
    act: (_h, d, actor) => slash(d, actor, 'details dev'),
    succeeded: (h, f) => h.fake.callsOf('response_url').some((c) => callText(c).includes(f.request!.username!)),
    allowed: ['requester', 'self-approval'],
    refusal: /You have no active database user in dev/,
    foreignAs: 'requester',
  },
  {
    name: '/dbuser delete dev',
    setup: (h, owner) => activeTemporary(h, owner),
    act: (_h, d, actor) => slash(d, actor, 'delete dev'),
    succeeded: (h, f) => state(h, f).state === 'revoked',
    allowed: ['requester', 'self-approval'],
    refusal: /You have no temporary user or request in dev/,
    foreignAs: 'requester',
  },
  {
    name: '/dbuser list',
    setup: (h, owner) => pendingTemporary(h, owner),
    act: (_h, d, actor) => slash(d, actor, 'list'),
    // The list shows environments and states; a request is visible through its owner's mention or username.
    succeeded: (h, f) => h.fake.callsOf('response_url').some((c) => callText(c).includes(f.request!.username!)),
    allowed: ['requester', 'approver', 'self-approval'],
    refusal: null,
    foreignAs: 'approver',
  },
  {
    name: '/dbuser revoke <username>',
    setup: (h, owner) => activeTemporary(h, owner),
    act: (_h, d, actor, t) => slash(d, actor, `revoke ${t!.username}`),
    succeeded: (h, f) => state(h, f).state === 'revoked',
    // The owner revokes their own user by name too (issue 16, item 7).
    allowed: ['requester', 'approver', 'self-approval'],
    refusal: /Only approvers of dev can revoke other people's users; you can revoke your own/,
    foreignAs: 'approver',
  },
  {
    name: '/dbuser permanent dev',
    setup: async () => undefined,
    act: (_h, d, actor) => slash(d, actor, 'permanent dev --access read --via vpn --reason "authorization matrix"'),
    succeeded: (h, _f, actor) => h.bot.store.requests.findPermanent('dev', 'readonly')?.requester === actor,
    allowed: ['requester', 'approver', 'self-approval', 'other'],
    refusal: null,
    foreignAs: 'requester',
  },
  {
    name: '/dbuser rotate dev',
    setup: (h, owner) => activePermanent(h, owner),
    act: (_h, d, actor) => slash(d, actor, 'rotate dev --access read'),
    succeeded: (h, f) => state(h, f).rotationRequestedBy !== null,
    allowed: ['requester', 'self-approval'],
    refusal: /who owns `dbx_/,
    foreignAs: 'requester',
  },
  {
    name: '/dbuser sync dev',
    setup: (h, owner) => activeTemporary(h, owner),
    act: (_h, d, actor) => slash(d, actor, 'sync dev'),
    succeeded: (h, f) => (h.executors.get('dev')?.statements ?? []).slice(f.statementsBefore).some((s) => s.label.startsWith('list OSUSR_')),
    allowed: ['approver', 'self-approval'],
    refusal: /Only approvers of dev can sync grants/,
    foreignAs: 'approver',
  },
  {
    name: 'approval_approve',
    setup: (h, owner) => pendingTemporary(h, owner),
    act: click(APPROVALS, 'approval_approve', (t) => t!.id),
    succeeded: (h, f) => state(h, f).state === 'active',
    allowed: ['approver'],
    refusal: /Only approvers of dev can decide|You cannot decide your own request/,
    foreignAs: 'approver',
  },
  {
    name: 'approval_deny (opens the reason form)',
    setup: (h, owner) => pendingTemporary(h, owner),
    act: click(APPROVALS, 'approval_deny', (t) => t!.id),
    succeeded: (h) => h.fake.callsOf('views.open').some((c) => callText(c).includes('approval_deny_reason')),
    allowed: ['approver'],
    refusal: /Only approvers of dev can decide|You cannot decide your own request/,
    foreignAs: 'approver',
  },
  {
    name: 'approval_deny (the reason form submitted)',
    setup: (h, owner) => pendingTemporary(h, owner),
    act: async (_h, d, actor, t) => {
      await d.viewSubmission({ user: actor, view: { callbackId: 'approval_deny_reason', privateMetadata: t!.id, values: { reason: { value: { type: 'plain_text_input', value: 'no' } } } } });
      return '';
    },
    succeeded: (h, f) => state(h, f).state === 'denied',
    allowed: ['approver'],
    refusal: /Only approvers of dev can decide|You cannot decide your own request/,
    foreignAs: 'approver',
  },
  {
    name: 'credentials_rotate',
    setup: (h, owner) => activeTemporary(h, owner),
    act: click('D0SOMEDM', 'credentials_rotate', (t) => t!.id),
    succeeded: (h, f) => ranOnTarget(h, f, 'set password'),
    allowed: ['requester', 'self-approval'],
    refusal: /Only the person who asked for this user/,
    foreignAs: 'requester',
  },
  {
    name: 'user_delete',
    setup: (h, owner) => activeTemporary(h, owner),
    act: click('D0SOMEDM', 'user_delete', () => 'dev'),
    succeeded: (h, f) => state(h, f).state === 'revoked',
    allowed: ['requester', 'self-approval'],
    refusal: /You have no temporary user or request in dev/,
    foreignAs: 'requester',
  },
  {
    name: 'expiry_extend',
    setup: (h, owner) => activeTemporary(h, owner, 2 * 3600_000),
    act: click(REMINDERS, 'expiry_extend', (t) => t!.id),
    succeeded: (h, f) => state(h, f).expiresAt! > f.request!.expiresAt!,
    allowed: ['requester', 'approver', 'self-approval'],
    refusal: /Only the owner of this user or an approver can extend it/,
    foreignAs: 'requester',
  },
  {
    name: 'expiry_revoke',
    setup: (h, owner) => activeTemporary(h, owner),
    act: click(REMINDERS, 'expiry_revoke', (t) => t!.id),
    succeeded: (h, f) => state(h, f).state === 'revoked',
    allowed: ['requester', 'approver', 'self-approval'],
    refusal: /Only the owner of this user or an approver can revoke it/,
    foreignAs: 'requester',
  },
  {
    // Retrying only ever removes access, so the owner may too (src/slack/listeners/expiry-actions.ts shares Revoke now's rule).
    name: 'revoke_retry',
    setup: (h, owner) => revokeFailed(h, owner),
    act: click(REMINDERS, 'revoke_retry', (t) => t!.id),
    succeeded: (h, f) => state(h, f).state === 'revoked',
    allowed: ['requester', 'approver', 'self-approval'],
    refusal: /Only the owner of this user or an approver can revoke it/,
    foreignAs: 'approver',
  },
  {
    // An orphan has no owner: "requester" and "other" are both non-approvers, "self-approval" an approver.
    name: 'orphan_drop',
    setup: async (h) => {
      h.respond('dev', (s) => (s.label.startsWith('list users') ? [{ name: ORPHAN }] : []));
      return undefined;
    },
    act: click(REMINDERS, 'orphan_drop', () => `dev:${ORPHAN}`),
    succeeded: (h, f) => ranOnTarget(h, f, 'drop login', ORPHAN),
    allowed: ['approver', 'self-approval'],
    refusal: /Only approvers of dev can drop database users/,
    foreignAs: 'approver',
  },
  {
    name: 'rotation_approve',
    setup: (h, owner) => pendingRotation(h, owner),
    act: click(APPROVALS, 'rotation_approve', (t) => t!.id),
    succeeded: (h, f) => ranOnTarget(h, f, 'set password'),
    allowed: ['approver'],
    refusal: /approvers of dev can decide|You cannot decide your own request/,
    foreignAs: 'approver',
  },
  {
    name: 'rotation_deny',
    setup: (h, owner) => pendingRotation(h, owner),
    act: click(APPROVALS, 'rotation_deny', (t) => t!.id),
    succeeded: (h, f) => state(h, f).rotationRequestedBy === null,
    allowed: ['approver'],
    refusal: /approvers of dev can decide|You cannot decide your own request/,
    foreignAs: 'approver',
  },
];

const ACTOR_ID: Record<Actor, string> = { requester: USERS.requester, approver: USERS.approver, 'self-approval': USERS.approver, other: USERS.other };
const OWNER_ID: Record<Actor, string> = { requester: USERS.requester, approver: USERS.requester, 'self-approval': USERS.approver, other: USERS.requester };

interface CellOutcome {
  succeeded: boolean;
  /** What the actor was told: the response_url reply, or an ephemeral message to them after a form. */
  reply: string | undefined;
}

/** One cell on a fresh bot: build the state, act, wait until it succeeded or the actor was answered. */
async function runCell(row: Row, actorId: string, ownerId: string, foreign: boolean, waitMs = 5000): Promise<CellOutcome> {
  const h = await startReliabilityHarness({ revocation: { retryDelaysMs: [] } });
  try {
    const request = await row.setup(h, ownerId);
    const fixture: Fixture = { ...(request ? { request } : {}), statementsBefore: h.executors.get('dev')?.statements.length ?? 0 };
    await h.settle();
    const mark = h.fake.calls.length;
    const responseUrl = await row.act(h, foreign ? h.foreign : h.slack, actorId, request);
    const replyCall = () =>
      h.fake.calls
        .slice(mark)
        .find((c) => (responseUrl ? c.method === 'response_url' && c.args['responseUrl'] === responseUrl : c.method === 'chat.postEphemeral' && c.args['user'] === actorId));
    await eventually(() => row.succeeded(h, fixture, actorId) || replyCall() !== undefined, waitMs);
    await sleep(30); // work that finishes just after its reply
    const reply = replyCall();
    return { succeeded: row.succeeded(h, fixture, actorId), reply: reply ? callText(reply) : undefined };
  } finally {
    await h.stop();
  }
}

/** Which other-workspace cells ran to their assertion: an `it.fails` must fail for the reason it names, not a crash. */
const foreignOutcomes = new Map<string, boolean>();

describe.each(ROWS)('$name', (row) => {
  it.concurrent.for(ACTORS)('%s', async (actor, { expect }) => {
    const { succeeded, reply } = await runCell(row, ACTOR_ID[actor], OWNER_ID[actor], false);
    if (row.allowed.includes(actor)) {
      expect(succeeded, `${row.name} by ${actor} should succeed; reply: ${reply}`).toBe(true);
      expect(reply ?? '').not.toContain(':warning:');
      return;
    }
    expect(succeeded, `${row.name} by ${actor} should be refused; reply: ${reply}`).toBe(false);
    if (row.refusal) expect(reply).toMatch(row.refusal);
    else expect(reply, 'a normal reply is still sent').toBeDefined();
  });

  // A request signed with the app's secret but carrying another workspace's team_id is acknowledged
  // and dropped (src/slack/app.ts, the workspace middleware): nothing happens, nothing replies, so the
  // cell waits a second for work that would have started at once.
  it.concurrent(`other workspace (as the ${row.foreignAs}): refused or ignored`, async ({ expect }) => {
    const actor = row.foreignAs === 'approver' ? USERS.approver : USERS.requester;
    const { succeeded } = await runCell(row, actor, USERS.requester, true, 1000);
    foreignOutcomes.set(row.name, succeeded);
    expect(succeeded, `${row.name} from another workspace was carried out`).toBe(false);
  });
});

/** The commands and buttons this matrix is about (/interop and commands added later are not part of it). */
const COMMANDS = ['request', 'details', 'delete', 'list', 'revoke', 'permanent', 'rotate', 'sync'] as const;
const BUTTONS = ['approve', 'deny', 'rotate', 'remove', 'extend', 'revokeNow', 'retry', 'dropOrphan', 'rotationApprove', 'rotationDeny'] as const;

it('the matrix covers each of those commands and buttons, as the product names them', ({ expect }) => {
  for (const c of COMMANDS) {
    expect(USAGE, c).toHaveProperty(c);
    expect(ROWS.some((r) => r.name.startsWith(`/dbuser ${c}`)), c).toBe(true);
  }
  for (const key of BUTTONS) {
    expect(ACTIONS[key], key).toBeDefined();
    expect(ROWS.some((r) => r.name.startsWith(ACTIONS[key])), ACTIONS[key]).toBe(true);
  }
});

it('every other-workspace cell ran to its assertion, and none was carried out', ({ expect }) => {
  expect([...foreignOutcomes.keys()].sort()).toEqual(ROWS.map((r) => r.name).sort());
  expect([...foreignOutcomes.values()].some(Boolean)).toBe(false);
});
