// Issue 17 items 3 and 4 in the environments file: access review policy and escalation, their defaults
// and the sentence for each mistake.
import { describe, expect, it } from 'vitest';
import { parseEnvironmentsFile } from '../src/config.js';
import { AppError } from '../src/errors.js';

const DAY = 24 * 3600_000;

/** One valid environment with `extra` lines appended at its level (already indented). */
function file(...extra: string[]): string {
  return [
    'environments:',
    '  - name: dev',
    '    dialect: sqlserver',
    '    connection: { host: db, database: os, user: sa, password: { env: PW } }',
    '    details: { host: dev-db.example.com }',
    '    lifetimeVersion: "11.19.0"',
    '    network: vpn',
    '    approvers: { users: [U0APPROVER] }',
    '    channels: { approvals: C0APPROVALS, reminders: C0REMINDERS }',
    ...extra,
  ].join('\n');
}

function problems(text: string): string {
  try {
    parseEnvironmentsFile(text, 'environments.yml');
  } catch (err) {
    if (err instanceof AppError && err.code === 'config_invalid') return err.message;
    throw err;
  }
  throw new Error('expected config_invalid');
}

describe('access reviews and escalation in the environments file', () => {
  it('reviews every 90 days with 14 days of grace, then notifies; escalation is off', () => {
    const [env] = parseEnvironmentsFile(file(), 'environments.yml').environments;

    expect(env?.policy).toMatchObject({ reviewEvery: 90 * DAY, reviewGrace: 14 * DAY, reviewExpiredAction: 'notify' });
    expect(env?.policy.escalateAfter).toBeUndefined();
    expect(env?.escalationApprovers).toBeUndefined();
  });

  it('reads every field', () => {
    const [env] = parseEnvironmentsFile(
      file('    escalationApprovers: { users: [U0BOSS], groups: [S0LEADS] }', '    policy: { reviewEvery: 30d, reviewGrace: 7d, reviewExpiredAction: revoke, escalateAfter: 2h }'),
      'environments.yml',
    ).environments;

    expect(env?.policy).toMatchObject({ reviewEvery: 30 * DAY, reviewGrace: 7 * DAY, reviewExpiredAction: 'revoke', escalateAfter: 2 * 3600_000 });
    expect(env?.escalationApprovers).toEqual({ users: ['U0BOSS'], groups: ['S0LEADS'] });
  });

  it.each([
    ['an action that is neither', ['    policy: { reviewExpiredAction: delete }'], 'reviewExpiredAction: expected revoke or notify'],
    ['a review period that is no duration', ['    policy: { reviewEvery: quarterly }'], "reviewEvery: 'quarterly' is not a duration"],
    ['escalation with nobody to escalate to', ['    policy: { escalateAfter: 1h }'], 'escalationApprovers: missing: policy.escalateAfter is set, so add escalationApprovers'],
    ['escalation after the request expired', ['    escalationApprovers: { users: [U0BOSS] }', '    policy: { escalateAfter: 8h }'], 'escalateAfter: 8h is not shorter than pendingTimeout (8h)'],
    ['escalation approvers named by @handle', ['    escalationApprovers: { groups: ["@leads"] }', '    policy: { escalateAfter: 1h }'], 'a Slack user-group ID'],
    ['escalation approvers naming nobody', ['    escalationApprovers: {}', '    policy: { escalateAfter: 1h }'], 'names nobody'],
  ])('refuses %s', (_case, extra, problem) => {
    expect(problems(file(...extra))).toContain(problem);
  });
});
