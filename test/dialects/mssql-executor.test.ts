// The real mssql driver over TCP against the TDS test endpoint: what reaches the server, in what
// order, outside any transaction, and how server errors come back (never with a password).
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, ProvisioningError } from '../../src/dialects/database.js';
import type { DialectName } from '../../src/dialects/dialect.js';
import { DatabaseError } from '../../src/dialects/executor.js';
import { mssqlExecutor, type MssqlSettings } from '../../src/dialects/mssql-executor.js';
import { startTdsServer, type TdsReply, type TdsRequest, type TdsServer } from '../fakes/tds-server.js';
import { dialects, targets } from './targets.js';

const username = 'dbx_maria_k3x9';
const password = 'Xy3-abc.def_GHI9';
let server: TdsServer | undefined;
let closeDb: (() => Promise<void>) | undefined;

afterEach(async () => {
  await closeDb?.();
  await server?.close();
  server = undefined;
  closeDb = undefined;
});

function settings(port: number, overrides: Partial<MssqlSettings> = {}): MssqlSettings {
  return {
    host: '127.0.0.1',
    port,
    database: 'outsystems',
    user: 'botadmin',
    password: () => 'admin-secret',
    encrypt: false,
    trustServerCertificate: true,
    connectTimeoutMs: 3000,
    requestTimeoutMs: 3000,
    ...overrides,
  };
}

async function open(name: Exclude<DialectName, 'oracle'>, handler: (req: TdsRequest) => TdsReply | Promise<TdsReply>, overrides: Partial<MssqlSettings> = {}) {
  server = await startTdsServer({ handler });
  const executor = mssqlExecutor(settings(server.port, overrides));
  const db = createDatabase({ dialect: dialects[name], executor, target: targets[name] });
  closeDb = () => db.close();
  return db;
}

/** Requests our code sent, without the driver's own connection setup and pool checks. */
function sent(): TdsRequest[] {
  return (server?.requests ?? []).filter((r) => !(r.kind === 'batch' && r.sql.startsWith('set ansi_nulls on')) && r.sql !== 'SELECT 1;');
}

/** What a request does: the fixed text the dynamic statement starts with ("CREATE LOGIN"), or a query's first line. */
function verb(req: TdsRequest): string {
  const m = /@sql nvarchar\(max\) = N'([^']*)'/.exec(req.sql);
  return m ? m[1]!.trim() : req.sql.split('\n')[0]!.slice(0, 40);
}

const rows = (columns: string[], values: (string | number)[][]): TdsReply => ({
  resultSets: [{ columns: columns.map((name) => ({ name, type: typeof values[0]?.[columns.indexOf(name)] === 'number' ? 'int' : 'nvarchar' })), rows: values }],
});

