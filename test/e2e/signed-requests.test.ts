// What reaches /slack/events before any listener: signatures checked five minutes either way in time,
// signed but malformed bodies refused with 400, and the bot answering normally after each. Issue 14,
// problems 5 and 6.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackDriver, signature } from '../fakes/slack-driver.js';
import { SIGNING_SECRET, startHarness, USERS, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const FORM = 'application/x-www-form-urlencoded';

function signed(body: string, contentType = FORM, timestamp = Math.floor(Date.now() / 1000)) {
  return h.slack.raw(body, { 'Content-Type': contentType, 'X-Slack-Request-Timestamp': String(timestamp), 'X-Slack-Signature': signature(SIGNING_SECRET, timestamp, body) });
}

async function stillAnswers(): Promise<void> {
  const sent = await h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'help' });
  expect(sent.status).toBe(200);
  expect(JSON.stringify(sent.json)).toContain('/dbuser request');
}

describe('the signature window is five minutes either way', () => {
  it.each([
    ['6 minutes in the future', 6 * 60, 401],
    ['6 minutes old', -6 * 60, 401],
    ['4 minutes in the future', 4 * 60, 200],
    ['4 minutes old', -4 * 60, 200],
  ])('a command signed %s: HTTP %i', async (_label, offsetSeconds, status) => {
    const driver = createSlackDriver({ eventsUrl: h.eventsUrl, signingSecret: SIGNING_SECRET, fake: h.fake, now: () => Date.now() / 1000 + offsetSeconds });

    const sent = await driver.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'help' });

    expect(sent.status).toBe(status);
    if (status === 401) expect(sent.body).toBe('');
  });

  it('a wrong signature is 401', async () => {
    const driver = createSlackDriver({ eventsUrl: h.eventsUrl, signingSecret: 'not-the-signing-secret', fake: h.fake });

    expect((await driver.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'help' })).status).toBe(401);
  });
});

describe('a signed but malformed body gets 400, and nothing else happens', () => {
  it.each([
    ['payload=null', 'payload=null', FORM],
    ['payload=[]', 'payload=%5B%5D', FORM],
    ['payload that is not JSON', 'payload=%7Bnot-json', FORM],
    ['payload with no user', `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', actions: [] }))}`, FORM],
    ['payload with no type', `payload=${encodeURIComponent(JSON.stringify({ user: { id: 'U1' } }))}`, FORM],
    ['a form that is neither command nor payload', 'text=help', FORM],
    ['JSON null', 'null', 'application/json'],
    ['JSON without a type', '{"event":{}}', 'application/json'],
  ])('%s', async (_label, body, contentType) => {
    const mark = h.fake.calls.length;

    const sent = await signed(body, contentType);

    expect(sent.status).toBe(400);
    expect(h.fake.calls.slice(mark)).toEqual([]);
    await stillAnswers();
  });

  it('the refusal is logged without the body', async () => {
    const marker = 'secret-looking-marker-0123';
    await signed(`payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', note: marker }))}`);

    const lines = h.logs.filter((line) => line.includes('signed Slack request with a malformed body refused'));
    expect(lines.length).toBeGreaterThan(0);
    expect(h.logs.join('\n')).not.toContain(marker);
  });

  it("Slack's SSL check is answered 200 without a signature", async () => {
    const sent = await h.slack.raw('ssl_check=1&token=x', { 'Content-Type': FORM });

    expect(sent.status).toBe(200);
  });
});
