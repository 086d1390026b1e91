// Hostile names and passwords: each is refused with a clear reason (first wall), and, were the check
// bypassed, still neutralised by server-side quoting (second wall): the statement the server would
// assemble parses as exactly one statement of the expected kind, or is refused by the server's quoting.
import { describe, expect, it } from 'vitest';
import type { DialectName } from '../../src/dialects/dialect.js';
import { passwordProblems } from '../../src/dialects/passwords.js';
import { renderStatement } from '../../src/dialects/render.js';
import type { Statement } from '../../src/dialects/statement.js';
import { AppError } from '../../src/errors.js';
import { parsePlsql, parseTsql } from '../support/grammar.js';
import { PASSWORD } from './catalog.js';
import { dialects, targets, userFor } from './targets.js';

const HOSTILE_NAMES: Array<[string, string]> = [
  ['single quote', "a'b"],
  ['double quote', 'a"b'],
  ['closing bracket', 'a]b'],
  ['doubled closing bracket', 'a]]b'],
  ['bracketed', '[a]'],
  ['semicolon and statement', 'a;DROP LOGIN sa'],
  ['line comment', 'a--'],
  ['block comment', 'a/*x*/'],
  ['space', 'a b'],
  ['tab', 'a\tb'],
  ['newline and GO', 'a\nGO\nDROP LOGIN sa'],
  ['carriage return', 'a\r\nb'],
  ['NUL', 'a\u0000b'],
  ['empty', ''],
  ['129 characters', 'A'.repeat(129)],
  ['10,000 characters', 'A'.repeat(10_000)],
  ['Cyrillic look-alike', '\u0430dmin'],
  ['fullwidth look-alike', 'ＡＢＣ'],
  ['Greek look-alike', '\u039frder'],
  ['zero-width space', 'ab\u200bc'],
  ['right-to-left override', 'a\u202eb'],
  ['combining accent', 'e\u0301'],
  ['dotless i', '\u0131d'],
  ['emoji', 'a😀'],
  ['LIKE wildcard %', 'a%'],
  ['leading underscore', '_a'],
  ['backslash', 'a\\b'],
  ['at sign', '@a'],
  ['dollar', 'a$b'],
  ['hash (temp table)', '#temp'],
  ['schema-qualified', 'dbo.sysadmin'],
  ['parenthesis', 'a)'],
  ['tautology', "' OR '1'='1"],
  ['Bobby Tables', "x'); DROP TABLE OSSYS_USER;--"],
  ['bracket escape and xp_cmdshell', "]; EXEC xp_cmdshell 'dir';--"],
  ['quote escape and drop', '" ; DROP USER SYS CASCADE; --'],
  ['leading digit', '1abc'],
  ['N-string', "N'a'"],
  ['hex literal', '0x41'],
  ['CHAR()', 'CHAR(39)'],
  ['concatenation', 'a||b'],
  ['Oracle substitution', 'a&b'],
  ['positional bind', ':1'],
  ['named bind', 'a:b'],
  ['ODBC escape', '{fn x}'],
  ['comma', 'a,b'],
  ['no-break space', 'a\u00a0b'],
  ['ideographic space', 'a\u3000b'],
  ['fullwidth OSUSR_VIEW_', 'ＯＳＵＳＲ＿ＶＩＥＷ＿Ｘ'],
  ['line separator', 'a\u2028b'],
  ['percent-encoded quote', 'a%27b'],
  ['SQL Server variable', '@@SPID'],
];

