// What a person is told when the bot says no, through signed Slack requests: every blocker at once,
// the shortest lifetime, every field of the form at once, and the form's default lifetime per environment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVALS, callText, startHarness, until, USERS, type Harness } from './harness.js';

// LifeTime too old *and* IP allowlisting: two blockers; self-managed, so no OutSystems support case.
const EXTRA = `
  - name: old-allow
    dialect: sqlserver
    connection: { host: db-old, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: old-db.example.com }
    lifetimeVersion: "11.7.2"
    hosting: self-managed
    network: allowlist
    approvers: { users: [${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ extraEnvironments: EXTRA });
});
afterAll(async () => {
  await h?.stop();
});

async function command(user: string, text: string): Promise<string> {
  const sent = await h.slack.slashCommand({ user, command: '/dbuser', text });
  return callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === sent.responseUrl, 5000));
}

function requestForm(input: { env: string; duration: string; reason: string; password?: string }) {
  return h.slack.viewSubmission({
    user: USERS.requester,
    view: {
      callbackId: 'dbuser_request',
      values: {
        env: { value: { type: 'static_select', selected_option: { value: input.env } } },
        duration: { value: { type: 'plain_text_input', value: input.duration } },
        reason: { value: { type: 'plain_text_input', value: input.reason } },
        password: { value: { type: 'plain_text_input', value: input.password ?? null } },
      },
    },
  });
}

describe('a refusal names every blocker (item 9)', () => {
  it('LifeTime 11.7.2 and IP allowlisting are both named, with the network team for a self-managed environment', async () => {
    const reply = await command(USERS.requester, 'request old-allow --reason x');
    expect(reply).toContain('This cannot be done yet, for 2 reasons:');
    expect(reply).toContain('Temporary users need LifeTime 11.7.5 or later; old-allow runs 11.7.2');
    expect(reply).toContain('old-allow is reached by IP allowlisting');
    expect(reply).toContain('Set one up with your network team');
    expect(reply).not.toContain('OutSystems (a support case)');
    expect(h.bot.store.requests.findOpen('old-allow', USERS.requester, 'temporary')).toBeUndefined();
  });
});

describe('policy.minTtl (item 12)', () => {
  it.each([
    ['request dev --for 30s --reason x', 'at least 5m'],
    ['request dev --for 4m --reason x', '4m is shorter than dev allows: at least 5m'],
  ])('%s is refused: %s', async (text, expected) => {
    expect(await command(USERS.requester, text)).toContain(expected);
    expect(h.bot.store.requests.findOpen('dev', USERS.requester, 'temporary')).toBeUndefined();
  });

  it('the form refuses it next to the duration', async () => {
    const sent = await requestForm({ env: 'dev', duration: '30s', reason: 'x' });
    expect(sent.json).toMatchObject({ response_action: 'errors', errors: { duration: expect.stringContaining('at least 5m') } });
  });
});

describe('the request form (item 11)', () => {
  it('shows every field error at once', async () => {
    const sent = await requestForm({ env: 'legacy', duration: 'soon', reason: 'x', password: 'short' });
    expect(sent.json).toMatchObject({
      response_action: 'errors',
      errors: {
        env: expect.stringContaining('LifeTime 11.7.5 or later'),
        duration: expect.stringContaining("'soon' is not a duration"),
        password: expect.stringContaining('That password cannot be used'),
      },
    });
  });

  it("opens with each environment's own default and limits, and an empty duration takes the chosen one's default", async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'request' });
    const opened = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'views.open', 5000);
    expect(callText(opened)).toContain('dev 12h (5m–12h)');
    expect(callText(opened)).toContain('prod 4h (5m–8h)');
    expect(callText(opened)).not.toContain('"initial_value":"12h"');
    const sent = await requestForm({ env: 'prod', duration: '', reason: 'read the logs' });
    expect(sent.status).toBe(200);
    expect(sent.json).toBeUndefined();
    await until(() => h.bot.store.requests.findOpen('prod', USERS.requester, 'temporary') !== undefined, 'the request from the form');
    expect(h.bot.store.requests.findOpen('prod', USERS.requester, 'temporary')).toMatchObject({ durationMs: 4 * 3_600_000 });
  });
});
