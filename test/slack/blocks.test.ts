// The approval messages keep their buttons exactly while a decision is still possible (a quorum part-way).
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { approvalMessage, rotationMessage } from '../../src/slack/blocks.js';
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

  it('a rotation keeps its buttons while it waits, and loses them once decided', () => {
    const asked = { ...base, kind: 'permanent' as const, state: 'active' as const, rotationRequestedBy: USERS.requester, rotationRequestedAt: 5 };
    expect(hasButtons(rotationMessage(asked, env))).toBe(true);
    expect(hasButtons(rotationMessage(asked, env, 'Approved by <@U0APPROVER> (1 of 2)'))).toBe(true);
    expect(hasButtons(rotationMessage({ ...asked, rotationRequestedBy: null, rotationRequestedAt: null }, env, 'New password approved'))).toBe(false);
  });
});
