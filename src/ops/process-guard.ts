// Process-level safety: a promise rejection nobody handled is logged (scrubbed of secrets) and the
// bot carries on; an uncaught exception is logged and ends the process.
//
// Why carry on after a rejection: the expiry timer must keep revoking users whatever a library does
// with a failed call (Bolt rejected unawaited promises on a signed `payload=null` and on a failed
// start-up auth.test: issue 14, problems 2 and 5). Why not after an exception: Node's documentation
// ("Warning: Using 'uncaughtException' correctly") says the process is then in an undefined state;
// a restart reconciles whatever was interrupted.
import type { Logger } from '../log.js';
import { redactSecrets } from './health.js';

/** An error as these handlers log it: kind, code and sentence (and stack), scrubbed of the known secrets and anything shaped like one. */
export function scrubbedError(err: unknown, secrets: readonly string[]): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: redactSecrets(String(err), secrets) };
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  return { type: err.name, ...(code ? { code } : {}), message: redactSecrets(err.message, secrets), stack: redactSecrets(err.stack ?? '', secrets) };
}

export interface ProcessGuardOptions {
  log: Logger;
  /** Values never to appear in a log line (tokens, the signing secret, admin passwords). */
  secrets: readonly string[];
  /** What an uncaught exception does after it is logged. Default: process.exit(1). */
  exit?: (code: number) => void;
}

/** Installs the handlers; returns a function that removes them (tests). */
export function guardProcess(options: ProcessGuardOptions): () => void {
  const { log, secrets } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onRejection = (reason: unknown) => {
    log.error({ error: scrubbedError(reason, secrets) }, 'unhandled promise rejection; the bot carries on');
  };
  const onException = (err: Error, origin: string) => {
    log.fatal({ error: scrubbedError(err, secrets), origin }, 'uncaught exception; exiting');
    exit(1);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
