// The expiry buttons as Slack delivers them: Extend and Revoke now on a reminder, Retry on an alert,
// Drop on an orphan report, and /dbuser revoke. The bot's clock is moved by the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import { DatabaseError } from '../../src/dialects/executor.js';
import { callText, startHarness, USERS, type Harness } from './harness.js';

const MIN = 60_000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function settle(): Promise<void> {
  h.bot.timer.poke();
  await new Promise((r) => setTimeout(r, 50));
  await h.bot.timer.idle();
}

async function reply(responseUrl: string): Promise<string> {
  return callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === responseUrl, 5000));
}

/** A self-service user in dev for `text` options; returns its request. */
async function activeUser(user: string, options = '--for 2h') {
  await h.settle();
  const mark = h.fake.calls.length;
  await h.slack.slashCommand({ user, command: '/dbuser', text: `request dev ${options} --reason "expiry buttons"` });
  await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postEphemeral' && callText(c).includes('Password'), 5000);
  return h.bot.store.requests.findOpen('dev', user, 'temporary')!;
}

function clickOn(call: SlackCall, user: string, actionId: string) {
  return h.slack.blockAction({ user, actionId, container: { channel: String(call.args['channel']), messageTs: '1' }, message: { ts: '1', blocks: call.args['blocks'] as unknown[] } });
}

describe('reminder buttons', () => {
  it('the owner extends from the reminder, then revokes now; a stranger can do neither', async () => {
    const request = await activeUser(USERS.ltAdmin);
    await h.settle();
    const mark = h.fake.calls.length;
    h.clock.advance(request.expiresAt! - h.clock.now() - 60 * MIN);
    await settle();
    const reminder = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && c.args['channel'] === 'C0REMINDERS', 5000);
    expect(callText(reminder)).toContain('expires in 1h');
    // The owner gets it in a DM too.
    await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && String(c.args['channel']).startsWith('D') && callText(c).includes('expires in 1h'), 5000);

    const stranger = await clickOn(reminder, USERS.other, 'expiry_extend');
    expect(await reply(stranger.responseUrl)).toContain('Only the owner of this user or an approver can extend it');
    const extended = await clickOn(reminder, USERS.ltAdmin, 'expiry_extend');
    expect(await reply(extended.responseUrl)).toContain('now expires');
    expect(h.bot.store.requests.get(request.id)!.expiresAt).toBe(request.activatedAt! + 4 * 60 * MIN);

    const strangerRevoke = await clickOn(reminder, USERS.other, 'expiry_revoke');
    expect(await reply(strangerRevoke.responseUrl)).toContain('Only the owner of this user or an approver can revoke it');
    const revoke = await clickOn(reminder, USERS.ltAdmin, 'expiry_revoke');
    expect(await reply(revoke.responseUrl)).toContain('The user was revoked');
    expect(h.bot.store.requests.get(request.id)!.state).toBe('revoked');
  });
});

describe('reminders after the last extension (issue 16, item 14)', () => {
  it('the old reminders are rewritten on extension without Extend; the next one has no Extend; revocation clears their buttons', async () => {
    const request = await activeUser(USERS.ltAdmin);
    await h.settle();
    let mark = h.fake.calls.length;
    h.clock.advance(request.expiresAt! - h.clock.now() - 60 * MIN);
    await settle();
    const reminder = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && c.args['channel'] === 'C0REMINDERS', 5000);
    expect(callText(reminder)).toContain('expiry_extend');
    await h.settle();
    const posted = h.bot.store.reminders.messagesFor(request.id);
    expect(posted.map((m) => m.channel[0])).toEqual(['C', 'D']);

    mark = h.fake.calls.length;
    const extended = await clickOn(reminder, USERS.ltAdmin, 'expiry_extend');
    expect(await reply(extended.responseUrl)).toContain('now expires');
    await h.settle();
    const rewritten = h.fake.calls.slice(mark).filter((c) => c.method === 'chat.update' && posted.some((m) => m.ts === c.args['ts']));
    expect(rewritten).toHaveLength(2);
    for (const update of rewritten) {
      expect(callText(update)).toContain('Extended by');
      expect(callText(update)).toContain('expiry_revoke');
      expect(callText(update)).not.toContain('expiry_extend');
    }

    mark = h.fake.calls.length;
    h.clock.advance(h.bot.store.requests.get(request.id)!.expiresAt! - h.clock.now() - 60 * MIN);
    await settle();
    const last = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && c.args['channel'] === 'C0REMINDERS', 5000);
    expect(callText(last)).toContain('expiry_revoke');
    expect(callText(last)).not.toContain('expiry_extend');
    expect(callText(last)).toContain('cannot be extended any more');

    await h.settle();
    mark = h.fake.calls.length;
    const revoke = await clickOn(last, USERS.ltAdmin, 'expiry_revoke');
    expect(await reply(revoke.responseUrl)).toContain('The user was revoked');
    await h.settle();
    const cleared = h.fake.calls.slice(mark).filter((c) => c.method === 'chat.update' && String(callText(c)).includes('was revoked'));
    expect(cleared).toHaveLength(4);
    for (const update of cleared) expect(callText(update)).not.toMatch(/expiry_extend|expiry_revoke/);
  });
});

