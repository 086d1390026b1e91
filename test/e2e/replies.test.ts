// How the bot answers Slack: help, usage errors, connection details and the list inside the
// acknowledgement itself; everything else after it, through the response_url; anything it has no
// listener for acknowledged and ignored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import { callText, startHarness, USERS, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  // A self-service user gets a temporary user without an approver.
  const sent = await h.slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request dev --reason "replies suite"' });
  expect(sent.status).toBe(200);
  await h.fake.waitFor((c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.ltAdmin && callText(c).includes('Password'), 5000);
});

afterAll(async () => {
  await h?.stop();
});

function repliesTo(responseUrl: string): SlackCall[] {
  return h.fake.calls.filter((c) => c.method === 'response_url' && c.args['responseUrl'] === responseUrl);
}

/** Sends a command the bot answers after its acknowledgement and waits for that answer: once it is in, a late post for anything sent before would be too. */
async function settle(user: string): Promise<string> {
  const after = await h.slack.slashCommand({ user, command: '/dbuser', text: 'delete nowhere' });
  const reply = await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === after.responseUrl, 5000);
  expect(reply.via).toBeUndefined();
  return after.responseUrl;
}

describe('answers ready at once come back in the acknowledgement', () => {
  it.each([
    { text: 'help', user: USERS.other, expected: '/dbuser request' },
    { text: 'details dev', user: USERS.ltAdmin, expected: 'dev-db.example.com' },
    { text: 'details dev', user: USERS.other, expected: 'You have no active database user in dev' },
    { text: 'details nowhere', user: USERS.ltAdmin, expected: 'no environment called' },
    { text: 'frobnicate', user: USERS.other, expected: 'frobnicate' },
    { text: 'list', user: USERS.ltAdmin, expected: 'dev' },
    { text: 'list', user: USERS.groupApprover, expected: 'In environments you approve' },
  ])('/dbuser $text ($user): the HTTP answer holds the message, and nothing is posted after it', async ({ text, user, expected }) => {
    const sent = await h.slack.slashCommand({ user, command: '/dbuser', text });
    await settle(user);

    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ text: expect.any(String), blocks: expect.any(Array) });
    expect(JSON.stringify(sent.json)).toContain(expected);
    // Ephemeral: Slack's default for a message in a command's acknowledgement, and nothing says otherwise.
    expect(sent.json).not.toHaveProperty('response_type');
    expect(repliesTo(sent.responseUrl).map((c) => c.via)).toEqual(['ack']);
  });

  it('/dbuser list, when the group members are a few minutes old and Slack is slow: answered in the acknowledgement, one refresh sent', async () => {
    // Fresh for a minute; up to 10 minutes old they still do for what is only shown, while one refresh runs.
    h.clock.advance(61_000);
    h.fake.fail('usergroups.users.list', { delayMs: 1_500 });
    const mark = h.fake.calls.length;
    const first = await h.slack.slashCommand({ user: USERS.groupApprover, command: '/dbuser', text: 'list' });
    const second = await h.slack.slashCommand({ user: USERS.groupApprover, command: '/dbuser', text: 'list' });

    for (const sent of [first, second]) {
      expect(sent.status).toBe(200);
      expect(JSON.stringify(sent.json)).toContain('In environments you approve');
    }
    const before = new Set(h.fake.calls.slice(0, mark));
    await h.fake.waitFor((c) => c.method === 'usergroups.users.list' && !before.has(c), 5000);
    expect(h.fake.calls.slice(mark).filter((c) => c.method === 'usergroups.users.list')).toHaveLength(1);
  });

  it('/dbuser list, when Slack is slow to say who is in an approver group: acknowledged empty, answered through the response_url', async () => {
    // Past 10 minutes the members are not known any more: the list asks Slack, which answers late.
    h.clock.advance(11 * 60_000);
    h.fake.fail('usergroups.users.list', { delayMs: 1_500 });
    const sent = await h.slack.slashCommand({ user: USERS.groupApprover, command: '/dbuser', text: 'list' });
    const reply = await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === sent.responseUrl, 5000);

    expect(sent.status).toBe(200);
    expect(sent.body).toBe('');
    expect(reply.via).toBeUndefined();
    expect(callText(reply)).toContain('In environments you approve');
  });
});

describe('requests the bot has no listener for', () => {
  it('a click on a button it does not know is acknowledged, and nothing else happens', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const clicked = await h.slack.blockAction({ user: USERS.other, actionId: 'no_such_action', value: 'x', container: { channel: 'C0SOMEWHERE', messageTs: '1.0' } });
    const after = await settle(USERS.other);

    expect(clicked.status).toBe(200);
    expect(clicked.body).toBe('');
    expect(h.fake.calls.slice(mark).filter((c) => c.args['responseUrl'] !== after)).toEqual([]);
  });

  it('a form it does not know is acknowledged (the form closes) and logged', async () => {
    const submitted = await h.slack.viewSubmission({ user: USERS.other, view: { callbackId: 'no_such_form', values: {} } });

    expect(submitted.status).toBe(200);
    expect(submitted.body).toBe('');
    expect(h.logs.join('')).toContain('form submission with no listener acknowledged and ignored');
  });

  it('a slash command it does not know is acknowledged and logged', async () => {
    const sent = await h.slack.slashCommand({ user: USERS.other, command: '/dbaccess-old', text: 'help' });

    expect(sent.status).toBe(200);
    expect(sent.body).toBe('');
    expect(h.logs.join('')).toContain('slash command with no listener acknowledged and ignored');
  });
});
