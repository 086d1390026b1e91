// Many things at once, as Slack delivers them: 50 identical requests by one person, two approvers clicking
// together (twice each), a withdrawal racing an approval, repeated Extend clicks. Exactly one of each
// thing happens, in the store and in the database; everyone else is told why nothing happened.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import { after, APPROVALS, callText, eventually, isApprovalPost, replyTo, requestIdOf, sleep, startReliabilityHarness, USERS, type ReliabilityHarness } from './support.js';

let h: ReliabilityHarness;
beforeEach(async () => {
  h = await startReliabilityHarness();
});
afterEach(async () => {
  await h?.stop();
});

const statementsOf = (kind: string) => (h.executors.get('dev')?.statements ?? []).filter((s) => s.kind === kind);

function approve(user: string, approval: SlackCall, requestId: string) {
  return h.slack.blockAction({ user, actionId: 'approval_approve', container: { channel: APPROVALS, messageTs: String(approval.args['ts'] ?? '1') }, message: { ts: '1', blocks: approval.args['blocks'] as unknown[] }, value: requestId });
}

describe('50 simultaneous /dbuser request dev by one person, then two approvers clicking at once', () => {
  it('makes exactly one request, one approval message, one active user and one CREATE LOGIN; everyone else is told why', async () => {
    const sent = await Promise.all(Array.from({ length: 50 }, () => h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'request dev --for 2h --reason "race"' })));
    expect(sent.map((s) => s.status)).toEqual(Array(50).fill(200));
    const replies = await Promise.all(sent.map((s) => replyTo(h, s.responseUrl)));

    const accepted = replies.filter((r) => r.includes('is waiting for an approver'));
    const refused = replies.filter((r) => /already have a temporary user request in dev|already has an open temporary request in dev/.test(r));
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(49);
    for (const r of refused) expect(r).toContain(':warning:');

    // One request in the store, whatever state; no failed leftovers from the losers.
    expect(h.bot.store.requests.listByRequester(USERS.requester)).toHaveLength(1);
    await sleep(100);
    const approvals = h.fake.calls.filter(isApprovalPost);
    expect(approvals).toHaveLength(1);

    // Both approvers click Approve on every approval message, twice each, all at once.
    await h.settle();
    const mark = h.fake.calls.length;
    const clicks = await Promise.all(
      approvals.flatMap((approval) => {
        const id = requestIdOf(approval);
        return [USERS.approver, USERS.groupApprover, USERS.approver, USERS.groupApprover].map((u) => approve(u, approval, id));
      }),
    );
    expect(clicks.map((c) => c.status)).toEqual(Array(clicks.length).fill(200));
    const credentials = await after(h, mark, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('Password'));
    const replyOf = (url: string) => h.fake.calls.find((c) => c.method === 'response_url' && c.args['responseUrl'] === url);
    await eventually(() => clicks.filter((c) => replyOf(c.responseUrl)).length >= 3, 3000);
    await sleep(100);
    const losers = clicks.map((c) => replyOf(c.responseUrl)).map((c) => (c ? callText(c) : undefined));

    const active = h.bot.store.requests.listInStates(['active']).filter((r) => r.requester === USERS.requester);
    expect(active).toHaveLength(1);
    expect(statementsOf('create login')).toHaveLength(1);
    expect(statementsOf('create login')[0]!.params.find((p) => p.name === 'username')?.value).toBe(active[0]!.username);
    expect(h.fake.calls.slice(mark).filter((c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'))).toEqual([credentials]);
    // Three clicks lost; each loser was told nothing changed and who decided.
    const told = losers.filter((l): l is string => l !== undefined);
    expect(told).toHaveLength(3);
    for (const l of told) expect(l).toMatch(/Nothing changed: this request is already (approved|provisioning|active) \(by <@U0/);
    expect(h.bot.store.audit.list({ requestId: active[0]!.id }).filter((e) => e.action === 'state:approved')).toHaveLength(1);
  });
});

describe('a withdrawal racing an approval', () => {
  const outcomes = new Set<string>();

  // The delete is sent a little later each round, so the race lands on each side of the approval.
  // Creating the login takes 60 ms, so a delete can also land while the user is being created.
  it.each([0, 4, 16, 32, 64, 150])('delete %i ms after the click: never a database user the state does not account for', async (delayMs) => {
    h.respond('dev', async (s) => (s.kind === 'create login' ? sleep(60).then(() => []) : []));
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'request dev --reason "race"' });
    const approval = await after(h, mark, isApprovalPost);
    const id = requestIdOf(approval);
    const [click, withdraw] = await Promise.all([approve(USERS.approver, approval, id), sleep(delayMs).then(() => h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'delete dev' }))]);
    expect(click.status).toBe(200);
    const deleteReply = await replyTo(h, withdraw.responseUrl);
    await eventually(() => !['approved', 'provisioning'].includes(h.bot.store.requests.get(id)!.state), 3000);
    await sleep(50);

    const final = h.bot.store.requests.get(id)!;
    outcomes.add(final.state);
    const created = statementsOf('create login').length;
    const dropped = statementsOf('drop login').length;
    if (final.state === 'denied') {
      expect(created, 'withdrawn first: nothing was created').toBe(0);
      expect(deleteReply).toContain('was withdrawn');
    } else if (final.state === 'active') {
      expect([created, dropped]).toEqual([1, 0]);
      expect(deleteReply).toMatch(/:warning: Your user in dev is (approved, being created|being created); try again in a minute\./);
    } else {
      expect(final.state).toBe('revoked');
      expect([created, dropped]).toEqual([1, 1]);
      expect(deleteReply).toContain('was revoked');
    }
  });

  it('the rounds landed on different sides of the race (withdrawn, being created, revoked after)', () => {
    expect(outcomes.size).toBeGreaterThanOrEqual(2);
  });
});

