// The executor seam: runs one statement against one environment's database. Drivers live behind it;
// the sanitizer wraps every executor so no password reaches an error, a log line or a Slack message.
import { AppError, type ErrorCode } from '../errors.js';
import { MASK } from './render.js';
import { secretsOf, type Row, type Statement } from './statement.js';

export interface Executor {
  /** Runs `statement`; resolves to its rows (empty for statements that return none). Never inside a transaction. */
  run(statement: Statement): Promise<Row[]>;
  /** Closes the pool; later runs reconnect. */
  close(): Promise<void>;
}

/** A database failure, already free of secrets. `serverCode` is the server's error number (2627, 1918...). */
export class DatabaseError extends AppError {
  readonly serverCode: number | string | undefined;
  readonly statement: string | undefined;

  constructor(code: ErrorCode, message: string, details: { serverCode?: number | string; statement?: string } = {}) {
    super(code, message);
    this.serverCode = details.serverCode;
    this.statement = details.statement;
  }
}

/**
 * A run of this many consecutive characters of a secret is treated as the secret: servers quote
 * passwords cut short (a message showing the first 16 of 24 characters), and a fragment that long
 * narrows a guess too much to be shown.
 */
export const SECRET_FRAGMENT_LENGTH = 6;

/**
 * Replaces every secret in `text`, and every run of SECRET_FRAGMENT_LENGTH or more consecutive
 * characters of one, with MASK. Adjacent or overlapping runs become one MASK. A secret shorter than
 * the fragment length is masked where it appears whole.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  const masked = new Array<boolean>(text.length).fill(false);
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    const least = Math.min(secret.length, SECRET_FRAGMENT_LENGTH);
    // Longest common substring ending at text[i - 1] and secret[j - 1], one row at a time.
    let previous = new Array<number>(secret.length + 1).fill(0);
    for (let i = 1; i <= text.length; i++) {
      const current = new Array<number>(secret.length + 1).fill(0);
      for (let j = 1; j <= secret.length; j++) {
        if (text[i - 1] !== secret[j - 1]) continue;
        const run = (previous[j - 1] ?? 0) + 1;
        current[j] = run;
        if (run >= least) masked.fill(true, i - run, i);
      }
      previous = current;
    }
  }
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (!masked[i]) out += text[i];
    else if (i === 0 || !masked[i - 1]) out += MASK;
  }
  return out;
}

/**
 * Wraps `inner` so every failure becomes a DatabaseError whose message names the step and holds no
 * secret of the statement, and which carries no driver object as its cause (a driver error can hold
 * the request and its parameters). After Vault's NewDatabaseErrorSanitizerMiddleware.
 */
export function sanitized(inner: Executor): Executor {
  return {
    async run(statement) {
      try {
        return await inner.run(statement);
      } catch (err) {
        const secrets = secretsOf(statement);
        const code = err instanceof AppError ? err.code : 'db_error';
        const serverCode = err instanceof DatabaseError ? err.serverCode : undefined;
        const message = err instanceof Error ? err.message : String(err);
        throw new DatabaseError(code, scrub(message, secrets), { serverCode, statement: statement.label });
      }
    },
    close: () => inner.close(),
  };
}

/** Decides the rows (or the failure) of each statement a dry run sees. */
export type DryRunResponder = (statement: Statement) => Row[] | Promise<Row[]>;

export interface DryRunExecutor extends Executor {
  /** Every statement run, in order. */
  readonly statements: Statement[];
}

/** Records the plan instead of connecting: used by the local console and by tests. */
export function dryRunExecutor(responder: DryRunResponder = () => []): DryRunExecutor {
  const statements: Statement[] = [];
  return {
    statements,
    async run(statement) {
      statements.push(statement);
      return responder(statement);
    },
    async close() {},
  };
}
