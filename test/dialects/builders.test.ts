// Every builder, every dialect: the statement the server runs, side by side (after Kysely's testSql).
import { describe, expect, it } from 'vitest';
import type { Dialect, DialectName } from '../../src/dialects/dialect.js';
import { renderStatement } from '../../src/dialects/render.js';
import type { Statement } from '../../src/dialects/statement.js';
import { dialects, targets, userFor } from './targets.js';

type Build = (d: Dialect, name: DialectName) => Statement[];

/** What the server executes: the assembled dynamic statement, or the query text as sent. */
function executed(statements: Statement[], name: DialectName): string[] {
  return statements.map((s) => renderStatement(s, name === 'oracle' ? 'plsql' : 'tsql', false) ?? '<null>');
}

const u = (name: DialectName) => ({ username: userFor(name) });
const pw = 'Xy3-abc.def_GHI9';

const cases: Array<{ op: string; build: Build; sqlserver: string[]; azuresql: string[]; oracle: string[] }> = [
  {
    op: 'createUser',
    build: (d, n) => d.createUser({ ...u(n), password: pw }, targets[n]),
    sqlserver: [
      `CREATE LOGIN [dbx_maria_k3x9] WITH PASSWORD = N'${pw}', DEFAULT_DATABASE = [outsystems], CHECK_EXPIRATION = OFF, CHECK_POLICY = ON`,
      'CREATE USER [dbx_maria_k3x9] FOR LOGIN [dbx_maria_k3x9] WITH DEFAULT_SCHEMA = [dbo]',
    ],
    azuresql: [`CREATE USER [dbx_maria_k3x9] WITH PASSWORD = N'${pw}', DEFAULT_SCHEMA = [dbo]`],
    oracle: [`CREATE USER "DBX_MARIA_K3X9" IDENTIFIED BY "${pw}"`, 'GRANT CREATE SESSION TO "DBX_MARIA_K3X9"'],
  },
  {
    op: 'grantRead (read-only)',
    build: (d, n) => d.grantRead(u(n), targets[n], 'read'),
    sqlserver: [
      'GRANT SELECT TO [dbx_maria_k3x9]',
      'GRANT SHOWPLAN TO [dbx_maria_k3x9]',
      'GRANT VIEW DATABASE STATE TO [dbx_maria_k3x9]',
      'GRANT VIEW SERVER STATE TO [dbx_maria_k3x9]',
    ],
    azuresql: ['GRANT SELECT TO [dbx_maria_k3x9]', 'GRANT SHOWPLAN TO [dbx_maria_k3x9]', 'GRANT VIEW DATABASE STATE TO [dbx_maria_k3x9]'],
    // READ, not SELECT: a read-only user must not LOCK TABLE or SELECT … FOR UPDATE (issue 15, item 5).
    oracle: ['GRANT READ ANY TABLE TO "DBX_MARIA_K3X9"', 'GRANT SELECT ANY DICTIONARY TO "DBX_MARIA_K3X9"'],
  },
  {
    op: 'grantRead (read & write)',
    build: (d, n) => d.grantRead(u(n), targets[n], 'readwrite'),
    sqlserver: [
      'GRANT SELECT TO [dbx_maria_k3x9]',
      'GRANT SHOWPLAN TO [dbx_maria_k3x9]',
      'GRANT VIEW DATABASE STATE TO [dbx_maria_k3x9]',
      'GRANT VIEW SERVER STATE TO [dbx_maria_k3x9]',
    ],
    azuresql: ['GRANT SELECT TO [dbx_maria_k3x9]', 'GRANT SHOWPLAN TO [dbx_maria_k3x9]', 'GRANT VIEW DATABASE STATE TO [dbx_maria_k3x9]'],
    oracle: ['GRANT SELECT ANY TABLE TO "DBX_MARIA_K3X9"', 'GRANT SELECT ANY DICTIONARY TO "DBX_MARIA_K3X9"'],
  },
  {
    op: 'grantWrite',
    build: (d, n) => [d.grantWrite({ ...u(n), table: 'OSUSR_ABC_ORDER' }, targets[n])],
    sqlserver: ['GRANT INSERT, UPDATE, DELETE ON OBJECT::[dbo].[OSUSR_ABC_ORDER] TO [dbx_maria_k3x9]'],
    azuresql: ['GRANT INSERT, UPDATE, DELETE ON OBJECT::[dbo].[OSUSR_ABC_ORDER] TO [dbx_maria_k3x9]'],
    oracle: ['GRANT INSERT, UPDATE, DELETE ON "OSADMIN"."OSUSR_ABC_ORDER" TO "DBX_MARIA_K3X9"'],
  },
  {
    op: 'grantObject',
    build: (d, n) => [d.grantObject({ ...u(n), object: 'OSUSR_VIEW_ORDER', privileges: ['UPDATE', 'SELECT', 'SELECT'] }, targets[n])],
    sqlserver: ['GRANT SELECT, UPDATE ON OBJECT::[dbo].[OSUSR_VIEW_ORDER] TO [dbx_maria_k3x9]'],
    azuresql: ['GRANT SELECT, UPDATE ON OBJECT::[dbo].[OSUSR_VIEW_ORDER] TO [dbx_maria_k3x9]'],
    oracle: ['GRANT SELECT, UPDATE ON "OSADMIN"."OSUSR_VIEW_ORDER" TO "DBX_MARIA_K3X9"'],
  },
  {
    op: 'blockLogin',
    build: (d, n) => d.blockLogin(u(n), targets[n]),
    sqlserver: ['ALTER LOGIN [dbx_maria_k3x9] DISABLE'],
    azuresql: ['DENY CONNECT TO [dbx_maria_k3x9]'],
    oracle: ['ALTER USER "DBX_MARIA_K3X9" ACCOUNT LOCK'],
  },
  {
    op: 'killSession',
    build: (d, n) => [d.killSession({ id: 53, serial: 4711, instance: 2, username: userFor(n) }, targets[n])],
    sqlserver: ['KILL 53'],
    azuresql: ['KILL 53'],
    oracle: ["ALTER SYSTEM KILL SESSION '53,4711,@2' IMMEDIATE"],
  },
  {
    op: 'dropUser',
    build: (d, n) => d.dropUser(u(n), targets[n]),
    sqlserver: ['DROP USER [dbx_maria_k3x9]', 'DROP LOGIN [dbx_maria_k3x9]'],
    azuresql: ['DROP USER [dbx_maria_k3x9]'],
    oracle: ['DROP USER "DBX_MARIA_K3X9" CASCADE'],
  },
  {
    op: 'setPassword',
    build: (d, n) => [d.setPassword({ ...u(n), password: pw }, targets[n])],
    sqlserver: [`ALTER LOGIN [dbx_maria_k3x9] WITH PASSWORD = N'${pw}'`],
    azuresql: [`ALTER USER [dbx_maria_k3x9] WITH PASSWORD = N'${pw}'`],
    oracle: [`ALTER USER "DBX_MARIA_K3X9" IDENTIFIED BY "${pw}"`],
  },
  {
    op: 'findEntityTables',
    build: (d, n) => [d.findEntityTables({ entity: 'Order' }, targets[n])],
    sqlserver: [
      'SELECT e.NAME AS entity_name, e.PHYSICAL_TABLE_NAME AS table_name, m.NAME AS module_name FROM [dbo].OSSYS_ENTITY AS e JOIN [dbo].OSSYS_ESPACE AS m ON m.ID = e.ESPACE_ID WHERE e.NAME = @entity AND e.IS_ACTIVE = 1 ORDER BY m.NAME',
    ],
    azuresql: [
      'SELECT e.NAME AS entity_name, e.PHYSICAL_TABLE_NAME AS table_name, m.NAME AS module_name FROM [dbo].OSSYS_ENTITY AS e JOIN [dbo].OSSYS_ESPACE AS m ON m.ID = e.ESPACE_ID WHERE e.NAME = @entity AND e.IS_ACTIVE = 1 ORDER BY m.NAME',
    ],
    oracle: [
      'SELECT e.NAME AS entity_name, e.PHYSICAL_TABLE_NAME AS table_name, m.NAME AS module_name FROM "OSADMIN".OSSYS_ENTITY e JOIN "OSADMIN".OSSYS_ESPACE m ON m.ID = e.ESPACE_ID WHERE UPPER(e.NAME) = UPPER(:1) AND e.IS_ACTIVE = 1 ORDER BY m.NAME',
    ],
  },
];

