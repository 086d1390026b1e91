// Strict checks for every identifier that reaches a statement: database usernames, schemas, tables, views, entities.
// A name that passes is still quoted server-side; the pattern is the first of two walls, not the only one.
import { AppError } from '../errors.js';

export type IdentifierRole = 'username' | 'schema' | 'table' | 'view' | 'entity' | 'profile';

/** ASCII letters, digits and `_`, starting with a letter: safe in every dialect, quoted or not. */
const PLAIN = /^[A-Za-z][A-Za-z0-9_]*$/;

/** How a name is limited in one environment. `maxBytes` is 128 (SQL Server; Oracle 12.2+) or 30 (older Oracle compatibility). */
export interface IdentifierRules {
  maxBytes: number;
  /** Oracle usernames are stored upper case so people can log in without quoting. */
  upperCaseUsernames: boolean;
}

/** Shows a refused value without letting it carry markup, newlines or unbounded length into a message. */
export function preview(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

/**
 * Returns `value` unchanged when it is a valid identifier for `role`; otherwise throws
 * AppError('invalid_input') with a sentence that says which rule it breaks.
 */
export function checkIdentifier(value: string, role: IdentifierRole, rules: IdentifierRules): string {
  const reason = identifierProblem(value, role, rules);
  if (reason) throw new AppError('invalid_input', `The ${role} name ${preview(value)} is not allowed: ${reason}.`);
  return value;
}

/** The rule `value` breaks, or undefined. Exported for validators that collect every problem. */
export function identifierProblem(value: string, role: IdentifierRole, rules: IdentifierRules): string | undefined {
  if (value.length === 0) return 'it is empty';
  // Byte length, not characters: Oracle counts bytes, and a look-alike letter can be 3 bytes.
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > rules.maxBytes) return `it is ${bytes} bytes long and the limit here is ${rules.maxBytes}`;
  if (!PLAIN.test(value)) {
    if (/^[0-9_]/.test(value)) return 'it must start with a letter A-Z';
    return 'use only the letters A-Z, digits 0-9 and _ (no spaces, quotes, brackets or other symbols)';
  }
  if (role === 'username' && rules.upperCaseUsernames && value !== value.toUpperCase()) {
    return 'usernames are upper case on Oracle';
  }
  return undefined;
}
