// /dbuser temporary users end to end: signed Slack requests into the real app, the fake Web API recording
// every call, dry-run databases recording every statement. Ends with a search for every password issued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import { signature } from '../fakes/slack-driver.js';
import { DatabaseError } from '../../src/dialects/executor.js';
import { APPROVALS, callText, nonEphemeral, passwordIn, SIGNING_SECRET, startHarness, USERS, type Harness } from './harness.js';

let h: Harness;
/** Every password the bot issued in this suite, for the final search. */
const issued: string[] = [];

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
});

function since(index: number): SlackCall[] {
  return h.fake.calls.slice(index);
}

async function replyTo(responseUrl: string): Promise<SlackCall> {
  return h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === responseUrl, 5000);
}

async function command(user: string, text: string): Promise<string> {
  const sent = await h.slack.slashCommand({ user, command: '/dbuser', text });
  expect(sent.status).toBe(200);
  return callText(await replyTo(sent.responseUrl));
}

/** Requests a user in dev and returns the approval message call. */
async function requestAndWaitForApproval(user: string, text = 'request dev --for 4h --reason "fix order 42"'): Promise<SlackCall> {
  await h.settle();
  const mark = h.fake.calls.length;
  const reply = await command(user, text);
  expect(reply).toContain('waiting for an approver');
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS, 5000);
}

function requestIdOf(approval: SlackCall): string {
  const id = /`(r_[a-z0-9]+)`/i.exec(callText(approval))?.[1];
  if (!id) throw new Error('no request id in approval message');
  return id;
}

async function click(user: string, actionId: string, approval: SlackCall, ts: string) {
  return h.slack.blockAction({
    user,
    actionId,
    container: { channel: APPROVALS, messageTs: ts },
    message: { ts, blocks: approval.args['blocks'] as unknown[] },
  });
}

async function credentialsFor(user: string, mark: number): Promise<SlackCall> {
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postEphemeral' && c.args['user'] === user && callText(c).includes('Password'), 5000);
}

describe('request → approve → password → details → delete', () => {
  it('runs the whole life of a temporary user', async () => {
    const approval = await requestAndWaitForApproval(USERS.requester);
    const text = callText(approval);
    expect(text).toContain(`<@${USERS.requester}>`);
    expect(text).toContain('fix order 42');
    expect(text).toContain('4h');
    expect(text).toMatch(/CREATE LOGIN \[dbx_maria_silva_[a-z0-9]{4}\] WITH PASSWORD = N'\*{8}'/);
    expect(text).toContain('approval_approve');
    const requestId = requestIdOf(approval);
    const ts = (await h.fake.waitFor((c) => c === approval)).args['ts'] as string | undefined;
    const postedTs = ts ?? String(h.bot.store.requests.get(requestId)?.approvalTs);

    await h.settle();
    const mark = h.fake.calls.length;
    const clicked = await click(USERS.approver, 'approval_approve', approval, postedTs);
    expect(clicked.status).toBe(200);
    const credentials = await credentialsFor(USERS.requester, mark);
    const password = passwordIn(credentials);
    issued.push(password);
    expect(String(credentials.args['channel'])).toMatch(/^D/);
    expect(String(credentials.args['text'])).not.toContain(password);

    // The database got exactly that password, bound, for the nominal user.
    const dev = h.executors.get('dev')!;
    const login = dev.statements.find((s) => s.kind === 'create login')!;
    expect(login.params.find((p) => p.name === 'password')?.value).toBe(password);
    const username = String(login.params.find((p) => p.name === 'username')?.value);
    expect(username).toMatch(/^dbx_maria_silva_/);
    expect(callText(credentials)).toContain(username);
    expect(callText(credentials)).toContain('dev-db.example.com');

    // The approval message now says who approved, and has no buttons.
    const update = await h.fake.waitFor((c) => c.method === 'chat.update' && callText(c).includes('active until'), 5000);
    expect(callText(update)).toContain(`Approved by <@${USERS.approver}>`);
    expect(callText(update)).not.toContain('approval_approve');
    // The requester heard about the approval in a DM.
    await h.fake.waitFor((c) => c.method === 'chat.postMessage' && String(c.args['channel']).startsWith('D') && callText(c).includes('approved by'), 5000);

    const details = await command(USERS.requester, 'details dev');
    for (const expected of ['dev-db.example.com', '1433', 'OUTSYSTEMS', 'outsystems', username]) expect(details).toContain(expected);
    expect(details).not.toContain(password);

    const statementsBefore = dev.statements.length;
    const deleted = await command(USERS.requester, 'delete dev');
    expect(deleted).toContain('was revoked');
    expect(dev.statements.slice(statementsBefore).map((s) => s.kind)).toEqual(['block login', 'query', 'drop user', 'drop login']);

    const request = h.bot.store.requests.get(requestId)!;
    expect(request.state).toBe('revoked');
    const story = h.bot.store.audit.list({ requestId }).map((e) => `${e.actor} ${e.action}`);
    expect(story).toEqual([
      `${USERS.requester} requested`,
      `${USERS.approver} state:approved`,
      'bot state:provisioning',
      'bot state:active',
      'bot credentials_shown',
      `${USERS.requester} state:revoking`,
      `${USERS.requester} state:revoked`,
    ]);
  });
});

