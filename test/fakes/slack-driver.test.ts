// The driver's requests: signed and shaped like Slack's, checked by a bare HTTP server and by a real Bolt App.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { App, LogLevel } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';
import { createSlackDriver, signature, type SlackDriver } from './slack-driver.js';

const signingSecret = 'test-signing-secret';
const fixedNow = 1_750_000_000.25;

describe('signature', () => {
  it("matches the worked example in Slack's 'Verifying requests from Slack'", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
      '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
      '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
      '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

    const signed = signature('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body);

    expect(signed).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
  });
});

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on a TCP port');
  return address.port;
}

function parsePayload(form: Record<string, string>): Record<string, unknown> | undefined {
  if (form.payload === undefined) return undefined;
  const parsed: unknown = JSON.parse(form.payload);
  return typeof parsed === 'object' && parsed !== null ? { ...parsed } : undefined;
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  form: Record<string, string>;
  payload: Record<string, unknown> | undefined;
  signatureValid: boolean;
}

describe('against a bare HTTP server', () => {
  let fake: FakeSlack;
  let server: Server;
  let received: Received[];
  let driver: SlackDriver;

  beforeEach(async () => {
    fake = await startFakeSlack({ teamId: 'T0TEAM' });
    received = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const form = Object.fromEntries(new URLSearchParams(body));
        const timestamp = Number(req.headers['x-slack-request-timestamp']);
        received.push({
          headers: req.headers,
          body,
          form,
          payload: parsePayload(form),
          signatureValid: req.headers['x-slack-signature'] === signature(signingSecret, timestamp, body),
        });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"received":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    driver = createSlackDriver({
      eventsUrl: `http://127.0.0.1:${portOf(server)}/slack/events`,
      signingSecret,
      teamId: 'T0TEAM',
      fake,
      now: () => fixedNow,
    });
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fake.close();
  });

  it('signs a slash command with the injected clock', async () => {
    const response = await driver.slashCommand({ user: 'U0ALICE', command: '/dbaccess', text: 'request dev' });

    expect(response).toMatchObject({ status: 200, body: '{"received":true}', json: { received: true } });
    const [request] = received;
    expect(request?.signatureValid).toBe(true);
    expect(request?.headers['x-slack-request-timestamp']).toBe('1750000000');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('sends every slash command field Slack sends', async () => {
    fake.users.set('U0ALICE', { id: 'U0ALICE', name: 'alice' });

    const response = await driver.slashCommand({
      user: 'U0ALICE',
      command: '/dbaccess',
      text: 'request prod 2h & more',
      channel: 'C0OPS',
    });

    expect(received[0]?.form).toMatchObject({
      team_id: 'T0TEAM',
      channel_id: 'C0OPS',
      user_id: 'U0ALICE',
      user_name: 'alice',
      command: '/dbaccess',
      text: 'request prod 2h & more',
      response_url: response.responseUrl,
      trigger_id: response.triggerId,
    });
    expect(Object.keys(received[0]?.form ?? {})).toEqual(
      expect.arrayContaining(['token', 'team_domain', 'channel_name', 'api_app_id']),
    );
    expect(response.responseUrl.startsWith(fake.apiUrl.replace('/api/', '/response/'))).toBe(true);
  });

  it.each([
    ['D0ALICE', 'directmessage'],
    ['G0PRIVATE', 'privategroup'],
  ])('names channel %s as %s', async (channel, name) => {
    await driver.slashCommand({ user: 'U0ALICE', command: '/dbaccess', text: '', channel });

    expect(received[0]?.form.channel_name).toBe(name);
  });

  it('sends a button click as a block_actions payload, taking the button from the message', async () => {
    const message = {
      ts: '1700000000.000100',
      text: 'Approve?',
      blocks: [
        {
          type: 'actions',
          block_id: 'decision',
          elements: [
            { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'req-42', style: 'primary' },
          ],
        },
      ],
    };

    const response = await driver.blockAction({
      user: 'U0BOB',
      actionId: 'approve',
      container: { channel: 'C0OPS', messageTs: '1700000000.000100' },
      message,
    });

    const payload = received[0]?.payload;
    expect(received[0]?.signatureValid).toBe(true);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0BOB', username: 'u0bob', team_id: 'T0TEAM' },
      team: { id: 'T0TEAM' },
      container: { type: 'message', channel_id: 'C0OPS', message_ts: '1700000000.000100', is_ephemeral: false },
      channel: { id: 'C0OPS' },
      message,
      response_url: response.responseUrl,
      actions: [{ type: 'button', action_id: 'approve', block_id: 'decision', value: 'req-42', text: { text: 'Approve' } }],
    });
    expect(payload?.trigger_id).toEqual(expect.any(String));
    expect(payload?.api_app_id).toEqual(expect.any(String));
    expect(payload?.actions).toEqual([expect.objectContaining({ action_ts: '1750000000.250000' })]);
  });

  it('lets explicit value and blockId win over the message', async () => {
    await driver.blockAction({ user: 'U0BOB', actionId: 'deny', value: 'req-7', blockId: 'b1', triggerId: 'T.1.2' });

    expect(received[0]?.payload).toMatchObject({
      trigger_id: 'T.1.2',
      actions: [{ action_id: 'deny', block_id: 'b1', value: 'req-7' }],
    });
  });

  it('sends a click inside a modal without response_url, with a view container', async () => {
    const response = await driver.blockAction({ user: 'U0BOB', actionId: 'add_row', view: { id: 'V0MODAL', callback_id: 'cb' } });

    expect(response.responseUrl).toBe('');
    expect(received[0]?.payload).toMatchObject({ container: { type: 'view', view_id: 'V0MODAL' }, view: { id: 'V0MODAL' } });
    expect(received[0]?.payload).not.toHaveProperty('response_url');
  });

  it('sends a modal submission as a view_submission payload', async () => {
    const values = {
      env: { env_select: { type: 'static_select', selected_option: { value: 'dev' } } },
      reason: { reason_input: { type: 'plain_text_input', value: 'incident 123' } },
    };

    await driver.viewSubmission({
      user: 'U0ALICE',
      view: { id: 'V0MODAL', callbackId: 'request_access', privateMetadata: '{"channel":"C0OPS"}', values },
    });

    expect(received[0]?.signatureValid).toBe(true);
    expect(received[0]?.payload).toMatchObject({
      type: 'view_submission',
      user: { id: 'U0ALICE' },
      team: { id: 'T0TEAM' },
      view: {
        id: 'V0MODAL',
        type: 'modal',
        callback_id: 'request_access',
        private_metadata: '{"channel":"C0OPS"}',
        state: { values },
      },
    });
    expect(received[0]?.payload).toMatchObject({ view: { hash: expect.any(String) } });
  });

  it('posts a raw body with exactly the headers given', async () => {
    const response = await driver.raw('hello', { 'Content-Type': 'text/plain', 'X-Slack-Signature': 'v0=nope' });

    expect(response.status).toBe(200);
    expect(received[0]).toMatchObject({ body: 'hello', signatureValid: false });
    expect(received[0]?.headers['x-slack-signature']).toBe('v0=nope');
  });
});

