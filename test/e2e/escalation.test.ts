// Escalation end to end (issue 17 item 4): requests left undecided past policy.escalateAfter are posted to
// the escalation approvers once (thread and DM), who may then decide them, through signed Slack requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import type { Statement } from '../../src/dialects/statement.js';
import { APPROVALS, callText, startHarness, USERS, type Harness } from './harness.js';

const MIN = 60_000;
const BOSS = USERS.onCall;

const EXTRA = `
  - name: esc
    dialect: sqlserver
    connection: { host: db-esc, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: esc-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    escalationApprovers: { users: [${BOSS}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
    policy: { escalateAfter: 30m, approverReminders: [] }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ extraEnvironments: EXTRA });
  h.respond('esc', (s: Statement) => (s.label.startsWith('check whether the user exists') ? [{ present: 0 }] : []));
});
afterAll(async () => {
  await h?.stop();
});

async function tickAt(time: number): Promise<void> {
  h.clock.advance(time - h.clock.now());
  h.bot.timer.poke();
  await new Promise((r) => setTimeout(r, 50));
  await h.bot.timer.idle();
  await h.settle();
}

async function answer(command: string, user: string, text: string): Promise<string> {
  const sent = await h.slack.slashCommand({ user, command, text });
  return callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === sent.responseUrl, 5000));
}

function since(mark: number, predicate: (c: SlackCall) => boolean): Promise<SlackCall> {
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && predicate(c), 5000);
}

async function click(message: SlackCall, user: string, actionId: string): Promise<{ responseUrl: string }> {
  return h.slack.blockAction({ user, actionId, container: { channel: APPROVALS, messageTs: '1' }, message: { ts: '1', blocks: message.args['blocks'] as unknown[] } });
}

const replyTo = async (responseUrl: string) => callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === responseUrl, 5000));

describe('an undecided temporary request', () => {
  it('is escalated once after 30 minutes, saying who was asked and since when; the escalation approver may then approve it', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const start = h.clock.now();
    await answer('/dbuser', USERS.requester, 'request esc --reason "stuck timer"');
    const approval = await since(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('approval_approve'));
    const request = h.bot.store.requests.findOpen('esc', USERS.requester, 'temporary')!;

    // Not yet escalated: the escalation approver is refused.
    expect(await replyTo((await click(approval, BOSS, 'approval_approve')).responseUrl)).toContain(`Only approvers of esc can decide: <@${USERS.approver}>.`);
    await tickAt(start + 29 * MIN);
    expect(h.bot.store.escalations.at(request.id)).toBeUndefined();

    await tickAt(start + 30 * MIN);
    const thread = await since(mark, (c) => c.method === 'chat.postMessage' && callText(c).includes('Escalated'));
    expect(thread.args['channel']).toBe(APPROVALS);
    expect(thread.args['thread_ts']).toBe(request.approvalTs);
    expect(callText(thread)).toContain(`First asked: <@${USERS.approver}>, since <!date^${Math.floor(start / 1000)}^`);
    expect(callText(thread)).toContain(`<@${BOSS}>: you may now approve or deny it`);
    await since(mark, (c) => c.method === 'chat.postMessage' && String(c.args['channel']).startsWith('D') && callText(c).includes('Escalated'));

    // Once: later ticks send nothing more.
    const escalations = () => h.fake.calls.filter((c) => c.method === 'chat.postMessage' && callText(c).includes('Escalated')).length;
    const sent = escalations();
    await tickAt(start + 90 * MIN);
    expect(escalations()).toBe(sent);

    await click(approval, BOSS, 'approval_approve');
    await since(mark, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('Password'));
    expect(h.bot.store.requests.get(request.id)).toMatchObject({ state: 'active', decidedBy: BOSS });
    expect(h.bot.store.audit.list({ requestId: request.id }).find((e) => e.action === 'escalated')).toMatchObject({ actor: 'scheduler', env: 'esc' });
  });
});

describe('an undecided permanent request', () => {
  it('is escalated, and the escalation approver may approve it', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const start = h.clock.now();
    await answer('/dbuser', USERS.other, 'permanent esc --access read --via vpn --reason "nightly export"');
    const approval = await since(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('approval_approve'));
    await tickAt(start + 30 * MIN);
    const thread = await since(mark, (c) => c.method === 'chat.postMessage' && callText(c).includes('Escalated'));
    expect(callText(thread)).toContain('permanent');

    await click(approval, BOSS, 'approval_approve');
    await since(mark, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.other && callText(c).includes('Password'));
    expect(h.bot.store.requests.findPermanent('esc', 'readonly')).toMatchObject({ state: 'active', decidedBy: BOSS });
  });
});

describe('an undecided interop request', () => {
  it('is escalated too, and the escalation approver decides it', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const start = h.clock.now();
    expect(await answer('/interop', USERS.requester, 'setup esc')).toContain('waiting for an approver of *esc*');
    const approval = await since(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('interop_approve'));
    const action = h.bot.store.interop.listInStates(['pending']).find((a) => a.env === 'esc')!;

    await tickAt(start + 30 * MIN);
    const thread = await since(mark, (c) => c.method === 'chat.postMessage' && callText(c).includes('Escalated'));
    expect(callText(thread)).toContain('interop setup request');
    expect(thread.args['thread_ts']).toBe(action.approvalTs);

    await click(approval, BOSS, 'interop_deny');
    await since(mark, (c) => c.method === 'chat.update' && callText(c).includes(`<@${BOSS}>`));
    expect(h.bot.store.interop.get(action.id)!.state).toBe('denied');
  });
});
