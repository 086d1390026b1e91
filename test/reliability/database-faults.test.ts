// The database failing in the middle of a plan: unreachable, timeout, login refused, permission denied on
// the 3rd statement, once or for good. The requester's DM and the approval message say what happened and
// what to do; the request ends failed; what was half-made is dropped, or, when it cannot be, reported.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { DatabaseError } from '../../src/dialects/executor.js';
import type { Statement } from '../../src/dialects/statement.js';
import { after, APPROVALS, callText, command, isApprovalPost, replyTo, requestIdOf, sleep, startReliabilityHarness, USERS, type ReliabilityHarness } from './support.js';

let h: ReliabilityHarness;
beforeEach(async () => {
  h = await startReliabilityHarness();
});
afterEach(async () => {
  await h?.stop();
});

/** Errors as the executors word them (src/dialects/mssql-executor.ts, oracle-executor.ts). */
const FAULTS: Record<'db_unreachable' | 'db_timeout' | 'db_login_failed' | 'db_permission_denied', (s: Statement) => DatabaseError> = {
  db_unreachable: (s) => new DatabaseError('db_unreachable', `The connection to the server dropped during "${s.label}" (ECONNRESET).`, { serverCode: 'ECONNRESET' }),
  db_timeout: (s) => new DatabaseError('db_timeout', `The server did not finish "${s.label}" in time (Timeout: 15000 ms). It may be busy or blocked; try again.`, { serverCode: 'ETIMEOUT' }),
  db_login_failed: () => new DatabaseError('db_login_failed', "The server refused the bot's admin login (Login failed for user 'sa'.). Check connection.user and the password it references.", { serverCode: 18456 }),
  db_permission_denied: (s) => new DatabaseError('db_permission_denied', `The bot's admin login lacks a permission for "${s.label}": permission denied (error 15247).`, { serverCode: 15247 }),
};
type Fault = keyof typeof FAULTS;

/** From the next statement on, the `nth` fails with `fault`; with `forGood`, so does every later one (the server is gone). */
function failFrom(env: string, nth: number, fault: Fault, forGood: boolean): { seen: Statement[] } {
  const seen: Statement[] = [];
  h.respond(env, (s) => {
    seen.push(s);
    if (seen.length === nth || (forGood && seen.length > nth)) throw FAULTS[fault](s);
    return [];
  });
  return { seen };
}

async function pending(env: string): Promise<string> {
  await h.settle();
  const mark = h.fake.calls.length;
  expect(await command(h, USERS.requester, `request ${env} --for 2h --reason "db faults"`)).toContain('is waiting for an approver');
  return requestIdOf(await after(h, mark, isApprovalPost));
}

async function approveAndWaitForOutcome(id: string, failed = 'Failed:'): Promise<{ dm: string; update: string; mark: number }> {
  await h.settle();
  const mark = h.fake.calls.length;
  await h.slack.blockAction({ user: USERS.approver, actionId: 'approval_approve', value: id, container: { channel: APPROVALS, messageTs: '1' } });
  const dm = await after(h, mark, (c) => c.method === 'chat.postMessage' && String(c.args['channel']).startsWith('D') && callText(c).includes('could not be created'));
  const update = await after(h, mark, (c) => c.method === 'chat.update' && callText(c).includes(failed));
  return { dm: callText(dm), update: callText(update), mark };
}

const CASES: Array<[Fault, boolean]> = (['db_unreachable', 'db_timeout', 'db_login_failed', 'db_permission_denied'] as const).flatMap((f): Array<[Fault, boolean]> => [
  [f, false],
  [f, true],
]);

