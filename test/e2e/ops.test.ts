// The ops server wired into the real bot: /healthz and /readyz answer, and a user's life shows up in /metrics.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callText, QUICK_ENVIRONMENT, startHarness, USERS, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ realClock: true, extraEnvironments: QUICK_ENVIRONMENT, ops: true });
});
afterAll(async () => {
  await h?.stop();
});

it('is live and ready, and counts provisioning, revocation at expiry, its lateness and Slack errors', async () => {
  const base = `http://127.0.0.1:${h.bot.opsPort}`;
  h.fake.fail('conversations.open', { error: 'user_not_found' }, 1);

  const health = await fetch(`${base}/healthz`);
  const ready = await fetch(`${base}/readyz`);
  await h.slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request quick --reason "metrics demo"' });
  await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.args['channel'] === 'C0REMINDERS' && callText(c).includes('expired and was revoked'), 8000);
  const metrics = await (await fetch(`${base}/metrics`)).text();

  expect(health.status).toBe(200);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ ready: true, checks: { sqlite: 'ok', scheduler: 'ok', 'db:quick': 'ok' } });
  expect(metrics).toContain('dbaccess_provisioning_total{outcome="success"} 1');
  expect(metrics).toContain('dbaccess_revocations_total{outcome="revoked"} 1');
  expect(metrics).toContain('dbaccess_revocation_lateness_seconds_count 1');
  expect(metrics).toContain('dbaccess_requests{state="revoked"} 1');
  expect(metrics).toContain('dbaccess_slack_api_errors_total{method="conversations.open",code="user_not_found"} 1');
});
