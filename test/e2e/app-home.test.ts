// App Home as Slack opens it: an Events API callback, the view published, and clicks from it (no response_url).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signature } from '../fakes/slack-driver.js';
import { APPROVALS, callText, SIGNING_SECRET, startHarness, USERS, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function openHome(user: string) {
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: 'T0FAKE0001',
    api_app_id: 'A0FAKE',
    event: { type: 'app_home_opened', user, channel: 'D0HOME', tab: 'home', event_ts: '1.1' },
    event_id: `Ev${Math.random().toString(36).slice(2, 10)}`,
    event_time: Math.floor(Date.now() / 1000),
  });
  const ts = Math.floor(Date.now() / 1000);
  await h.settle();
  const mark = h.fake.calls.length;
  const res = await h.slack.raw(body, { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature(SIGNING_SECRET, ts, body) });
  expect(res.status).toBe(200);
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'views.publish' && c.args['user_id'] === user, 5000);
}

function clickFromHome(user: string, actionId: string, value: string) {
  return h.slack.blockAction({ user, actionId, value, view: { id: 'VHOME', type: 'home' } });
}

it('shows the requester their user with New password and Revoke now, and the approver what waits for them', async () => {
  await h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'request dev --reason "home tab"' });
  await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS, 5000);
  const request = h.bot.store.requests.findOpen('dev', USERS.requester, 'temporary')!;

  const approverHome = await openHome(USERS.approver);
  expect(callText(approverHome)).toContain('Waiting for you (approver)');
  expect(callText(approverHome)).toContain(request.id);

  // Approve from the Home tab: no response_url, and it works.
  await h.settle();
  const mark = h.fake.calls.length;
  await clickFromHome(USERS.approver, 'approval_approve', request.id);
  await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('Password'), 5000);

  const home = await openHome(USERS.requester);
  expect(callText(home)).toContain(String(h.bot.store.requests.get(request.id)!.username));
  expect(callText(home)).toContain('credentials_rotate');
  expect(callText(home)).toContain('expiry_revoke');

  // A refused click from Home is answered in the DM, ephemerally.
  const refusedMark = h.fake.calls.length;
  await clickFromHome(USERS.other, 'expiry_revoke', request.id);
  const refusal = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= refusedMark && c.method === 'chat.postEphemeral' && c.args['user'] === USERS.other, 5000);
  expect(callText(refusal)).toContain('Only the owner of this user or an approver can revoke it');

  // New password from Home: the new one arrives in the DM, only to the requester.
  const rotateMark = h.fake.calls.length;
  await clickFromHome(USERS.requester, 'credentials_rotate', request.id);
  await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= rotateMark && c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('New password for dev'), 5000);
});
