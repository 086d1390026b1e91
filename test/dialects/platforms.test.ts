// What real servers accept, per platform (issue 15): each test here failed on the builders before it.
import { describe, expect, it } from 'vitest';
import { createDatabase, interopSetupPlan, ProvisioningError } from '../../src/dialects/database.js';
import type { DialectName, Target } from '../../src/dialects/dialect.js';
import { DatabaseError, dryRunExecutor, type DryRunResponder } from '../../src/dialects/executor.js';
import { renderStatement } from '../../src/dialects/render.js';
import type { Statement } from '../../src/dialects/statement.js';
import { dialects, targets, userFor } from './targets.js';

const password = 'Xy3-abc.def_GHI9';
const rendered = (s: Statement, name: DialectName) => renderStatement(s, name === 'oracle' ? 'plsql' : 'tsql', false);

function open(name: DialectName, responder?: DryRunResponder, target: Target = targets[name]) {
  const executor = dryRunExecutor(responder);
  const db = createDatabase({ dialect: dialects[name], executor, target, dropRetry: { attempts: 3, delayMs: 0 } });
  return { db, executor, username: userFor(name) };
}

describe('item 2: SQL Server catalog views for interoperability', () => {
  it('self-managed keeps the seed grants, each turning a documented refusal into a note row instead of an error', () => {
    const catalog = dialects.sqlserver.grantInterop({ username: 'dbx_interop' }, targets.sqlserver).filter((s) => s.label.includes('sys.'));
    expect(catalog).toHaveLength(9);
    for (const s of catalog) {
      expect(s.sql).toContain('IF ERROR_NUMBER() NOT IN (4613, 4629, 15151, 15247) THROW;');
      expect(s.sql).toMatch(/SELECT N'sys\.\w+ not granted \(the server refused it\): already readable by public; .*' AS note;/);
    }
    expect(dialects.sqlserver.interopNotes(targets.sqlserver)).toEqual([]);
  });

  it('Managed Instance accepts GRANT on system objects like SQL Server', () => {
    const t: Target = { ...targets.sqlserver, platform: 'azure-mi' };
    expect(dialects.sqlserver.grantInterop({ username: 'dbx_interop' }, t).filter((s) => s.label.includes('sys.'))).toHaveLength(9);
  });

  it('RDS (no CONTROL SERVER) does not try them, and the plan says the views are already readable by public', () => {
    const t: Target = { ...targets.sqlserver, platform: 'rds' };
    const statements = dialects.sqlserver.grantInterop({ username: 'dbx_interop' }, t);
    expect(statements.filter((s) => s.label.includes('sys.'))).toEqual([]);
    const plan = interopSetupPlan(dialects.sqlserver, { username: 'dbx_interop' }, t, false);
    expect(plan).toMatch(/Note: sys\.columns, .*sys\.types: not granted \(RDS gives no CONTROL SERVER.*\); already readable by public/);
    expect(plan).not.toContain(password);
  });

  it('on RDS and Azure SQL Database the notes of what is not granted come back too, for the audit', async () => {
    const { db } = open('sqlserver', undefined, { ...targets.sqlserver, platform: 'rds' });
    const created = await db.createUser({ username: 'dbx_interop', password, kind: 'interop' });
    expect(created.notes.join(' ')).toMatch(/sys\.columns, .* not granted \(RDS gives no CONTROL SERVER/);
    const azure = open('azuresql');
    expect((await azure.db.grantInteropSet({ username: 'dbx_interop' })).notes.join(' ')).toMatch(/Azure SQL Database has no GRANT on system objects/);
  });

  it('a refused catalog grant never rolls the setup back: the notes come back for the audit', async () => {
    const { db, executor, username } = open('sqlserver', (s) => (s.label === 'grant SELECT on sys.columns' ? [{ note: 'sys.columns not granted (the server refused it): already readable by public' }] : []));
    const created = await db.createUser({ username, password, kind: 'interop' });
    expect(created.notes).toEqual(['sys.columns not granted (the server refused it): already readable by public']);
    expect(executor.statements.some((s) => s.kind === 'drop user')).toBe(false);
    const again = await db.grantInteropSet({ username });
    expect(again.notes).toHaveLength(1);
  });
});

describe('item 5: Oracle read-only users cannot lock', () => {
  it.each([
    ['read', 'GRANT READ ANY TABLE ON SCHEMA "OSADMIN" TO "DBX_A"'],
    ['readwrite', 'GRANT SELECT ANY TABLE ON SCHEMA "OSADMIN" TO "DBX_A"'],
  ] as const)('on 23ai with schemaPrivileges, %s access is granted on the OutSystems schema only', (access, expected) => {
    const [first, second] = dialects.oracle.grantRead({ username: 'DBX_A' }, { ...targets.oracle, schemaPrivileges: true }, access);
    expect(rendered(first!, 'oracle')).toBe(expected);
    expect(rendered(second!, 'oracle')).toBe('GRANT SELECT ANY DICTIONARY TO "DBX_A"');
  });
});

describe('item 1: Oracle catalog views', () => {
  it('grants READ (PUBLIC holds it WITH GRANT OPTION), never SELECT, on the SYS ALL_ views', () => {
    const sqls = dialects.oracle.grantInterop({ username: 'DBX_INTEROP' }, targets.oracle).map((s) => rendered(s, 'oracle'));
    expect(sqls.filter((s) => s?.includes('"SYS"'))).toEqual(
      ['ALL_CONS_COLUMNS', 'ALL_CONSTRAINTS', 'ALL_TAB_COLS', 'ALL_TAB_COLUMNS', 'ALL_TYPES'].map((v) => `GRANT READ ON "SYS"."${v}" TO "DBX_INTEROP"`),
    );
  });
});

describe('item 4: orphan detection stays inside its environment', () => {
  it.each(['os', 'db', 'dbx', 'ab_c'])('refuses the prefix %j (at least 3 characters ending in _)', (prefix) => {
    for (const name of ['sqlserver', 'azuresql', 'oracle'] as const) {
      expect(() => dialects[name].listUsers({ prefix }, targets[name])).toThrow(/username prefix/);
    }
  });

  it("Oracle never lists Oracle's own accounts, the schema owner or the admin", () => {
    const statement = dialects.oracle.listUsers({ prefix: 'dbx_' }, targets.oracle);
    expect(statement.sql).toContain("oracle_maintained <> 'Y'");
    expect(statement.sql).toContain('username <> :owner');
    expect(statement.sql).toContain("username <> SYS_CONTEXT('USERENV', 'SESSION_USER')");
    expect(statement.params.find((p) => p.name === 'owner')?.value).toBe('OSADMIN');
  });

  it("SQL Server never lists dbo, guest, sys or the admin, and looks at this database's users only", () => {
    const sql = dialects.sqlserver.listUsers({ prefix: 'dbx_' }, targets.sqlserver).sql;
    expect(sql).toContain('dp.principal_id > 4 AND dp.name <> USER_NAME()');
    expect(sql).toContain('FROM sys.database_principals AS dp');
  });

  it('SQL Server refuses to create a login whose name another environment on the instance already uses, and says why', () => {
    const [login] = dialects.sqlserver.createUser({ username: 'dbx_interop', password, kind: 'interop' }, targets.sqlserver);
    expect(login?.sql.split('\n')[0]).toBe(
      "IF EXISTS (SELECT 1 FROM sys.server_principals WHERE name = @username) THROW 50000, N'A login of this name already exists on this instance, perhaps for another environment whose database shares it; nothing was created. Give this environment its own username (interop.username).', 1;",
    );
  });

  it("userExists on SQL Server asks this environment's database, not the whole instance", () => {
    const sql = dialects.sqlserver.userExists({ username: 'dbx_interop' }, targets.sqlserver).sql;
    expect(sql).not.toContain('server_principals');
    expect(sql).toContain('sys.database_principals');
  });
});

describe('item 6: Oracle profiles and unlocking on rotation', () => {
  const withProfiles: Target = { ...targets.oracle, profiles: { readonly: 'DBX_INTEGRATION', temporary: 'DBX_TEMPORARY' } };

  it.each([
    ['readonly', 'CREATE USER "DBX_A" IDENTIFIED BY "********" PROFILE "DBX_INTEGRATION"'],
    ['temporary', 'CREATE USER "DBX_A" IDENTIFIED BY "********" PROFILE "DBX_TEMPORARY"'],
    ['readwrite', 'CREATE USER "DBX_A" IDENTIFIED BY "********"'],
  ] as const)('a %s user gets its profile (the DEFAULT one when none is set)', (kind, expected) => {
    const [create] = dialects.oracle.createUser({ username: 'DBX_A', password, kind }, withProfiles);
    expect(renderStatement(create!, 'plsql', true)).toBe(expected);
  });

  it('refuses a profile name that is not a plain identifier', () => {
    expect(() => dialects.oracle.createUser({ username: 'DBX_A', password, kind: 'readonly' }, { ...targets.oracle, profiles: { readonly: 'X" UNLIMITED' } })).toThrow(/profile name/);
  });

  it.each([
    ['oracle', 'ALTER USER "DBX_MARIA_K3X9" IDENTIFIED BY "********" ACCOUNT UNLOCK'],
    ['sqlserver', "ALTER LOGIN [dbx_maria_k3x9] WITH PASSWORD = N'********' UNLOCK"],
    // A contained user has no lockout to lift (ALTER USER has no UNLOCK).
    ['azuresql', "ALTER USER [dbx_maria_k3x9] WITH PASSWORD = N'********'"],
  ] as const)('%s unlocks on rotation when asked', (name, expected) => {
    const statement = dialects[name].setPassword({ username: userFor(name), password, unlock: true }, targets[name]);
    expect(renderStatement(statement, name === 'oracle' ? 'plsql' : 'tsql', true)).toBe(expected);
    const plain = dialects[name].setPassword({ username: userFor(name), password }, targets[name]);
    expect(renderStatement(plain, name === 'oracle' ? 'plsql' : 'tsql', true)).not.toContain('UNLOCK');
  });

  it('Oracle unlocks only a lock from failed logins (LOCKED(TIMED)), never the ACCOUNT LOCK of a revocation racing the rotation', () => {
    const statement = dialects.oracle.setPassword({ username: 'DBX_A', password, unlock: true }, targets.oracle);
    expect(statement.sql).toContain("SELECT MAX(CASE WHEN account_status LIKE '%LOCKED(TIMED)' THEN ' ACCOUNT UNLOCK' END) INTO unlock_clause FROM dba_users WHERE username = :username;");
    expect(statement.sql).toContain("DBMS_ASSERT.ENQUOTE_NAME(:password, FALSE) || unlock_clause;");
  });

  it('rotatePassword passes unlock through and the profile follows the kind on create', async () => {
    const { db, executor } = open('oracle', undefined, withProfiles);
    await db.rotatePassword({ username: 'DBX_A', password, unlock: true });
    await db.createUser({ username: 'DBX_B', password, kind: 'readonly' });
    expect(executor.statements.map((s) => s.label)).toContain('set a new password and unlock the account');
    expect(executor.statements.map((s) => s.label)).toContain('create user with profile DBX_INTEGRATION');
  });
});

describe('item 8: write grants are never silently empty', () => {
  it('Oracle lists tables from DBA_TABLES, not ALL_TABLES (which hides what the admin cannot reach)', () => {
    const sql = dialects.oracle.missingWriteGrants({ username: 'DBX_A' }, targets.oracle).sql;
    expect(sql).toContain('FROM dba_tables t');
    expect(sql).not.toContain('all_tables');
    expect(dialects.oracle.countApplicationTables(targets.oracle).sql).toContain('FROM dba_tables');
  });

  it.each(['sqlserver', 'azuresql', 'oracle'] as const)('%s: a read & write user with no OSUSR_ table to write is an error, and is dropped again', async (name) => {
    const { db, executor, username } = open(name, (s) => (s.label === 'count the OSUSR_ tables of the schema' ? [{ total: 0 }] : []));
    const error = (await db.createUser({ username, password, kind: 'temporary' }).catch((e: unknown) => e)) as ProvisioningError;
    expect(error).toBeInstanceOf(ProvisioningError);
    expect(error.message).toContain(`The schema ${targets[name].schema} has no OSUSR_ tables`);
    expect(error.cleanup?.complete).toBe(true);
    expect(executor.statements.some((s) => s.kind === 'drop user')).toBe(true);
  });

  it('a schema with tables passes the check', async () => {
    const { db } = open('oracle', (s) => (s.label === 'count the OSUSR_ tables of the schema' ? [{ total: 3 }] : []));
    await expect(db.createUser({ username: 'DBX_A', password, kind: 'readwrite' })).resolves.toMatchObject({ grantedTables: [] });
  });
});

describe('item 9: managed platforms', () => {
  it('RDS for Oracle ends sessions with rdsadmin.rdsadmin_util.kill (no ALTER SYSTEM there)', () => {
    const kill = dialects.oracle.killSession({ id: 53, serial: 4711, instance: 1, username: 'DBX_A' }, { ...targets.oracle, platform: 'rds' });
    expect(kill.sql).toContain("rdsadmin.rdsadmin_util.kill(sid => :sid, serial => :serial, method => 'IMMEDIATE');");
    expect(kill.sql).not.toContain('ALTER SYSTEM');
    expect(kill.sql).toContain('IF SQLCODE NOT IN (-30, -31) THEN RAISE; END IF;');
    expect(kill.params).toEqual([
      { name: 'sid', value: 53, type: 'int' },
      { name: 'serial', value: 4711, type: 'int' },
    ]);
  });

  it('self-managed Oracle keeps ALTER SYSTEM KILL SESSION', () => {
    const kill = dialects.oracle.killSession({ id: 53, serial: 4711, instance: 2, username: 'DBX_A' }, targets.oracle);
    expect(rendered(kill, 'oracle')).toBe("ALTER SYSTEM KILL SESSION '53,4711,@2' IMMEDIATE");
  });
});

describe('item 10: small ones', () => {
  it('the Azure SQL Database plan says VIEW SERVER STATE does not exist there and what replaces it', () => {
    const statements = dialects.azuresql.grantRead({ username: 'dbx_a' }, targets.azuresql, 'read');
    expect(statements.map((s) => s.note).filter(Boolean)).toEqual([
      'Azure SQL Database has no VIEW SERVER STATE (no server-level permissions); VIEW DATABASE STATE replaces it for the DMVs of this database',
    ]);
  });

  it.each(['sqlserver', 'azuresql', 'oracle'] as const)('%s grantObject refuses INSERT, UPDATE, DELETE on anything but OSUSR_ objects', (name) => {
    for (const object of ['OSSYS_USER', 'OSSYS_VIEW_USER', 'MYTABLE']) {
      expect(() => dialects[name].grantObject({ username: userFor(name), object, privileges: ['SELECT', 'UPDATE'] }, targets[name])).toThrow(/only for application tables/);
      expect(() => dialects[name].grantObject({ username: userFor(name), object, privileges: ['SELECT'] }, targets[name])).not.toThrow();
    }
  });

  it('SQL Server finds sessions by original_login_name (login_name changes under EXECUTE AS)', () => {
    const sql = dialects.sqlserver.listSessions({ username: 'dbx_a' }, targets.sqlserver).sql;
    expect(sql).toContain('WHERE original_login_name = @username');
  });

  it.each(['sqlserver', 'oracle'] as const)('%s lists and ends sessions again before each retry of a drop', async (name) => {
    let drops = 0;
    const { db, executor, username } = open(name, (s) => {
      if (s.kind === 'query' && s.label.startsWith("list the user's live sessions")) return [{ id: 60 + drops, serial: 7, instance: 1 }];
      if (s.kind === 'drop user' && drops++ < 2) throw new DatabaseError('db_error', 'still connected', { serverCode: dialects[name].stillConnectedErrors[0]! });
      return [];
    });
    const report = await db.revokeUser({ username });
    expect(report.complete).toBe(true);
    const kinds = executor.statements.map((s) => (s.kind === 'query' ? 'list' : s.kind));
    expect(kinds.slice(0, 8)).toEqual(['block login', 'list', 'kill session', 'drop user', 'list', 'kill session', 'drop user', 'list']);
    expect(report.sessionsEnded).toBe(3);
  });
});

describe('plans', () => {
  it('the self-managed SQL Server interop plan says a refused catalog grant is recorded, not rolled back', () => {
    const plan = interopSetupPlan(dialects.sqlserver, { username: 'dbx_interop' }, targets.sqlserver, true);
    expect(plan).toContain('GRANT SELECT ON OBJECT::sys.[columns] TO [dbx_interop]\n   (GRANT on system objects needs CONTROL SERVER');
    expect(plan).not.toContain('Note:');
  });

  it('the Oracle interop plan grants READ on the ALL_ views', () => {
    const plan = interopSetupPlan(dialects.oracle, { username: 'DBX_INTEROP' }, targets.oracle, true);
    expect(plan).toContain('GRANT READ ON "SYS"."ALL_TAB_COLUMNS" TO "DBX_INTEROP"');
  });
});
