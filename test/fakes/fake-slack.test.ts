// The fake Slack Web API, driven through a real @slack/web-api WebClient as the bot drives it.
import { LogLevel, WebClient, type WebClientOptions } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';

const token = 'xoxb-test';
// Failures are the point of several tests; the client's own warnings about them are noise.
const quiet: WebClientOptions = { retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR };
let fake: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  fake = await startFakeSlack({ teamId: 'T0TEAM', botUserId: 'U0BOT' });
  client = new WebClient(token, { ...quiet, slackApiUrl: fake.apiUrl });
});

afterEach(async () => {
  await fake.close();
});

describe('startFakeSlack', () => {
  it('serves an apiUrl ending with /api/ on 127.0.0.1', () => {
    expect(fake.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
  });
});

describe('Web API methods through a WebClient', () => {
  it('auth.test names the bot user and team', async () => {
    const result = await client.auth.test();

    expect(result).toMatchObject({ ok: true, team_id: 'T0TEAM', user_id: 'U0BOT' });
    expect(result.bot_id).toMatch(/^B/);
    expect(result.url).toMatch(/^https:\/\//);
  });

  it('chat.postMessage answers channel, ts and message, and records blocks decoded', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hi* [1]' } }];

    const result = await client.chat.postMessage({ channel: 'C0GENERAL', text: '[1] hi', blocks });

    expect(result).toMatchObject({ ok: true, channel: 'C0GENERAL', message: { text: '[1] hi', blocks } });
    expect(result.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(result.message?.ts).toBe(result.ts);
    const [call] = fake.callsOf('chat.postMessage');
    expect(call).toMatchObject({ method: 'chat.postMessage', token, args: { channel: 'C0GENERAL', text: '[1] hi', blocks } });
    expect(call?.args).not.toHaveProperty('token');
  });

  it('chat.postMessage gives unique, increasing timestamps', async () => {
    const first = await client.chat.postMessage({ channel: 'C1', text: 'a' });
    const second = await client.chat.postMessage({ channel: 'C1', text: 'b' });

    expect(first.ts).not.toBe(second.ts);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
  });

  it.each([
    ['U0ALICE', 'D0ALICE'],
    ['W0BOB', 'D0BOB'],
    ['C0GENERAL', 'C0GENERAL'],
    ['D0ALICE', 'D0ALICE'],
  ])('chat.postMessage to %s answers channel %s', async (channel, answered) => {
    const result = await client.chat.postMessage({ channel, text: 'hello' });

    expect(result.channel).toBe(answered);
  });

  it('chat.update echoes channel, ts and text', async () => {
    const result = await client.chat.update({ channel: 'C1', ts: '1700000000.000100', text: 'updated' });

    expect(result).toMatchObject({ ok: true, channel: 'C1', ts: '1700000000.000100', text: 'updated' });
  });

  it('chat.postEphemeral answers a message_ts', async () => {
    const result = await client.chat.postEphemeral({ channel: 'C1', user: 'U0ALICE', text: 'only you' });

    expect(result.ok).toBe(true);
    expect(result.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.callsOf('chat.postEphemeral')[0]?.args).toMatchObject({ channel: 'C1', user: 'U0ALICE' });
  });

  it('conversations.open gives the same D channel for the same user', async () => {
    const first = await client.conversations.open({ users: 'U0ALICE' });
    const again = await client.conversations.open({ users: 'U0ALICE' });

    expect(first.channel?.id).toBe('D0ALICE');
    expect(again.channel?.id).toBe('D0ALICE');
  });

  it.each(['views.open', 'views.push'] as const)('%s answers the view with an id and empty state', async (method) => {
    const view = {
      type: 'modal' as const,
      callback_id: 'request_access',
      private_metadata: '{"env":"dev"}',
      title: { type: 'plain_text' as const, text: 'Request access' },
      blocks: [],
    };

    const result = await client.apiCall(method, { trigger_id: '1.2.3', view });

    expect(result).toMatchObject({
      ok: true,
      view: {
        id: expect.stringMatching(/^V/),
        callback_id: 'request_access',
        private_metadata: '{"env":"dev"}',
        type: 'modal',
        state: { values: {} },
      },
    });
    expect(fake.callsOf(method)[0]?.args.view).toEqual(view);
  });

  it('views.update keeps the view id it was given', async () => {
    const result = await client.views.update({
      view_id: 'V0EXISTING',
      view: { type: 'modal', title: { type: 'plain_text', text: 'Step 2' }, blocks: [] },
    });

    expect(result.view?.id).toBe('V0EXISTING');
    expect(result.view?.title?.text).toBe('Step 2');
  });

  it('views.publish answers a home view', async () => {
    const result = await client.views.publish({ user_id: 'U0ALICE', view: { type: 'home', blocks: [] } });

    expect(result.view).toMatchObject({ type: 'home', state: { values: {} } });
  });

  it('users.info answers a known user with profile names', async () => {
    fake.users.set('U0ALICE', { id: 'U0ALICE', name: 'alice', realName: 'Alice Liddell', displayName: 'ali' });

    const result = await client.users.info({ user: 'U0ALICE' });

    expect(result.user).toMatchObject({
      id: 'U0ALICE',
      name: 'alice',
      real_name: 'Alice Liddell',
      is_bot: false,
      profile: { display_name: 'ali', real_name: 'Alice Liddell' },
    });
  });

  it('users.info of an unknown user throws platform_error user_not_found', async () => {
    const call = client.users.info({ user: 'U0NOBODY' });

    await expect(call).rejects.toMatchObject({
      code: 'slack_webapi_platform_error',
      data: { ok: false, error: 'user_not_found' },
    });
  });

  it('usergroups.users.list answers the members of a known group', async () => {
    fake.usergroups.set('S0DBA', ['U0ALICE', 'U0BOB']);

    const result = await client.usergroups.users.list({ usergroup: 'S0DBA' });

    expect(result.users).toEqual(['U0ALICE', 'U0BOB']);
  });

  it('usergroups.users.list of an unknown group throws no_such_subteam', async () => {
    await expect(client.usergroups.users.list({ usergroup: 'S0NONE' })).rejects.toMatchObject({
      data: { error: 'no_such_subteam' },
    });
  });

  it('answers any other method with ok and records it', async () => {
    const result = await client.reactions.add({ channel: 'C1', timestamp: '1700000000.000100', name: 'eyes' });

    expect(result.ok).toBe(true);
    expect(fake.callsOf('reactions.add')[0]?.args).toMatchObject({ name: 'eyes' });
  });
});

describe('request formats', () => {
  it('accepts a JSON body with the token in the Authorization header', async () => {
    const response = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: 'Bearer xoxb-json' },
      body: JSON.stringify({ channel: 'C1', text: 'json', blocks: [{ type: 'divider' }] }),
    });

    expect(await response.json()).toMatchObject({ ok: true, channel: 'C1' });
    expect(fake.calls[0]).toMatchObject({ token: 'xoxb-json', args: { blocks: [{ type: 'divider' }] } });
  });

  it('takes the token from a form argument when there is no header', async () => {
    await fetch(`${fake.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'token=xoxb-form',
    });

    expect(fake.calls[0]?.token).toBe('xoxb-form');
  });

  it('answers not_authed without a token, and still records the call', async () => {
    const response = await fetch(`${fake.apiUrl}auth.test`, { method: 'POST' });

    expect(await response.json()).toEqual({ ok: false, error: 'not_authed' });
    expect(fake.callsOf('auth.test')).toHaveLength(1);
  });
});

describe('response_url', () => {
  it('records a post as method response_url with the url and the body', async () => {
    const responseUrl = fake.newResponseUrl();

    const response = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'done', response_type: 'ephemeral', replace_original: false }),
    });

    expect(response.status).toBe(200);
    expect(fake.callsOf('response_url')[0]).toMatchObject({
      token: undefined,
      args: { responseUrl, text: 'done', response_type: 'ephemeral', replace_original: false },
    });
  });

  it('gives a different url each time', () => {
    expect(fake.newResponseUrl()).not.toBe(fake.newResponseUrl());
  });

  it('answers 404 to a url it never gave out', async () => {
    const response = await fetch(fake.apiUrl.replace('/api/', '/response/T0TEAM/999/nope'), {
      method: 'POST',
      body: '{}',
    });

    expect(response.status).toBe(404);
    expect(fake.callsOf('response_url')).toHaveLength(0);
  });

  it('can be made to fail like any method', async () => {
    fake.fail('response_url', { status: 404, error: 'expired_url' });

    const response = await fetch(fake.newResponseUrl(), { method: 'POST', body: '{"text":"late"}' });

    expect(response.status).toBe(404);
    expect(fake.callsOf('response_url')[0]?.args).toMatchObject({ text: 'late' });
  });
});

describe('faults', () => {
  it('a 429 with rejectRateLimitedCalls surfaces as a rate-limited error carrying Retry-After', async () => {
    const rejecting = new WebClient(token, { ...quiet, slackApiUrl: fake.apiUrl, rejectRateLimitedCalls: true });
    fake.fail('chat.postMessage', { status: 429, retryAfterSeconds: 7 });

    await expect(rejecting.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 7,
    });
  });

  it('a 429 without rejectRateLimitedCalls and no retries left surfaces as a request error after Retry-After', async () => {
    fake.fail('chat.postMessage', { status: 429, retryAfterSeconds: 0 });

    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_request_error',
      original: { message: expect.stringContaining('rate limit was exceeded') },
    });
  });

  it.each([500, 503])('an HTTP %i surfaces as an HTTP error', async (status) => {
    fake.fail('chat.postMessage', { status });

    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_http_error',
      statusCode: status,
    });
  });

  it('an error is ok:false on HTTP 200, thrown as platform_error with data.error', async () => {
    fake.fail('views.open', { error: 'expired_trigger_id' });

    await expect(
      client.views.open({ trigger_id: '1.2.3', view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [] } }),
    ).rejects.toMatchObject({ code: 'slack_webapi_platform_error', data: { ok: false, error: 'expired_trigger_id' } });
  });

  it('a delay longer than the client timeout surfaces as a request error', async () => {
    const impatient = new WebClient(token, { ...quiet, slackApiUrl: fake.apiUrl, timeout: 50 });
    fake.fail('auth.test', { delayMs: 1_000 });

    await expect(impatient.auth.test()).rejects.toMatchObject({ code: 'slack_webapi_request_error' });
  });

  it('a delay alone still answers normally, later', async () => {
    fake.fail('auth.test', { delayMs: 50 });
    const started = Date.now();

    const result = await client.auth.test();

    expect(result.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('fails only the next `times` calls of that method', async () => {
    fake.fail('chat.postMessage', { error: 'channel_not_found' }, 2);
    const attempt = () => client.chat.postMessage({ channel: 'C1', text: 'x' }).then(() => 'ok', () => 'failed');

    const outcomes = [await attempt(), await attempt(), await attempt()];
    const other = await client.auth.test();

    expect(outcomes).toEqual(['failed', 'failed', 'ok']);
    expect(other.ok).toBe(true);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(3);
  });
});

describe('waitFor', () => {
  it('resolves with a call already recorded', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'earlier' });

    const call = await fake.waitFor((c) => c.method === 'chat.postMessage');

    expect(call.args.text).toBe('earlier');
  });

  it('resolves with a call made later', async () => {
    const waiting = fake.waitFor((c) => c.method === 'chat.postMessage' && c.args.text === 'later');

    await client.auth.test();
    await client.chat.postMessage({ channel: 'C1', text: 'later' });

    expect((await waiting).args.channel).toBe('C1');
  });

  it('rejects after the timeout, listing the methods seen', async () => {
    await client.auth.test();
    await client.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'x' });

    const waiting = fake.waitFor((c) => c.method === 'views.open', 50);

    await expect(waiting).rejects.toThrow(/within 50 ms; calls seen: auth\.test, chat\.postEphemeral/);
  });
});

describe('close', () => {
  it('does not wait for a delayed reply', async () => {
    fake.fail('auth.test', { delayMs: 10_000 });
    const pending = client.auth.test().catch((err: unknown) => err);
    await fake.waitFor((c) => c.method === 'auth.test');
    const started = Date.now();

    await fake.close();

    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
    fake = await startFakeSlack();
  });
});
