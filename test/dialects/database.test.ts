// Operations over any dialect, run through the dry-run executor: order of steps, best effort, cleanup, sanitizing.
import { describe, expect, it } from 'vitest';
import { createDatabase, createUserPlan, ProvisioningError } from '../../src/dialects/database.js';
import type { DialectName } from '../../src/dialects/dialect.js';
import { DatabaseError, dryRunExecutor, type DryRunResponder } from '../../src/dialects/executor.js';
import { ALL_MISSING_WRITE_LABEL } from '../../src/dialects/permissions.js';
import { describePlan } from '../../src/dialects/render.js';
import type { Statement } from '../../src/dialects/statement.js';
import { dialects, targets, userFor } from './targets.js';

const names = ['sqlserver', 'azuresql', 'oracle'] as const;
const password = 'Xy3-abc.def_GHI9';

function setup(name: DialectName, responder?: DryRunResponder) {
  const executor = dryRunExecutor(responder);
  const db = createDatabase({ dialect: dialects[name], executor, target: targets[name], dropRetry: { attempts: 3, delayMs: 0 } });
  return { db, executor, username: userFor(name) };
}

/** The same database over a dialect without grantAllMissingWrite: write grants go table by table. */
function setupPerTable(name: DialectName, responder?: DryRunResponder) {
  const { grantAllMissingWrite: _batch, ...perTable } = dialects[name];
  const executor = dryRunExecutor(responder);
  const db = createDatabase({ dialect: perTable, executor, target: targets[name], dropRetry: { attempts: 3, delayMs: 0 } });
  return { db, executor, username: userFor(name) };
}

const labels = (statements: Statement[]) => statements.map((s) => s.label);
const kinds = (statements: Statement[]) => statements.map((s) => s.kind);

/** A responder that fails the statements matching `label` with a server error mentioning `text`. */
function failOn(label: RegExp, text = 'boom'): DryRunResponder {
  return (s) => {
    if (label.test(s.label)) throw new DatabaseError('db_error', `server said ${text}`, { serverCode: 50000 });
    return [];
  };
}

