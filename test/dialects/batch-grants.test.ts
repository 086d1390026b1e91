// grantAllMissingWrite, every dialect side by side: a new user's write grants in one round trip run
// exactly grantWrite's GRANT over exactly missingWriteGrants's selection, names quoted on the server.
import { describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/dialects/dialect.js';
import { ALL_MISSING_WRITE_LABEL } from '../../src/dialects/permissions.js';
import { enquoteName, quoteName, renderStatement } from '../../src/dialects/render.js';
import type { Statement } from '../../src/dialects/statement.js';
import { parsePlsql, parseTsql } from '../support/grammar.js';
import { dialects, targets, userFor } from './targets.js';

const names = ['sqlserver', 'azuresql', 'oracle'] as const;

function batch(name: DialectName): Statement {
  const build = dialects[name].grantAllMissingWrite;
  if (!build) throw new Error(`${name} has no grantAllMissingWrite`);
  return build({ username: userFor(name) }, targets[name]);
}
const grantWrite = (name: DialectName, table = 'OSUSR_ABC_ORDER') => dialects[name].grantWrite({ username: userFor(name), table }, targets[name]);
const missing = (name: DialectName) => dialects[name].missingWriteGrants({ username: userFor(name) }, targets[name]);

/** The expression grantWrite builds its GRANT from, as sent (SQL Server: the DECLARE; Oracle: the EXECUTE IMMEDIATE). */
function grantExpression(name: DialectName): string {
  const sql = grantWrite(name).sql;
  const [, expression] = (name === 'oracle' ? /EXECUTE IMMEDIATE (.*);/ : /DECLARE @sql nvarchar\(max\) = (.*);/).exec(sql) ?? [];
  expect(expression).toBeDefined();
  return expression!;
}

describe.each(names)('%s', (name) => {
  it('is one statement named the same on every dialect, binding the parameters of missingWriteGrants', () => {
    const statement = batch(name);
    expect(statement.label).toBe(ALL_MISSING_WRITE_LABEL);
    expect(statement.kind).toBe('grant');
    expect(statement.params).toEqual(missing(name).params);
    const marker = name === 'oracle' ? ':' : '@';
    for (const param of statement.params) {
      expect(statement.sql).toContain(`${marker}${param.name}`);
      expect(statement.sql).not.toContain(`'${param.value}'`);
    }
  });

  it("selects exactly missingWriteGrants's tables", () => {
    const selection = missing(name).sql.replace(/\nORDER BY .*$/, '');
    const indented = name === 'oracle' ? selection.split('\n').map((line) => `    ${line}`).join('\n') : selection;
    expect(batch(name).sql).toContain(indented);
  });

  it("runs grantWrite's GRANT, with the table a server-side variable quoted by the server", () => {
    const local = name === 'oracle' ? grantExpression(name).replace(':tablename', 'missing.table_name') : grantExpression(name);
    expect(batch(name).sql).toContain(name === 'oracle' ? `EXECUTE IMMEDIATE ${local};` : `SET @sql = ${local};`);
    // No name is ever written into the batch by us: only the fixed text of the GRANT.
    expect(batch(name).sql).not.toContain('OSUSR_ABC');
  });

  it('returns the tables granted as rows { table_name }', () => {
    const statement = batch(name);
    if (name === 'oracle') {
      expect(statement.cursor).toBe('tables');
      expect(statement.sql).toContain('OPEN :tables FOR SELECT COLUMN_VALUE AS table_name FROM TABLE(granted);');
    } else {
      expect(statement.sql.split('\n').at(-1)).toBe('SELECT table_name FROM @missing ORDER BY table_name;');
      expect(statement.sql).toContain('CURSOR LOCAL FAST_FORWARD');
      expect(statement.sql).toContain("IF @sql IS NULL THROW 50000, N'A name is longer than 128 characters; the write grants stopped there.', 1;");
    }
  });

  it('the batch as sent parses with the real grammar', () => {
    const statement = batch(name);
    const result = (name === 'oracle' ? parsePlsql : parseTsql)(statement.sql);
    expect(result.errors).toEqual([]);
  });
});

describe('what the server assembles for a table the catalog returns', () => {
  it.each([
    ['sqlserver', 'OSUSR_A]B', 'GRANT INSERT, UPDATE, DELETE ON OBJECT::[dbo].[OSUSR_A]]B] TO [dbx_maria_k3x9]'],
    ['azuresql', "OSUSR_A'; DROP LOGIN sa--", "GRANT INSERT, UPDATE, DELETE ON OBJECT::[dbo].[OSUSR_A'; DROP LOGIN sa--] TO [dbx_maria_k3x9]"],
    ['oracle', 'OSUSR_a b', 'GRANT INSERT, UPDATE, DELETE ON "OSADMIN"."OSUSR_a b" TO "DBX_MARIA_K3X9"'],
  ] as const)('%s: %s stays one quoted name', (name, table, expected) => {
    // The batch runs grantWrite's parts (above); grantWrite's check is bypassed, as a catalog name never meets it.
    const write = grantWrite(name);
    const param = name === 'oracle' ? 'tablename' : 'table';
    const bypassed = { ...write, params: write.params.map((p) => (p.name === param ? { ...p, value: table } : p)) };
    expect(renderStatement(bypassed, name === 'oracle' ? 'plsql' : 'tsql', false)).toBe(expected);
    expect(name === 'oracle' ? enquoteName(table) : quoteName(table)).not.toBeNull();
  });
});
