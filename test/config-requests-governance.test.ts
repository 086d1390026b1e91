// The governance fields of policy (issue 17 items 1, 5): ticket, reason and window, each checked at load
// so a bad regular expression, day list or time zone stops start-up naming its field.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseEnvironmentsFile } from '../src/config.js';
import { forKind, parseDays, parseHours } from '../src/config-governance.js';

function fileWith(policy: Record<string, unknown>): string {
  return stringify({
    environments: [
      {
        name: 'dev',
        dialect: 'sqlserver',
        connection: { host: 'sql-dev.internal', database: 'outsystems', user: 'dbaccess_admin', password: { env: 'P' } },
        details: { host: 'dev-db.example.com' },
        lifetimeVersion: '11.19.0',
        network: 'vpn',
        approvers: { users: ['U0123ABCD'] },
        channels: { approvals: 'C0123ABCD', reminders: 'C0456EFGH' },
        policy,
      },
    ],
  });
}

function problemsOf(policy: Record<string, unknown>): string {
  try {
    parseEnvironmentsFile(fileWith(policy), 'test.yml');
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('policy.ticket, policy.reason, policy.window at load', () => {
  it('reads a rule with a per-kind override, the override on top of the shared fields', () => {
    const file = parseEnvironmentsFile(
      fileWith({
        ticket: { pattern: '^CHG-\\d+$', example: 'CHG-1234', url: 'https://jira.example.com/browse/{ticket}', permanent: { required: true } },
        reason: { minLength: 10 },
        window: { days: 'mon-fri', hours: '08:00-18:00', timezone: 'Europe/Lisbon', temporary: { outside: 'break-glass' } },
      }),
      'test.yml',
    );
    const policy = file.environments[0]!.policy;
    expect(forKind(policy.ticket, 'temporary')).toEqual({ pattern: '^CHG-\\d+$', example: 'CHG-1234', url: 'https://jira.example.com/browse/{ticket}' });
    expect(forKind(policy.ticket, 'permanent')).toMatchObject({ required: true, pattern: '^CHG-\\d+$' });
    expect(forKind(policy.window, 'temporary')).toMatchObject({ outside: 'break-glass', timezone: 'Europe/Lisbon' });
    expect(forKind(policy.window, 'permanent')?.outside).toBeUndefined();
    expect(forKind(policy.reason, 'permanent')).toEqual({ minLength: 10 });
  });

  it('leaves them out when absent', () => {
    const policy = parseEnvironmentsFile(fileWith({}), 'test.yml').environments[0]!.policy;
    expect([policy.ticket, policy.reason, policy.window]).toEqual([undefined, undefined, undefined]);
  });

  it.each([
    ['a regex that does not compile', { ticket: { pattern: '^CHG-(\\d+$' } }, 'policy.ticket.pattern: is not a regular expression JavaScript can read'],
    ['a bad reason regex in an override', { reason: { permanent: { pattern: '[a-' } } }, 'policy.reason.permanent.pattern: is not a regular expression'],
    ['an example the pattern refuses', { ticket: { pattern: '^CHG-\\d+$', example: 'INC-1' } }, "policy.ticket.example: 'INC-1' does not match the pattern ^CHG-\\d+$"],
    ['an override pattern the shared example fails', { ticket: { example: 'CHG-1', permanent: { pattern: '^INC-\\d+$' } } }, "policy.ticket.permanent.example: 'CHG-1' does not match the pattern ^INC-\\d+$"],
    ['a reason example its pattern refuses', { reason: { pattern: '^INC', example: 'orders' } }, "policy.reason.example: 'orders' does not match the pattern ^INC"],
    ['a url without {ticket}', { ticket: { url: 'https://jira.example.com/browse/' } }, 'policy.ticket.url: expected an http(s) URL with {ticket}'],
    ['an unknown ticket field', { ticket: { regex: 'x' } }, 'policy.ticket: unknown field(s) regex'],
    ['a negative minLength', { reason: { minLength: -1 } }, 'policy.reason.minLength: expected a whole number of characters from 0 to 500'],
    ['days that are no days', { window: { days: 'monday-friday', hours: '08:00-18:00', timezone: 'UTC' } }, 'policy.window.days: expected days of the week'],
    ['hours that end before they start', { window: { days: 'mon-fri', hours: '18:00-08:00', timezone: 'UTC' } }, 'policy.window.hours: expected HH:MM-HH:MM with the start before the end'],
    ['an unknown time zone', { window: { days: 'mon-fri', hours: '08:00-18:00', timezone: 'Europe/Lisboa' } }, 'policy.window.timezone: is not a time zone this Node.js knows'],
    ['a window without a time zone', { window: { days: 'mon-fri', hours: '08:00-18:00' } }, 'policy.window.timezone: missing: a window needs days, hours and timezone'],
    ['an override that leaves its window partial', { window: { permanent: { days: 'mon-fri' } } }, 'policy.window.permanent.hours: missing'],
    ['an unknown outside', { window: { days: 'mon-fri', hours: '08:00-18:00', timezone: 'UTC', outside: 'refuse' } }, 'policy.window.outside: expected extra-approval or break-glass'],
  ])('refuses %s, naming the field', (_what, policy, expected) => {
    expect(problemsOf(policy)).toContain(`environments[0] (dev).${expected}`);
  });

  it('names every governance mistake at once', () => {
    const message = problemsOf({ ticket: { pattern: '(' }, reason: { pattern: ')' }, window: { days: 'x', hours: 'y', timezone: 'Z/Z' } });
    expect(message).toContain('(5 problems)');
  });
});

describe('parseDays and parseHours', () => {
  it.each([
    ['mon-fri', [1, 2, 3, 4, 5]],
    ['sat,sun', [0, 6]],
    ['fri-mon', [0, 1, 5, 6]],
    ['Mon-Thu, sat', [1, 2, 3, 4, 6]],
    ['mon-', undefined],
    ['weekdays', undefined],
  ])('%s → %j', (text, days) => {
    expect(parseDays(text)).toEqual(days);
  });

  it.each([
    ['08:00-18:00', { start: 480, end: 1080 }],
    ['00:00-24:00', { start: 0, end: 1440 }],
    ['8:00-18:00', undefined],
    ['18:00-08:00', undefined],
    ['08:00-24:30', undefined],
    ['08:60-18:00', undefined],
  ])('%s → %j', (text, hours) => {
    expect(parseHours(text)).toEqual(hours);
  });
});
