// Proves the grammar checker is real and strict: known-good T-SQL/PL/SQL parses to the right statement kind, known-bad text fails.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePlsql, parseTsql, type ParseResult } from './grammar.js';

// A statement our bot emits counts as checked only if it parses cleanly as exactly one statement.
function isOneCleanStatement(result: ParseResult): boolean {
  return result.errors.length === 0 && result.statements.length === 1;
}

describe('parseTsql', () => {
  // Kinds are the grammar's own rule names. Where statements share a prefix the grammar has several
  // rules that match (CREATE/ALTER LOGIN for SQL Server, Azure SQL, PDW), and ANTLR resolves that
  // ambiguity to the first alternative of ddl_clause that matches the whole statement.
  it.each([
    [
      // The grammar accepts CREATE LOGIN options only in the order SID, DEFAULT_DATABASE,
      // DEFAULT_LANGUAGE, CHECK_EXPIRATION, CHECK_POLICY, CREDENTIAL (see the grammar gaps below).
      "CREATE LOGIN [a] WITH PASSWORD = N'Xy1-abc.def', DEFAULT_DATABASE = [osdb], CHECK_EXPIRATION = OFF, CHECK_POLICY = ON",
      'create_login_sql_server',
    ],
    ["CREATE LOGIN [a] WITH PASSWORD = N'Xy1-abc.def'", 'create_login_azure_sql'],
    ['CREATE USER [a] FOR LOGIN [a] WITH DEFAULT_SCHEMA = [dbo]', 'create_user'],
    ["CREATE USER [a] WITH PASSWORD = N'Xy1-abc.def'", 'create_user'],
    // GRANT is an inline alternative of security_statement: the grammar has no grant rule of its own.
    ['GRANT SELECT TO [a]', 'security_statement'],
    ['GRANT SHOWPLAN TO [a]', 'security_statement'],
    ['GRANT VIEW DATABASE STATE TO [a]', 'security_statement'],
    ['GRANT VIEW SERVER STATE TO [a]', 'security_statement'],
    ['GRANT SELECT ON OBJECT::[sys].[columns] TO [a]', 'security_statement'],
    ['GRANT INSERT ON OBJECT::[dbo].[OSUSR_ABC_ORDER] TO [a]', 'security_statement'],
    ['ALTER LOGIN [a] DISABLE', 'alter_login_azure_sql'],
    ["ALTER LOGIN [a] WITH PASSWORD = N'Xy1-abc.def'", 'alter_login_azure_sql'],
    ['KILL 53', 'kill_statement'],
    ['DROP USER IF EXISTS [a]', 'drop_user'],
    ['DROP LOGIN [a]', 'drop_login'],
    ['SELECT session_id FROM sys.dm_exec_sessions WHERE login_name = @login', 'select_statement'],
    // A trailing ';' is optional in T-SQL and is not a statement of its own.
    ['DROP LOGIN [a];', 'drop_login'],
  ])('parses %s as one %s', (sql, kind) => {
    expect(parseTsql(sql)).toEqual({ errors: [], statements: [kind] });
  });

  it('parses the dynamic-SQL batch as declare, if, execute', () => {
    const batch =
      "DECLARE @stmt nvarchar(max) = N'GRANT SELECT TO ' + QUOTENAME(@u); IF @stmt IS NULL THROW 50000, N'too long', 1; EXEC sys.sp_executesql @stmt;";
    expect(parseTsql(batch)).toEqual({
      errors: [],
      statements: ['declare_statement', 'if_statement', 'execute_statement'],
    });
  });

  // Valid T-SQL that this grammar (grammars-v4 TSqlParser, 2024-05) rejects. Each row pins the first
  // error, so an upgrade that fixes the gap makes the row fail and it can move to the table above.
  it.each([
    [
      "CREATE LOGIN [a] WITH PASSWORD = N'Xy1-abc.def', CHECK_POLICY = ON, CHECK_EXPIRATION = OFF, DEFAULT_DATABASE = [osdb]",
      'create_login_sql_server takes its options in one fixed order',
      "1:68 mismatched input 'CHECK_EXPIRATION' expecting 'CREDENTIAL'",
    ],
    [
      'GRANT INSERT, UPDATE, DELETE ON OBJECT::[dbo].[OSUSR_ABC_ORDER] TO [a]',
      'GRANT takes one grant_permission, not a list',
      "1:12 mismatched input ',' expecting {'ON', 'TO', '('}",
    ],
    ['DENY CONNECT TO [a]', 'there is no DENY statement', "1:0 extraneous input 'DENY' expecting"],
    [
      "ALTER USER [a] WITH PASSWORD = N'Xy1-abc.def'",
      'alter_user requires OLD_PASSWORD after PASSWORD',
      "1:45 mismatched input '<EOF>' expecting 'OLD_PASSWORD'",
    ],
  ])('grammar gap: rejects valid %s (%s)', (sql, _why, firstError) => {
    const result = parseTsql(sql);
    expect(isOneCleanStatement(result)).toBe(false);
    expect(result.errors[0]).toContain(firstError);
  });

  it.each([
    // Two statements, each valid: rejected by the one-statement rule, not by the grammar.
    ["CREATE LOGIN [a] WITH PASSWORD = N'x'; DROP TABLE t", undefined],
    ['GRANT SELECT TO [a]]', "1:19 token recognition error at: ']'"],
    ["CREATE LOGIN a] WITH PASSWORD = N'x'", "1:14 token recognition error at: ']'"],
    ['GRANT SELEC TO [a]', "1:6 mismatched input 'SELEC' expecting"],
  ])('rejects %s', (sql, firstError) => {
    const result = parseTsql(sql);
    expect(isOneCleanStatement(result)).toBe(false);
    if (firstError === undefined) {
      expect(result).toEqual({ errors: [], statements: ['create_login_azure_sql', 'drop_table'] });
    } else {
      expect(result.errors[0]).toContain(firstError);
    }
  });

  it('matches keywords in any case', () => {
    expect(parseTsql('grant select on object::[dbo].[t] to [u]')).toEqual({
      errors: [],
      statements: ['security_statement'],
    });
  });

  it('reports literals exactly as written', () => {
    // A string where a principal belongs: the error quotes the literal, case and all.
    expect(parseTsql("GRANT SELECT TO N'MixedCase'").errors[0]).toContain("'N'MixedCase''");
  });

  it('finds no statement in empty text', () => {
    expect(parseTsql('')).toEqual({ errors: [], statements: [] });
  });
});

