// The audit stream's variables: what turns each sink on, what a webhook needs, and the sentence for each mistake.
import { describe, expect, it } from 'vitest';
import { EnvVars, loadConfig } from '../src/config.js';
import { AppError } from '../src/errors.js';

const SECRET = 'a'.repeat(32);

/** The config_invalid message for these variables (they are checked before the environments file is read). */
function problems(env: Record<string, string>): string {
  try {
    loadConfig({ env, readFile: () => '' });
  } catch (err) {
    if (err instanceof AppError && err.code === 'config_invalid') return err.message;
    throw err;
  }
  throw new Error('expected config_invalid');
}

describe('accepted', () => {
  it('leaves every audit stream variable out when none is set: nothing is streamed', () => {
    const vars = EnvVars.parse({});
    expect(Object.keys(vars).filter((name) => name.startsWith('AUDIT_'))).toEqual([]);
  });

  it.each([
    ['https', 'https://siem.example.com/dbaccess'],
    ['http to localhost', 'http://localhost:8088/audit'],
    ['http to 127.0.0.1', 'http://127.0.0.1:8088/audit'],
    ['http to [::1]', 'http://[::1]:8088/audit'],
  ])('a webhook over %s, with its secret hidden behind a function', (_case, url) => {
    const vars = EnvVars.parse({ AUDIT_WEBHOOK_URL: url, AUDIT_WEBHOOK_SECRET: SECRET, AUDIT_WEBHOOK_TIMEOUT: '20s', AUDIT_STREAM_FROM: 'now' });

    expect(vars.AUDIT_WEBHOOK_URL).toBe(url);
    expect(vars.AUDIT_WEBHOOK_SECRET?.()).toBe(SECRET);
    expect(JSON.stringify(vars)).not.toContain(SECRET);
    expect(vars.AUDIT_WEBHOOK_TIMEOUT).toBe(20_000);
    expect(vars.AUDIT_STREAM_FROM).toBe('now');
  });

  it('stdout alone', () => {
    expect(EnvVars.parse({ AUDIT_STREAM: 'stdout' }).AUDIT_STREAM).toBe('stdout');
  });
});

describe('refused, with what to do', () => {
  it.each([
    [{ AUDIT_STREAM: 'syslog' }, 'AUDIT_STREAM: expected stdout, or nothing (the webhook is turned on by AUDIT_WEBHOOK_URL), e.g. AUDIT_STREAM=stdout'],
    [{ AUDIT_WEBHOOK_URL: 'http://siem.example.com/x', AUDIT_WEBHOOK_SECRET: SECRET }, 'AUDIT_WEBHOOK_URL: use https (plain http only to localhost, 127.0.0.1 or [::1], a receiver on this machine)'],
    [{ AUDIT_WEBHOOK_URL: 'https://bot:pw@siem.example.com/x', AUDIT_WEBHOOK_SECRET: SECRET }, 'AUDIT_WEBHOOK_URL: remove the user:password@ part'],
    [{ AUDIT_WEBHOOK_URL: 'siem.example.com', AUDIT_WEBHOOK_SECRET: SECRET }, 'AUDIT_WEBHOOK_URL: expected the https URL that receives audit entries'],
    [{ AUDIT_WEBHOOK_URL: 'https://siem.example.com/x' }, 'AUDIT_WEBHOOK_SECRET: missing: the webhook needs it to sign what it sends'],
    [{ AUDIT_WEBHOOK_URL: 'https://siem.example.com/x', AUDIT_WEBHOOK_SECRET: 'short' }, 'AUDIT_WEBHOOK_SECRET: too short: use at least 32 characters'],
    [{ AUDIT_WEBHOOK_SECRET: SECRET }, 'AUDIT_WEBHOOK_SECRET: set, but AUDIT_WEBHOOK_URL is not: set the URL too, or remove it'],
    [{ AUDIT_WEBHOOK_TIMEOUT: '5s' }, 'AUDIT_WEBHOOK_TIMEOUT: set, but AUDIT_WEBHOOK_URL is not'],
    [{ AUDIT_STREAM_FROM: 'now' }, 'AUDIT_STREAM_FROM: set, but no audit stream is on: set AUDIT_STREAM=stdout or AUDIT_WEBHOOK_URL, or remove it'],
    [{ AUDIT_STREAM: 'stdout', AUDIT_STREAM_FROM: 'yesterday' }, 'AUDIT_STREAM_FROM: expected beginning or now, e.g. AUDIT_STREAM_FROM=now'],
  ])('%o', (env, expected) => {
    expect(problems(env)).toContain(expected);
  });

  it('never quotes the secret it refuses', () => {
    const secret = 'hunter2-but-too-short';
    expect(problems({ AUDIT_WEBHOOK_URL: 'https://siem.example.com/x', AUDIT_WEBHOOK_SECRET: secret })).not.toContain(secret);
  });
});
