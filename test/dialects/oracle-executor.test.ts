// The Oracle executor against a stubbed connection (the getConnection/execute seam): what is sent, how errors map.
import oracledb from 'oracledb';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/dialects/database.js';
import { DatabaseError } from '../../src/dialects/executor.js';
import { oracle } from '../../src/dialects/oracle.js';
import { oracleExecutor, type OracleConnectionLike, type OracleSource } from '../../src/dialects/oracle-executor.js';
import { targets } from './targets.js';

interface Call {
  sql: string;
  binds: Record<string, { val?: unknown; dir: number; type: unknown }>;
  options: Record<string, unknown>;
  callTimeout: number | undefined;
}

type Reply = { rows?: unknown[]; outBinds?: unknown } | Error;

/** A source whose connections record every execute and answer with `reply`. */
function stubSource(reply: (sql: string, binds: Call['binds']) => Reply = () => ({})) {
  const calls: Call[] = [];
  let open = 0;
  let closedPool = false;
  const source: OracleSource = {
    async getConnection() {
      open++;
      const connection: OracleConnectionLike = {
        async execute(sql, binds, options) {
          calls.push({ sql, binds: binds as Call['binds'], options, callTimeout: connection.callTimeout });
          const answer = reply(sql, binds as Call['binds']);
          if (answer instanceof Error) throw answer;
          return answer;
        },
        async close() {
          open--;
        },
      };
      return connection;
    },
    async close() {
      closedPool = true;
    },
  };
  return { source, calls, openConnections: () => open, poolClosed: () => closedPool };
}

function oraError(errorNum: number, message: string): Error {
  return Object.assign(new Error(message), { errorNum, code: `ORA-${String(errorNum).padStart(5, '0')}` });
}

const username = 'DBX_MARIA_K3X9';
const password = 'Xy3-abc.def_GHI9';

