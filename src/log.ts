// The logger: pino, fixed messages with metadata, and redaction of anything that looks like a secret.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear. Code never logs a password on purpose; this is the
 * net under that rule (a request object logged whole, a driver error with its parameters).
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'adminPassword',
  '*.adminPassword',
  'token',
  '*.token',
  'signingSecret',
  '*.signingSecret',
  'headers.authorization',
  '*.headers.authorization',
  'params',
  '*.params',
];

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Errors keep their code and message; never their cause chain (a driver object may hold parameters).
      serializers: { err: (err: unknown) => serializeError(err) },
    },
    options.destination,
  );
}

function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const { code, serverCode, statement } = err as { code?: unknown; serverCode?: unknown; statement?: unknown };
  return { type: err.name, message: err.message, code, serverCode, statement, stack: err.stack };
}
