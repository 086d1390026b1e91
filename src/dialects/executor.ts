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

/** Replaces every secret in `text` with MASK. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join(MASK);
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
