// Socket Mode's connection, kept up for as long as Slack stays away: the first connection and every
// reconnection after a drop, with a retry policy of its own (issue 14, problem 7).
//
// Why not the Socket Mode client's own reconnection: Bolt hands it the Web API client's retryConfig
// (3 retries), and when apps.connections.open still fails it rejects a promise nobody awaits, which
// ends the process. Here the client never reconnects by itself (autoReconnectEnabled: false): it
// reports 'disconnected', and this loop opens a new connection with backoff, forever.
import type { Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../log.js';
import { describeSlackFailure, platformError } from './slack-status.js';

/**
 * What the Socket Mode client and its Web API client say about each failed connection attempt: this
 * module logs the change of state once instead, so these are dropped (issue 14: one line per state
 * change, not one per attempt). Everything else passes through.
 */
const PER_ATTEMPT = /^(Failed to retrieve a new WSS URL|WebSocket error|apps\.connections\.open did not return a URL|http request failed)/;

/** `logger` without the per-attempt connection failures. */
export function withoutAttemptNoise(logger: BoltLogger): BoltLogger {
  const keep = (msg: unknown[]) => !PER_ATTEMPT.test(String(msg[0] ?? ''));
  return {
    ...logger,
    warn: (...msg) => {
      if (keep(msg)) logger.warn(...msg);
    },
    error: (...msg) => {
      if (keep(msg)) logger.error(...msg);
    },
  };
}

/** The part of @slack/socket-mode's SocketModeClient used here. */
export interface SocketClient {
  start(): Promise<unknown>;
  disconnect(): Promise<void>;
  on(event: 'disconnected', listener: () => void): unknown;
}

export interface SocketConnection {
  /** Starts connecting in the background; never throws, never rejects. */
  start(): void;
  stop(): Promise<void>;
  /** For /readyz: undefined while connected, else a sentence that names no secret. */
  problem(): string | undefined;
}

export interface SocketConnectionOptions {
  client: SocketClient;
  log: Logger;
  /** First wait after a failed attempt, doubled up to maxMs (±20 % jitter). Default 1 s and 60 s. */
  backoff?: { firstMs: number; maxMs: number } | undefined;
  random?: () => number;
}

/** apps.connections.open errors that mean the app-level token itself is wrong. */
const TOKEN_REFUSED = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type', 'missing_scope', 'team_disabled', 'user_removed_from_team']);

export function keepSocketConnected(options: SocketConnectionOptions): SocketConnection {
  const { client, log } = options;
  const backoff = options.backoff ?? { firstMs: 1_000, maxMs: 60_000 };
  const random = options.random ?? Math.random;
  let state: 'connecting' | 'connected' | 'unreachable' | 'refused' | 'stopped' = 'connecting';
  let reason = '';
  let failures = 0;
  let everConnected = false;
  let attempt: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  function schedule(waitMs: number): void {
    if (state === 'stopped' || timer || attempt) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect();
    }, waitMs);
    timer.unref();
  }

  function nextWait(): number {
    const base = Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(failures - 1, 20));
    return Math.round(base * (0.8 + 0.4 * random()));
  }

  function failed(next: 'unreachable' | 'refused', why: string): void {
    const changed = state !== next;
    state = next;
    reason = why;
    if (!changed) return;
    if (next === 'refused') log.error({ reason: why }, 'Slack refused the app-level token (SLACK_APP_TOKEN); Socket Mode cannot connect until it is replaced');
    else log.warn({ reason: why }, 'Socket Mode cannot reach Slack; retrying');
  }

  function connect(): void {
    if (state === 'stopped' || attempt) return;
    attempt = client
      .start()
      .then(
        () => {
          if (state === 'stopped') return;
          log.info({ reconnected: everConnected }, everConnected ? 'Socket Mode reconnected' : 'Socket Mode connected');
          everConnected = true;
          failures = 0;
          state = 'connected';
          reason = '';
        },
        (err: unknown) => {
          if (state === 'stopped') return;
          failures += 1;
          const code = platformError(err);
          if (code && TOKEN_REFUSED.has(code)) failed('refused', `apps.connections.open answered ${code}`);
          else failed('unreachable', describeSlackFailure(err));
        },
      )
      .finally(() => {
        attempt = undefined;
        if (state !== 'connected') schedule(nextWait());
      });
  }

  // A dropped socket (Slack's refresh, a network cut, missed pings): open a new one at once, then back off.
  client.on('disconnected', () => {
    if (state !== 'connected') return;
    state = 'connecting';
    log.warn({}, 'Socket Mode connection lost; reconnecting');
    schedule(0);
  });

  return {
    start() {
      state = 'connecting';
      connect();
    },
    async stop() {
      state = 'stopped';
      clearTimeout(timer);
      timer = undefined;
      await client.disconnect();
    },
    problem() {
      switch (state) {
        case 'connected':
        case 'stopped':
          return undefined;
        case 'connecting':
          return 'Socket Mode connecting';
        case 'unreachable':
          return `Socket Mode cannot reach Slack: ${reason}; retrying`;
        case 'refused':
          return `Slack refused SLACK_APP_TOKEN (${reason}); create an app-level token with connections:write (Basic Information → App-Level Tokens) and restart`;
      }
    },
  };
}
