// Shows a statement as the server will run it: parameters quoted the way QUOTENAME and
// DBMS_ASSERT.ENQUOTE_NAME quote them, secrets masked. Used for approval plans and by the grammar tests.
import type { Statement } from './statement.js';

export const MASK = '********';

/** SQL Server's QUOTENAME: brackets (or quotes), closing ones doubled; NULL past 128 characters. */
export function quoteName(value: string, quote: '[' | "'" = '['): string | null {
  if (value.length > 128) return null;
  if (quote === "'") return `'${value.replaceAll("'", "''")}'`;
  return `[${value.replaceAll(']', ']]')}]`;
}

/**
 * Oracle's DBMS_ASSERT.ENQUOTE_NAME(str, FALSE): wraps in double quotes; a string holding a double
 * quote is refused (ORA-44003), which is why identifiers and passwords may never contain one.
 */
export function enquoteName(value: string): string {
  if (value.includes('"')) throw new Error('ORA-44003: invalid SQL name');
  return `"${value}"`;
}

/**
 * The statement the server runs. Dynamic statements are assembled from their parts; others are
 * shown as sent. With `mask`, secret parameters appear as MASK. Returns null where the server would
 * build NULL (a value over QUOTENAME's 128 characters), which our batches refuse to run.
 */
export function renderStatement(statement: Statement, family: 'tsql' | 'plsql', mask = true): string | null {
  if (!statement.dynamic) return statement.sql;
  const values = new Map(statement.params.map((p) => [p.name, p]));
  let out = '';
  for (const part of statement.dynamic) {
    if ('text' in part) {
      out += part.text;
      continue;
    }
    const name = 'ident' in part ? part.ident : 'literal' in part ? part.literal : part.number;
    const param = values.get(name);
    if (!param) throw new Error(`statement "${statement.label}" uses undeclared parameter ${name}`);
    const value = mask && param.secret ? MASK : String(param.value);
    let quoted: string | null;
    if ('number' in part) quoted = value;
    else if (family === 'plsql') quoted = enquoteName(value);
    else quoted = quoteName(value, 'literal' in part ? "'" : '[');
    if (quoted === null) return null;
    out += quoted;
  }
  return out;
}

/** A readable, masked plan: one numbered line per statement, for approval messages and the console. */
export function describePlan(statements: Statement[], family: 'tsql' | 'plsql'): string {
  return statements
    .map((s, i) => {
      const shown = s.dynamic ? renderStatement(s, family, true) : `${s.label}`;
      return `${i + 1}. ${shown ?? `${s.label} (refused: a value is too long)`}${s.note ? `\n   (${s.note})` : ''}`;
    })
    .join('\n');
}
