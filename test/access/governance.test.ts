// The governance rules on a request (src/access/core/governance.ts): ticket and reason checks with their
// refusals, the ticket link, the change window read in its time zone, and what it asks of a request.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkReason, checkTicket, insideWindow, ticketLink, windowOf, windowRequirement } from '../../src/access/core/governance.js';
import { Refusal } from '../../src/access/core/refusal.js';
import { parseEnvironmentsFile, type LoadedEnvironment } from '../../src/config.js';
import { AppError } from '../../src/errors.js';

function envWith(policy: Record<string, unknown>): LoadedEnvironment {
  const file = parseEnvironmentsFile(
    stringify({
      environments: [
        {
          name: 'prod',
          dialect: 'sqlserver',
          connection: { host: 'sql.internal', database: 'outsystems', user: 'admin', password: { env: 'P' } },
          details: { host: 'db.example.com' },
          lifetimeVersion: '11.19.0',
          network: 'vpn',
          approvers: { users: ['U0APPROVER'] },
          channels: { approvals: 'C0123ABCD', reminders: 'C0456EFGH' },
          policy,
        },
      ],
    }),
    'test.yml',
  );
  return { ...file.environments[0]!, adminPassword: () => 'x' };
}

/** The problems a rule adds, as [field, message]. */
function problems(rule: (refusal: Refusal) => void): Array<[string | undefined, string]> {
  const refusal = new Refusal();
  rule(refusal);
  try {
    refusal.throwIfAny();
    return [];
  } catch (err) {
    const e = err as AppError;
    return (e.problems.length > 0 ? e.problems : [{ field: e.field, message: e.message }]).map((p) => [p.field, p.message]);
  }
}

const TICKETS = envWith({
  ticket: { pattern: '^CHG-\\d+$', example: 'CHG-1234', url: 'https://jira.example.com/browse/{ticket}?from=bot', permanent: { required: true } },
});

describe('checkTicket', () => {
  it.each([
    ['temporary', undefined, null, []],
    ['temporary', '  CHG-42 ', 'CHG-42', []],
    ['permanent', 'CHG-42', 'CHG-42', []],
    ['permanent', undefined, null, ['prod needs a ticket reference for permanent users (`^CHG-\\d+$`, e.g. CHG-1234): add --ticket, or fill in Ticket.']],
    ['temporary', 'INC-7', null, ['The ticket INC-7 is not what prod expects: it must match `^CHG-\\d+$`, e.g. CHG-1234.']],
    ['temporary', 'CHG 42', null, ['A ticket reference is one word of at most 64 printable characters, e.g. CHG-1234.']],
    ['temporary', `CHG-${'1'.repeat(70)}`, null, ['A ticket reference is one word of at most 64 printable characters, e.g. CHG-1234.']],
  ] as const)('%s, ticket %j → %j', (kind, ticket, kept, messages) => {
    let result: string | null = 'unset';
    const found = problems((r) => {
      result = checkTicket(TICKETS, kind, ticket, r);
    });
    expect(result).toBe(kept);
    expect(found).toEqual(messages.map((m) => ['ticket', m]));
  });

  it('takes any one-word ticket where no rule is set, and escapes it in the refusal', () => {
    const found = problems((r) => checkTicket(TICKETS, 'temporary', '<!channel>', r));
    expect(found[0]?.[1]).toContain('&lt;!channel&gt;');
    expect(problems((r) => checkTicket(envWith({}), 'temporary', 'ANY-thing', r))).toEqual([]);
  });
});

describe('checkReason', () => {
  const env = envWith({ reason: { minLength: 10, pattern: '(INC|CHG)-\\d+', example: 'INC-42: orders stuck' }, ticket: {} });
  it.each([
    ['INC-42: orders stuck in approval', []],
    ['short', ['prod needs a reason of at least 10 characters for temporary users (yours has 5), e.g. "INC-42: orders stuck".']],
    ['looking at orders today', ["The reason does not follow prod's rule for temporary users: it must match `(INC|CHG)-\\d+`, e.g. \"INC-42: orders stuck\"."]],
  ])('%j → %j', (reason, messages) => {
    expect(problems((r) => checkReason(env, 'temporary', reason, r))).toEqual(messages.map((m) => ['reason', m]));
  });
});

describe('ticketLink', () => {
  it('fills the url with the ticket URL-encoded, and escapes the label for mrkdwn', () => {
    expect(ticketLink(TICKETS, 'temporary', 'CHG-42')).toBe('<https://jira.example.com/browse/CHG-42?from=bot|CHG-42>');
    expect(ticketLink(TICKETS, 'temporary', 'A|B>&<x')).toBe('<https://jira.example.com/browse/A%7CB%3E%26%3Cx?from=bot|A|B&gt;&amp;&lt;x>');
    expect(ticketLink(envWith({}), 'temporary', 'CHG<1>')).toBe('CHG&lt;1&gt;');
  });
});

describe('the change window', () => {
  const lisbon = envWith({ window: { days: 'mon-fri', hours: '08:00-18:00', timezone: 'Europe/Lisbon' }, approvals: { temporary: 1, permanent: 5 } });
  const window = windowOf(lisbon, 'temporary')!;

  it('reads as approvers see it', () => {
    expect(window.label).toBe('Mon–Fri 08:00–18:00 Europe/Lisbon');
    expect(windowOf(envWith({ window: { days: 'sat,sun,wed', hours: '10:00-12:00', timezone: 'UTC' } }), 'temporary')?.label).toBe('Wed, Sat, Sun 10:00–12:00 UTC');
    expect(windowOf(envWith({}), 'temporary')).toBeUndefined();
  });

  it.each([
    // Lisbon is UTC+1 in summer (WEST), UTC+0 in winter (WET).
    ['Monday 08:00 in Lisbon, summer', '2026-06-01T07:00:00Z', true],
    ['Monday 07:59 in Lisbon, summer', '2026-06-01T06:59:00Z', false],
    ['Friday 17:59 in Lisbon, winter', '2026-12-04T17:59:00Z', true],
    ['Friday 18:00 in Lisbon, winter', '2026-12-04T18:00:00Z', false],
    ['Saturday noon', '2026-12-05T12:00:00Z', false],
    ['Sunday 23:30 UTC is Monday 00:30 in Lisbon, summer: still outside the hours', '2026-05-31T23:30:00Z', false],
  ])('%s → inside %s', (_what, at, inside) => {
    expect(insideWindow(window, Date.parse(at))).toBe(inside);
  });

  it('asks one more approval outside it, never more than five, and the quorum inside it', () => {
    const saturday = Date.parse('2026-12-05T12:00:00Z');
    const monday = Date.parse('2026-12-07T10:00:00Z');
    expect(windowRequirement(lisbon, 'temporary', monday)).toEqual({ required: 1 });
    expect(windowRequirement(lisbon, 'temporary', saturday)).toMatchObject({ required: 2, outside: { label: 'Mon–Fri 08:00–18:00 Europe/Lisbon' } });
    expect(windowRequirement(lisbon, 'permanent', saturday).required).toBe(5);
    const breakGlass = envWith({ window: { days: 'mon-fri', hours: '08:00-18:00', timezone: 'UTC', outside: 'break-glass' } });
    expect(windowRequirement(breakGlass, 'temporary', saturday)).toMatchObject({ required: 1, outside: { outside: 'break-glass' } });
  });
});
