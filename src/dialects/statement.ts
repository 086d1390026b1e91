// The statement model: what a builder returns and an executor runs. Pure data, no driver types.

/** A bound parameter. `secret` values (passwords) are masked in plans and scrubbed from errors. */
export interface Param {
  name: string;
  value: string | number;
  type: 'nvarchar' | 'int';
  secret?: boolean;
}

/**
 * One piece of the statement the server assembles from parameters, never from our string
 * concatenation: `text` is our own fixed SQL; `ident` is a parameter quoted as an identifier
 * (QUOTENAME(@p) / DBMS_ASSERT.ENQUOTE_NAME(:p, FALSE)); `literal` is a parameter quoted as a string
 * literal (QUOTENAME(@p, '''')), SQL Server only; `number` is an integer parameter turned into text.
 */
export type DynamicPart =
  | { text: string }
  | { ident: string }
  | { literal: string }
  | { number: string };

/** What the statement does to the database; the executor treats `query` results as rows. */
export type StatementKind =
  | 'create login'
  | 'create user'
  | 'grant'
  | 'block login'
  | 'kill session'
  | 'drop user'
  | 'drop login'
  | 'set password'
  | 'query';

export interface Statement {
  kind: StatementKind;
  /** Short human description for plans and logs, e.g. 'grant SELECT on the database'. */
  label: string;
  /** The text sent to the server. */
  sql: string;
  params: Param[];
  /**
   * For statements run as dynamic SQL: the parts the server joins before running it. Lets plans
   * show the statement as the server will run it, and tests parse exactly that.
   */
  dynamic?: DynamicPart[];
  /** Oracle: the name of an OUT REF CURSOR bind whose rows are the result. */
  cursor?: string;
  /** A sentence for the plan: why the statement is what it is on this platform. */
  note?: string;
}

export type Row = Record<string, unknown>;

/** The values of a statement's secret parameters, for scrubbing. */
export function secretsOf(statement: Statement): string[] {
  return statement.params.filter((p) => p.secret).map((p) => String(p.value));
}
