// The background check of Slack's Web API: retried with backoff, one log line per change of state,
// the workspace learned (or refused), and fed by the outcome of every other Web API call.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { describeSlackFailure, watchSlackStatus, type AuthTestResult, type SlackStatus } from '../../src/slack/slack-status.js';

const URL = 'http://slack.invalid/api/';
const BACKOFF = { firstMs: 5, maxMs: 20 };

function refused(): Error {
  return Object.assign(new Error('fetch failed'), { code: 'slack_webapi_request_error', original: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }) });
}

function platform(error: string): Error {
  return Object.assign(new Error(`An API error occurred: ${error}`), { code: 'slack_webapi_platform_error', data: { ok: false, error } });
}

function arrange(answers: (() => Promise<AuthTestResult>)[], teamId?: string, backoff = BACKOFF) {
  const logs: { msg: string; reason?: string }[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(String(chunk)) as { msg: string });
      done();
    },
  });
  let calls = 0;
  const status = watchSlackStatus({
    authTest: () => (answers[Math.min(calls++, answers.length - 1)] ?? (() => Promise.reject(new Error('no answer'))))(),
    teamId,
    apiUrl: URL,
    log: createLogger({ level: 'info', destination }),
    backoff,
  });
  statuses.push(status);
  return { status, logs, calls: () => calls };
}

const statuses: SlackStatus[] = [];
afterEach(() => statuses.splice(0).forEach((s) => s.stop()));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(check()).toBe(true);
}

const ok = () => Promise.resolve({ team_id: 'T0OURS', user_id: 'U0BOT', bot_id: 'B0BOT' });

describe('watchSlackStatus', () => {
  it('retries while Slack is unreachable, logs it once, and learns the workspace when Slack answers', async () => {
    const { status, logs, calls } = arrange([() => Promise.reject(refused()), () => Promise.reject(refused()), () => Promise.reject(refused()), ok]);

    status.start();
    await until(() => status.state() === 'unreachable');
    expect(status.teamId()).toBeUndefined();
    expect(status.problem()).toBe(`Slack Web API unreachable at ${URL}: ECONNREFUSED; retrying`);
    await until(() => status.state() === 'reachable');

    expect(calls()).toBe(4);
    expect(status.teamId()).toBe('T0OURS');
    expect(status.bot()).toEqual({ userId: 'U0BOT', botId: 'B0BOT' });
    expect(status.problem()).toBeUndefined();
    expect(logs.map((l) => l.msg)).toEqual(['Slack Web API unreachable; retrying', 'Slack Web API reachable again']);
  });

  it('SLACK_TEAM_ID is known at once, before Slack answers', () => {
    const { status } = arrange([() => new Promise(() => {})], 'T0GIVEN');

    status.start();

    expect(status.state()).toBe('checking');
    expect(status.teamId()).toBe('T0GIVEN');
  });

  it('a token that Slack refuses is named, and the workspace is never trusted', async () => {
    const { status, logs } = arrange([() => Promise.reject(platform('invalid_auth'))], 'T0GIVEN');

    status.start();
    await until(() => status.state() === 'refused');

    expect(status.teamId()).toBeUndefined();
    expect(status.problem()).toContain('SLACK_BOT_TOKEN');
    expect(logs.map((l) => l.msg)).toEqual(['Slack refused the bot token (SLACK_BOT_TOKEN); requests are refused until it is replaced']);
  });

  it('a token of another workspace than SLACK_TEAM_ID fails closed', async () => {
    const { status } = arrange([ok], 'T0GIVEN');

    status.start();
    await until(() => status.state() === 'refused');

    expect(status.teamId()).toBeUndefined();
    expect(status.problem()).toContain('belongs to workspace T0OURS, not SLACK_TEAM_ID T0GIVEN');
  });

  it('a failed Web API call while reachable runs the check at once; only the check changes the state', async () => {
    const { status, logs, calls } = arrange([ok, () => Promise.reject(refused()), ok, ok]);
    status.start();
    await until(() => status.state() === 'reachable');

    status.observe('HTTP 503');
    await until(() => calls() === 2 && status.state() === 'unreachable');
    expect(status.teamId()).toBe('T0OURS');
    await until(() => status.state() === 'reachable');
    const checks = calls();
    // One failed call while Slack answers the check: nothing to log.
    status.observe('HTTP 500');
    await until(() => calls() === checks + 1);
    status.observe(undefined);

    expect(status.state()).toBe('reachable');
    expect(logs.map((l) => l.msg)).toEqual(['Slack Web API reachable', 'Slack Web API unreachable; retrying', 'Slack Web API reachable again']);
  });

  it('an answer to another call while unreachable runs the check at once instead of waiting out the backoff', async () => {
    const { status, calls } = arrange([() => Promise.reject(refused()), ok], undefined, { firstMs: 60_000, maxMs: 60_000 });
    status.start();
    await until(() => status.state() === 'unreachable');

    status.observe(undefined);
    await until(() => status.state() === 'reachable');

    expect(calls()).toBe(2);
  });
});

describe('describeSlackFailure', () => {
  it.each([
    ['a refused connection', refused(), 'ECONNREFUSED'],
    ['an HTTP 500', Object.assign(new Error('x'), { code: 'slack_webapi_http_error', statusCode: 500 }), 'HTTP 500'],
    ['a timeout', Object.assign(new Error('x'), { code: 'slack_webapi_request_error', original: Object.assign(new Error('t'), { name: 'TimeoutError' }) }), 'no answer in time (SLACK_API_TIMEOUT_MS)'],
    ['an unknown host', Object.assign(new Error('x'), { code: 'slack_webapi_request_error', original: new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND slack.com'), { code: 'ENOTFOUND' }) }) }), 'ENOTFOUND'],
    ['something else', new Error('xoxb-secret-token in a message'), 'no answer'],
  ])('%s', (_label, err, expected) => {
    expect(describeSlackFailure(err)).toBe(expected);
  });
});

describe('recheck', () => {
  it('a request waiting on the workspace runs the check at once, at most once per first backoff step', async () => {
    let now = 0;
    let calls = 0;
    const answers = [() => Promise.reject(refused()), ok];
    const status = watchSlackStatus({
      authTest: () => answers[Math.min(calls++, 1)]!(),
      apiUrl: URL,
      log: createLogger({ level: 'silent' }),
      // The backoff's own timer does not fire within this test.
      backoff: { firstMs: 60_000, maxMs: 60_000 },
      clock: { now: () => now },
    });
    statuses.push(status);
    status.start();
    await until(() => status.state() === 'unreachable');

    status.recheck();
    expect(calls).toBe(1);
    now += 60_000;
    status.recheck();
    await until(() => status.state() === 'reachable');

    expect(calls).toBe(2);
    expect(status.teamId()).toBe('T0OURS');
  });
});
