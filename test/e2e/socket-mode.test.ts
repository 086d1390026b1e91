// Socket Mode as Slack drives it (apps.connections.open, a WebSocket with hello, envelopes, acks)
// against the fakes: the bot stays up whatever Slack does, reconnects after the socket drops while
// the Web API is unreachable, for as long as that lasts, and names a refused app token. Issue 14, problem 7.
import { afterEach, expect, it } from 'vitest';
import { slackCheck, startHarness, TEAM_ID, USERS, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('a revoked app-level token: the bot starts and stays up, /readyz and the log name SLACK_APP_TOKEN', async () => {
  h = await startHarness({ appToken: 'xapp-revoked', ops: true, beforeStart: (fake) => fake.fail('apps.connections.open', { error: 'invalid_auth' }, 1_000) });

  await waitUntil(async () => (await slackCheck(h!.bot.opsPort!))?.includes('SLACK_APP_TOKEN') ?? false, '/readyz to name SLACK_APP_TOKEN');
  const ready = await (await fetch(`http://127.0.0.1:${h.bot.opsPort}/readyz`)).json();

  expect(ready).toMatchObject({ ready: false, checks: { scheduler: 'ok', slack: expect.stringContaining('Slack refused SLACK_APP_TOKEN (apps.connections.open answered invalid_auth)') } });
  expect(h.logs.filter((l) => l.includes('Slack refused the app-level token (SLACK_APP_TOKEN)'))).toHaveLength(1);
  expect(h.logs.join('\n')).not.toContain('xapp-revoked');
});

it('the Web API refusing connections from the start: the bot stays up and connects once Slack is back', async () => {
  h = await startHarness({ appToken: 'xapp-test', ops: true, beforeStart: (fake) => fake.outage('refused') });
  await waitUntil(async () => (await slackCheck(h!.bot.opsPort!))?.includes('ECONNREFUSED') ?? false, '/readyz to say ECONNREFUSED');
  // Far more than the Web API client's 3 retries at the test's backoff (50 ms doubling to 400 ms).
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  await h.fake.outage(undefined);
  await waitUntil(async () => h!.fake.socketMode.connections() === 1 && (await slackCheck(h!.bot.opsPort!)) === 'ok', 'a connection and /readyz ok');

  expect(h.fake.callsOf('apps.connections.open').every((c) => c.token === 'xapp-test')).toBe(true);
  expect(h.logs.filter((l) => l.includes('"msg":"Socket Mode cannot reach Slack; retrying"'))).toHaveLength(1);
  expect(h.logs.filter((l) => l.includes('"msg":"Socket Mode connected"'))).toHaveLength(1);
  // One line for the state, none per attempt (the Socket Mode client's own are dropped).
  expect(h.logs.filter((l) => l.includes('Failed to retrieve a new WSS URL') || l.includes('http request failed'))).toEqual([]);
});

function slashCommand(text: string): Record<string, unknown> {
  return {
    token: 'fake-verification-token',
    team_id: TEAM_ID,
    team_domain: 'fake-workspace',
    channel_id: 'C0CONSOLE1',
    channel_name: 'console',
    user_id: USERS.requester,
    user_name: 'maria',
    command: '/dbuser',
    text,
    api_app_id: 'A0FAKEAPP1',
    is_enterprise_install: 'false',
    response_url: h!.fake.newResponseUrl(),
    trigger_id: `1.${Date.now()}`,
  };
}

it('the socket drops while the Web API is unreachable: the bot stays up, reconnects when Slack is back, and serves', async () => {
  h = await startHarness({ appToken: 'xapp-test', ops: true });
  await waitUntil(() => h!.fake.socketMode.connections() === 1, 'the first connection');
  const before = await h.fake.socketMode.send('slash_commands', slashCommand('help'));

  // The socket and the Web API go together, for longer than the Socket Mode client's inherited 3 retries.
  await h.fake.outage('refused');
  await waitUntil(async () => (await slackCheck(h!.bot.opsPort!))?.includes('ECONNREFUSED') ?? false, '/readyz to say ECONNREFUSED');
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await h.fake.outage(undefined);
  await waitUntil(() => h!.fake.socketMode.connections() === 1, 'a new connection');
  const help = await h.fake.socketMode.send('slash_commands', slashCommand('help'));
  const request = slashCommand('request dev --reason "after the drop"');
  const acked = await h.fake.socketMode.send('slash_commands', request);
  const reply = await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === request['response_url'], 8_000);

  expect(JSON.stringify(before.payload)).toContain('/dbuser request');
  expect(JSON.stringify(help.payload)).toContain('/dbuser request');
  expect(acked.payload ?? {}).toEqual({});
  expect(JSON.stringify(reply.args)).toContain('is waiting for an approver');
  expect(h.fake.socketMode.opened()).toBe(2);
  expect(h.logs.filter((l) => l.includes('"msg":"Socket Mode connection lost; reconnecting"'))).toHaveLength(1);
  expect(h.logs.filter((l) => l.includes('"msg":"Socket Mode reconnected"'))).toHaveLength(1);
});