describe('approvals', () => {
  it('deny with a reason updates the message and tells the requester', async () => {
    const approval = await requestAndWaitForApproval(USERS.requester, 'request dev --reason "look at logs"');
    const requestId = requestIdOf(approval);
    const ts = h.bot.store.requests.get(requestId)!.approvalTs!;
    await h.settle();
    const mark = h.fake.calls.length;
    await click(USERS.approver, 'approval_deny', approval, ts);
    const modal = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'views.open', 5000);
    expect(callText(modal)).toContain('approval_deny_reason');
    const submitted = await h.slack.viewSubmission({
      user: USERS.approver,
      view: { callbackId: 'approval_deny_reason', privateMetadata: requestId, values: { reason: { value: { type: 'plain_text_input', value: 'use the read replica' } } } },
    });
    expect(submitted.status).toBe(200);
    const update = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.update', 5000);
    expect(callText(update)).toContain(`Denied by <@${USERS.approver}>`);
    expect(callText(update)).toContain('use the read replica');
    expect(callText(update)).not.toContain('approval_approve');
    await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && callText(c).includes('was denied') && callText(c).includes('use the read replica'), 5000);
    expect(h.bot.store.requests.get(requestId)!.state).toBe('denied');
  });

  it('refuses a click by someone who is not an approver, and changes nothing', async () => {
    const approval = await requestAndWaitForApproval(USERS.requester);
    const requestId = requestIdOf(approval);
    const ts = h.bot.store.requests.get(requestId)!.approvalTs!;
    const sent = await click(USERS.other, 'approval_approve', approval, ts);
    const reply = callText(await replyTo(sent.responseUrl));
    expect(reply).toContain('Only approvers of dev can decide');
    expect(h.bot.store.requests.get(requestId)!.state).toBe('pending');
    await command(USERS.requester, 'delete dev');
  });

  it('refuses self-approval by default', async () => {
    const approval = await requestAndWaitForApproval(USERS.approver);
    const requestId = requestIdOf(approval);
    const ts = h.bot.store.requests.get(requestId)!.approvalTs!;
    const sent = await click(USERS.approver, 'approval_approve', approval, ts);
    expect(callText(await replyTo(sent.responseUrl))).toContain('You cannot decide your own request');
    expect(h.bot.store.requests.get(requestId)!.state).toBe('pending');
    await command(USERS.approver, 'delete dev');
  });

  it('lets a member of an approver group approve; a second click changes nothing', async () => {
    const approval = await requestAndWaitForApproval(USERS.requester);
    const requestId = requestIdOf(approval);
    const ts = h.bot.store.requests.get(requestId)!.approvalTs!;
    const creates = () => h.executors.get('dev')!.statements.filter((s) => s.kind === 'create login').length;
    const before = creates();
    await h.settle();
    const mark = h.fake.calls.length;
    const [first, second] = await Promise.all([click(USERS.groupApprover, 'approval_approve', approval, ts), click(USERS.approver, 'approval_approve', approval, ts)]);
    expect([first.status, second.status]).toEqual([200, 200]);
    issued.push(passwordIn(await credentialsFor(USERS.requester, mark)));
    const loser = await Promise.race([replyTo(first.responseUrl), replyTo(second.responseUrl)]);
    expect(callText(loser)).toContain('Nothing changed');
    expect(creates()).toBe(before + 1);
    expect(h.bot.store.requests.get(requestId)!.state).toBe('active');
    await command(USERS.requester, 'delete dev');
  });
});