describe('mssql executor over TDS', () => {
  it('with both an instance and a port, connects by port (no SQL Browser lookup, which a tunnel rarely passes)', async () => {
    const db = await open('sqlserver', () => rows(['present'], [[1]]), { instance: 'NO_SUCH_INSTANCE' });
    await expect(db.userExists({ username: 'dbx_maria_k3x9' })).resolves.toBe(true);
  });

  it('sends create, grants and the write grants in one batch, each with typed parameters; the batch answers with the tables granted', async () => {
    const db = await open('sqlserver', (req) => (req.sql.includes('FROM sys.tables') ? rows(['table_name'], [['OSUSR_ABC_ORDER'], ['OSUSR_ABC_LINE']]) : {}));
    const created = await db.createUser({ username, password, kind: 'temporary' });
    expect(created.grantedTables).toEqual(['OSUSR_ABC_ORDER', 'OSUSR_ABC_LINE']);
    expect(sent().map(verb)).toEqual([
      'CREATE LOGIN',
      'CREATE USER',
      'GRANT SELECT TO',
      'GRANT SHOWPLAN TO',
      'GRANT VIEW DATABASE STATE TO',
      'GRANT VIEW SERVER STATE TO',
      'DECLARE @missing TABLE (table_name sysna',
    ]);
    const [login] = sent();
    expect(login?.kind).toBe('rpc');
    expect(login?.params).toEqual([
      { name: 'username', value: username },
      { name: 'password', value: password },
      { name: 'database', value: 'outsystems' },
    ]);
    // The password travels only as a parameter, never in the statement text.
    expect(sent().every((r) => !r.sql.includes(password))).toBe(true);
    expect(sent().at(-1)?.params).toEqual([
      { name: 'schema', value: 'dbo' },
      { name: 'pattern', value: 'OSUSR\\_%' },
      { name: 'username', value: username },
    ]);
    expect(server?.logins).toContain('botadmin');
  });

  it('revokes: disable, list sessions, KILL each outside any transaction, drop user, drop login', async () => {
    const db = await open('sqlserver', (req) => (req.sql.includes('FROM sys.dm_exec_sessions WHERE original_login_name') ? rows(['id'], [[53], [61]]) : {}));
    const report = await db.revokeUser({ username });
    expect(report).toMatchObject({ complete: true, sessionsEnded: 2 });
    expect(sent().map(verb)).toEqual(['ALTER LOGIN', 'SELECT session_id AS id FROM sys.dm_exec', 'KILL', 'KILL', 'DROP USER', 'DROP LOGIN']);
    const kills = sent().filter((r) => r.sql.includes("N'KILL '"));
    expect(kills.map((r) => r.params)).toEqual([
      [
        { name: 'session_id', value: 53 },
        { name: 'username', value: username },
      ],
      [
        { name: 'session_id', value: 61 },
        { name: 'username', value: username },
      ],
    ]);
    expect(kills.every((r) => r.transactionDescriptor === 0n)).toBe(true);
    expect(server?.requests.some((r) => /BEGIN TRAN/i.test(r.sql))).toBe(false);
    expect(sent()[0]?.sql).toContain("N' DISABLE'");
    expect(sent().at(-1)?.sql).toContain("N'DROP LOGIN '");
  });

  it('a server error in the middle of a revocation lets the remaining steps run and is reported', async () => {
    const db = await open('sqlserver', (req) => {
      if (req.sql.includes('FROM sys.dm_exec_sessions WHERE original_login_name')) return rows(['id'], [[53], [61]]);
      if (req.sql.includes("N'KILL '") && req.params[0]?.value === 53) return { error: { number: 6107, message: 'Only user processes can be killed.' } };
      return {};
    });
    const report = await db.revokeUser({ username });
    expect(report.complete).toBe(false);
    expect(report.sessionsEnded).toBe(1);
    expect(report.steps.filter((s) => s.error).map((s) => [s.step, s.error?.serverCode, s.error?.message])).toEqual([
      ['kill session', 6107, 'SQL Server refused "end session 53": Only user processes can be killed. (error 6107).'],
    ]);
    expect(sent().slice(-3).map(verb)).toEqual(['KILL', 'DROP USER', 'DROP LOGIN']);
  });

  it('never lets the password into an error, even when the server echoes it, and drops the half-made login', async () => {
    const db = await open('sqlserver', (req) => {
      if (req.sql.includes("N'CREATE USER '")) {
        const pw = String(req.params.find((p) => p.name === 'password')?.value ?? password);
        return { error: { number: 15118, message: `Password validation failed for '${pw}'. ${pw} is too simple.` } };
      }
      return {};
    });
    const error = (await db.createUser({ username, password, kind: 'readonly' }).catch((e: unknown) => e)) as ProvisioningError;
    expect(error).toBeInstanceOf(ProvisioningError);
    expect(error.code).toBe('db_error');
    expect(error.serverCode).toBe(15118);
    expect(error.message).toMatch(/^SQL Server refused "create database user for the login": Password validation failed for '\*{8}'\. \*{8} is too simple\./);
    expect(error.message).toMatch(/dropped again\.$/);
    for (const text of [error.message, error.stack ?? '', JSON.stringify(error), String(error.cause)]) expect(text).not.toContain(password);
    expect(sent().map(verb)).toEqual(['CREATE LOGIN', 'CREATE USER', 'ALTER LOGIN', 'SELECT session_id AS id FROM sys.dm_exec', 'DROP USER', 'DROP LOGIN']);
  });

  it('Azure SQL: a contained user, no server-level grant, DENY CONNECT to block', async () => {
    const db = await open('azuresql', () => ({}));
    await db.createUser({ username, password, kind: 'readonly' });
    await db.revokeUser({ username });
    const verbs = sent().map(verb);
    expect(verbs).toEqual([
      'CREATE USER',
      'GRANT SELECT TO',
      'GRANT SHOWPLAN TO',
      'GRANT VIEW DATABASE STATE TO',
      'DENY CONNECT TO',
      'SELECT session_id AS id FROM sys.dm_exec',
      'DROP USER',
    ]);
    expect(verbs.some((v) => v.startsWith('CREATE LOGIN') || v.includes('SERVER STATE'))).toBe(false);
    expect(sent().some((r) => r.sql.includes("N'DENY CONNECT TO '"))).toBe(true);
    expect(sent().some((r) => r.sql.includes('master.sys.sp_executesql'))).toBe(false);
  });

  it('answers queries with typed rows', async () => {
    const db = await open('sqlserver', (req) => {
      if (req.sql.includes('AS present')) return { resultSets: [{ columns: [{ name: 'present', type: 'int' }], rows: [[1]] }] };
      if (req.sql.includes('OSSYS_ENTITY')) return rows(['entity_name', 'table_name', 'module_name'], [['Order', 'OSUSR_ABC_ORDER', 'Sales']]);
      return {};
    });
    expect(await db.userExists({ username })).toBe(true);
    expect(await db.findEntityTables({ entity: 'Order' })).toEqual([{ entity: 'Order', table: 'OSUSR_ABC_ORDER', module: 'Sales' }]);
    const lookup = sent().at(-1)!;
    expect(lookup.params).toEqual([
      { name: 'schema', value: 'dbo' },
      { name: 'entity', value: 'Order' },
    ]);
    expect(lookup.sql).toContain("EXEC sys.sp_executesql @sql, N'@entity nvarchar(128)', @entity = @entity;");
  });

  it('reads exposed views with their grant flags (bit columns) for the interop user', async () => {
    const db = await open('sqlserver', (req) =>
      req.sql.includes('FROM sys.views')
        ? {
            resultSets: [
              {
                columns: [
                  { name: 'view_name', type: 'nvarchar' },
                  { name: 'can_select', type: 'int' },
                  { name: 'can_insert', type: 'int' },
                  { name: 'can_update', type: 'bit' },
                  { name: 'can_delete', type: 'bit' },
                ],
                rows: [
                  ['OSUSR_VIEW_ORDER', 1, 0, true, false],
                  ['OSUSR_VIEW_INVOICE', 0, 0, false, false],
                ],
              },
            ],
          }
        : {},
    );
    expect(await db.listExposedViews({ username: 'dbx_interop' })).toEqual([
      { view: 'OSUSR_VIEW_ORDER', select: true, insert: false, update: true, delete: false },
      { view: 'OSUSR_VIEW_INVOICE', select: false, insert: false, update: false, delete: false },
    ]);
    expect(sent().at(-1)?.params).toEqual([
      { name: 'username', value: 'dbx_interop' },
      { name: 'schema', value: 'dbo' },
      { name: 'pattern', value: 'OSUSR\\_VIEW\\_%' },
    ]);
  });

  it('maps a refused admin login to db_login_failed, naming what to check', async () => {
    server = await startTdsServer({ loginError: { number: 18456, message: "Login failed for user 'botadmin'." } });
    const db = createDatabase({ dialect: dialects.sqlserver, executor: mssqlExecutor(settings(server.port)), target: targets.sqlserver });
    closeDb = () => db.close();
    const error = (await db.userExists({ username }).catch((e: unknown) => e)) as DatabaseError;
    expect(error.code).toBe('db_login_failed');
    expect(error.message).toMatch(/Login failed for user 'botadmin'.*Check connection.user/);
    expect(error.message).not.toContain('admin-secret');
  });

  it('maps a closed port to db_unreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const db = createDatabase({ dialect: dialects.sqlserver, executor: mssqlExecutor(settings(port, { connectTimeoutMs: 1000 })), target: targets.sqlserver });
    closeDb = () => db.close();
    const error = (await db.userExists({ username }).catch((e: unknown) => e)) as DatabaseError;
    expect(error.code).toBe('db_unreachable');
    expect(error.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*Check connection.host`));
  });

  it('maps a request that outlives requestTimeout to db_timeout, and the pool recovers', async () => {
    let stall = true;
    const db = await open(
      'sqlserver',
      (req) => (stall && req.sql.includes('AS present') ? new Promise<TdsReply>(() => {}) : { resultSets: [{ columns: [{ name: 'present', type: 'int' }], rows: [[0]] }] }),
      { requestTimeoutMs: 300 },
    );
    const error = (await db.userExists({ username }).catch((e: unknown) => e)) as DatabaseError;
    expect(error.code).toBe('db_timeout');
    stall = false;
    expect(await db.userExists({ username })).toBe(false);
  });
});