describe('a revocation that keeps failing', () => {
  it('is alerted with a Retry button once the quick retries are spent; an approver retries it', async () => {
    const request = await activeUser(USERS.ltAdmin, '--for 30m');
    h.respond('dev', (s) => {
      if (s.kind === 'drop login') throw new DatabaseError('db_error', 'Could not drop login as the user is currently logged in.', { serverCode: 15138 });
      return [];
    });
    await h.settle();
    const mark = h.fake.calls.length;
    h.clock.advance(request.expiresAt! - h.clock.now());
    await settle();
    for (let i = 0; i < 4; i++) {
      h.clock.advance(10 * MIN); // past each quick retry's pause (5 s, 15 s, 60 s, 300 s with jitter)
      await settle();
    }
    const alert = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && callText(c).includes('revoke_retry'), 5000);
    expect(callText(alert)).toContain('currently logged in');
    expect(h.bot.store.requests.get(request.id)!.state).toBe('revoke_failed');
    // Still open: the person cannot ask for another user there until this one is gone.
    const again = await h.slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request dev' });
    expect(await reply(again.responseUrl)).toContain('failing to be revoked');

    const denied = await clickOn(alert, USERS.other, 'revoke_retry');
    expect(await reply(denied.responseUrl)).toContain('Only the owner of this user or an approver');
    h.respond('dev', () => []);
    const retried = await clickOn(alert, USERS.approver, 'revoke_retry');
    expect(await reply(retried.responseUrl)).toContain('The user was revoked');
    expect(h.bot.store.requests.get(request.id)!.state).toBe('revoked');
  });
});

describe('/dbuser revoke and orphans', () => {
  it('an approver revokes someone else’s user by name; others cannot', async () => {
    const request = await activeUser(USERS.ltAdmin);
    const refused = await h.slack.slashCommand({ user: USERS.other, command: '/dbuser', text: `revoke ${request.username}` });
    expect(await reply(refused.responseUrl)).toContain('Only approvers of dev');
    const done = await h.slack.slashCommand({ user: USERS.approver, command: '/dbuser', text: `revoke ${request.username}` });
    expect(await reply(done.responseUrl)).toContain('was revoked');
    expect(h.bot.store.audit.list({ requestId: request.id }).at(-1)).toMatchObject({ actor: USERS.approver, action: 'state:revoked' });
  });

  it('reports a database user the bot does not know, and an approver drops it', async () => {
    h.respond('dev', (s) => (s.label.startsWith('list users') ? [{ name: 'dbx_leftover_a1b2' }] : []));
    await h.settle();
    const mark = h.fake.calls.length;
    await h.bot.expiry.reportOrphans();
    const report = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && callText(c).includes('dbx_leftover_a1b2'), 5000);
    expect(report.args['channel']).toBe('C0REMINDERS');
    const before = h.executors.get('dev')!.statements.length;
    const drop = await clickOn(report, USERS.approver, 'orphan_drop');
    expect(await reply(drop.responseUrl)).toContain('was dropped from *dev*');
    expect(h.executors.get('dev')!.statements.slice(before).some((s) => s.kind === 'drop login' && s.params.some((p) => p.value === 'dbx_leftover_a1b2'))).toBe(true);
    h.respond('dev', () => []);
  });
});

describe('/dbuser audit', () => {
  it('shows approvers the log and uploads it as CSV to their DM; refuses others', async () => {
    const refused = await h.slack.slashCommand({ user: USERS.other, command: '/dbuser', text: 'audit' });
    expect(await reply(refused.responseUrl)).toContain('Only approvers can read the audit log');
    await h.settle();
    const mark = h.fake.calls.length;
    const sent = await h.slack.slashCommand({ user: USERS.approver, command: '/dbuser', text: 'audit dev --since 30d' });
    const summary = await reply(sent.responseUrl);
    expect(summary).toContain('Audit log, last 30d');
    expect(summary).toContain('state:revoked');
    const upload = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'file_upload', 5000);
    const csv = String(upload.args['content']); // the multipart body the client sent, CSV inside
    expect(csv).toContain('at,actor,action,request_id,env,ticket,detail\r\n');
    expect(csv).toContain(',state:revoked,');
    const complete = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'files.completeUploadExternal', 5000);
    expect(String(complete.args['channel_id'])).toMatch(/^D/);
  });
});
