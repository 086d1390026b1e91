// One revocation attempt, shared by expiry, `/dbuser delete`, Revoke-now, Retry and reconciliation:
// block, disconnect, drop; on failure, retry with backoff and jitter, then alert and keep trying slowly.
import type { Clock } from '../clock.js';
import { failpoint } from '../failpoints.js';
import type { LoadedEnvironment } from '../config.js';
import type { Database, RevokeReport } from '../dialects/database.js';
import { formatDuration } from '../duration.js';
import type { Logger } from '../log.js';
import type { AccessRequest } from '../store/requests.js';
import type { Store } from '../store/store.js';
import type { AccessMetrics, Notifier } from './ports.js';

export interface RevocationSettings {
  /** Pauses before each quick retry of a failed revocation; each is jittered by ±20 %. */
  retryDelaysMs: readonly number[];
  /** After the quick retries: how often a revoke-failed user is tried again, for as long as it takes. */
  slowRetryMs: number;
}

export const DEFAULT_REVOCATION_SETTINGS: RevocationSettings = {
  retryDelaysMs: [5_000, 15_000, 60_000, 300_000],
  slowRetryMs: 15 * 60_000,
};

/** What one revocation attempt came to. */
export type RevokeOutcome = 'revoked' | 'retrying' | 'revoke_failed' | 'skipped';
export type RevokeReason = 'expired' | 'requested' | 'retry';

export interface RevokerContext {
  store: Store;
  notifier: Notifier;
  clock: Clock;
  log: Logger;
  database: (env: LoadedEnvironment) => Database;
  environment: (name: string) => LoadedEnvironment;
  statusLine: (request: AccessRequest) => string;
  settings?: Partial<RevocationSettings>;
  /** Jitter source, in [0, 1); tests fix it. */
  random?: () => number;
  /** Told when a retry is scheduled, so the timer can wake for it. */
  onChange?: () => void;
  metrics?: AccessMetrics;
}

export function failuresOf(report: RevokeReport): string {
  return report.steps
    .filter((s) => s.error)
    .map((s) => `${s.label}: ${s.error?.message}`)
    .join('; ');
}

export function createRevoker(ctx: RevokerContext) {
  const { store, notifier, clock, log } = ctx;
  const settings = { ...DEFAULT_REVOCATION_SETTINGS, ...ctx.settings };
  const random = ctx.random ?? Math.random;
  const jitter = (ms: number) => Math.round(ms * (0.8 + 0.4 * random()));

  // The same as TemporaryAccess.deliver, which is built after the revoker; kept here to avoid the cycle.
  async function deliver(what: string, request: AccessRequest, send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (err) {
      log.warn({ err, requestId: request.id, what }, 'slack delivery failed');
      store.audit.append({ actor: 'bot', action: 'delivery_failed', requestId: request.id, env: request.env, detail: { what, error: String((err as Error).message ?? err) } });
    }
  }

  /**
   * One revocation attempt: block, disconnect, drop. On failure the request stays 'revoking' with the
   * next attempt scheduled (backoff with jitter); after the quick retries it becomes 'revoke_failed',
   * the reminder channel is alerted, and a slow retry keeps going. Nothing is ever forgotten.
   */
  async function attempt(request: AccessRequest, actor: string, reason: RevokeReason): Promise<RevokeOutcome> {
    const now = clock.now();
    const attemptNo = request.revokeAttempts + 1;
    const revoking = store.requests.transition(request.id, {
      from: ['active', 'revoking', 'revoke_failed'],
      to: 'revoking',
      actor,
      set: { revokeAttempts: attemptNo, nextAttemptAt: null },
      detail: { reason, attempt: attemptNo },
    });
    if (!revoking?.username) return 'skipped';
    const env = ctx.environment(revoking.env);
    let report: RevokeReport;
    const started = clock.now();
    try {
      failpoint('revoke:before-drop');
      report = await ctx.database(env).revokeUser({ username: revoking.username });
      failpoint('revoke:after-drop');
    } catch (err) {
      report = { username: revoking.username, steps: [{ step: 'block login', label: 'revoke', error: err as never }], sessionsEnded: 0, complete: false };
    }
    const seconds = (clock.now() - started) / 1000;
    if (report.complete) {
      const lateMs = reason === 'expired' && revoking.expiresAt !== null ? clock.now() - revoking.expiresAt : undefined;
      const revoked = store.requests.transition(request.id, {
        from: ['revoking'],
        to: 'revoked',
        actor,
        set: { error: null, nextAttemptAt: null },
        detail: { reason, sessionsEnded: report.sessionsEnded, ...(lateMs !== undefined ? { lateMs } : {}) },
      });
      if (!revoked) return 'skipped';
      // Retries of an expired user count too (reason 'retry'): they are the late ones.
      const overdueMs = reason !== 'requested' && revoked.expiresAt !== null ? clock.now() - revoked.expiresAt : undefined;
      ctx.metrics?.revoked('revoked', seconds, overdueMs !== undefined && overdueMs >= 0 ? overdueMs / 1000 : undefined);
      const how = reason === 'expired' ? 'expired and was revoked' : reason === 'retry' ? 'was finally revoked' : `was revoked${actor === revoked.requester ? '' : ` by <@${actor}>`}`;
      await deliver('revoked notice', revoked, () => notifier.revoked(revoked, env, `The temporary user \`${revoked.username}\` of <@${revoked.requester}> in *${env.name}* ${how}.`));
      await deliver('approval update', revoked, () => notifier.approvalUpdated(revoked, env, ctx.statusLine(revoked)));
      return 'revoked';
    }
    const error = `revocation incomplete (${failuresOf(report)})`;
    log.error({ requestId: request.id, env: env.name, attemptNo, error }, 'revocation failed');
    if (attemptNo <= settings.retryDelaysMs.length) {
      const delay = jitter(settings.retryDelaysMs[attemptNo - 1]!);
      store.requests.transition(request.id, { from: ['revoking'], to: 'revoking', actor: 'bot', set: { error, nextAttemptAt: now + delay }, detail: { attempt: attemptNo, retryInMs: delay } });
      ctx.onChange?.();
      ctx.metrics?.revoked('retrying', seconds);
      return 'retrying';
    }
    const wasFailed = request.state === 'revoke_failed';
    const failed = store.requests.transition(request.id, {
      from: ['revoking'],
      to: 'revoke_failed',
      actor: 'bot',
      set: { error, nextAttemptAt: now + settings.slowRetryMs },
      detail: { attempt: attemptNo },
    });
    ctx.onChange?.();
    if (failed && !wasFailed) {
      await deliver('revoke-failed alert', failed, () =>
        notifier.revokeFailed(
          failed,
          env,
          `:rotating_light: Could not revoke \`${failed.username}\` (<@${failed.requester}>) in *${env.name}* after ${attemptNo} attempts: ${failuresOf(report)}. The bot keeps trying every ${formatDuration(settings.slowRetryMs)}; *Retry* tries now.`,
        ),
      );
    }
    ctx.metrics?.revoked('revoke_failed', seconds);
    return 'revoke_failed';
  }

  return { attempt, settings };
}

export type Revoker = ReturnType<typeof createRevoker>;
