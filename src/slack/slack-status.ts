// Whether Slack's Web API answers and which workspace the bot token belongs to, found out in the
// background (auth.test, retried with backoff) so that nothing waiting on a request ever waits on it.
//
// Why not Bolt's own check: with a `token`, Bolt calls auth.test once at construction and caches the
// promise. A failure is then an unhandled rejection (the process exits), and every request after it
// fails authorization until a restart, even once Slack is back (issue 14, problems 1 and 2).
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../log.js';

/** What auth.test tells (the fields used). */
export interface AuthTestResult {
  team_id?: string | undefined;
  user_id?: string | undefined;
  bot_id?: string | undefined;
}

export type SlackReachability =
  /** No answer yet since start. */
  | 'checking'
  | 'reachable'
  /** Connection refused, DNS failure, timeout, HTTP 5xx, rate limited: worth retrying. */
  | 'unreachable'
  /** Slack answered and refused the bot token (invalid_auth, token_revoked, …): a person must act. */
  | 'refused';

export interface SlackStatus {
  /** The workspace requests must come from: SLACK_TEAM_ID, else auth.test's; undefined until known. */
  teamId(): string | undefined;
  /** The bot's own user and bot ids, once auth.test has answered (Bolt's ignoreSelf uses them). */
  bot(): { userId?: string; botId?: string };
  state(): SlackReachability;
  /** For /readyz: undefined when Slack answers, else a sentence that names no secret. */
  problem(): string | undefined;
  /**
   * What a Web API call of the bot found: `undefined` when Slack answered, else the reason it could
   * not be reached. A failure while reachable, or an answer while unreachable, runs the check at
   * once; only its answer changes the state.
   */
  observe(failure: string | undefined): void;
  /**
   * Someone is waiting on the workspace (a request was refused because it is unknown): check again
   * now rather than at the end of the backoff, at most once per first backoff step. Never waits.
   */
  recheck(): void;
  /** Starts the first check; never throws, never rejects. */
  start(): void;
  stop(): void;
}

export interface SlackStatusOptions {
  /** auth.test with the bot token, without retries of its own (this module retries). */
  authTest: () => Promise<AuthTestResult>;
  /** SLACK_TEAM_ID, when the operator set it. */
  teamId?: string | undefined;
  /** The Web API base URL, for the log line. */
  apiUrl: string;
  log: Logger;
  /** First wait after a failure, doubled each time up to maxMs (±20 % jitter). Default 1 s and 30 s. */
  backoff?: { firstMs: number; maxMs: number } | undefined;
  random?: () => number;
  /** For recheck's rate limit. */
  clock?: Clock;
}

const DEFAULT_BACKOFF = { firstMs: 1_000, maxMs: 30_000 };

/** Slack error codes that mean the token itself is wrong: retrying faster will not help. */
const REFUSED = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'team_disabled', 'user_removed_from_team', 'not_allowed_token_type']);