describe('preconditions, each refused with an explanation', () => {
  it.each([
    ['request legacy', 'need LifeTime 11.7.5 or later; legacy runs 11.7.2'],
    ['request allowlisted', 'IP allowlisting, which cannot coexist with temporary users'],
    ['request prod --for 9h', '9h is longer than prod allows: at most 8h'],
    ['request nowhere', 'There is no environment called \\"nowhere\\". Environments: dev, prod, legacy, allowlisted.'],
    ['request dev --for soon', "'soon' is not a duration"],
    ['launch', "I don't know `launch`."],
  ])('%s', async (text, expected) => {
    const statements = h.executors.get('dev')?.statements.length ?? 0;
    expect(await command(USERS.requester, text)).toContain(expected);
    expect(h.executors.get('dev')?.statements.length ?? 0).toBe(statements);
  });

  it('one temporary user per person and environment', async () => {
    await requestAndWaitForApproval(USERS.requester);
    expect(await command(USERS.requester, 'request dev')).toContain('You already have a temporary user request in dev (waiting for approval)');
    expect(await command(USERS.requester, 'delete dev')).toContain('withdrawn');
  });
});

describe('routes without an approver', () => {
  it('self-service: a LifeTime administrator gets the user at once', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    expect(await command(USERS.ltAdmin, 'request dev --for 1h')).toContain('self-service');
    const credentials = await credentialsFor(USERS.ltAdmin, mark);
    issued.push(passwordIn(credentials));
    expect(since(mark).some((c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('approval_approve'))).toBe(false);
    await command(USERS.ltAdmin, 'delete dev');
  });

  it('break-glass needs a reason, then alerts every approver', async () => {
    expect(await command(USERS.onCall, 'request dev --break-glass')).toContain('Break-glass needs a reason');
    expect(await command(USERS.other, 'request dev --break-glass --reason "x"')).toContain('only for the people its configuration lists');
    await h.settle();
    const mark = h.fake.calls.length;
    await command(USERS.onCall, 'request dev --break-glass --reason "orders stuck"');
    issued.push(passwordIn(await credentialsFor(USERS.onCall, mark)));
    await h.settle();
    const alerts = since(mark).filter((c) => c.method === 'chat.postMessage' && callText(c).includes('Break-glass'));
    const channels = alerts.map((c) => String(c.args['channel']));
    expect(channels).toContain(APPROVALS);
    expect(channels.filter((c) => c.startsWith('D'))).toHaveLength(2); // the approver and the group member
    await command(USERS.onCall, 'delete dev');
  });
});

describe('the request form and a password of the user’s own', () => {
  it('opens the form, shows mistakes next to their field, and uses the chosen password', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'request' });
    const opened = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'views.open', 5000);
    expect(callText(opened)).toContain('dbuser_request');

    const values = (duration: string, password: string) => ({
      env: { value: { type: 'static_select', selected_option: { value: 'dev' } } },
      duration: { value: { type: 'plain_text_input', value: duration } },
      reason: { value: { type: 'plain_text_input', value: 'check a payment' } },
      password: { value: { type: 'plain_text_input', value: password } },
    });
    const bad = await h.slack.viewSubmission({ user: USERS.requester, view: { callbackId: 'dbuser_request', values: values('2 hours', '') } });
    expect(bad.json).toMatchObject({ response_action: 'errors', errors: { duration: expect.stringContaining('is not a duration') } });
    const weak = await h.slack.viewSubmission({ user: USERS.requester, view: { callbackId: 'dbuser_request', values: values('2h', "it's;weak") } });
    expect(weak.json).toMatchObject({ response_action: 'errors', errors: { password: expect.stringContaining('single quote') } });
    expect(JSON.stringify(weak.json)).not.toContain("it's;weak");

    const chosen = 'Harbour-Lights-77';
    const ok = await h.slack.viewSubmission({ user: USERS.requester, view: { callbackId: 'dbuser_request', values: values('2h', chosen) } });
    expect(ok.status).toBe(200);
    const approval = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS, 5000);
    expect(callText(approval)).not.toContain(chosen);
    const requestId = requestIdOf(approval);
    const approveMark = h.fake.calls.length;
    await click(USERS.approver, 'approval_approve', approval, h.bot.store.requests.get(requestId)!.approvalTs!);
    const credentials = await credentialsFor(USERS.requester, approveMark);
    expect(passwordIn(credentials)).toBe(chosen);
    issued.push(chosen);
    const login = h.executors.get('dev')!.statements.filter((s) => s.kind === 'create login').at(-1)!;
    expect(login.params.find((p) => p.name === 'password')?.value).toBe(chosen);

    // New password: rotates, and replaces the clicked ephemeral message with the new one.
    const rotated = await h.slack.blockAction({ user: USERS.requester, actionId: 'credentials_rotate', value: requestId, container: { channel: String(credentials.args['channel']), messageTs: '1', isEphemeral: true } });
    const reply = await replyTo(rotated.responseUrl);
    expect(reply.args['replace_original']).toBe(true);
    const fresh = passwordIn(reply);
    issued.push(fresh);
    expect(fresh).not.toBe(chosen);
    const set = h.executors.get('dev')!.statements.filter((s) => s.kind === 'set password').at(-1)!;
    expect(set.params.find((p) => p.name === 'password')?.value).toBe(fresh);
    // The request is active: the new password also lifts a lockout after bad passwords (issue 15, item 6).
    expect(set.label).toBe('set a new password on the login and unlock it');

    // Someone else cannot rotate it.
    const stranger = await h.slack.blockAction({ user: USERS.other, actionId: 'credentials_rotate', value: requestId, container: { channel: 'DX', messageTs: '1', isEphemeral: true } });
    expect(callText(await replyTo(stranger.responseUrl))).toContain('Only the person who asked');
    await command(USERS.requester, 'delete dev');
  });
});

