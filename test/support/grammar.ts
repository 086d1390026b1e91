// Test helper: checks emitted T-SQL and PL/SQL against the real ANTLR grammars-v4 parsers shipped inside @dbml/core.
//
// Where the parsers come from: @dbml/core@5.x ships, as plain CommonJS files, the ANTLR 4.13.2 output
// of grammars-v4's TSqlLexer/TSqlParser (header "Last updated: 2024-05-01") and of grammars-v4's
// PlSqlLexer/PlSqlParser renamed OracleSqlLexer/OracleSqlParser (header "Last updated: 2025-11-01"),
// under lib/parse/ANTLR/parsers/{mssql,oraclesql}/. 6.x and later bundle them into one file and stop
// exposing them, so this depends on the 5.x layout. The .g4 sources sit beside the generated files.
//
// Keyword case: both grammars declare `options { caseInsensitive = true; }` in their lexers, so the
// lexer matches keywords in any case by itself. The input goes to the lexer untouched: no
// upper-casing wrapper is needed, and string literal contents are never altered.
//
// Terminators: T-SQL's `sql_clauses` makes ';' optional after every statement. PL/SQL's `sql_script`
// requires ';' BETWEEN unit statements but makes it optional (as well as a trailing '/') after the
// LAST one, so a single statement without a terminator, as our Oracle driver sends it, parses as is
// and parsePlsql appends nothing.
//
// Strictness: the generated parsers run with ANTLR's default error strategy and nothing added. The
// default console listeners are removed and every lexer/parser error is collected instead, so any
// error the grammar reports shows up in `errors`; both start rules end in EOF, so trailing text that
// the grammar cannot consume is an error too.
import { createRequire } from 'node:module';

export interface ParseResult {
  /** Syntax errors reported by the lexer or parser, 'line:col message'. Empty when the text parses. */
  errors: string[];
  /** One entry per top-level statement parsed, the grammar rule name of the statement kind, e.g. 'create_login', 'grant_statement', 'drop_user', 'alter_login', 'kill_statement', 'select_statement', 'declare_statement', 'execute_statement', 'if_statement' for T-SQL; 'create_user', 'grant_statement', 'drop_user', 'alter_user', 'alter_system' (or whatever the grammar calls them), 'anonymous_block' / 'select_statement' for PL/SQL. */
  statements: string[];
}

// Minimal local declarations for the parts of the antlr4 runtime and the generated classes used here:
// the generated files are untyped CommonJS and the runtime is only a transitive dependency.
interface TerminalNode {
  readonly symbol: unknown;
}
interface RuleNode {
  readonly ruleIndex: number;
  readonly children: ParseNode[] | null;
}
type ParseNode = RuleNode | TerminalNode;

interface ErrorListener {
  syntaxError(
    recognizer: unknown,
    offendingSymbol: unknown,
    line: number,
    column: number,
    msg: string,
    e: unknown,
  ): void;
  reportAmbiguity(...args: unknown[]): void;
  reportAttemptingFullContext(...args: unknown[]): void;
  reportContextSensitivity(...args: unknown[]): void;
}
interface Recognizer {
  removeErrorListeners(): void;
  addErrorListener(listener: ErrorListener): void;
}
interface CharStream {
  readonly size: number;
}
interface Lexer extends Recognizer {
  inputStream: CharStream;
}
interface TokenStream {
  readonly index: number;
}
interface Parser extends Recognizer {
  readonly ruleNames: string[];
  setTokenStream(tokens: TokenStream): void;
}
interface TSqlParser extends Parser {
  tsql_file(): RuleNode;
}
interface PlSqlParser extends Parser {
  sql_script(): RuleNode;
}
interface Antlr4Runtime {
  CharStreams: { fromString(text: string): CharStream };
  CommonTokenStream: new (lexer: Lexer) => TokenStream;
}

