// The approval messages keep their buttons exactly while a decision is still possible (a quorum part-way).
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { detailsMessage, expiryReminderMessage, homeView, listMessage, approvalMessage, rotationMessage } from '../../src/slack/blocks.js';
import { detailsOf } from '../../src/access/temporary.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { loadTestConfig, USERS } from '../e2e/harness.js';

const env = loadTestConfig(join(tmpdir(), 'unused.sqlite')).environments[0]!;
const base: AccessRequest = {
  id: 'r_quorum0001',
  kind: 'temporary',
  env: env.name,
  requester: USERS.requester,
  requesterName: 'Maria Silva',
  access: 'readwrite',
  durationMs: 3_600_000,
  reason: 'x',
  state: 'pending',
  username: 'dbx_maria_silva_ab12',
  ownPassword: false,
  breakGlass: false,
  createdAt: 0,
  updatedAt: 0,
  decidedBy: null,
  decidedAt: null,
  decisionReason: null,
  activatedAt: null,
  expiresAt: null,
  approvalChannel: 'C0APPROVALS',
  approvalTs: '1.1',
  error: null,
  revokeAttempts: 0,
  nextAttemptAt: null,
  extensions: 0,
  via: null,
  ips: [],
  rotationRequestedBy: null,
  rotationRequestedAt: null,
  rotationApprovalTs: null,
  ticket: null,
  requiredApprovals: null,
  outsideWindow: null,
};

const hasButtons = (message: { blocks: unknown[] }) => JSON.stringify(message.blocks).includes('"type":"actions"');

describe('approval messages', () => {
  it.each([
    ['pending, first posted', base, undefined, true],
    ['pending, one of two approvals in', base, 'Approved by <@U0APPROVER> (1 of 2); waiting for another approver.', true],
    ['approved', { ...base, state: 'approved' as const }, 'Approved by <@U0APPROVER>', false],
    ['denied', { ...base, state: 'denied' as const }, 'Denied', false],
  ])('%s: buttons %s', (_label, request, status, buttons) => {
    const message = approvalMessage(request, env, 'plan', status);
    expect(hasButtons(message)).toBe(buttons);
    if (status) expect(JSON.stringify(message.blocks)).toContain(status.slice(0, 20));
  });

  it('shows the ticket, linked by policy.ticket.url, and the change window the request was made outside of (issue 17)', () => {
    const governed = { ...env, policy: { ...env.policy, ticket: { url: 'https://jira.example.com/browse/{ticket}' } } };
    const request = { ...base, ticket: 'CHG-1 <x>', requiredApprovals: 2, outsideWindow: 'Mon–Fri 08:00–18:00 Europe/Lisbon' };
    const text = JSON.stringify(approvalMessage(request, governed, 'plan').blocks);
    expect(text).toContain('*Ticket*\\n<https://jira.example.com/browse/CHG-1%20%3Cx%3E|CHG-1 &lt;x&gt;>');
    expect(text).toContain('Outside the change window (Mon–Fri 08:00–18:00 Europe/Lisbon): needs 2 approvals.');
    const plain = JSON.stringify(approvalMessage(base, env, 'plan').blocks);
    expect(plain).not.toContain('Ticket');
    expect(plain).not.toContain('change window');
  });

  it('a rotation keeps its buttons while it waits, and loses them once decided', () => {
    const asked = { ...base, kind: 'permanent' as const, state: 'active' as const, rotationRequestedBy: USERS.requester, rotationRequestedAt: 5 };
    expect(hasButtons(rotationMessage(asked, env))).toBe(true);
    expect(hasButtons(rotationMessage(asked, env, 'Approved by <@U0APPROVER> (1 of 2)'))).toBe(true);
    expect(hasButtons(rotationMessage({ ...asked, rotationRequestedBy: null, rotationRequestedAt: null }, env, 'New password approved'))).toBe(false);
  });
});

const buttonsOf = (message: { blocks: unknown[] }) =>
  (message.blocks as { elements?: { action_id?: string; confirm?: unknown }[] }[]).flatMap((b) => b.elements ?? []).filter((e) => e.action_id !== undefined);

describe('kind and access (issue 16, item 13)', () => {
  const temporary: AccessRequest = { ...base, state: 'active', activatedAt: 0, expiresAt: 3_600_000 };
  const permanent: AccessRequest = { ...base, id: 'r_perm', kind: 'permanent', access: 'readonly', state: 'active', username: 'dbx_ro_dev_ab12', via: 'vpn' };
  it('list, details and App Home say temporary or permanent, read-only or read & write', () => {
    expect(JSON.stringify(listMessage([temporary, permanent], []).blocks)).toMatch(/read & write, temporary, active.*read-only, permanent, active/);
    const details = detailsMessage([detailsOf(temporary, env), detailsOf(permanent, env)]);
    expect(JSON.stringify(details.blocks)).toMatch(/Your temporary database user in dev.*read & write, temporary.*Your read-only permanent database user in dev.*read-only, permanent.*never \(permanent/);
    expect(JSON.stringify(homeView([permanent], [], []))).toContain('read-only, permanent, active');
  });
  it('only a permanent user\'s Revoke asks for a confirmation', () => {
    const details = detailsMessage([detailsOf(temporary, env), detailsOf(permanent, env)]);
    expect(buttonsOf(details).map((b) => [b.action_id, b.confirm !== undefined])).toEqual([
      ['credentials_rotate', false],
      ['user_delete', false],
      ['expiry_revoke', true],
    ]);
    expect(buttonsOf(homeView([temporary, permanent], [], []) as { blocks: unknown[] }).map((b) => [b.action_id, b.confirm !== undefined])).toEqual([
      ['credentials_rotate', false],
      ['expiry_revoke', false],
      ['expiry_revoke', true],
    ]);
  });
});

describe('expiry reminders (issue 16, item 14)', () => {
  const active: AccessRequest = { ...base, state: 'active', activatedAt: 0, expiresAt: 3_600_000 };
  it.each([
    ['active, an extension left', active, true, ['expiry_extend', 'expiry_revoke']],
    ['active, no extension left', { ...active, extensions: 1 }, false, ['expiry_revoke']],
    ['revoked', { ...active, state: 'revoked' as const }, true, []],
  ])('%s', (_name, request, extend, expected) => {
    const message = expiryReminderMessage(request, 'expires in 1h', { extend });
    expect(buttonsOf(message).map((b) => b.action_id)).toEqual(expected);
    if (request.state === 'active' && !extend) expect(JSON.stringify(message.blocks)).toContain('cannot be extended any more');
  });
});