describe('database failures', () => {
  it('a failed create tells the requester and the approval message, marks the request failed, and drops what was made', async () => {
    h.respond('dev', (s) => {
      if (s.kind === 'create user') throw new DatabaseError('db_permission_denied', "The bot's admin login lacks a permission for \"create database user for the login\": CREATE USER permission denied (error 15247).", { serverCode: 15247 });
      return [];
    });
    try {
      const approval = await requestAndWaitForApproval(USERS.requester);
      const requestId = requestIdOf(approval);
      await h.settle();
      const mark = h.fake.calls.length;
      const before = h.executors.get('dev')!.statements.length;
      await click(USERS.approver, 'approval_approve', approval, h.bot.store.requests.get(requestId)!.approvalTs!);
      const dm = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && callText(c).includes('could not be created'), 5000);
      expect(callText(dm)).toContain('CREATE USER permission denied');
      expect(callText(dm)).toContain('dropped again');
      await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.update' && callText(c).includes('Failed:'), 5000);
      expect(h.bot.store.requests.get(requestId)!.state).toBe('failed');
      expect(h.executors.get('dev')!.statements.slice(before).map((s) => s.kind)).toEqual(['create login', 'create user', 'block login', 'query', 'drop user', 'drop login']);
      expect(since(mark).some((c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'))).toBe(false);
    } finally {
      h.respond('dev', () => []);
    }
  });
});

describe('request signing', () => {
  const body = 'token=x&team_id=T1&user_id=U0OTHER&command=%2Fdbuser&text=list&response_url=http%3A%2F%2F127.0.0.1%3A1%2Fx&trigger_id=1';
  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['a wrong secret', () => ({ ts: now(), sig: signature('wrong-secret', now(), body) })],
    ['a stale timestamp', () => ({ ts: now() - 6 * 60, sig: signature(SIGNING_SECRET, now() - 6 * 60, body) })],
    ['a signature of another body', () => ({ ts: now(), sig: signature(SIGNING_SECRET, now(), `${body}&x=1`) })],
  ])('rejects %s with 401 and does nothing', async (_label, make) => {
    const { ts, sig } = make();
    await h.settle();
    const mark = h.fake.calls.length;
    const res = await h.slack.raw(body, { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sig });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 100));
    expect(since(mark)).toEqual([]);
  });

  it('rejects a request without signature headers', async () => {
    const res = await h.slack.raw(body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(401);
  });
});

describe('no secret is ever written down', () => {
  it('finds no issued password in SQLite (with WAL), logs, or any non-ephemeral Slack message', async () => {
    expect(issued.length).toBeGreaterThanOrEqual(5);
    const sqlite = h.sqliteBytes();
    const logs = h.logs.join('\n');
    const visible = nonEphemeral(h.fake.calls).map(callText).join('\n');
    for (const password of issued) {
      expect(sqlite.includes(Buffer.from(password, 'utf8')), 'in SQLite').toBe(false);
      expect(logs.includes(password), 'in logs').toBe(false);
      expect(visible.includes(password), 'in a non-ephemeral message').toBe(false);
    }
    // The search is real: the logs and SQLite are not empty, and the ephemeral messages do hold them.
    expect(logs.length).toBeGreaterThan(0);
    expect(sqlite.length).toBeGreaterThan(0);
    const ephemeral = h.fake.calls.filter((c) => !nonEphemeral([c]).length).map(callText).join('\n');
    for (const password of issued) expect(ephemeral).toContain(password);
  });
});
