// Access reviews of permanent users end to end (issue 17 item 3): the bot's clock moves past reviewEvery,
// the review is posted with Keep and Revoke, clicked as Slack delivers clicks, and the outcome shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import { APPROVALS, callText, startHarness, USERS, type Harness } from './harness.js';

const DAY = 24 * 3600_000;

// corp: the defaults (90 days, then notify); strict: reviews every 30 days, revoked after 2 × 2 days unanswered.
const EXTRA = `
  - name: corp
    dialect: sqlserver
    connection: { host: db-corp, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: corp-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    permanentApprovers: { users: [${USERS.ltAdmin}, ${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
  - name: strict
    dialect: sqlserver
    connection: { host: db-strict, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: strict-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
    policy: { reviewEvery: 30d, reviewGrace: 2d, reviewExpiredAction: revoke }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ extraEnvironments: EXTRA });
});
afterAll(async () => {
  await h?.stop();
});

/** Lets the due timer run what is due at the bot's clock, then delivers the notices it queued. */
async function tickAt(time: number): Promise<void> {
  h.clock.advance(time - h.clock.now());
  h.bot.timer.poke();
  await new Promise((r) => setTimeout(r, 50));
  await h.bot.timer.idle();
  await h.settle();
}

async function command(user: string, text: string): Promise<string> {
  const sent = await h.slack.slashCommand({ user, command: '/dbuser', text });
  return callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === sent.responseUrl, 5000));
}

function since(mark: number, predicate: (c: SlackCall) => boolean): Promise<SlackCall> {
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && predicate(c), 5000);
}

async function click(message: SlackCall, user: string, actionId: string): Promise<string> {
  const clicked = await h.slack.blockAction({ user, actionId, container: { channel: APPROVALS, messageTs: '1' }, message: { ts: '1', blocks: message.args['blocks'] as unknown[] } });
  return callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === clicked.responseUrl, 5000));
}

/** A permanent read-only user of `owner` in `env`, approved by `approver`. */
async function permanentUser(env: string, owner: string, approver: string) {
  await h.settle();
  const mark = h.fake.calls.length;
  await command(owner, `permanent ${env} --access read --via vpn --reason "nightly export"`);
  const approval = await since(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('approval_approve'));
  // An approval answers by rewriting the approval message, not through response_url.
  await h.slack.blockAction({ user: approver, actionId: 'approval_approve', container: { channel: APPROVALS, messageTs: '1' }, message: { ts: '1', blocks: approval.args['blocks'] as unknown[] } });
  await since(mark, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === owner && callText(c).includes('Password'));
  await h.settle();
  return h.bot.store.requests.findPermanent(env, 'readonly')!;
}

describe('an access review', () => {
  it('falls due after 90 days; its owner cannot keep it, another permanent-user approver does, and the message shows it', async () => {
    const user = await permanentUser('corp', USERS.ltAdmin, USERS.approver);
    const start = h.clock.now();
    const mark = h.fake.calls.length;
    await tickAt(start + 90 * DAY);

    const review = await since(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('review_keep'));
    expect(callText(review)).toContain(`Access review*: permanent user \`${user.username}\` in *corp* (read-only)`);
    expect(callText(review)).toContain(`Owner: <@${USERS.ltAdmin}>`);
    expect(callText(review)).toContain('last password rotation: never');
    expect(await command(USERS.approver, 'reviews')).toContain(`\`${user.username}\` in *corp* (owner <@${USERS.ltAdmin}>, read-only): waiting`);
    expect(await command(USERS.requester, 'reviews')).toContain('Only approvers see access reviews');

    expect(await click(review, USERS.ltAdmin, 'review_keep')).toContain('You own this user, so another permanent-user approver must keep it');
    expect(await click(review, USERS.approver, 'review_keep')).toContain('Kept');
    const updated = await since(mark, (c) => c.method === 'chat.update' && callText(c).includes('Kept by'));
    expect(callText(updated)).not.toContain('review_keep');
    expect(h.bot.store.audit.list({ requestId: user.id }).map((e) => e.action).filter((a) => a.startsWith('review_'))).toEqual(['review_requested', 'review_kept']);
    expect(h.bot.store.requests.get(user.id)!.state).toBe('active');
    expect(await click(review, USERS.approver, 'review_keep')).toContain('already decided');
  });

  it('Revoke drops the user through the normal revocation: nothing left behind', async () => {
    const user = h.bot.store.requests.findPermanent('corp', 'readonly')!;
    const mark = h.fake.calls.length;
    await tickAt(h.bot.store.reviews.get(user.id)!.dueAt);
    const review = await since(mark, (c) => c.method === 'chat.postMessage' && callText(c).includes('review_revoke'));
    const button = (review.args['blocks'] as { elements?: Record<string, unknown>[] }[]).flatMap((b) => b.elements ?? []).find((e) => e['action_id'] === 'review_revoke');
    expect(button).toMatchObject({ style: 'danger', confirm: { confirm: { text: 'Drop it' } } });

    expect(await click(review, USERS.approver, 'review_revoke')).toContain('The user was revoked');
    expect(h.bot.store.requests.get(user.id)!.state).toBe('revoked');
    const dropped = h.executors.get('corp')!.statements.filter((s) => s.params.some((p) => p.value === user.username)).map((s) => s.label);
    expect(dropped.some((label) => /drop/i.test(label))).toBe(true);
    expect(h.bot.store.audit.list({ requestId: user.id }).map((e) => e.action)).toEqual(expect.arrayContaining(['review_revoked', 'state:revoking', 'state:revoked']));
    await since(mark, (c) => c.method === 'chat.update' && callText(c).includes(`Revoked by <@${USERS.approver}>`));
  });

  it('unanswered where reviewExpiredAction is revoke: a reminder in the thread, then the user is revoked', async () => {
    const user = await permanentUser('strict', USERS.requester, USERS.approver);
    const start = h.clock.now();
    const mark = h.fake.calls.length;
    await tickAt(start + 30 * DAY);
    const review = await since(mark, (c) => c.method === 'chat.postMessage' && callText(c).includes('review_keep') && callText(c).includes('strict'));
    await tickAt(start + 32 * DAY);
    const reminder = await since(mark, (c) => c.method === 'chat.postMessage' && callText(c).includes('still unanswered'));
    expect(reminder.args['thread_ts']).toBeDefined();
    expect(h.bot.store.requests.get(user.id)!.state).toBe('active');

    await tickAt(start + 34 * DAY);
    await h.bot.expiry.idle();
    await h.settle();
    expect(h.bot.store.requests.get(user.id)!.state).toBe('revoked');
    await since(mark, (c) => c.method === 'chat.update' && callText(c).includes('nobody answered its access review in time'));
    expect(review.args['channel']).toBe(APPROVALS);
    expect(h.bot.store.audit.list({ requestId: user.id }).find((e) => e.action === 'state:revoking')).toMatchObject({ actor: 'scheduler', detail: expect.objectContaining({ reason: 'review_expired' }) });
  });

  it('a user revoked some other way while its review is open: the review loses its buttons', async () => {
    const user = await permanentUser('strict', USERS.requester, USERS.approver);
    const mark = h.fake.calls.length;
    await tickAt(h.clock.now() + 30 * DAY);
    await since(mark, (c) => c.method === 'chat.postMessage' && callText(c).includes('review_keep'));

    const clicked = await h.slack.blockAction({ user: USERS.requester, actionId: 'expiry_revoke', value: user.id, container: { channel: 'D0SOMEDM', messageTs: '1' } });
    expect(callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === clicked.responseUrl, 5000))).toContain('The user was revoked');
    await h.settle();
    const updated = await since(mark, (c) => c.method === 'chat.update' && callText(c).includes(`\`${user.username}\``) && callText(c).includes('was revoked'));
    expect(callText(updated)).not.toContain('review_keep');
    expect(h.bot.store.reviews.get(user.id)?.askedAt).toBeNull();
  });
});