interface Dialect<P extends Parser> {
  lexer: Lexer;
  parser: P;
  /** Where the current parse's errors go; swapped per parse so the listener can be installed once. */
  sink: string[];
}

const requireHere = createRequire(import.meta.url);
const GENERATED = '@dbml/core/lib/parse/ANTLR/parsers/';

// Longer messages are the "expecting {...}" lists of a thousand-odd keywords; the position and the
// start of the message are what a reader needs.
const MAX_MESSAGE_LENGTH = 300;

// The T-SQL rules that only wrap the rule naming the statement; statementKind() descends through
// them: batch_level_statement, sql_clauses, dml_clause, ddl_clause, cfl_statement, another_statement,
// backup_statement, select_statement_standalone (an optional WITH, then select_statement), and
// security_statement when its alternative is a sub-rule (execute_clause, open_key, close_key,
// create_key, create_certificate). GRANT and REVERT are inline alternatives of security_statement
// with no rule of their own, so those statements are reported as 'security_statement'.
const TSQL_WRAPPERS: ReadonlySet<string> = new Set([
  'batch_level_statement',
  'sql_clauses',
  'dml_clause',
  'ddl_clause',
  'cfl_statement',
  'another_statement',
  'backup_statement',
  'select_statement_standalone',
  'security_statement',
]);

// The PL/SQL rules that only wrap the rule naming the statement: unit_statement,
// data_manipulation_language_statements, transaction_control_statements, sql_plus_command and
// sql_plus_command_no_semicolon (when the SQL*Plus command is a sub-rule such as set_command;
// EXIT, SHOW ERRORS and the like stay 'sql_plus_command').
const PLSQL_WRAPPERS: ReadonlySet<string> = new Set([
  'unit_statement',
  'data_manipulation_language_statements',
  'transaction_control_statements',
  'sql_plus_command',
  'sql_plus_command_no_semicolon',
]);

let runtime: Antlr4Runtime | undefined;
let tsql: Dialect<TSqlParser> | undefined;
let plsql: Dialect<PlSqlParser> | undefined;

/** Parses T-SQL text (one batch, no GO needed) and names each top-level statement. */
export function parseTsql(sql: string): ParseResult {
  tsql ??= createDialect<TSqlParser>('mssql/TSqlLexer.js', 'mssql/TSqlParser.js');
  const { ruleNames } = tsql.parser;
  const tree = run(tsql, sql, (parser) => parser.tsql_file());
  const statements: string[] = [];
  // tsql_file: batch* EOF | execute_body_batch go_statement* EOF;
  // batch: go_statement | execute_body_batch? (go_statement | sql_clauses+) go_statement* | batch_level_statement go_statement*
  for (const top of ruleChildren(tree)) {
    const inBatch = ruleNames[top.ruleIndex] === 'batch' ? ruleChildren(top) : [top];
    for (const node of inBatch) {
      const name = ruleNames[node.ruleIndex];
      // GO separates batches and a lone ';' is an empty sql_clauses: neither is a statement.
      if (name === 'go_statement' || (name === 'sql_clauses' && firstRuleChild(node) === undefined)) continue;
      statements.push(statementKind(node, ruleNames, TSQL_WRAPPERS));
    }
  }
  return { errors: tsql.sink, statements };
}

/** Parses PL/SQL text (statements separated by ';', the last terminator optional) and names each top-level statement. */
export function parsePlsql(sql: string): ParseResult {
  plsql ??= createDialect<PlSqlParser>('oraclesql/OracleSqlLexer.js', 'oraclesql/OracleSqlParser.js');
  const { ruleNames } = plsql.parser;
  const tree = run(plsql, sql, (parser) => parser.sql_script());
  // sql_script: sql_plus_command_no_semicolon? ((sql_plus_command ';'? '/'? | unit_statement ';' '/'?)* (sql_plus_command | unit_statement)) ';'? '/'? EOF
  const statements = ruleChildren(tree).map((node) => statementKind(node, ruleNames, PLSQL_WRAPPERS));
  return { errors: plsql.sink, statements };
}

