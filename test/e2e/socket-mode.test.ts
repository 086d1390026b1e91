// Socket Mode against the fake Web API (apps.connections.open; the fakes have no WebSocket server, so
// a live session is covered by test/slack/socket-connection.test.ts with a scripted client): the bot
// stays up whatever Slack does, keeps trying to connect, and names a refused app token. Issue 14, problem 7.
import { afterEach, expect, it } from 'vitest';
import { slackCheck, startHarness, type Harness } from './harness.js';

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

it('the Web API refusing connections from the start: the bot stays up and keeps trying to connect after Slack is back', async () => {
  h = await startHarness({ appToken: 'xapp-test', ops: true, beforeStart: (fake) => fake.outage('refused') });
  await waitUntil(async () => (await slackCheck(h!.bot.opsPort!))?.includes('ECONNREFUSED') ?? false, '/readyz to say ECONNREFUSED');
  // Far more than the Web API client's 3 retries at the test's backoff (50 ms doubling to 400 ms).
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  await h.fake.outage(undefined);
  await waitUntil(() => h!.fake.callsOf('apps.connections.open').length >= 2, 'apps.connections.open after the outage');

  expect(h.fake.callsOf('apps.connections.open').every((c) => c.token === 'xapp-test')).toBe(true);
  expect(h.logs.filter((l) => l.includes('"msg":"Socket Mode cannot reach Slack; retrying"'))).toHaveLength(1);
  // One line for the state, none per attempt (the Socket Mode client's own are dropped).
  expect(h.logs.filter((l) => l.includes('Failed to retrieve a new WSS URL') || l.includes('http request failed'))).toEqual([]);
  expect(await (await fetch(`http://127.0.0.1:${h.bot.opsPort}/healthz`)).text()).toBe('ok\n');
});
