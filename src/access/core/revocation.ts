// One revocation attempt, shared by expiry, `/dbuser delete`, Revoke-now, Retry, reconciliation and the
// clean-up of a user whose creation failed: block, disconnect, drop; on failure, retry with backoff and
// jitter, then alert and keep trying slowly. It never awaits Slack: what it tells goes to the outbox.
import type { Clock } from '../../clock.js';
import { failpoint } from '../../failpoints.js';
import type { LoadedEnvironment } from '../../config.js';
import type { Database, RevokeReport } from '../../dialects/database.js';
import { formatDuration } from '../../duration.js';
import { DatabaseError } from '../../dialects/executor.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { AccessRequest } from '../../store/requests.js';
import type { Store } from '../../store/store.js';
import type { Notices } from './notices.js';
import { retryStore } from './store-retry.js';
import { userWords } from './wording.js';
import type { AccessMetrics } from './ports.js';

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
/** A user whose creation failed and could not be dropped at once is a 'retry' too: provisioning moved it to revoking. */
// review_expired: issue 17 item 3, a permanent user whose access review went unanswered (policy.reviewExpiredAction: revoke).
export type RevokeReason = 'expired' | 'requested' | 'retry' | 'review_expired';

export interface RevokerContext {
  store: Store;
  notices: Notices;
  clock: Clock;
  log: Logger;
  database: (env: LoadedEnvironment) => Database;
  /** The environment of that name, or undefined when the configuration no longer has it. */
  knownEnvironment: (name: string) => LoadedEnvironment | undefined;
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

function failedReport(username: string, err: unknown): RevokeReport {
  const error =
    err instanceof DatabaseError
      ? err
      : new DatabaseError(err instanceof AppError ? err.code : 'db_error', err instanceof AppError ? err.message : 'an unexpected error (see the bot log)');
  return { username, steps: [{ step: 'block login', label: 'revoke', error }], sessionsEnded: 0, complete: false };
}

export function createRevoker(ctx: RevokerContext) {
  const { store, notices, clock, log } = ctx;
  const settings = { ...DEFAULT_REVOCATION_SETTINGS, ...ctx.settings };
  const random = ctx.random ?? Math.random;
  const jitter = (ms: number) => Math.round(ms * (0.8 + 0.4 * random()));

  /**
   * One revocation attempt: block, disconnect, drop. On failure the request stays 'revoking' with the
   * next attempt scheduled (backoff with jitter); after the quick retries it becomes 'revoke_failed',
   * the reminder channel is alerted, and a slow retry keeps going. Nothing is ever forgotten.
   * An expired user is revoked only if it is still active and still expired when the attempt starts:
   * an extension that landed meanwhile wins.
   */
  async function attempt(requestId: string, actor: string, reason: RevokeReason, options: { by?: 'owner' | 'approver' } = {}): Promise<RevokeOutcome> {
    const now = clock.now();
    const current = store.requests.get(requestId);
    if (!current) return 'skipped';
    if (reason === 'expired' && (current.state !== 'active' || current.expiresAt === null || current.expiresAt > now)) return 'skipped';
    const env = ctx.knownEnvironment(current.env);
    // An environment gone from the configuration: its requests are reported and left alone (src/access/expiry.ts).
    if (!env) return 'skipped';
    const attemptNo = current.revokeAttempts + 1;
    const revoking = store.requests.transition(current.id, {
      from: ['active', 'revoking', 'revoke_failed'],
      to: 'revoking',
      actor,
      set: { revokeAttempts: attemptNo, nextAttemptAt: null },
      // Who asked, as the owner or as an approver: the audit entry says it, not only the actor's id.
      detail: { reason, attempt: attemptNo, ...(options.by ? { by: options.by } : {}) },
    });
    if (!revoking?.username) return 'skipped';
    // Never handed out: its creation failed, so the requester hears that, not "revoked".
    const neverActive = revoking.activatedAt === null;
    let report: RevokeReport;
    const started = clock.now();
    try {
      failpoint('revoke:before-drop');
      report = await ctx.database(env).revokeUser({ username: revoking.username });
      failpoint('revoke:after-drop');
    } catch (err) {
      report = failedReport(revoking.username, err);
    }
    const seconds = (clock.now() - started) / 1000;
    if (report.complete) {
      const lateMs = reason === 'expired' && revoking.expiresAt !== null ? clock.now() - revoking.expiresAt : undefined;
      const revoked = await retryStore(() =>
        store.transaction(() => {
          const done = neverActive
            ? store.requests.transition(current.id, {
                from: ['revoking'],
                to: 'failed',
                actor,
                set: { nextAttemptAt: null },
                detail: { reason, sessionsEnded: report.sessionsEnded, cleanedUp: true },
              })
            : store.requests.transition(current.id, {
                from: ['revoking'],
                to: 'revoked',
                actor,
                set: { error: null, nextAttemptAt: null },
                detail: { reason, sessionsEnded: report.sessionsEnded, ...(lateMs !== undefined ? { lateMs } : {}) },
              });
          if (!done) return undefined;
          if (neverActive) {
            notices.send({
              topic: 'requester.notice',
              requestId: done.id,
              text: `Your ${userWords(done)} in ${env.name} could not be created: ${done.error ?? 'an error (see the bot log)'} Whatever was made has been removed. Ask again; if it fails again, tell an approver.`,
            });
          } else {
            const how =
              reason === 'expired'
                ? 'expired and was revoked'
                : reason === 'retry'
                  ? 'was finally revoked'
                  : reason === 'review_expired'
                    ? 'was revoked: nobody answered its access review in time'
                    : `was revoked${actor === done.requester ? '' : ` by <@${actor}>`}`;
            const text = `The ${userWords(done)} \`${done.username}\` of <@${done.requester}> in *${env.name}* ${how}.`;
            notices.send({ topic: 'revoked', requestId: done.id, text });
            // Its reminders (temporary users only) lose Extend and Revoke now.
            if (done.kind === 'temporary') notices.send({ topic: 'reminders.updated', requestId: done.id, status: `:no_entry_sign: ${text}` });
            // Issue 17 item 3: a review still open loses Keep and Revoke, whoever revoked the user.
            else if (store.reviews.close(done.id, actor)) notices.send({ topic: 'review.updated', requestId: done.id, status: `:no_entry_sign: ${text}` });
          }
          notices.send({ topic: 'approval.updated', requestId: done.id, status: ctx.statusLine(done) });
          return done;
        }),
      );
      if (!revoked) return 'skipped';
      // Retries of an expired user count too (reason 'retry'): they are the late ones.
      const overdueMs = reason !== 'requested' && revoked.expiresAt !== null ? clock.now() - revoked.expiresAt : undefined;
      ctx.metrics?.revoked('revoked', seconds, overdueMs !== undefined && overdueMs >= 0 ? overdueMs / 1000 : undefined);
      return 'revoked';
    }
    const failures = failuresOf(report);
    const error = neverActive ? revoking.error : `revocation incomplete (${failures})`;
    log.error({ requestId: current.id, env: env.name, attemptNo, error: failures }, 'revocation failed');
    const at = clock.now();
    if (attemptNo <= settings.retryDelaysMs.length) {
      const delay = jitter(settings.retryDelaysMs[attemptNo - 1]!);
      await retryStore(() =>
        store.requests.transition(current.id, { from: ['revoking'], to: 'revoking', actor: 'bot', set: { error, nextAttemptAt: at + delay }, detail: { attempt: attemptNo, retryInMs: delay, failures } }),
      );
      ctx.onChange?.();
      ctx.metrics?.revoked('retrying', seconds);
      return 'retrying';
    }
    const wasFailed = current.state === 'revoke_failed';
    await retryStore(() =>
      store.transaction(() => {
        const failed = store.requests.transition(current.id, {
          from: ['revoking'],
          to: 'revoke_failed',
          actor: 'bot',
          set: { error, nextAttemptAt: at + settings.slowRetryMs },
          detail: { attempt: attemptNo, failures },
        });
        if (failed && !wasFailed) {
          notices.send({
            topic: 'revoke.failed',
            requestId: failed.id,
            text: `:rotating_light: Could not revoke \`${failed.username}\` (<@${failed.requester}>) in *${env.name}* after ${attemptNo} attempts: ${failures}. The bot keeps trying every ${formatDuration(settings.slowRetryMs)}; *Retry* tries now.`,
          });
        }
      }),
    );
    ctx.onChange?.();
    ctx.metrics?.revoked('revoke_failed', seconds);
    return 'revoke_failed';
  }

  return { attempt, settings };
}

export type Revoker = ReturnType<typeof createRevoker>;