// Builds the lexer and parser once per dialect and reuses them: loading the generated files and
// deserializing their ATNs is the expensive part, and the prediction DFA cache they fill is shared
// by every later parse.
function createDialect<P extends Parser>(lexerFile: string, parserFile: string): Dialect<P> {
  const rt = antlr4();
  const LexerClass = loadGenerated<new (input: CharStream) => Lexer>(lexerFile);
  const ParserClass = loadGenerated<new (input: TokenStream) => P>(parserFile);
  const lexer = new LexerClass(rt.CharStreams.fromString(''));
  const parser = new ParserClass(new rt.CommonTokenStream(lexer));
  const dialect: Dialect<P> = { lexer, parser, sink: [] };
  const listener = collectingListener(() => dialect.sink);
  // The generated recognizers start with ConsoleErrorListener, which prints; swap it for the collector.
  for (const recognizer of [lexer, parser]) {
    recognizer.removeErrorListeners();
    recognizer.addErrorListener(listener);
  }
  return dialect;
}

function run<P extends Parser>(dialect: Dialect<P>, sql: string, start: (parser: P) => RuleNode): RuleNode {
  const rt = antlr4();
  dialect.sink = [];
  // Both setters reset the recognizer's state (mode stack, error recovery, context) for the new input.
  dialect.lexer.inputStream = rt.CharStreams.fromString(sql);
  dialect.parser.setTokenStream(new rt.CommonTokenStream(dialect.lexer));
  return start(dialect.parser);
}

function collectingListener(sink: () => string[]): ErrorListener {
  return {
    syntaxError(_recognizer, _offendingSymbol, line, column, msg) {
      const text = msg.length > MAX_MESSAGE_LENGTH ? `${msg.slice(0, MAX_MESSAGE_LENGTH)}…` : msg;
      sink().push(`${line}:${column} ${text}`);
    },
    // Ambiguity and full-context reports are diagnostics about prediction, not syntax errors.
    reportAmbiguity() {},
    reportAttemptingFullContext() {},
    reportContextSensitivity() {},
  };
}

/** Walks down through wrapper rules to the rule that names the statement. */
function statementKind(node: RuleNode, ruleNames: readonly string[], wrappers: ReadonlySet<string>): string {
  let current = node;
  for (;;) {
    const name = ruleNames[current.ruleIndex] ?? `rule#${current.ruleIndex}`;
    if (!wrappers.has(name)) return name;
    const inner =
      name === 'select_statement_standalone'
        ? ruleChildren(current).find((child) => ruleNames[child.ruleIndex] === 'select_statement')
        : firstRuleChild(current);
    if (inner === undefined) return name;
    current = inner;
  }
}

// A wrapper's alternative is a single sub-rule exactly when its first child is a rule; an inline
// alternative starts with a keyword token (e.g. GRANT in security_statement, EXIT in sql_plus_command).
function firstRuleChild(node: RuleNode): RuleNode | undefined {
  const first = node.children?.[0];
  return first !== undefined && isRule(first) ? first : undefined;
}

function ruleChildren(node: RuleNode): RuleNode[] {
  return (node.children ?? []).filter(isRule);
}

function isRule(node: ParseNode): node is RuleNode {
  return typeof (node as RuleNode).ruleIndex === 'number';
}

// The runtime is loaded from where the generated files resolve it, so the token streams built here
// are instances of the very classes the generated parsers were compiled against.
function antlr4(): Antlr4Runtime {
  runtime ??= createRequire(requireHere.resolve(`${GENERATED}mssql/TSqlParser.js`))('antlr4') as Antlr4Runtime;
  return runtime;
}

function loadGenerated<T>(file: string): T {
  return (requireHere(`${GENERATED}${file}`) as { default: T }).default;
}