const HOSTILE_PASSWORDS: Array<[string, string]> = [
  ['closing quote and drop', "x'; DROP LOGIN sa;--Aa1"],
  ['double quote', 'Harbour"Lights7'],
  ['semicolon', 'Harbour;Lights7x'],
  ['quote concatenation', "Aa1' + (SELECT 1) + '"],
  ['N-string', "N'Harbour-Lights7'"],
  ['newline', 'Harbour\nLights7'],
  ['NUL', 'Harbour\u0000Lights7'],
  ['unicode look-alike', 'Ηarbour-Lights7'],
  ['zero-width joiner', 'Harbour\u200dLights7'],
  ['129 characters', `Aa1-${'x'.repeat(125)}`],
  ['empty', ''],
  ['brace (ODBC)', 'Harbour}Lights7{'],
  ['at and slash (EZConnect)', 'Harbour/Lights7@db'],
  ['the username', 'Xdbx_maria_k3x9-1'],
  ['brackets and comments (accepted, must be neutralised)', 'Aa1]]--*x*[]-'],
  ['Oracle concatenation (accepted, must be neutralised)', 'Aa1||TO_CHAR(1)||x'],
  ['percent and ampersand (accepted, must be neutralised)', 'Aa1%&:1#x!?~^'],
  ['closing bracket only (accepted, must be neutralised)', 'Harbour]Lights7x'],
];

type Role = 'username' | 'entity' | 'table' | 'view' | 'schema';

/** A statement with `value` in the role's parameter, built by the dialect's own builder. */
function build(name: DialectName, role: Role, value: string): Statement {
  const d = dialects[name];
  const t = targets[name];
  const username = userFor(name);
  switch (role) {
    case 'username':
      return d.grantRead({ username: value }, t, 'read')[0]!;
    case 'entity':
      return d.findEntityTables({ entity: value }, t);
    case 'table':
      return d.grantWrite({ username, table: value }, t);
    case 'view':
      return d.grantObject({ username, object: value, privileges: ['SELECT'] }, t);
    case 'schema':
      return d.grantWrite({ username, table: 'OSUSR_ABC_ORDER' }, { ...t, schema: value });
  }
}

const PARAM: Record<DialectName, Record<Role, string>> = {
  sqlserver: { username: 'username', entity: 'entity', table: 'table', view: 'object', schema: 'schema' },
  azuresql: { username: 'username', entity: 'entity', table: 'table', view: 'object', schema: 'schema' },
  oracle: { username: 'username', entity: 'entity', table: 'tablename', view: 'objectname', schema: 'owner' },
};

/** Replaces one parameter's value, as if the first wall had let `value` through. */
function bypass(statement: Statement, param: string, value: string): Statement {
  expect(statement.params.some((p) => p.name === param)).toBe(true);
  return { ...statement, params: statement.params.map((p) => (p.name === param ? { ...p, value } : p)) };
}

type Outcome = 'one statement' | 'refused by the server';

/**
 * What the server would do with the statement: run exactly one statement of `kind`, or refuse it.
 * A dynamic statement that does not parse is refused whole (sp_executesql and EXECUTE IMMEDIATE
 * compile before running), so the danger is only ever "parses as something else or as several".
 */
function secondWall(statement: Statement, name: DialectName, kind: string): Outcome {
  const family = name === 'oracle' ? 'plsql' : 'tsql';
  let inner: string | null;
  try {
    inner = renderStatement(statement, family, false);
  } catch (err) {
    expect(String(err)).toContain('ORA-44003'); // ENQUOTE_NAME refuses a double quote
    return 'refused by the server';
  }
  if (inner === null) return 'refused by the server'; // QUOTENAME gave NULL; the batch THROWs
  const result = (family === 'plsql' ? parsePlsql : parseTsql)(inner);
  if (result.errors.length > 0) return 'refused by the server';
  expect(result.statements).toEqual([kind]);
  return 'one statement';
}

/** Values the server refuses even when quoted; every other value must parse as one statement. */
function expectedOutcome(name: DialectName, value: string): Outcome {
  if (name !== 'oracle') return value.length > 128 ? 'refused by the server' : 'one statement';
  // Oracle: ENQUOTE_NAME refuses `"`; a quoted identifier can be neither empty nor hold NUL.
  return value.includes('"') || value === '' || value.includes('\u0000') ? 'refused by the server' : 'one statement';
}

const names = ['sqlserver', 'azuresql', 'oracle'] as const;
const roles: Role[] = ['username', 'entity', 'table', 'view', 'schema'];

it('the corpus holds at least 50 hostile names and 15 hostile passwords', () => {
  expect(HOSTILE_NAMES.length).toBeGreaterThanOrEqual(50);
  expect(HOSTILE_PASSWORDS.length).toBeGreaterThanOrEqual(15);
});

