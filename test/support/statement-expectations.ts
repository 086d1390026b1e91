// What every statement kind parses as in the grammars-v4 grammars, and the five valid forms those grammars
// cannot parse, each with the check that replaces the parse. Shared by the grammar-coverage and injection tests.
import { expect } from 'vitest';
import type { DialectName } from '../../src/dialects/dialect.js';
import type { StatementKind } from '../../src/dialects/statement.js';
import { parsePlsql, parseTsql, type ParseResult } from './grammar.js';

export const EXPECTED_KIND: Record<'tsql' | 'plsql', Record<StatementKind, string>> = {
  tsql: {
    'create login': 'create_login_sql_server',
    'create user': 'create_user',
    grant: 'security_statement', // the grammar has no rule of its own for GRANT
    'block login': 'alter_login_azure_sql', // ANTLR picks the first of the LOGIN rules that match
    'kill session': 'kill_statement',
    'drop user': 'drop_user',
    'drop login': 'drop_login',
    'set password': 'alter_login_azure_sql',
    query: 'select_statement',
  },
  plsql: {
    'create login': 'create_user',
    'create user': 'create_user',
    grant: 'grant_statement',
    'block login': 'alter_user',
    'kill session': 'alter_system',
    'drop user': 'drop_user',
    'drop login': 'drop_user',
    'set password': 'alter_user',
    query: 'select_statement',
  },
};

/**
 * Statements the grammar cannot parse although the server accepts them. Each names the error the
 * grammar gives today (so the test notices when the grammar learns it) and a check that still
 * proves the statement well formed.
 */
export interface Gap {
  matches: (sql: string, name: DialectName) => boolean;
  why: string;
  error: RegExp;
  instead: (sql: string) => void;
}

export const GAPS: Gap[] = [
  {
    matches: (sql, name) => name !== 'oracle' && /^GRANT [A-Z]+(, [A-Z]+)+ ON /.test(sql),
    why: 'grammars-v4 T-SQL takes one permission per GRANT; SQL Server takes a list',
    error: /mismatched input ','/,
    instead: (sql) => {
      const [, list, rest] = /^GRANT (.+?) ON (.*)$/.exec(sql)!;
      for (const permission of list!.split(', ')) expectOne(parseTsql(`GRANT ${permission} ON ${rest}`), 'security_statement');
    },
  },
  {
    matches: (sql, name) => name === 'azuresql' && sql.startsWith('DENY CONNECT TO '),
    why: 'grammars-v4 T-SQL has no DENY statement',
    error: /extraneous input 'DENY'/,
    instead: (sql) => expectOne(parseTsql(sql.replace(/^DENY/, 'GRANT')), 'security_statement'),
  },
  {
    matches: (sql, name) => name === 'azuresql' && /^ALTER USER .* WITH PASSWORD = /.test(sql),
    why: 'grammars-v4 T-SQL requires OLD_PASSWORD, which an administrator may omit',
    error: /OLD_PASSWORD/,
    instead: (sql) => expectOne(parseTsql(`${sql} OLD_PASSWORD = N'unused-Old1'`), 'alter_user'),
  },
  {
    matches: (sql, name) => name === 'oracle' && / ANY TABLE ON SCHEMA /.test(sql),
    why: 'grammars-v4 PL/SQL predates 23ai schema privileges (GRANT … ANY TABLE ON SCHEMA)',
    error: /no viable alternative at input 'GRANT (READ|SELECT) ANY TABLE ON SCHEMA/,
    // The same statement without the schema clause is the system-privilege grant the grammar knows.
    instead: (sql) => {
      const [, privilege, schema, grantee] = /^GRANT ((?:READ|SELECT) ANY TABLE) ON SCHEMA ("[A-Z0-9_]+") TO ("[A-Z0-9_]+")$/.exec(sql) ?? [];
      expect(schema).toBeDefined();
      expectOne(parsePlsql(`GRANT ${privilege} TO ${grantee}`), 'grant_statement');
    },
  },
  {
    matches: (sql, name) => name === 'oracle' && sql.startsWith('ALTER SYSTEM KILL SESSION'),
    why: 'grammars-v4 PL/SQL has no ALTER SYSTEM rule',
    error: /no viable alternative at input 'ALTER SYSTEM'/,
    // Only bound integers are formatted into it.
    instead: (sql) => expect(sql).toMatch(/^ALTER SYSTEM KILL SESSION '\d+,\d+,@\d+' IMMEDIATE$/),
  },
];

export function expectOne(result: ParseResult, kind: string): void {
  expect(result.errors).toEqual([]);
  expect(result.statements).toEqual([kind]);
}