export function watchSlackStatus(options: SlackStatusOptions): SlackStatus {
  const { log } = options;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const clock = options.clock ?? systemClock;
  let state: SlackReachability = 'checking';
  let reason = '';
  let learnedTeam: string | undefined;
  let bot: { userId?: string; botId?: string } = {};
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let stopped = false;
  let failures = 0;
  let lastCheckAt = 0;

  function schedule(): void {
    if (stopped || timer || running) return;
    const base = Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(failures - 1, 20));
    const waitMs = Math.round(base * (0.8 + 0.4 * random()));
    timer = setTimeout(() => {
      timer = undefined;
      void check();
    }, waitMs);
    timer.unref();
  }

  function reachable(result: AuthTestResult): void {
    const before = state;
    failures = 0;
    learnedTeam = result.team_id;
    bot = { ...(result.user_id ? { userId: result.user_id } : {}), ...(result.bot_id ? { botId: result.bot_id } : {}) };
    if (options.teamId && result.team_id && result.team_id !== options.teamId) {
      // The token belongs to another workspace than the one configured: serving either would be wrong.
      enter('refused', `SLACK_BOT_TOKEN belongs to workspace ${result.team_id}, not SLACK_TEAM_ID ${options.teamId}`);
      return;
    }
    state = 'reachable';
    reason = '';
    if (before === 'unreachable' || before === 'refused') log.info({ url: options.apiUrl, team: result.team_id }, 'Slack Web API reachable again');
    else if (before === 'checking') log.info({ url: options.apiUrl, team: result.team_id }, 'Slack Web API reachable');
  }

  /** One log line per change of state, not per attempt (/readyz shows the latest reason). */
  function enter(next: 'unreachable' | 'refused', why: string): void {
    const changed = state !== next;
    state = next;
    reason = why;
    if (!changed) return;
    if (next === 'refused') log.error({ url: options.apiUrl, reason: why }, 'Slack refused the bot token (SLACK_BOT_TOKEN); requests are refused until it is replaced');
    else log.warn({ url: options.apiUrl, reason: why }, 'Slack Web API unreachable; retrying');
  }

  async function check(): Promise<void> {
    if (stopped || running) return;
    running = true;
    lastCheckAt = clock.now();
    try {
      reachable(await options.authTest());
    } catch (err) {
      failures += 1;
      const code = platformError(err);
      if (code && REFUSED.has(code)) enter('refused', `auth.test answered ${code}`);
      else enter('unreachable', describeSlackFailure(err));
    } finally {
      running = false;
    }
    if (state !== 'reachable') schedule();
  }

  return {
    // A refused or foreign token serves nobody: fail closed, even with SLACK_TEAM_ID set.
    teamId: () => (state === 'refused' ? undefined : (options.teamId ?? learnedTeam)),
    bot: () => bot,
    state: () => state,
    problem() {
      switch (state) {
        case 'reachable':
          return undefined;
        case 'checking':
          return `Slack Web API at ${options.apiUrl} not checked yet`;
        case 'unreachable':
          return `Slack Web API unreachable at ${options.apiUrl}: ${reason}; retrying`;
        case 'refused':
          return `${reason}; replace SLACK_BOT_TOKEN (OAuth & Permissions) and restart`;
      }
    },
    observe(failure) {
      if (stopped || running) return;
      // A call's outcome only prompts a check at once: a single failed call (one 500 among many)
      // does not make Slack unreachable, and the state changes only on the check's own answer.
      const doubt = failure !== undefined && state === 'reachable';
      const hope = failure === undefined && (state === 'unreachable' || state === 'checking');
      if (!doubt && !hope) return;
      clearTimeout(timer);
      timer = undefined;
      void check();
    },
    recheck() {
      if (stopped || running || state === 'reachable' || clock.now() - lastCheckAt < backoff.firstMs) return;
      clearTimeout(timer);
      timer = undefined;
      void check();
    },
    start() {
      stopped = false;
      void check();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** The `error` of an ok:false answer from Slack, if that is what `err` is. */
export function platformError(err: unknown): string | undefined {
  const data = (err as { code?: unknown; data?: { error?: unknown } } | null) ?? undefined;
  return data?.code === 'slack_webapi_platform_error' && typeof data.data?.error === 'string' ? data.data.error : undefined;
}

/**
 * A short reason why a Web API call did not get an answer, free of secrets: the socket error code
 * (ECONNREFUSED, ENOTFOUND, …), "HTTP 500", "no answer within …", "rate limited".
 */
export function describeSlackFailure(err: unknown): string {
  const e = err as { code?: unknown; statusCode?: unknown; original?: unknown; name?: unknown; cause?: unknown } | null;
  if (e?.code === 'slack_webapi_http_error' && typeof e.statusCode === 'number') return `HTTP ${e.statusCode}`;
  if (e?.code === 'slack_webapi_rate_limited_error') return 'rate limited';
  const platform = platformError(err);
  if (platform) return platform;
  const original = e?.code === 'slack_webapi_request_error' ? e.original : err;
  return socketReason(original) ?? 'no answer';
}

function socketReason(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  if (e.name === 'TimeoutError') return 'no answer in time (SLACK_API_TIMEOUT_MS)';
  if (typeof e.code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(e.code)) return e.code;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = socketReason(inner, depth + 1);
      if (found) return found;
    }
  }
  return socketReason(e.cause, depth + 1);
}