describe.each(['dev', 'prod'])('%s: provisioning fails on the 3rd statement', (env) => {
  it.each(CASES)('%s (for good: %s)', async (fault, forGood) => {
    const id = await pending(env);
    const { seen } = failFrom(env, 3, fault, forGood);
    const { dm, update, mark } = await approveAndWaitForOutcome(id, forGood ? 'Creating the user failed:' : 'Failed:');
    const request = h.bot.store.requests.get(id)!;
    const username = request.username!;
    const cause = FAULTS[fault](seen[2]!).message;

    // What was half-made: the statements after the failure block the login and drop user and login.
    // (When the drop fails too, the revoker's own attempts follow: the first drop is what createUser did.)
    const drop = env === 'dev' ? ['block login', 'query', 'drop user', 'drop login'] : ['block login', 'query', 'drop user'];
    const afterFailure = seen.slice(3, 3 + drop.length).map((s) => s.kind);
    expect(afterFailure).toEqual(drop);
    if (!forGood) expect(seen).toHaveLength(3 + drop.length);
    for (const s of seen.slice(3)) expect(s.params.some((p) => p.value === username)).toBe(true);

    // The DM and the approval message say what happened, what became of the half-made user, and what to do.
    for (const text of [dm, update]) expect(text).toContain(cause.replaceAll('"', '\\"'));
    // No password went anywhere.
    expect(h.fake.calls.slice(mark).some((c) => c.method === 'chat.postEphemeral')).toBe(false);

    if (!forGood) {
      // The state says failed, with the cause; nothing is left, and the person can ask again at once.
      expect(request.state).toBe('failed');
      expect(request.error).toContain(cause);
      expect(h.bot.store.audit.list({ requestId: id }).map((e) => e.action)).toEqual(['requested', 'state:approved', 'state:provisioning', 'state:failed']);
      for (const text of [dm, update]) expect(text).toContain(`The half-made user ${username} was dropped again.`);
      expect(dm).toContain('if it fails again, tell an approver.');
      h.respond(env, () => []);
      expect(await command(h, USERS.requester, `request ${env} --reason "again"`)).toContain('is waiting for an approver');
      return;
    }
    // The half-made user could not be dropped: never "failed" with a live login. The request is being
    // revoked, the revoker keeps at it, and once the server is back the user is dropped and the request failed.
    expect(request.state).toBe('revoking');
    expect(request.nextAttemptAt).not.toBeNull();
    for (const text of [dm, update]) expect(text).toContain(`The half-made user ${username} is not dropped yet.`);
    expect(dm).toContain('The bot keeps trying to drop it');
    h.respond(env, () => []);
    const statementsBefore = h.executors.get(env)!.statements.length;
    h.clock.advance(Math.max(request.nextAttemptAt! - h.clock.now(), 0));
    await h.bot.expiry.runDue(h.clock.now());
    await h.settle();
    expect(h.bot.store.requests.get(id)!.state).toBe('failed');
    expect(h.executors.get(env)!.statements.slice(statementsBefore).map((s) => s.kind)).toContain('drop user');
    await after(h, mark, (c) => c.method === 'chat.postMessage' && String(c.args['channel']).startsWith('D') && callText(c).includes('Whatever was made has been removed'));
  });
});

describe('the first statement fails', () => {
  it.each(['db_unreachable', 'db_login_failed', 'db_permission_denied'] as const)('%s: nothing was created, and nothing is dropped (the name may belong to someone else)', async (fault) => {
    const id = await pending('dev');
    const { seen } = failFrom('dev', 1, fault, true);
    const { dm } = await approveAndWaitForOutcome(id);
    expect(seen.map((s) => s.kind)).toEqual(['create login']);
    expect(dm).toContain('Nothing was created.');
    expect(h.bot.store.requests.get(id)!.state).toBe('failed');
  });

  // PRODUCT FINDING (a timed-out CREATE LOGIN is reported as "Nothing was created"): src/dialects/database.ts,
  // createUser treats any failure of the first statement as "nothing of ours exists yet". A timeout
  // (or a connection dropped while the statement ran) leaves the outcome unknown: the server may have
  // created the login after the client gave up. The bot then tells the requester and the approvers
  // "Nothing was created." and drops nothing; the login stays until the daily orphan check lists it.
  // Expected: for db_timeout (and a dropped connection) on the first statement, run the cleanup
  // (revokeUser is idempotent: a user that does not exist is not an error), or at least say the login
  // may exist. Fix: in createUser, when the first statement fails with db_timeout / a dropped
  // connection, call revokeUser before throwing ProvisioningError with its report.
  it('db_timeout on CREATE LOGIN: the login that may exist is dropped, not declared absent', async () => {
    const id = await pending('dev');
    // The server created the login, then the client timed out waiting for the answer.
    const { seen } = failFrom('dev', 1, 'db_timeout', false);
    const { dm } = await approveAndWaitForOutcome(id);
    expect(dm).not.toContain('Nothing was created.');
    expect(seen.map((s) => s.kind)).toContain('drop login');
  });
});

