// Every statement every builder can emit, parsed by a real grammar (grammars-v4 T-SQL and PL/SQL):
// the batch as sent, and the statement the server assembles, as exactly one statement of the expected kind.
import { describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/dialects/dialect.js';
import { renderStatement } from '../../src/dialects/render.js';
import type { Statement, StatementKind } from '../../src/dialects/statement.js';
import { parsePlsql, parseTsql, type ParseResult } from '../support/grammar.js';
import { builderNames, catalog, type Emitted } from './catalog.js';
import { dialects } from './targets.js';

const names = ['sqlserver', 'azuresql', 'oracle'] as const;

const EXPECTED_KIND: Record<'tsql' | 'plsql', Record<StatementKind, string>> = {
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
interface Gap {
  matches: (sql: string, name: DialectName) => boolean;
  why: string;
  error: RegExp;
  instead: (sql: string) => void;
}

const GAPS: Gap[] = [
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
    matches: (sql, name) => name === 'oracle' && sql.startsWith('ALTER SYSTEM KILL SESSION'),
    why: 'grammars-v4 PL/SQL has no ALTER SYSTEM rule',
    error: /no viable alternative at input 'ALTER SYSTEM'/,
    // Only bound integers are formatted into it.
    instead: (sql) => expect(sql).toMatch(/^ALTER SYSTEM KILL SESSION '\d+,\d+,@\d+' IMMEDIATE$/),
  },
];

function expectOne(result: ParseResult, kind: string): void {
  expect(result.errors).toEqual([]);
  expect(result.statements).toEqual([kind]);
}

function parser(name: DialectName) {
  return name === 'oracle' ? parsePlsql : parseTsql;
}

/** The statements the batch as sent consists of. */
function expectedOuter(statement: Statement, name: DialectName): string[] {
  if (name === 'oracle') return statement.sql.startsWith('BEGIN') ? ['anonymous_block'] : ['select_statement'];
  if (!statement.dynamic) return ['select_statement'];
  const run = statement.sql.includes('BEGIN TRY') ? 'try_catch_statement' : 'execute_statement';
  return [...(statement.sql.startsWith('IF ') ? ['if_statement'] : []), 'declare_statement', 'if_statement', run];
}

const gapsSeen = new Set<string>();

describe.each(names)('%s', (name) => {
  const family = name === 'oracle' ? 'plsql' : 'tsql';
  const emitted = catalog(name);

  it('the catalog covers every builder of the dialect', () => {
    expect([...new Set(emitted.map((e) => e.builder))].sort()).toEqual(builderNames(dialects[name]));
  });

  it.each(emitted.map((e): [string, Emitted] => [e.statement.label, e]))('%s: the batch as sent parses', (_label, { statement }) => {
    const result = parser(name)(statement.sql);
    expect(result.errors).toEqual([]);
    expect(result.statements).toEqual(expectedOuter(statement, name));
  });

  it.each(emitted.filter((e) => e.statement.dynamic).map((e): [string, Emitted] => [e.statement.label, e]))(
    '%s: the statement the server assembles is exactly one of the expected kind',
    (_label, { statement }) => {
      const inner = renderStatement(statement, family, false);
      expect(inner).not.toBeNull();
      const gap = GAPS.find((g) => g.matches(inner!, name));
      const result = parser(name)(inner!);
      if (gap) {
        gapsSeen.add(gap.why);
        expect(result.errors.join('\n')).toMatch(gap.error);
        gap.instead(inner!);
        return;
      }
      expectOne(result, statement.kind === 'query' ? 'select_statement' : EXPECTED_KIND[family][statement.kind]);
    },
  );
});

it('every documented grammar gap is still real (none is left over)', () => {
  expect([...gapsSeen].sort()).toEqual(GAPS.map((g) => g.why).sort());
});
