// Coded errors: every failure the bot can explain carries a code, a sentence for the user, and its cause for the log.

export type ErrorCode =
  | 'config_invalid' // the environments file or a variable is wrong; start-up stops
  | 'invalid_input' // something a user typed breaks a rule; the message says which
  | 'forbidden' // the user may not do this; the message says who may
  | 'not_found' // the thing named does not exist (an environment, a request, a user)
  | 'conflict' // the state changed under us: already decided, already active, a second click
  | 'unavailable' // Slack (or another service the bot needs) could not be reached; try again later
  | 'db_unreachable' // no connection to the database server
  | 'db_timeout' // connected, but the server did not answer in time
  | 'db_login_failed' // the bot's admin login was refused
  | 'db_permission_denied' // the admin login lacks a permission a statement needs
  | 'db_error' // any other error the server returned
  | 'internal'; // a bug: the log has the detail

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  /** The form field (or command option) the error is about, when there is one: forms show it next to that field. */
  readonly field: string | undefined;
  /**
   * When one refusal has several reasons (src/access/core/refusal.ts): each with its own field, so a
   * form shows every one next to its field at once. Empty for an error with a single reason.
   */
  readonly problems: readonly Problem[];

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; field?: string; problems?: readonly Problem[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options?.field;
    this.problems = options?.problems ?? [];
  }
}

/** One reason of a refusal: its sentence and the form field (or command option) it is about. */
export interface Problem {
  code: ErrorCode;
  message: string;
  field: string | undefined;
}

/** True for an AppError, optionally of one of the given codes. */
export function isAppError(err: unknown, ...codes: ErrorCode[]): err is AppError {
  return err instanceof AppError && (codes.length === 0 || codes.includes(err.code));
}