describe('repeated clicks on Extend', () => {
  it('five simultaneous clicks extend once (maxExtensions 1); the state and the expiry agree', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request dev --for 2h --reason "extend race"' });
    await after(h, mark, (c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'));
    const request = h.bot.store.requests.findOpen('dev', USERS.ltAdmin, 'temporary')!;
    const clicks = await Promise.all(
      Array.from({ length: 5 }, () => h.slack.blockAction({ user: USERS.ltAdmin, actionId: 'expiry_extend', value: request.id, container: { channel: 'C0REMINDERS', messageTs: '1' } })),
    );
    const replies = await Promise.all(clicks.map((c) => replyTo(h, c.responseUrl)));
    const extended = h.bot.store.requests.get(request.id)!;
    expect(extended.extensions).toBe(1);
    expect(extended.expiresAt).toBe(request.activatedAt! + 4 * 3600_000);
    expect(replies.filter((r) => r.includes('now expires')).length).toBeGreaterThanOrEqual(1);
    for (const r of replies.filter((x) => !x.includes('now expires'))) expect(r).toContain('already extended 1 time(s)');
  });

  // Concurrent extensions used to be all reported and audited though one took effect: extend read the
  // request, awaited the approver check (a Slack call), then transitioned without comparing what it read.
  // It now re-reads and re-checks every rule inside the write.
  it('five clicks overlapping a slow approver check: one is told it worked, one extension is audited', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request dev --for 2h --reason "extend race"' });
    await after(h, mark, (c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'));
    const request = h.bot.store.requests.findOpen('dev', USERS.ltAdmin, 'temporary')!;
    h.fake.fail('usergroups.users.list', { delayMs: 150 }, 5);
    const clicks = await Promise.all(
      Array.from({ length: 5 }, () => h.slack.blockAction({ user: USERS.ltAdmin, actionId: 'expiry_extend', value: request.id, container: { channel: 'C0REMINDERS', messageTs: '1' } })),
    );
    const replies = await Promise.all(clicks.map((c) => replyTo(h, c.responseUrl)));
    expect(h.bot.store.requests.get(request.id)!.extensions).toBe(1);
    const audited = h.bot.store.audit.list({ requestId: request.id }).filter((e) => e.detail !== null && 'extendedByMs' in e.detail);
    expect(replies.filter((r) => r.includes('now expires'))).toHaveLength(1);
    for (const r of replies.filter((x) => !x.includes('now expires'))) expect(r).toContain('already extended 1 time(s)');
    expect(audited).toHaveLength(1);
  });
});
