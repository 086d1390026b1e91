// Expiry in real time: an environment whose users live 3 seconds; the reminder, then the revocation,
// show up in the fake Slack, on time.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callText, QUICK_ENVIRONMENT, startHarness, USERS, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ realClock: true, extraEnvironments: QUICK_ENVIRONMENT });
});
afterAll(async () => {
  await h?.stop();
});

it('reminds before expiry, then revokes within a second of it, and tells channel and owner', async () => {
  const sent = await h.slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request quick --reason "expiry demo"' });
  expect(sent.status).toBe(200);
  await h.fake.waitFor((c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'), 5000);
  const [request] = h.bot.store.requests.listByRequester(USERS.ltAdmin);
  expect(request?.state).toBe('active');

  const reminder = await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.args['channel'] === 'C0REMINDERS' && callText(c).includes('expires in'), 4000);
  // quick's maxTtl is its ttl: there is no extension to offer (issue 16, item 14).
  expect(callText(reminder)).not.toContain('expiry_extend');
  expect(callText(reminder)).toContain('expiry_revoke');
  const revokedNotice = await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.args['channel'] === 'C0REMINDERS' && callText(c).includes('expired and was revoked'), 5000);
  expect(h.fake.calls.indexOf(revokedNotice)).toBeGreaterThan(h.fake.calls.indexOf(reminder));
  await h.fake.waitFor((c) => c.method === 'chat.postMessage' && String(c.args['channel']).startsWith('D') && callText(c).includes('expired and was revoked'), 2000);

  const after = h.bot.store.requests.get(request!.id)!;
  expect(after.state).toBe('revoked');
  const revoked = h.bot.store.audit.list({ requestId: request!.id }).find((e) => e.action === 'state:revoked')!;
  expect(revoked.actor).toBe('scheduler');
  // Lateness is recorded for every expiry; how small it stays is the benchmark's business, not a test's.
  expect(Number(revoked.detail?.['lateMs'])).toBeGreaterThanOrEqual(0);
  expect(h.executors.get('quick')!.statements.map((s) => s.kind).slice(-4)).toEqual(['block login', 'query', 'drop user', 'drop login']);
});
