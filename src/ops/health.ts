// Readiness: whether the bot can do its job now (state database writable, expiry timer running, Slack answering, each environment's database reachable), for /readyz.
import { systemClock, within, type Clock } from '../clock.js';
import { isAppError } from '../errors.js';

/** 'ok', 'error: ' and a sentence that holds no secret, or 'warning: ' and one (shown, yet still ready). */
export type CheckStatus = 'ok' | `error: ${string}` | `warning: ${string}`;

export interface ReadinessReport {
  ready: boolean;
  /** `sqlite`, `scheduler`, `slack` (when given), and `db:<environment>` for each environment. */
  checks: Record<string, CheckStatus>;
}

export interface ReadinessOptions {
  /** A trivial write that is rolled back; throws when the state database cannot be written. */
  sqlite: () => void;
  /** Whether the expiry timer is running. */
  scheduler: () => boolean;
  /** A configuration problem that does not stop the bot (open requests of an environment no longer configured), or undefined. */
  config?: () => string | undefined;
  /**
   * Whether Slack is usable: undefined when it is, else why not. Read from memory (the bot checks
   * Slack in the background), so it costs nothing however often /readyz is asked.
   */
  slack?: () => string | undefined;
  /** Why the audit stream is behind (a sink failing), or undefined: shown as a warning, as the entries wait safely in SQLite. */
  auditStream?: () => string | undefined;
  /** Per environment: resolves when its database answers a trivial query, rejects otherwise. */
  databases: Record<string, () => Promise<void>>;
  /** Values that must never appear in the output (the admin passwords), whatever an error says. */
  secrets?: () => readonly string[];
  /**
   * How long a database result is reused. Orchestrators probe every few seconds, and the databases
   * are customers' production servers: one query per environment per window, however often /readyz
   * is asked. Default 30 s.
   */
  cacheMs?: number;
  /** Longest wait for one database; past it the check reports an error, so /readyz never hangs. Default 5 s. */
  timeoutMs?: number;
  clock?: Clock;
  /** Told each failure with the original error, for the log (the report shows only a safe sentence). */
  onError?: (check: string, err: unknown) => void;
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
}

const DEFAULT_CACHE_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 5_000;
const REDACTED = '[redacted]';
const MAX_MESSAGE = 300;

interface CachedCheck {
  status?: CheckStatus;
  at: number;
  /** The call in progress. A call that timed out stays here until it settles, so a hung database gets no second query on top. */
  running?: Promise<CheckStatus>;
}

export function createReadiness(options: ReadinessOptions): Readiness {
  const clock = options.clock ?? systemClock;
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const secrets = options.secrets ?? (() => []);
  const cache = new Map<string, CachedCheck>();

  function failed(check: string, err: unknown): CheckStatus {
    options.onError?.(check, err);
    return `error: ${safeMessage(err, secrets())}`;
  }

  function local(check: string, run: () => void): CheckStatus {
    try {
      run();
      return 'ok';
    } catch (err) {
      return failed(check, err);
    }
  }

  async function database(check: string, ping: () => Promise<void>): Promise<CheckStatus> {
    const cached = cache.get(check) ?? { at: 0 };
    cache.set(check, cached);
    if (cached.status !== undefined && clock.now() - cached.at < cacheMs) return cached.status;
    if (!cached.running) {
      const running: Promise<CheckStatus> = Promise.resolve()
        .then(ping)
        .then(
          (): CheckStatus => 'ok',
          (err: unknown) => failed(check, err),
        )
        .then((status) => {
          // A late answer still counts: it is newer than the timeout reported meanwhile.
          cached.status = status;
          cached.at = clock.now();
          if (cached.running === running) delete cached.running;
          return status;
        });
      cached.running = running;
    }
    const status = await within(cached.running, timeoutMs);
    if (status !== undefined) return status;
    cached.status = failed(check, new CheckFailure(`no answer within ${formatSeconds(timeoutMs)}`));
    cached.at = clock.now();
    return cached.status;
  }

  return {
    async check() {
      const checks: Record<string, CheckStatus> = {
        sqlite: local('sqlite', options.sqlite),
        scheduler: local('scheduler', () => {
          if (!options.scheduler()) throw new CheckFailure('the expiry timer is not running: expired users are not being revoked');
        }),
      };
      const warning = options.config?.();
      if (warning !== undefined) checks['config'] = `warning: ${truncate(warning)}`;
      const auditProblem = options.auditStream?.();
      if (auditProblem !== undefined) checks['audit_stream'] = `warning: ${safeMessage(new CheckFailure(auditProblem), secrets())}`;
      const slack = options.slack;
      if (slack) {
        // Not through failed(): the bot already logs each change of Slack's state once, not per probe.
        const problem = slack();
        checks['slack'] = problem === undefined ? 'ok' : `error: ${safeMessage(new CheckFailure(problem), secrets())}`;
      }
      const names = Object.keys(options.databases);
      const results = await Promise.all(names.map((name) => database(`db:${name}`, options.databases[name]!)));
      names.forEach((name, i) => (checks[`db:${name}`] = results[i]!));
      return { ready: Object.values(checks).every((status) => !status.startsWith('error')), checks };
    },
  };
}

/** A failure this module describes itself, so its message is safe to show. */
class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms} ms`;
}

/**
 * The sentence /readyz shows for a failure. Our own errors (AppError, and the DatabaseError every
 * executor's sanitizer produces) carry sentences written to be shown; anything else (a driver's or
 * a library's error) may quote a connection string, so only its code is shown and the log has the
 * rest. Every sentence is then scrubbed of the known secrets and of anything shaped like one, as a
 * net under that rule.
 */
export function safeMessage(err: unknown, secrets: readonly string[] = []): string {
  let text: string;
  if (isAppError(err) || err instanceof CheckFailure) {
    text = err.message;
  } else {
    const code = (err as { code?: unknown } | null)?.code;
    text = typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? `${code} (see the bot log)` : 'unexpected failure (see the bot log)';
  }
  return truncate(redactSecrets(text, secrets));
}

/** Removes known secrets, then password-looking values: `password=…`, `pwd: …`, URL credentials, Slack tokens. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length > 0) out = out.split(secret).join(REDACTED);
  }
  return out
    .replace(/\b(password|passwd|pwd|secret|token)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s;,&'"]+)/gi, `$1$2${REDACTED}`)
    .replace(/(\/\/[^/\s:@]+:)[^@\s/]+@/g, `$1${REDACTED}@`)
    .replace(/\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+/g, REDACTED);
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}