describe.each(names)('%s names', (name) => {
  it.each(HOSTILE_NAMES)('%s: refused with a reason in every role', (_label, value) => {
    for (const role of roles) {
      let error: unknown;
      try {
        build(name, role, value);
      } catch (err) {
        error = err;
      }
      expect(error, `${role} ${JSON.stringify(value)} was accepted`).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('invalid_input');
      expect((error as AppError).message).toMatch(new RegExp(`^The ${role === 'view' ? '(view|table)' : role} name .* is not allowed: .+\\.$`, 's'));
      expect((error as AppError).message).not.toContain('\n');
    }
  });

  it.each(HOSTILE_NAMES)('%s: neutralised by server-side quoting if the check were bypassed', (_label, value) => {
    const kind = name === 'oracle' ? 'grant_statement' : 'security_statement';
    // Single-permission grants: the grammar cannot parse a permission list (see grammar-coverage).
    const d = dialects[name];
    const t = targets[name];
    const grant = d.grantObject({ username: userFor(name), object: 'OSUSR_ABC_ORDER', privileges: ['SELECT'] }, t);
    const cases: Array<[Statement, string]> = [
      [d.grantRead({ username: userFor(name) }, t, 'read')[0]!, PARAM[name].username],
      [grant, PARAM[name].view],
      [grant, PARAM[name].schema],
    ];
    for (const [built, param] of cases) {
      const statement = bypass(built, param, value);
      expect(secondWall(statement, name, kind)).toBe(expectedOutcome(name, value));
    }
  });
});

describe.each(names)('%s table names the catalog returns to grantAllMissingWrite', (name) => {
  // The batch runs grantWrite's GRANT with the table a server-side variable (batch-grants.test.ts), so a
  // name in the catalog meets only the second wall. Its selection matches OSUSR_ names only.
  it.each(HOSTILE_NAMES)('%s: the GRANT the server assembles is one statement, or refused', (_label, value) => {
    const kind = name === 'oracle' ? 'grant_statement' : 'security_statement';
    const table = `OSUSR_${value}`;
    const write = dialects[name].grantWrite({ username: userFor(name), table: 'OSUSR_ABC_ORDER' }, targets[name]);
    // One permission: the T-SQL grammar cannot parse a permission list (see grammar-coverage).
    const single = { ...write, dynamic: write.dynamic!.map((p) => ('text' in p ? { text: p.text.replace('INSERT, UPDATE, DELETE', 'INSERT') } : p)) };
    expect(secondWall(bypass(single, PARAM[name].table, table), name, kind)).toBe(expectedOutcome(name, table));
  });
});

describe.each(names)('%s passwords', (name) => {
  const username = userFor(name);
  const createKind = name === 'sqlserver' ? 'create_login_sql_server' : 'create_user';

  it.each(HOSTILE_PASSWORDS)('%s: refused with reasons, or accepted and neutralised', (label, password) => {
    const problems = passwordProblems(password, username);
    expect(problems.length > 0).toBe(!label.includes('(accepted'));
    for (const problem of problems) expect(problem).not.toContain(password || '\u0000none');
    if (problems.length > 0) {
      expect(() => dialects[name].createUser({ username, password }, targets[name])).toThrow(/That password cannot be used/);
    }
    // Second wall: the value reaches the server only as a parameter it quotes itself.
    const [create] = dialects[name].createUser({ username, password: PASSWORD }, targets[name]);
    const outcome = secondWall(bypass(create!, 'password', password), name, createKind);
    expect(outcome).toBe(expectedOutcome(name, password));
    if (outcome === 'one statement') {
      const rendered = renderStatement(bypass(create!, 'password', password), name === 'oracle' ? 'plsql' : 'tsql', false)!;
      // The whole password stands inside one literal / quoted identifier.
      expect(rendered).toContain(name === 'oracle' ? `IDENTIFIED BY "${password}"` : `PASSWORD = N'${password.replaceAll("'", "''")}'`);
    }
  });
});
