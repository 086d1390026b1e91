// The /dbuser parser: every form, and a usage reply for everything malformed.
import { describe, expect, it } from 'vitest';
import { parseDbuser, tokenize, usageText } from '../../src/commands/dbuser.js';
import { AppError } from '../../src/errors.js';

describe('parseDbuser', () => {
  it.each([
    ['', { action: 'help' }],
    ['   ', { action: 'help' }],
    ['help', { action: 'help' }],
    ['HELP', { action: 'help' }],
    ['list', { action: 'list' }],
    ['reviews', { action: 'reviews' }],
    ['request', { action: 'request-modal' }],
    ['request dev', { action: 'request', env: 'dev', reason: '', breakGlass: false }],
    ['request dev --for 4h', { action: 'request', env: 'dev', durationMs: 4 * 3600_000, reason: '', breakGlass: false }],
    ['request dev --reason "fix order 42" --for 90m', { action: 'request', env: 'dev', durationMs: 90 * 60_000, reason: 'fix order 42', breakGlass: false }],
    ['request dev --reason “curly quotes from Slack”', { action: 'request', env: 'dev', reason: 'curly quotes from Slack', breakGlass: false }],
    ['request dev --reason single', { action: 'request', env: 'dev', reason: 'single', breakGlass: false }],
    ['request prod --break-glass --reason "outage"', { action: 'request', env: 'prod', reason: 'outage', breakGlass: true }],
    // The ticket is carried as typed: the environment's policy.ticket checks it (src/access/core/governance.ts).
    ['request prod --ticket CHG-1234 --reason "fix"', { action: 'request', env: 'prod', reason: 'fix', breakGlass: false, ticket: 'CHG-1234' }],
    [
      'permanent prod --access read --via vpn --reason "reports" --ticket CHG-9',
      { action: 'permanent', envs: ['prod'], access: 'readonly', via: 'vpn', ips: [], reason: 'reports', ticket: 'CHG-9' },
    ],
    ['details dev', { action: 'details', env: 'dev' }],
    ['delete  dev ', { action: 'delete', env: 'dev' }],
    ['revoke dbx_maria_k3x9', { action: 'revoke', username: 'dbx_maria_k3x9' }],
  ])('%j', (text, expected) => {
    expect(parseDbuser(text)).toEqual(expected);
  });

  it.each([
    ['frobnicate', "I don't know `frobnicate`.", 'Usage:'],
    ['details', '`details` needs exactly one environment name.', '/dbuser details &lt;env&gt;'],
    ['details dev prod', '`details` needs exactly one environment name.', '/dbuser details &lt;env&gt;'],
    ['delete --for 4h', '`delete` needs exactly one environment name.', '/dbuser delete &lt;env&gt;'],
    ['list everything', '`list` takes nothing after it.', '/dbuser list'],
    ['reviews dev', '`reviews` takes nothing after it.', '/dbuser reviews'],
    ['revoke', '`revoke` needs exactly one database username.', '/dbuser revoke &lt;username&gt;'],
    ['request --for 4h', 'Name the environment first.', '/dbuser request &lt;env&gt;'],
    ['request dev --for', '`--for` needs a value.', '/dbuser request &lt;env&gt;'],
    ['request dev --for 4 hours', 'Unexpected `hours`', '/dbuser request &lt;env&gt;'],
    ['request dev --for 4hours', "'4hours' is not a duration", '/dbuser request &lt;env&gt;'],
    ['request dev --for 1h --for 2h', '`--for` is given twice.', '/dbuser request &lt;env&gt;'],
    ['request dev --reason --break-glass', '`--reason` needs a value.', '/dbuser request &lt;env&gt;'],
    ['request dev --ticket', '`--ticket` needs a value.', '/dbuser request &lt;env&gt;'],
    ['details "dev prod"', 'is not an environment name', '/dbuser details &lt;env&gt;'],
    ['revoke "a b"', 'is not a database username', '/dbuser revoke &lt;username&gt;'],
    ['request dev --for 0h', "'0h' is zero", '/dbuser request &lt;env&gt;'],
    ['request dev --reason', '`--reason` needs a value.', '/dbuser request &lt;env&gt;'],
    ['request dev --reason fix order', 'Unexpected `order`', '/dbuser request &lt;env&gt;'],
    ['request dev --reason "not closed', 'A quote is not closed.', 'Usage:'],
    ['request dev --force', 'Unknown option `--force`.', '/dbuser request &lt;env&gt;'],
    [`request dev --reason "${'x'.repeat(501)}"`, 'The reason is too long', '/dbuser request &lt;env&gt;'],
    ['x'.repeat(2001), 'That command is too long.', 'Usage:'],
  ])('%j is refused with what was wrong and the right form', (text, problem, form) => {
    let error: unknown;
    try {
      parseDbuser(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('invalid_input');
    expect((error as AppError).message).toContain(problem);
    expect((error as AppError).message).toContain(form);
  });
});

it('writes <env> escaped, so Slack shows it instead of reading a link', () => {
  expect(usageText()).not.toMatch(/<(env|username)>/);
  expect(usageText()).toContain('&lt;env&gt;');
});

describe('tokenize', () => {
  it.each([
    ['a b  c', ['a', 'b', 'c']],
    ['"a b" c', ['a b', 'c']],
    ["'a b' c", ['a b', 'c']],
    ['‘a b’ c', ['a b', 'c']],
    ['don\'t stop', ["don't", 'stop']],
  ])('%j', (text, tokens) => {
    expect(tokenize(text)).toEqual(tokens);
  });
});