describe('against a Bolt App with the HTTP receiver', () => {
  let fake: FakeSlack;
  let app: App;
  let eventsUrl: string;
  let driver: SlackDriver;

  beforeEach(async () => {
    fake = await startFakeSlack({ teamId: 'T0TEAM', botUserId: 'U0BOT' });
    app = new App({
      token: 'xoxb-test',
      signingSecret,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    // ListenOptions with port 0: the receiver passes them to server.listen, and start() resolves with the server.
    const server = await app.start({ port: 0, host: '127.0.0.1' });
    eventsUrl = `http://127.0.0.1:${portOf(server)}/slack/events`;
    driver = createSlackDriver({ eventsUrl, signingSecret, teamId: 'T0TEAM', fake });
  });

  afterEach(async () => {
    await app.stop();
    await fake.close();
  });

  it('checks the bot token with auth.test on the fake', async () => {
    const call = await fake.waitFor((c) => c.method === 'auth.test');

    expect(call.token).toBe('xoxb-test');
  });

  it("shows a message returned in a command's acknowledgement as Slack does: as a reply on its response_url, marked via ack", async () => {
    app.command('/dbaccess', async ({ command, ack }) => {
      await ack({ text: `inline: ${command.text}` });
    });

    const response = await driver.slashCommand({ user: 'U0ALICE', command: '/dbaccess', text: 'help' });

    expect(response.json).toEqual({ text: 'inline: help' });
    expect(fake.calls.filter((c) => c.method === 'response_url')).toEqual([
      { method: 'response_url', args: { responseUrl: response.responseUrl, text: 'inline: help' }, token: undefined, at: expect.any(Number), via: 'ack' },
    ]);
  });

  it('delivers a slash command to app.command, and respond() posts to the response_url', async () => {
    app.command('/dbaccess', async ({ command, ack, respond }) => {
      await ack();
      await respond({ response_type: 'ephemeral', text: `you asked: ${command.text} (${command.user_id})` });
    });

    const response = await driver.slashCommand({ user: 'U0ALICE', command: '/dbaccess', text: 'request dev' });
    const call = await fake.waitFor((c) => c.method === 'response_url');

    expect(response.status).toBe(200);
    expect(response.body).toBe('');
    expect(call.args).toEqual({
      responseUrl: response.responseUrl,
      response_type: 'ephemeral',
      text: 'you asked: request dev (U0ALICE)',
    });
  });

  it('replies inline when ack() is given a message', async () => {
    app.command('/dbaccess', async ({ ack }) => {
      await ack({ response_type: 'ephemeral', text: 'inline' });
    });

    const response = await driver.slashCommand({ user: 'U0ALICE', command: '/dbaccess', text: 'help' });

    expect(response).toMatchObject({ status: 200, json: { response_type: 'ephemeral', text: 'inline' } });
  });

  it('delivers a button click to app.action; client calls land on the fake', async () => {
    app.action('approve', async ({ ack, body, action, client, respond }) => {
      await ack();
      const value = action.type === 'button' ? action.value : undefined;
      await client.chat.postMessage({ channel: body.user.id, text: `approved ${value ?? ''}` });
      await respond({ replace_original: true, text: 'Approved' });
    });

    const response = await driver.blockAction({
      user: 'U0BOB',
      actionId: 'approve',
      value: 'req-42',
      container: { channel: 'C0OPS', messageTs: '1700000000.000100' },
    });
    const posted = await fake.waitFor((c) => c.method === 'chat.postMessage');
    const responded = await fake.waitFor((c) => c.method === 'response_url');

    expect(response.status).toBe(200);
    expect(posted).toMatchObject({ token: 'xoxb-test', args: { channel: 'U0BOB', text: 'approved req-42' } });
    expect(responded.args).toMatchObject({ responseUrl: response.responseUrl, replace_original: true, text: 'Approved' });
  });

  it('delivers a modal submission to app.view, and ack() errors come back inline', async () => {
    let seen: unknown;
    app.view('request_access', async ({ ack, view }) => {
      seen = { values: view.state.values, metadata: view.private_metadata };
      await ack({ response_action: 'errors', errors: { reason: 'Say why you need access.' } });
    });
    const values = { reason: { reason_input: { type: 'plain_text_input', value: '' } } };

    const response = await driver.viewSubmission({
      user: 'U0ALICE',
      view: { callbackId: 'request_access', privateMetadata: 'C0OPS', values },
    });

    expect(response).toMatchObject({
      status: 200,
      json: { response_action: 'errors', errors: { reason: 'Say why you need access.' } },
    });
    expect(seen).toEqual({ values, metadata: 'C0OPS' });
  });

  it('opens a modal with the trigger_id of the command', async () => {
    app.command('/dbaccess', async ({ ack, body, client }) => {
      await ack();
      await client.views.open({
        trigger_id: body.trigger_id,
        view: { type: 'modal', callback_id: 'request_access', title: { type: 'plain_text', text: 'Request' }, blocks: [] },
      });
    });

    const response = await driver.slashCommand({ user: 'U0ALICE', command: '/dbaccess', text: '' });
    const call = await fake.waitFor((c) => c.method === 'views.open');

    expect(call.args).toMatchObject({ trigger_id: response.triggerId, view: { callback_id: 'request_access' } });
  });

  it('answers 401 to a bad signature, and no listener runs', async () => {
    let ran = false;
    app.command('/dbaccess', async ({ ack }) => {
      ran = true;
      await ack();
    });
    const body = 'command=%2Fdbaccess&text=&user_id=U0EVE&team_id=T0TEAM';
    const timestamp = Math.floor(Date.now() / 1000);

    const response = await driver.raw(body, {
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Slack-Request-Timestamp': String(timestamp),
      'X-Slack-Signature': signature('not-the-secret', timestamp, body),
    });

    expect(response.status).toBe(401);
    expect(ran).toBe(false);
  });

  it('answers 401 to a request signed more than 5 minutes ago', async () => {
    let ran = false;
    app.command('/dbaccess', async ({ ack }) => {
      ran = true;
      await ack();
    });
    const stale = createSlackDriver({ eventsUrl, signingSecret, teamId: 'T0TEAM', fake, now: () => Date.now() / 1000 - 301 });

    const response = await stale.slashCommand({ user: 'U0ALICE', command: '/dbaccess', text: '' });

    expect(response.status).toBe(401);
    expect(ran).toBe(false);
  });

  it('answers 400 when the form Content-Type carries a charset (Bolt compares the header exactly)', async () => {
    const body = 'command=%2Fdbaccess&text=&user_id=U0ALICE&team_id=T0TEAM';
    const timestamp = Math.floor(Date.now() / 1000);

    const response = await driver.raw(body, {
      'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
      'X-Slack-Request-Timestamp': String(timestamp),
      'X-Slack-Signature': signature(signingSecret, timestamp, body),
    });

    expect(response.status).toBe(400);
  });
});
