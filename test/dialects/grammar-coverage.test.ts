// Every statement every builder can emit, parsed by a real grammar (grammars-v4 T-SQL and PL/SQL):
// the batch as sent, and the statement the server assembles, as exactly one statement of the expected kind.
import { describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/dialects/dialect.js';
import { ALL_MISSING_WRITE_LABEL } from '../../src/dialects/permissions.js';
import { renderStatement } from '../../src/dialects/render.js';
import type { Statement } from '../../src/dialects/statement.js';
import { parsePlsql, parseTsql } from '../support/grammar.js';
import { EXPECTED_KIND, GAPS, expectOne } from '../support/statement-expectations.js';
import { builderNames, catalog, type Emitted } from './catalog.js';
import { dialects } from './targets.js';

const names = ['sqlserver', 'azuresql', 'oracle'] as const;

function parser(name: DialectName) {
  return name === 'oracle' ? parsePlsql : parseTsql;
}

/** The statements the batch as sent consists of. */
function expectedOuter(statement: Statement, name: DialectName): string[] {
  if (name === 'oracle') return /^(BEGIN|DECLARE)\b/.test(statement.sql) ? ['anonymous_block'] : ['select_statement'];
  if (statement.label === ALL_MISSING_WRITE_LABEL) {
    // The write grants in one batch: the missing tables kept, a cursor over them, the granted ones returned.
    return ['declare_statement', 'insert_statement', 'declare_statement', ...Array<string>(3).fill('cursor_statement'), 'while_statement', 'cursor_statement', 'cursor_statement', 'select_statement'];
  }
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
      // ANTLR picks the first LOGIN rule that matches; only the SQL Server one knows UNLOCK.
      const unlock = family === 'tsql' && statement.kind === 'set password' && inner!.endsWith(' UNLOCK');
      expectOne(result, statement.kind === 'query' ? 'select_statement' : unlock ? 'alter_login_sql_server' : EXPECTED_KIND[family][statement.kind]);
    },
  );
});

it('every documented grammar gap is still real (none is left over)', () => {
  expect([...gapsSeen].sort()).toEqual(GAPS.map((g) => g.why).sort());
});