describe('oracleExecutor', () => {
  it('sends the create sequence as anonymous blocks with IN binds, autocommit, a call timeout, and closes each connection', async () => {
    // The write grants in one block, whose granted tables come back through the OUT cursor.
    const granted = { getRows: async () => [{ TABLE_NAME: 'OSUSR_ABC_ORDER' }], close: async () => {} };
    const stub = stubSource((sql) => (sql.includes('dba_tables') ? { outBinds: { tables: granted } } : {}));
    const db = createDatabase({ dialect: oracle, executor: oracleExecutor(stub.source, { requestTimeoutMs: 4000 }), target: targets.oracle });
    expect((await db.createUser({ username, password, kind: 'temporary' })).grantedTables).toEqual(['OSUSR_ABC_ORDER']);
    const sent = stub.calls.map((c) => (/^(BEGIN|DECLARE)\b/.test(c.sql) ? `block: ${/EXECUTE IMMEDIATE '([^']*)'/.exec(c.sql)?.[1]?.trim()}` : c.sql.split('\n')[0]));
    expect(sent).toEqual([
      'block: CREATE USER',
      'block: GRANT CREATE SESSION TO',
      'block: GRANT SELECT ANY TABLE TO',
      'block: GRANT SELECT ANY DICTIONARY TO',
      'block: GRANT INSERT, UPDATE, DELETE ON',
    ]);
    expect(stub.calls.at(-1)!.binds['tables']).toEqual({ dir: oracledb.BIND_OUT, type: oracledb.CURSOR });
    const create = stub.calls[0]!;
    expect(create.binds).toEqual({
      username: { val: username, dir: oracledb.BIND_IN, type: oracledb.STRING },
      password: { val: password, dir: oracledb.BIND_IN, type: oracledb.STRING },
    });
    expect(create.sql).not.toContain(password);
    expect(create.options).toEqual({ outFormat: oracledb.OUT_FORMAT_OBJECT, autoCommit: true });
    expect(stub.calls.every((c) => c.callTimeout === 4000)).toBe(true);
    expect(stub.openConnections()).toBe(0);
  });

  it('revokes: lock, list sessions from gv$session, kill each with numeric binds, drop', async () => {
    const stub = stubSource((sql) =>
      sql.includes('gv$session') ? { rows: [{ ID: 101, SERIAL: 7, INSTANCE: 1 }, { ID: 202, SERIAL: 9, INSTANCE: 2 }] } : {},
    );
    const db = createDatabase({ dialect: oracle, executor: oracleExecutor(stub.source, { requestTimeoutMs: 1000 }), target: targets.oracle });
    const report = await db.revokeUser({ username });
    expect(report).toMatchObject({ complete: true, sessionsEnded: 2 });
    expect(stub.calls.map((c) => /ACCOUNT LOCK|gv\$session|KILL SESSION|DROP USER/.exec(c.sql)?.[0])).toEqual([
      'ACCOUNT LOCK',
      'gv$session',
      'KILL SESSION',
      'KILL SESSION',
      'DROP USER',
    ]);
    expect(stub.calls[3]!.binds).toEqual({
      sid: { val: 202, dir: oracledb.BIND_IN, type: oracledb.NUMBER },
      serial: { val: 9, dir: oracledb.BIND_IN, type: oracledb.NUMBER },
      instance: { val: 2, dir: oracledb.BIND_IN, type: oracledb.NUMBER },
    });
  });

  it('a server error mid-revocation still lets the remaining steps run, and is reported', async () => {
    const stub = stubSource((sql, binds) => {
      if (sql.includes('gv$session')) return { rows: [{ ID: 101, SERIAL: 7, INSTANCE: 1 }, { ID: 202, SERIAL: 9, INSTANCE: 1 }] };
      if (sql.includes('KILL SESSION') && binds['sid']?.val === 101) return oraError(1031, 'ORA-01031: insufficient privileges');
      return {};
    });
    const db = createDatabase({ dialect: oracle, executor: oracleExecutor(stub.source, { requestTimeoutMs: 1000 }), target: targets.oracle });
    const report = await db.revokeUser({ username });
    expect(report.complete).toBe(false);
    expect(report.sessionsEnded).toBe(1);
    const failed = report.steps.filter((s) => s.error);
    expect(failed.map((s) => [s.step, s.error?.code, s.error?.serverCode])).toEqual([['kill session', 'db_permission_denied', 1031]]);
    expect(stub.calls.at(-1)?.sql).toContain('DROP USER');
    expect(stub.openConnections()).toBe(0);
  });

  it('reads REF CURSOR results and closes the cursor', async () => {
    let cursorClosed = false;
    const stub = stubSource((_sql, binds) => {
      expect(binds['matches']).toEqual({ dir: oracledb.BIND_OUT, type: oracledb.CURSOR });
      return {
        outBinds: {
          matches: {
            getRows: async () => [{ ENTITY_NAME: 'Order', TABLE_NAME: 'OSUSR_ABC_ORDER', MODULE_NAME: 'Sales' }],
            close: async () => {
              cursorClosed = true;
            },
          },
        },
      };
    });
    const db = createDatabase({ dialect: oracle, executor: oracleExecutor(stub.source, { requestTimeoutMs: 1000 }), target: targets.oracle });
    expect(await db.findEntityTables({ entity: 'Order' })).toEqual([{ entity: 'Order', table: 'OSUSR_ABC_ORDER', module: 'Sales' }]);
    expect(cursorClosed).toBe(true);
  });

  it.each([
    [oraError(1031, 'ORA-01031: insufficient privileges'), 'db_permission_denied'],
    [oraError(1013, 'ORA-01013: user requested cancel of current operation'), 'db_timeout'],
    [Object.assign(new Error('NJS-500: connection to the Oracle Database was broken'), { code: 'NJS-500' }), 'db_unreachable'],
    [oraError(1920, 'ORA-01920: user name conflicts with another user or role name'), 'db_error'],
  ])('maps %s to %s', async (error, code) => {
    const stub = stubSource(() => error);
    const db = createDatabase({ dialect: oracle, executor: oracleExecutor(stub.source, { requestTimeoutMs: 1000 }), target: targets.oracle });
    const err = (await db.rotatePassword({ username, password }).catch((e: unknown) => e)) as DatabaseError;
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err.code).toBe(code);
    expect(err.message).toContain('set a new password');
  });

  it('never lets the password into an error, even when the server echoes it', async () => {
    const stub = stubSource((_sql, binds) => oraError(28003, `ORA-28003: password verification for "${String(binds['password']?.val)}" failed`));
    const db = createDatabase({ dialect: oracle, executor: oracleExecutor(stub.source, { requestTimeoutMs: 1000 }), target: targets.oracle });
    const err = (await db.createUser({ username, password, kind: 'readonly' }).catch((e: unknown) => e)) as DatabaseError;
    expect(err.message).toContain('ORA-28003');
    expect(err.message).not.toContain(password);
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain(password);
  });

  it('a refused admin login from the pool reaches the caller as db_login_failed', async () => {
    const source: OracleSource = {
      getConnection: async () => {
        throw new DatabaseError('db_login_failed', "Oracle at db:1521/FREEPDB1 refused the bot's admin login");
      },
      close: async () => {},
    };
    const db = createDatabase({ dialect: oracle, executor: oracleExecutor(source, { requestTimeoutMs: 1000 }), target: targets.oracle });
    await expect(db.userExists({ username })).rejects.toMatchObject({ code: 'db_login_failed' });
  });

  it('close() closes the pool', async () => {
    const stub = stubSource();
    await oracleExecutor(stub.source, { requestTimeoutMs: 1000 }).close();
    expect(stub.poolClosed()).toBe(true);
  });
});