describe('parsePlsql', () => {
  it.each([
    ['CREATE USER "A" IDENTIFIED BY "Xy1-abc.def"', 'create_user'],
    ['ALTER USER "A" ACCOUNT LOCK', 'alter_user'],
    ['ALTER USER "A" IDENTIFIED BY "Xy1-abc.def"', 'alter_user'],
    ['DROP USER "A" CASCADE', 'drop_user'],
    ['GRANT CREATE SESSION TO "A"', 'grant_statement'],
    ['GRANT SELECT ANY TABLE TO "A"', 'grant_statement'],
    ['GRANT SELECT ANY DICTIONARY TO "A"', 'grant_statement'],
    ['GRANT INSERT, UPDATE, DELETE ON "OSADMIN"."OSUSR_ABC_ORDER" TO "A"', 'grant_statement'],
    [
      "BEGIN EXECUTE IMMEDIATE 'CREATE USER ' || DBMS_ASSERT.ENQUOTE_NAME(:username, FALSE) || ' IDENTIFIED BY ' || DBMS_ASSERT.ENQUOTE_NAME(:password, FALSE); END;",
      'anonymous_block',
    ],
    ["SELECT username FROM dba_users WHERE username LIKE :prefix ESCAPE '\\'", 'select_statement'],
  ])('parses %s as one %s', (sql, kind) => {
    expect(parsePlsql(sql)).toEqual({ errors: [], statements: [kind] });
  });

  // sql_script wants ';' between statements but makes the last ';' (and a trailing '/') optional,
  // so what our Oracle driver sends, with no terminator, parses as is.
  it.each([
    ['no terminator', ''],
    ["';'", ';'],
    ["'/' on its own line", '\n/'],
    ["';' then '/'", ';\n/\n'],
  ])('parses a single statement with %s', (_label, terminator) => {
    expect(parsePlsql(`DROP USER "A" CASCADE${terminator}`)).toEqual({ errors: [], statements: ['drop_user'] });
  });

  // Valid Oracle SQL that this grammar (grammars-v4 PlSqlParser, 2025-11) rejects.
  it.each([
    [
      "ALTER SYSTEM KILL SESSION '12,345,@1' IMMEDIATE",
      'there is no ALTER SYSTEM statement',
      "1:6 no viable alternative at input 'ALTER SYSTEM'",
    ],
  ])('grammar gap: rejects valid %s (%s)', (sql, _why, firstError) => {
    const result = parsePlsql(sql);
    expect(isOneCleanStatement(result)).toBe(false);
    expect(result.errors[0]).toContain(firstError);
  });

  it.each([
    // Two statements, each valid: rejected by the one-statement rule, not by the grammar.
    ['CREATE USER "A" IDENTIFIED BY "x" ; DROP USER "B"', undefined],
    ['GRANT SELECT ANY TABLE TO "A', `1:26 token recognition error at: '"A'`],
    ['DROP USER "A" CASCAD', `1:14 no viable alternative at input 'DROP USER "A" CASCAD'`],
    // Without a ';' between them two statements do not parse at all.
    ['CREATE USER "A" IDENTIFIED BY "x" DROP USER "B"', '1:34 no viable alternative'],
  ])('rejects %s', (sql, firstError) => {
    const result = parsePlsql(sql);
    expect(isOneCleanStatement(result)).toBe(false);
    if (firstError === undefined) {
      expect(result).toEqual({ errors: [], statements: ['create_user', 'drop_user'] });
    } else {
      expect(result.errors[0]).toContain(firstError);
    }
  });

  it('matches keywords in any case', () => {
    expect(parsePlsql('create user "A" identified by "x"')).toEqual({ errors: [], statements: ['create_user'] });
  });

  it('reports literals exactly as written', () => {
    // A string literal where IDENTIFIED BY wants an identifier: the error quotes it, case and all.
    expect(parsePlsql(`CREATE USER "A" IDENTIFIED BY 'MixedCase'`).errors[0]).toContain("'MixedCase'");
  });
});

describe('error reporting', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('collects lexer and parser errors without printing them', () => {
    const printed = [
      vi.spyOn(console, 'error').mockImplementation(() => {}),
      vi.spyOn(console, 'warn').mockImplementation(() => {}),
      vi.spyOn(console, 'log').mockImplementation(() => {}),
    ];
    // One lexer error (unterminated quoted name) and one parser error per dialect.
    expect(parseTsql('GRANT SELEC TO [a]]').errors.length).toBeGreaterThanOrEqual(2);
    expect(parsePlsql('GRANT SELEC ANY TABLE TO "A').errors.length).toBeGreaterThanOrEqual(2);
    for (const spy of printed) expect(spy).not.toHaveBeenCalled();
  });
});