describe.each(names)('%s', (name) => {
  it('creates a temporary user: principal, read set, then write grants on every OSUSR_ table lacking them in one round trip', async () => {
    const { db, executor, username } = setup(name, (s) => (s.label === ALL_MISSING_WRITE_LABEL ? [{ table_name: 'OSUSR_ABC_LINE' }, { table_name: 'OSUSR_ABC_ORDER' }] : []));
    const created = await db.createUser({ username, password, kind: 'temporary' });
    expect(created).toEqual({ username, kind: 'temporary', grantedTables: ['OSUSR_ABC_LINE', 'OSUSR_ABC_ORDER'], notes: [] });
    const expectedPlan = createUserPlan(dialects[name], { username, password, kind: 'temporary' }, targets[name]);
    // The plan's last step is the batch: nothing runs after it, whatever the number of tables.
    expect(expectedPlan.at(-1)?.label).toBe(ALL_MISSING_WRITE_LABEL);
    expect(labels(executor.statements)).toEqual(labels(expectedPlan));
  });

  it('the round trips of a new read & write user do not grow with the number of tables', async () => {
    const tables = Array.from({ length: 300 }, (_, i) => ({ table_name: `OSUSR_ABC_T${i}` }));
    const batched = setup(name, (s) => (s.label === ALL_MISSING_WRITE_LABEL ? tables : []));
    const perTable = setupPerTable(name, (s) => (s.label.startsWith('list OSUSR_') ? tables : []));
    expect((await batched.db.createUser({ username: batched.username, password, kind: 'temporary' })).grantedTables).toHaveLength(300);
    expect((await perTable.db.createUser({ username: perTable.username, password, kind: 'temporary' })).grantedTables).toHaveLength(300);
    const planned = createUserPlan(dialects[name], { username: batched.username, password, kind: 'temporary' }, targets[name]).length;
    expect(batched.executor.statements).toHaveLength(planned);
    expect(perTable.executor.statements).toHaveLength(planned + 300);
  });

  it('drops the half-made user when the batch of write grants fails, and says so', async () => {
    const { db, executor, username } = setup(name, failOn(/every OSUSR_ table/, 'cannot grant OSUSR_ABC_ORDER'));
    const error = await db.createUser({ username, password, kind: 'temporary' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).message).toMatch(/cannot grant OSUSR_ABC_ORDER.*dropped again/);
    expect((error as ProvisioningError).cleanup?.complete).toBe(true);
    const after = kinds(executor.statements.slice(executor.statements.findIndex((s) => s.label === ALL_MISSING_WRITE_LABEL) + 1));
    expect(after[0]).toBe('block login');
    expect(after.at(-1)).toMatch(/^drop (user|login)$/);
  });

  it('checks the schema has OSUSR_ tables when the batch granted nothing', async () => {
    const { db, executor, username } = setup(name, (s) => (s.label.startsWith('count the OSUSR_') ? [{ total: 0 }] : []));
    const error = await db.createUser({ username, password, kind: 'temporary' }).catch((e: unknown) => e);
    expect((error as ProvisioningError).message).toMatch(/has no OSUSR_ tables.*dropped again/);
    expect(labels(executor.statements)).toContain('count the OSUSR_ tables of the schema');
  });

  it('without the batch capability: lists the tables, then one grant per table', async () => {
    const { db, executor, username } = setupPerTable(name, (s) =>
      s.label.startsWith('list OSUSR_') ? [{ table_name: 'OSUSR_ABC_ORDER' }, { table_name: 'OSUSR_ABC_LINE' }] : [],
    );
    const created = await db.createUser({ username, password, kind: 'temporary' });
    expect(created.grantedTables).toEqual(['OSUSR_ABC_ORDER', 'OSUSR_ABC_LINE']);
    expect(labels(executor.statements).slice(-3)).toEqual([
      'list OSUSR_ tables lacking INSERT, UPDATE, DELETE for the user',
      'grant INSERT, UPDATE, DELETE on OSUSR_ABC_ORDER',
      'grant INSERT, UPDATE, DELETE on OSUSR_ABC_LINE',
    ]);
  });

  it('without the batch capability: drops the half-made user when one table grant fails', async () => {
    const { db, executor, username } = setupPerTable(name, (s) => {
      if (s.label.startsWith('list OSUSR_')) return [{ table_name: 'OSUSR_ABC_ORDER' }, { table_name: 'OSUSR_ABC_LINE' }];
      if (s.label === 'grant INSERT, UPDATE, DELETE on OSUSR_ABC_LINE') throw new DatabaseError('db_error', 'server said no', { serverCode: 50000 });
      return [];
    });
    const error = await db.createUser({ username, password, kind: 'temporary' }).catch((e: unknown) => e);
    expect((error as ProvisioningError).message).toMatch(/server said no.*dropped again/);
    expect(kinds(executor.statements).at(-1)).toMatch(/^drop (user|login)$/);
  });

  it('creates a read-only user without any write grant or table listing', async () => {
    const { db, executor, username } = setup(name);
    await db.createUser({ username, password, kind: 'readonly' });
    expect(executor.statements.some((s) => /INSERT|list OSUSR_/.test(s.label))).toBe(false);
    expect(kinds(executor.statements).filter((k) => k === 'grant').length).toBeGreaterThan(0);
  });

  it('drops the half-made user when a grant fails, and says so', async () => {
    const { db, executor, username } = setup(name, failOn(/SHOWPLAN|SELECT ANY DICTIONARY/));
    const error = await db.createUser({ username, password, kind: 'readonly' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect((error as ProvisioningError).message).toMatch(/server said boom.*dropped again/);
    expect((error as ProvisioningError).cleanup?.complete).toBe(true);
    const after = kinds(executor.statements.slice(executor.statements.findIndex((s) => /SHOWPLAN|DICTIONARY/.test(s.label)) + 1));
    expect(after[0]).toBe('block login');
    expect(after.at(-1)).toMatch(/^drop (user|login)$/);
  });

  it('drops nothing when the very first statement fails (the name may belong to someone else)', async () => {
    const { db, executor, username } = setup(name, failOn(/^create/));
    const error = await db.createUser({ username, password, kind: 'temporary' }).catch((e: unknown) => e);
    expect((error as ProvisioningError).message).toMatch(/Nothing was created\.$/);
    expect(executor.statements).toHaveLength(1);
  });

  it('reports a cleanup that could not finish, naming the steps that failed', async () => {
    let created = false;
    const { db, username } = setup(name, (s) => {
      if (s.kind === 'create user' || s.kind === 'create login') created = true;
      if (created && /grant/.test(s.label)) throw new DatabaseError('db_error', 'grant refused');
      if (s.kind === 'drop user') throw new DatabaseError('db_error', 'user is connected');
      return [];
    });
    const error = (await db.createUser({ username, password, kind: 'readonly' }).catch((e: unknown) => e)) as ProvisioningError;
    expect(error.message).toMatch(/could not be fully dropped \(drop the (database )?user.*\): an administrator must drop it/);
    expect(error.cleanup?.complete).toBe(false);
  });

  it('revokes in order: block logins, list sessions, kill each, then drop', async () => {
    const { db, executor, username } = setup(name, (s) =>
      s.label.startsWith("list the user's live sessions") ? [{ id: 53, serial: 7, instance: 1 }, { id: 61, serial: 9, instance: 2 }] : [],
    );
    const report = await db.revokeUser({ username });
    expect(report.complete).toBe(true);
    expect(report.sessionsEnded).toBe(2);
    const expected = [
      ...dialects[name].blockLogin({ username }, targets[name]).map(() => 'block login'),
      'query',
      'kill session',
      'kill session',
      ...dialects[name].dropUser({ username }, targets[name]).map((s) => s.kind),
    ];
    expect(kinds(executor.statements)).toEqual(expected);
    expect(report.steps.map((s) => s.step)).toEqual(expected.map((k) => (k === 'query' ? 'list sessions' : k)));
  });

  it('keeps going after a failed step and reports every failure', async () => {
    const { db, executor, username } = setup(name, (s) => {
      if (s.kind === 'block login') throw new DatabaseError('db_error', 'cannot block');
      if (s.label.startsWith("list the user's")) return [{ id: 53, serial: 7, instance: 1 }, { id: 61, serial: 9, instance: 1 }];
      if (s.kind === 'kill session' && s.params.some((p) => p.value === 53)) throw new DatabaseError('db_error', 'cannot kill');
      return [];
    });
    const report = await db.revokeUser({ username });
    expect(report.complete).toBe(false);
    expect(report.sessionsEnded).toBe(1);
    expect(report.steps.filter((s) => s.error).map((s) => s.error?.message)).toEqual(['cannot block', 'cannot kill']);
    expect(kinds(executor.statements).at(-1)).toMatch(/^drop/);
  });

  it('retries a drop refused because a killed session has not gone yet, and reports only the last attempt', async () => {
    const code = dialects[name].stillConnectedErrors[0]!;
    let refusals = 2;
    const { db, executor, username } = setup(name, (s) => {
      if (s.kind === dialects[name].dropUser({ username: userFor(name) }, targets[name]).at(-1)!.kind && refusals-- > 0) {
        throw new DatabaseError('db_error', 'still connected', { serverCode: code });
      }
      return [];
    });
    const report = await db.revokeUser({ username });
    expect(report.complete).toBe(true);
    expect(executor.statements.filter((s) => s.kind.startsWith('drop')).length).toBe(dialects[name].dropUser({ username }, targets[name]).length + 2);
    expect(report.steps.filter((s) => s.step.startsWith('drop')).length).toBe(dialects[name].dropUser({ username }, targets[name]).length);
  });

  it('gives up on a drop after the configured attempts and reports it', async () => {
    const code = dialects[name].stillConnectedErrors[0]!;
    const { db, executor, username } = setup(name, (s) => {
      if (s.kind.startsWith('drop')) throw new DatabaseError('db_error', 'still connected', { serverCode: code });
      return [];
    });
    const report = await db.revokeUser({ username });
    expect(report.complete).toBe(false);
    expect(executor.statements.filter((s) => s.kind.startsWith('drop')).length).toBe(3 * dialects[name].dropUser({ username }, targets[name]).length);
  });

  it('does not retry a drop that failed for another reason', async () => {
    const { db, executor, username } = setup(name, (s) => {
      if (s.kind === 'drop user') throw new DatabaseError('db_error', 'no', { serverCode: 15138 });
      return [];
    });
    await db.revokeUser({ username });
    expect(executor.statements.filter((s) => s.kind === 'drop user')).toHaveLength(1);
  });

  it('reports a malformed session row as a failed step instead of stopping', async () => {
    const { db, username } = setup(name, (s) => (s.label.startsWith("list the user's") ? [{ id: 'x' }] : []));
    const report = await db.revokeUser({ username });
    expect(report.steps.find((s) => s.step === 'kill session')?.error?.message).toMatch(/session/);
    expect(report.steps.at(-1)?.error).toBeUndefined();
  });

  it('syncGrants adds only what is missing and reports it; read-only users need no sync', async () => {
    const { db, executor, username } = setup(name, (s) => (s.label.startsWith('list OSUSR_') ? [{ table_name: 'OSUSR_NEW_TABLE' }] : []));
    expect(await db.syncGrants({ username, kind: 'readwrite' })).toEqual({ added: ['OSUSR_NEW_TABLE'], failed: [] });
    expect(executor.statements).toHaveLength(2);
    expect(await db.syncGrants({ username, kind: 'readonly' })).toEqual({ added: [], failed: [] });
    expect(executor.statements).toHaveLength(2);
  });

  it('syncGrants refuses a non-OSUSR_ name the database returned, and still grants the rest', async () => {
    const { db, username } = setup(name, (s) => (s.label.startsWith('list OSUSR_') ? [{ table_name: 'OSSYS_USER' }, { table_name: 'OSUSR_A_B' }] : []));
    const report = await db.syncGrants({ username, kind: 'temporary' });
    expect(report.added).toEqual(['OSUSR_A_B']);
    expect(report.failed.map((f) => [f.table, f.error.code])).toEqual([['OSSYS_USER', 'invalid_input']]);
  });

  it('reads query results into typed answers', async () => {
    const { db, username } = setup(name, (s) => {
      if (s.label.startsWith('check whether')) return [{ present: 1 }];
      if (s.label.startsWith('list users')) return [{ name: 'dbx_a' }, { name: 'dbx_b' }];
      if (s.label.startsWith('find the table')) return [{ entity_name: 'Order', table_name: 'OSUSR_ABC_ORDER', module_name: 'Sales' }];
      if (s.label.startsWith('list exposed')) return [{ view_name: 'OSUSR_VIEW_ORDER', can_select: 1, can_insert: 0, can_update: '1', can_delete: null }];
      return [];
    });
    expect(await db.userExists({ username })).toBe(true);
    expect(await db.listUsers({ prefix: 'dbx_' })).toEqual(['dbx_a', 'dbx_b']);
    expect(await db.findEntityTables({ entity: 'Order' })).toEqual([{ entity: 'Order', table: 'OSUSR_ABC_ORDER', module: 'Sales' }]);
    expect(await db.listExposedViews({ username })).toEqual([{ view: 'OSUSR_VIEW_ORDER', select: true, insert: false, update: true, delete: false }]);
  });
});

describe('the error sanitizer', () => {
  it('removes the password from any error, keeps the step and server code, and drops the driver error', async () => {
    const { db, username } = setup('sqlserver', (s) => {
      const secret = s.params.find((p) => p.secret)?.value;
      const err = new Error(`Password validation failed for '${String(secret)}' near ${String(secret)}`);
      Object.assign(err, { request: { parameters: s.params } });
      throw err;
    });
    const error = (await db.rotatePassword({ username, password }).catch((e: unknown) => e)) as DatabaseError;
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.message).not.toContain(password);
    expect(error.message).toContain('********');
    expect(error.statement).toBe('set a new password on the login');
    expect(error.cause).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain(password);
  });
});

describe('plans for approval messages', () => {
  it.each(names)('%s masks the password and shows the statements', (name) => {
    const username = userFor(name);
    const plan = describePlan(createUserPlan(dialects[name], { username, password, kind: 'temporary' }, targets[name]), name === 'oracle' ? 'plsql' : 'tsql');
    expect(plan).not.toContain(password);
    expect(plan).toMatch(/\*{8}/);
    expect(plan).toContain(username);
    expect(plan).toContain(ALL_MISSING_WRITE_LABEL);
  });
});