describe('other operations when the database fails', () => {
  it('/dbuser delete while the server is unreachable: told it is not gone yet and that the bot keeps retrying; the state keeps it', async () => {
    const id = await pending('dev');
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.blockAction({ user: USERS.approver, actionId: 'approval_approve', value: id, container: { channel: APPROVALS, messageTs: '1' } });
    await after(h, mark, (c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'));
    const { seen } = failFrom('dev', 1, 'db_unreachable', true);
    const reply = await command(h, USERS.requester, 'delete dev');
    expect(reply).toContain(':warning:');
    expect(reply).toContain('could not be fully removed yet');
    expect(reply).toContain('the bot keeps retrying');
    expect(seen.map((s) => s.kind)).toEqual(['block login', 'query', 'drop user', 'drop login']);
    const request = h.bot.store.requests.get(id)!;
    expect(request.state).toBe('revoking');
    expect(request.nextAttemptAt).not.toBeNull();
    expect(request.error).toContain('dropped during');
  });

  it('New password while the server times out: the user is told what happened and keeps the user', async () => {
    const id = await pending('dev');
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.blockAction({ user: USERS.approver, actionId: 'approval_approve', value: id, container: { channel: APPROVALS, messageTs: '1' } });
    await after(h, mark, (c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'));
    failFrom('dev', 1, 'db_timeout', true);
    const clicked = await h.slack.blockAction({ user: USERS.requester, actionId: 'credentials_rotate', value: id, container: { channel: 'D0REQUESTER', messageTs: '1', isEphemeral: true } });
    const reply = await replyTo(h, clicked.responseUrl);
    expect(reply).toContain(':warning:');
    expect(reply).toMatch(/did not finish \\"set a new password[^"]*\\" in time .* try again\./);
    expect(reply).not.toContain('Password*');
    expect(h.bot.store.requests.get(id)!.state).toBe('active');
  });

  it('/dbuser sync with a grant refused: the reply names the table that failed and the others are granted', async () => {
    const id = await pending('dev');
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.blockAction({ user: USERS.approver, actionId: 'approval_approve', value: id, container: { channel: APPROVALS, messageTs: '1' } });
    await after(h, mark, (c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'));
    h.respond('dev', (s) => {
      if (s.label.startsWith('list OSUSR_')) return [{ table_name: 'OSUSR_ABC_ORDER' }, { table_name: 'OSUSR_ABC_INVOICE' }];
      if (s.kind === 'grant' && s.params.some((p) => p.value === 'OSUSR_ABC_ORDER')) throw FAULTS.db_permission_denied(s);
      return [];
    });
    const reply = await command(h, USERS.approver, 'sync dev');
    expect(reply).toContain('granted OSUSR_ABC_INVOICE');
    expect(reply).toContain('failed: OSUSR_ABC_ORDER');
  });

  // PRODUCT FINDING (the owner is not told when an approved new password fails): src/access/permanent.ts,
  // decideRotation ends the rotation, then, when setting the password fails, updates the approval
  // message and rethrows to the approver, but never tells the owner, who asked and now waits.
  // Expected: the owner gets a DM: the new password could not be set (the cause), the old one still
  // works, ask again. Fix: in the catch, deliver a notifyRequester with that sentence before rethrowing.
  it('a rotation approved while the server is unreachable: the owner is told', async () => {
    const { requests } = await h.bot.permanent.requestPermanent({ envs: ['dev'], requester: USERS.requester, access: 'readonly', via: 'vpn', ips: [], reason: 'export' });
    await h.bot.access.decide({ requestId: requests[0]!.id, actor: USERS.approver, decision: 'approve' });
    await h.bot.access.provision(requests[0]!.id);
    expect(await command(h, USERS.requester, 'rotate dev --access read')).toContain('is waiting for an approver');
    failFrom('dev', 1, 'db_unreachable', true);
    await h.settle();
    const mark = h.fake.calls.length;
    const clicked = await h.slack.blockAction({ user: USERS.approver, actionId: 'rotation_approve', value: requests[0]!.id, container: { channel: APPROVALS, messageTs: '1' } });
    // The approver is told (this much works today) …
    expect(await replyTo(h, clicked.responseUrl)).toContain('dropped during');
    await sleep(50);
    // … the owner is not.
    await after(h, mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === 'D0REQUESTER' && callText(c).includes('dropped during'), 1000);
  });
});

it('the fault table covers the four failures the issue names', () => {
  const codes: ErrorCode[] = Object.keys(FAULTS) as ErrorCode[];
  expect(codes.sort()).toEqual(['db_login_failed', 'db_permission_denied', 'db_timeout', 'db_unreachable']);
});