describe.each(cases)('$op', ({ build, ...expected }) => {
  it.each(['sqlserver', 'azuresql', 'oracle'] as const)('%s', (name) => {
    expect(executed(build(dialects[name], name), name)).toEqual(expected[name]);
  });
});

describe('grantInterop', () => {
  it('azuresql grants the eight metamodel tables only: no GRANT on system objects exists there, and the plan says why', () => {
    const sqls = executed(dialects.azuresql.grantInterop(u('azuresql'), targets.azuresql), 'azuresql');
    expect(sqls).toHaveLength(8);
    expect(sqls.every((s) => /^GRANT SELECT ON OBJECT::\[dbo\]\.\[OSSYS_/.test(s))).toBe(true);
    expect(dialects.azuresql.interopNotes(targets.azuresql).join(' ')).toMatch(/sys\.columns.*not granted.*already readable by public/);
  });

  it.each(['sqlserver', 'oracle'] as const)('%s grants read on the eight metamodel tables and the catalog views of the seed', (name) => {
    const sqls = executed(dialects[name].grantInterop(u(name), targets[name]), name);
    const q = (s: string) => (name === 'oracle' ? `"${s}"` : `[${s}]`);
    const schema = name === 'oracle' ? '"OSADMIN"' : '[dbo]';
    const grantee = q(userFor(name));
    for (const table of ['OSSYS_APPLICATION', 'OSSYS_APP_DEFINITION_MODULE', 'OSSYS_ENTITY', 'OSSYS_ENTITY_ATTR', 'OSSYS_ENTITY_EXTRA_METADATA', 'OSSYS_ENTITY_VIEW', 'OSSYS_ESPACE', 'OSSYS_MODULE']) {
      expect(sqls).toContain(`GRANT SELECT ON ${name === 'oracle' ? '' : 'OBJECT::'}${schema}.${q(table)} TO ${grantee}`);
    }
    const catalog =
      name === 'oracle'
        ? // READ, which PUBLIC holds WITH GRANT OPTION; SELECT on a SYS view is ORA-01031 for a non-SYS admin.
          ['ALL_CONS_COLUMNS', 'ALL_CONSTRAINTS', 'ALL_TAB_COLS', 'ALL_TAB_COLUMNS', 'ALL_TYPES'].map((v) => `GRANT READ ON "SYS"."${v}" TO ${grantee}`)
        : ['columns', 'foreign_keys', 'foreign_key_columns', 'index_columns', 'key_constraints', 'objects', 'schemas', 'tables', 'types'].map(
            (v) => `GRANT SELECT ON OBJECT::sys.[${v}] TO ${grantee}`,
          );
    for (const c of catalog) expect(sqls).toContain(c);
    // Nothing beyond reading, and on Oracle the right to connect.
    const extra = name === 'oracle' ? 1 : 0;
    expect(sqls).toHaveLength(8 + catalog.length + extra);
    expect(sqls.filter((s) => !s.startsWith('GRANT SELECT ON ') && !s.startsWith('GRANT READ ON ') && s !== `GRANT CREATE SESSION TO ${grantee}`)).toEqual([]);
  });
});

describe('queries bind every value and return the documented columns', () => {
  const queries: Array<[string, (d: Dialect, n: DialectName) => Statement, string[]]> = [
    ['missingWriteGrants', (d, n) => d.missingWriteGrants(u(n), targets[n]), ['table_name']],
    ['listSessions', (d, n) => d.listSessions(u(n), targets[n]), ['id']],
    ['userExists', (d, n) => d.userExists(u(n), targets[n]), ['present']],
    ['listUsers', (d, n) => d.listUsers({ prefix: 'dbx_' }, targets[n]), ['name']],
    ['listExposedViews', (d, n) => d.listExposedViews(u(n), targets[n]), ['view_name', 'can_select', 'can_insert', 'can_update', 'can_delete']],
  ];
  describe.each(queries)('%s', (_op, build, columns) => {
    it.each(['sqlserver', 'azuresql', 'oracle'] as const)('%s', (name) => {
      const statement = build(dialects[name], name);
      expect(statement.kind).toBe('query');
      for (const column of columns) expect(statement.sql).toMatch(new RegExp(`(AS|SELECT) ${column}\\b`));
      // Every bound value appears only as a placeholder, never inline.
      const marker = name === 'oracle' ? ':' : '@';
      for (const param of statement.params) {
        expect(statement.sql).toContain(`${marker}${param.name}`);
        expect(statement.sql).not.toContain(`'${param.value}'`);
      }
    });
  });

  it.each([
    ['sqlserver', 'dbx\\_%'],
    ['oracle', 'DBX\\_%'],
  ] as const)('listUsers on %s escapes _ in the LIKE prefix', (name, pattern) => {
    const statement = dialects[name].listUsers({ prefix: 'dbx_' }, targets[name]);
    expect(statement.params.find((p) => p.name === 'pattern')).toEqual({ name: 'pattern', value: pattern, type: 'nvarchar' });
    expect(statement.sql).toMatch(/ESCAPE N?'\\'/);
  });

  it.each(['sqlserver', 'azuresql', 'oracle'] as const)('missingWriteGrants on %s looks only at OSUSR_ tables of the schema', (name) => {
    const statement = dialects[name].missingWriteGrants(u(name), targets[name]);
    expect(statement.params.find((p) => p.name === 'pattern')?.value).toBe('OSUSR\\_%');
    expect(statement.params.find((p) => p.name === (name === 'oracle' ? 'owner' : 'schema'))?.value).toBe(targets[name].schema);
    expect(statement.sql).not.toMatch(/OSSYS/i);
  });

  it("SQL Server lists this database's users, with their logins found by sid; Azure SQL only contained users", () => {
    const sql = dialects.sqlserver.listUsers({ prefix: 'dbx_' }, targets.sqlserver).sql;
    expect(sql).toMatch(/^SELECT dp\.name AS name\nFROM sys\.database_principals AS dp\nLEFT JOIN sys\.server_principals AS sp ON sp\.sid = dp\.sid/);
    expect(sql).not.toMatch(/UNION|FROM sys\.server_principals/);
    expect(dialects.azuresql.listUsers({ prefix: 'dbx_' }, targets.azuresql).sql).not.toContain('sys.server_principals');
  });
});

describe('statement shape', () => {
  it('a SQL Server batch quotes server-side, refuses a NULL statement and runs it with sp_executesql', () => {
    const [login] = dialects.sqlserver.createUser({ username: 'dbx_maria_k3x9', password: pw }, targets.sqlserver);
    expect(login?.sql.split('\n').slice(1).join('\n')).toBe(
      [
        "DECLARE @sql nvarchar(max) = N'CREATE LOGIN ' + QUOTENAME(@username) + N' WITH PASSWORD = N' + QUOTENAME(@password, N'''') + N', DEFAULT_DATABASE = ' + QUOTENAME(@database) + N', CHECK_EXPIRATION = OFF, CHECK_POLICY = ON';",
        "IF @sql IS NULL THROW 50000, N'A name or password is longer than 128 characters; nothing was run.', 1;",
        'EXEC sys.sp_executesql @sql;',
      ].join('\n'),
    );
    expect(login?.params).toEqual([
      { name: 'username', value: 'dbx_maria_k3x9', type: 'nvarchar' },
      { name: 'password', value: pw, type: 'nvarchar', secret: true },
      { name: 'database', value: 'outsystems', type: 'nvarchar' },
    ]);
  });

  it('VIEW SERVER STATE is granted from master, where server permissions can be granted', () => {
    const last = dialects.sqlserver.grantRead({ username: 'dbx_maria_k3x9' }, targets.sqlserver, 'read').at(-1);
    expect(last?.sql).toContain('EXEC master.sys.sp_executesql @sql;');
  });

  it('SQL Server kills a session only while it still belongs to the user, and tolerates 6106 (already ended)', () => {
    const kill = dialects.sqlserver.killSession({ id: 53, username: 'dbx_maria_k3x9' }, targets.sqlserver);
    expect(kill.sql.split('\n')[0]).toBe(
      'IF NOT EXISTS (SELECT 1 FROM sys.dm_exec_sessions WHERE session_id = @session_id AND original_login_name = @username) RETURN;',
    );
    expect(kill.sql).toContain('IF ERROR_NUMBER() NOT IN (6106) THROW;');
    expect(kill.params).toEqual([
      { name: 'session_id', value: 53, type: 'int' },
      { name: 'username', value: 'dbx_maria_k3x9', type: 'nvarchar' },
    ]);
  });

  it('Oracle lists only sessions not already marked KILLED', () => {
    expect(dialects.oracle.listSessions({ username: 'DBX_A' }, targets.oracle).sql).toContain("status <> 'KILLED'");
  });

  it.each([
    ['dropUser', 'IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = @username) RETURN;'],
    ['blockLogin', 'IF NOT EXISTS (SELECT 1 FROM sys.server_principals WHERE name = @username) RETURN;'],
    ['dropLogin', 'IF NOT EXISTS (SELECT 1 FROM sys.server_principals WHERE name = @username) RETURN;'],
  ])('SQL Server %s does nothing when the principal is already gone', (op, guard) => {
    const u = { username: 'dbx_maria_k3x9' };
    const statements =
      op === 'blockLogin'
        ? dialects.sqlserver.blockLogin(u, targets.sqlserver)
        : op === 'dropUser'
          ? dialects.sqlserver.dropUser(u, targets.sqlserver)
          : dialects.sqlserver.dropUser(u, targets.sqlserver).slice(1);
    expect(statements[0]?.sql.split('\n')[0]).toBe(guard);
  });

  it('an Oracle block quotes with DBMS_ASSERT.ENQUOTE_NAME and tolerates ORA-01918 on drop', () => {
    const [drop] = dialects.oracle.dropUser({ username: 'DBX_MARIA_K3X9' }, targets.oracle);
    expect(drop?.sql).toBe(
      [
        'BEGIN',
        "  EXECUTE IMMEDIATE 'DROP USER ' || DBMS_ASSERT.ENQUOTE_NAME(:username, FALSE) || ' CASCADE';",
        'EXCEPTION',
        '  WHEN OTHERS THEN',
        '    IF SQLCODE NOT IN (-1918) THEN RAISE; END IF;',
        'END;',
      ].join('\n'),
    );
  });

  it('the Oracle session kill binds numbers and tolerates a session that ended (ORA-00030)', () => {
    const kill = dialects.oracle.killSession({ id: 53, serial: 4711, instance: 2, username: 'DBX_MARIA_K3X9' }, targets.oracle);
    expect(kill.params.map((p) => [p.name, p.value, p.type])).toEqual([
      ['sid', 53, 'int'],
      ['serial', 4711, 'int'],
      ['instance', 2, 'int'],
    ]);
    expect(kill.sql).toContain('TO_CHAR(:sid)');
    expect(kill.sql).toContain('IF SQLCODE NOT IN (-30, -31)');
  });

  it('the Oracle entity lookup returns its rows through a REF CURSOR, binding the entity name', () => {
    const statement = dialects.oracle.findEntityTables({ entity: 'Order' }, targets.oracle);
    expect(statement.cursor).toBe('matches');
    expect(statement.sql).toContain('OPEN :matches FOR');
    expect(statement.sql).toContain('USING :entity');
    expect(statement.params.find((p) => p.name === 'entity')?.value).toBe('Order');
  });

  it.each(['sqlserver', 'azuresql', 'oracle'] as const)('%s refuses write grants on anything but OSUSR_ tables', (name) => {
    for (const table of ['OSSYS_USER', 'OSLTM_ENV', 'MYTABLE']) {
      expect(() => dialects[name].grantWrite({ username: userFor(name), table }, targets[name])).toThrow(/only for application tables/);
    }
  });

  it.each(['sqlserver', 'azuresql', 'oracle'] as const)('%s never grants backup rights or anything beyond the documented sets', (name) => {
    const d = dialects[name];
    const t = targets[name];
    const all = [
      ...d.createUser({ username: userFor(name), password: pw }, t),
      ...d.grantRead({ username: userFor(name) }, t, 'read'),
      ...d.grantRead({ username: userFor(name) }, t, 'readwrite'),
      ...d.grantInterop({ username: userFor(name) }, t),
    ];
    const text = executed(all, name).join('\n');
    expect(text).not.toMatch(/BACKUP|db_owner|sysadmin|CONTROL|ALTER ANY|DBA\b|WITH GRANT OPTION/i);
  });

  it.each(['sqlserver', 'azuresql', 'oracle'] as const)('%s builds no statement with a password that breaks the rules', (name) => {
    const d = dialects[name];
    const username = userFor(name);
    for (const password of ["Harbour'Lights7", 'short1A-', `x${username}Z9-`]) {
      expect(() => d.createUser({ username, password }, targets[name])).toThrow(/That password cannot be used/);
      expect(() => d.setPassword({ username, password }, targets[name])).toThrow(/That password cannot be used/);
    }
  });

  it('Oracle grantObject refuses privileges outside SELECT, INSERT, UPDATE, DELETE', () => {
    const bad = ['SELECT', 'DROP'] as unknown as ['SELECT'];
    expect(() => dialects.oracle.grantObject({ username: 'DBX_A', object: 'OSUSR_VIEW_X', privileges: bad }, targets.oracle)).toThrow(/privileges must be/);
  });
});
