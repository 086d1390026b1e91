// Who may revoke, withdraw and decide, and when nobody can decide (src/access/core/policy.ts), over the e2e environments.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicy, revocationNeedsConfirmation } from '../../src/access/core/policy.js';
import type { Config } from '../../src/config.js';
import { openStore, type Store } from '../../src/store/store.js';
import type { AccessRequest } from '../../src/store/requests.js';
import { loadTestConfig, USERS } from '../e2e/harness.js';

let dir: string;
let store: Store;
let config: Config;

function policy() {
  return createPolicy({ config, store, directory: { displayName: async (u) => u, groupMembers: async () => [USERS.groupApprover], knownGroupMembers: () => undefined } });
}

function request(over: Partial<AccessRequest> = {}): AccessRequest {
  return { id: 'r_1', env: 'dev', kind: 'temporary', access: 'readwrite', requester: USERS.requester, username: 'dbx_maria_a1b2', ...over } as AccessRequest;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-policy-'));
  store = openStore(join(dir, 'db.sqlite'), { clock: { now: () => 0 } });
  config = loadTestConfig(join(dir, 'db.sqlite'));
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('who may revoke a user now', () => {
  it.each([
    ['its owner, temporary', request(), USERS.requester, 'owner'],
    ['its owner, permanent', request({ kind: 'permanent', access: 'readonly' }), USERS.requester, 'owner'],
    ['an approver', request(), USERS.approver, 'approver'],
    ['an approver through a group', request({ kind: 'permanent' }), USERS.groupApprover, 'approver'],
    ['someone else', request(), USERS.other, undefined],
    ['an approver of another environment only', request({ env: 'allowlisted' }), USERS.groupApprover, undefined],
  ] as const)('%s', async (_name, r, actor, by) => {
    const checked = policy().assertCanRevoke(r, actor);
    if (by) await expect(checked).resolves.toMatchObject({ by });
    else await expect(checked).rejects.toThrow(/Only the owner of this user or an approver can revoke it/);
  });

  it('asks for a confirmation before dropping a permanent user, never a temporary one', () => {
    expect(revocationNeedsConfirmation({ kind: 'permanent' })).toBe(true);
    expect(revocationNeedsConfirmation({ kind: 'temporary' })).toBe(false);
  });

  it('lets only the requester withdraw a request', () => {
    expect(() => policy().assertCanWithdraw(request(), USERS.requester)).not.toThrow();
    expect(() => policy().assertCanWithdraw(request(), USERS.approver)).toThrow(/Only the person who asked can withdraw/);
  });
});

describe('a request nobody can decide', () => {
  const env = (name: string) => config.environments.find((e) => e.name === name)!;
  it.each([
    ['the only approver of prod asks', 'prod', 'temporary', USERS.approver, {}, /prod has no approvers other than you, and nobody approves their own request/],
    ['someone else asks in prod', 'prod', 'temporary', USERS.other, {}, undefined],
    ['dev has a group approver besides', 'dev', 'temporary', USERS.approver, {}, undefined],
    ['self-approval allowed', 'prod', 'temporary', USERS.approver, { allowSelfApproval: true }, undefined],
    ['a quorum of two with one other approver', 'dev', 'temporary', USERS.approver, { approvals: { temporary: 2, permanent: 1, interop: 1 } }, /it needs 2 approvers other than you, and dev has 1/],
    ['a quorum never counts the requester, even where self-approval is allowed', 'dev', 'temporary', USERS.approver, { allowSelfApproval: true, approvals: { temporary: 2, permanent: 1, interop: 1 } }, /needs 2 approvers other than you/],
    ['permanent: its own approvers', 'prod', 'permanent', USERS.approver, {}, /no permanent-user approvers other than you/],
  ] as const)('%s', async (_name, envName, kind, requester, policyOver, expected) => {
    Object.assign(env(envName).policy, policyOver);
    const warning = await policy().undecidableWarning(env(envName), kind, requester);
    if (expected) {
      expect(warning).toMatch(expected);
      expect(warning).toContain(`\`/dbuser delete ${envName}\``);
    } else expect(warning).toBeUndefined();
  });

  it('refuses the requester as decider with the withdraw command, and says when nobody else can decide', async () => {
    const pending = store.requests.create(
      { kind: 'temporary', env: 'prod', requester: USERS.approver, requesterName: 'Ana', access: 'readwrite', durationMs: 3_600_000, reason: '', ownPassword: false, breakGlass: false, username: 'dbx_ana_a1b2' },
      USERS.approver,
    );
    await expect(policy().assertCanDecide(pending.id, USERS.approver)).rejects.toThrow(
      'You cannot decide your own request; another approver must. Nobody else can decide it in prod. To withdraw it: `/dbuser delete prod`.',
    );
    // A rotation has nothing to withdraw.
    await expect(policy().assertCanDecide(pending.id, USERS.approver, 'rotation')).rejects.toThrow(/^You cannot decide your own request; another approver must\.$/);
  });
});
