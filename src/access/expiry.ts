// Expiry: revoke on time (with retries), remind before, extend within policy, expire undecided
// requests, remind approvers, and find orphans. PRODUCT.md "Expiry"; issue "Expiry".
import type { LoadedEnvironment } from '../config.js';
import type { RevokeReport } from '../dialects/database.js';
import type { RevokeOutcome } from './revocation.js';
import { formatDuration } from '../duration.js';
import { AppError } from '../errors.js';
import { OPEN_STATES, type AccessRequest } from '../store/requests.js';
import { interopUsername } from './interop.js';
import type { OrphanReport } from './ports.js';
import type { AccessDeps, TemporaryAccess } from './temporary.js';

export interface ExpirySettings {
  /** Due items taken per query, and revocations run at once. */
  batchSize: number;
  concurrency: number;
}

/** How long a claimed reminder may stay unsent (Slack refused, or a crash) before it is sent again. */
const UNSENT_RETRY_MS = 30_000;

export const DEFAULT_EXPIRY_SETTINGS: ExpirySettings = { batchSize: 500, concurrency: 16 };

export interface ExpiryDeps extends AccessDeps {
  temporary: TemporaryAccess;
  settings?: Partial<ExpirySettings>;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

export function createExpiry(deps: ExpiryDeps) {
  const { store, notifier, clock, log, temporary, config } = deps;
  const settings = { ...DEFAULT_EXPIRY_SETTINGS, ...deps.settings };
  /** Reminders: the end of the window scanned last; 0 after a start, so downtime is caught up. */
  let remindersScannedUpTo = 0;

  const envOf = (request: AccessRequest) => temporary.environment(request.env);
  const attemptRevoke = temporary.revoker.attempt;

  const deliver = temporary.deliver;

  /** Takes due items batch by batch until none is left (each processed item leaves the due set). */
  async function drain(list: () => AccessRequest[], work: (r: AccessRequest) => Promise<unknown>): Promise<number> {
    let done = 0;
    const seen = new Set<string>();
    for (;;) {
      const batch = list().filter((r) => !seen.has(r.id));
      if (batch.length === 0) return done;
      for (const r of batch) seen.add(r.id);
      await inParallel(batch, settings.concurrency, async (r) => {
        try {
          await work(r);
        } catch (err) {
          log.error({ err, requestId: r.id }, 'scheduled work on a request failed');
        }
      });
      done += batch.length;
    }
  }

  async function revokeExpired(now: number): Promise<number> {
    return drain(
      () => store.requests.listExpiring(now, settings.batchSize),
      (r) => attemptRevoke(r, 'scheduler', 'expired'),
    );
  }

  async function retryRevocations(now: number): Promise<number> {
    return drain(
      () => store.requests.listRetryDue(now, settings.batchSize),
      (r) => attemptRevoke(r, 'scheduler', 'retry'),
    );
  }

  function reminderOffsets(): number[] {
    return [...new Set(config.environments.flatMap((e) => e.policy.reminders))].sort((a, b) => b - a);
  }

  /** Marks a reminder as done without sending it (a nearer one goes instead), so nothing resends it. */
  function skipReminder(requestId: string, kind: string): void {
    if (store.reminders.claim(requestId, kind)) store.reminders.markSent(requestId, kind);
  }

  /** The reminder kind: the expiry it belongs to is part of it, so an extension gets fresh reminders. */
  const reminderKind = (request: AccessRequest, offset: number) => `expiry:${offset}:${request.expiresAt}`;

  async function sendReminder(request: AccessRequest, env: LoadedEnvironment, offset: number): Promise<void> {
    const kind = reminderKind(request, offset);
    if (!store.reminders.claim(request.id, kind)) return;
    const left = Math.max((request.expiresAt ?? 0) - clock.now(), 0);
    try {
      await notifier.expiryReminder(
        request,
        env,
        `:hourglass_flowing_sand: The temporary user \`${request.username}\` of <@${request.requester}> in *${env.name}* expires in ${formatDuration(Math.max(Math.round(left / 60_000), 1) * 60_000)}.`,
      );
      store.reminders.markSent(request.id, kind);
    } catch (err) {
      // Left claimed but unsent: every run sends unsent claims older than a minute again, so it is not lost.
      log.warn({ err, requestId: request.id }, 'expiry reminder failed');
      store.audit.append({ actor: 'bot', action: 'delivery_failed', requestId: request.id, env: request.env, detail: { what: 'expiry reminder', error: String((err as Error).message ?? err) } });
    }
  }

  /**
   * Each reminder offset o is due for users whose expiry is in (last scan + o, now + o]. Only the window
   * since the last run is read, so a run costs what is newly due, not what is active. When several
   * reminders of one user are due at once (after downtime), only the nearest is sent.
   */
  async function sendReminders(now: number): Promise<void> {
    const from = remindersScannedUpTo;
    remindersScannedUpTo = now;
    const offsets = reminderOffsets();
    const due = new Map<string, { request: AccessRequest; offsets: number[] }>();
    for (const offset of offsets) {
      for (const request of store.requests.listExpiringBetween(from + offset, now + offset)) {
        const env = envOf(request);
        if (!env.policy.reminders.includes(offset) || request.expiresAt === null || request.expiresAt <= now) continue;
        if (request.activatedAt !== null && request.expiresAt - request.activatedAt <= offset) continue; // shorter-lived than the reminder
        const entry = due.get(request.id) ?? { request, offsets: [] };
        entry.offsets.push(offset);
        due.set(request.id, entry);
      }
    }
    await inParallel([...due.values()], settings.concurrency, async ({ request, offsets: found }) => {
      const nearest = Math.min(...found);
      for (const other of found) if (other !== nearest) skipReminder(request.id, reminderKind(request, other));
      await sendReminder(request, envOf(request), nearest);
    });
  }

  /** Reminders claimed but never sent (a crash in between, or Slack refused) are sent again, 30 s on. */
  async function recoverUnsent(now: number): Promise<void> {
    for (const { requestId, kind } of store.reminders.listUnsent(now - UNSENT_RETRY_MS + 1)) {
      const request = store.requests.get(requestId);
      store.reminders.release(requestId, kind);
      if (!request || request.state !== 'active' || !kind.startsWith('expiry:')) continue;
      const offset = Number(kind.split(':')[1]);
      if (reminderKind(request, offset) === kind) await sendReminder(request, envOf(request), offset);
    }
  }

  /** Undecided requests: expired after the environment's pendingTimeout; approvers reminded on the way. */
  async function handlePending(now: number): Promise<void> {
    for (const request of store.requests.listInStates(['pending'])) {
      const env = envOf(request);
      const age = now - request.createdAt;
      if (age >= env.policy.pendingTimeout) {
        const expired = store.requests.transition(request.id, {
          from: ['pending'],
          to: 'expired',
          actor: 'scheduler',
          set: { decisionReason: `nobody decided within ${formatDuration(env.policy.pendingTimeout)}` },
        });
        if (expired) {
          await deliver('approval update', expired, () => notifier.approvalUpdated(expired, env, `Expired: nobody decided within ${formatDuration(env.policy.pendingTimeout)}.`));
          await deliver('requester notice', expired, () =>
            notifier.notifyRequester(expired, `Your temporary user request for ${env.name} expired: nobody decided within ${formatDuration(env.policy.pendingTimeout)}. Ask again with \`/dbuser request ${env.name}\`, or ping an approver.`),
          );
        }
        continue;
      }
      const dueIndex = env.policy.approverReminders.filter((at) => age >= at).length - 1;
      if (dueIndex < 0) continue;
      // Earlier reminders that were missed (downtime) are claimed silently: one nudge, not a burst.
      for (let i = 0; i < dueIndex; i++) skipReminder(request.id, `pending:${i}`);
      const kind = `pending:${dueIndex}`;
      if (!store.reminders.claim(request.id, kind)) continue;
      const approvers = await temporary.approversOf(env);
      await deliver('approver reminder', request, async () => {
        await notifier.remindApprovers(
          request,
          env,
          `:bell: Still waiting for a decision for ${formatDuration(Math.floor(age / 60_000) * 60_000)}: ${approvers.map((u) => `<@${u}>`).join(' ')}`,
        );
        store.reminders.markSent(request.id, kind);
      });
    }
  }

  /** The next moment pending work is due: a timeout or an approver reminder. */
  function nextPendingAt(): number | null {
    let next: number | null = null;
    for (const request of store.requests.listInStates(['pending'])) {
      const env = envOf(request);
      const sent = new Set(store.reminders.kindsFor(request.id));
      const times = [
        request.createdAt + env.policy.pendingTimeout,
        ...env.policy.approverReminders.map((at, i) => (sent.has(`pending:${i}`) ? Infinity : request.createdAt + at)),
      ];
      const t = Math.min(...times);
      if (next === null || t < next) next = t;
    }
    return next;
  }

  function nextReminderAt(): number | null {
    let next: number | null = null;
    for (const offset of reminderOffsets()) {
      const expiry = store.requests.nextExpiryAfter(remindersScannedUpTo + offset);
      if (expiry !== null && (next === null || expiry - offset < next)) next = expiry - offset;
    }
    return next;
  }

  return {
    settings,
    attemptRevoke,
    revokeExpired,
    retryRevocations,
    sendReminders,
    handlePending,

    /** Everything due at `now`, most urgent first. */
    async runDue(now: number): Promise<void> {
      await revokeExpired(now);
      await retryRevocations(now);
      await recoverUnsent(now);
      await sendReminders(now);
      await handlePending(now);
    },

    nextDueAt(): number | null {
      const unsent = store.reminders.listUnsent(Number.MAX_SAFE_INTEGER)[0];
      const retryUnsentAt = unsent ? unsent.claimedAt + UNSENT_RETRY_MS : null;
      const candidates = [store.requests.nextDueAt(), nextReminderAt(), nextPendingAt(), retryUnsentAt].filter((t): t is number => t !== null);
      return candidates.length ? Math.min(...candidates) : null;
    },

    /** Extends an active user within policy: at most maxExtensions times, never past maxTtl in total. */
    async extend(input: { requestId: string; actor: string }): Promise<AccessRequest> {
      const request = store.requests.get(input.requestId);
      if (!request) throw new AppError('not_found', 'That user no longer exists.');
      const env = envOf(request);
      const approver = await temporary.isApprover(input.actor, env);
      const owner = input.actor === request.requester;
      if (!approver && !(owner && !env.policy.extensionNeedsApproval)) {
        throw new AppError('forbidden', owner ? `In ${env.name} an approver must extend temporary users.` : 'Only the owner of this user or an approver can extend it.');
      }
      if (request.state !== 'active' || request.expiresAt === null || request.activatedAt === null) {
        throw new AppError('conflict', `This user is no longer active, so it cannot be extended. Ask for a new one with \`/dbuser request ${env.name}\`.`);
      }
      if (request.extensions >= env.policy.maxExtensions) {
        throw new AppError('forbidden', `This user was already extended ${request.extensions} time(s); ${env.name} allows ${env.policy.maxExtensions}. Ask for a new one when it expires.`);
      }
      const lived = request.expiresAt - request.activatedAt;
      const total = Math.min(lived + request.durationMs, env.policy.maxTtl);
      if (total <= lived) {
        throw new AppError('forbidden', `This user already has the longest lifetime ${env.name} allows (${formatDuration(env.policy.maxTtl)}).`);
      }
      const expiresAt = request.activatedAt + total;
      const extended = store.requests.transition(request.id, {
        from: ['active'],
        to: 'active',
        actor: input.actor,
        set: { expiresAt, extensions: request.extensions + 1 },
        detail: { extendedByMs: total - lived },
      });
      if (!extended) throw new AppError('conflict', 'The user changed meanwhile; try again.');
      deps.onChange?.();
      return extended;
    },

    /** Revokes now, at the owner's or an approver's request. */
    async revokeNow(input: { requestId: string; actor: string }): Promise<RevokeOutcome> {
      const request = store.requests.get(input.requestId);
      if (!request) throw new AppError('not_found', 'That user no longer exists.');
      const env = envOf(request);
      if (input.actor !== request.requester && !(await temporary.isApprover(input.actor, env))) {
        throw new AppError('forbidden', 'Only the owner of this user or an approver can revoke it.');
      }
      if (!['active', 'revoking', 'revoke_failed'].includes(request.state)) {
        throw new AppError('conflict', `This user is already ${request.state.replace('_', '-')}.`);
      }
      return attemptRevoke(request, input.actor, request.state === 'active' ? 'requested' : 'retry');
    },

    /** `/dbuser revoke <username>`: approvers only. */
    async revokeByUsername(input: { username: string; actor: string }): Promise<{ request: AccessRequest; outcome: RevokeOutcome }> {
      const wanted = input.username.trim();
      const request = store.requests
        .listInStates(['active', 'revoking', 'revoke_failed'])
        .find((r) => r.username !== null && r.username.toLowerCase() === wanted.toLowerCase());
      if (!request) throw new AppError('not_found', `No active temporary user is called \`${wanted.slice(0, 64)}\`. \`/dbuser list\` shows them.`);
      const env = envOf(request);
      if (!(await temporary.isApprover(input.actor, env))) throw new AppError('forbidden', `Only approvers of ${env.name} can revoke other people's users.`);
      return { request, outcome: await attemptRevoke(request, input.actor, request.state === 'active' ? 'requested' : 'retry') };
    },

    /** Database users with the bot's prefix that no open request owns, and active users whose login is gone. */
    async findOrphans(env: LoadedEnvironment): Promise<OrphanReport> {
      const prefix = env.dialect === 'oracle' ? config.usernamePrefix.toUpperCase() : config.usernamePrefix;
      const inDatabase = await deps.database(env).listUsers({ prefix });
      const everywhere = store.requests.listInStates(OPEN_STATES);
      const open = everywhere.filter((r) => r.env === env.name);
      // Environments' databases may share a server: a user any environment owns is never an orphan here.
      const owned = new Set(everywhere.map((r) => r.username?.toLowerCase()).filter(Boolean));
      const present = new Set(inDatabase.map((u) => u.toLowerCase()));
      return {
        // The interoperability user carries the prefix too, but it is the bot's own, not an orphan.
        unknown: inDatabase.filter((u) => !owned.has(u.toLowerCase()) && !config.environments.some((e) => interopUsername(e, config.usernamePrefix).toLowerCase() === u.toLowerCase())),
        missing: open
          .filter((r) => r.state === 'active' && r.username && !present.has(r.username.toLowerCase()))
          .map((r) => ({ requestId: r.id, username: r.username!, requester: r.requester })),
      };
    },

    /** The scheduled check: reports each environment that has anything to report. */
    async reportOrphans(): Promise<void> {
      for (const env of config.environments) {
        try {
          const report = await this.findOrphans(env);
          if (report.unknown.length + report.missing.length === 0) continue;
          store.audit.append({ actor: 'scheduler', action: 'orphans_found', env: env.name, detail: { unknown: report.unknown, missing: report.missing.map((m) => m.username) } });
          await notifier.orphanReport(env, report);
        } catch (err) {
          log.error({ err, env: env.name }, 'orphan check failed');
        }
      }
    },

    /** Drops a database user the state does not know: approvers only, and never one an open request owns. */
    async dropOrphan(input: { env: string; username: string; actor: string }): Promise<RevokeReport> {
      const env = temporary.environment(input.env);
      if (!(await temporary.isApprover(input.actor, env))) throw new AppError('forbidden', `Only approvers of ${env.name} can drop database users.`);
      const report = await this.findOrphans(env);
      const username = report.unknown.find((u) => u.toLowerCase() === input.username.toLowerCase());
      if (!username) throw new AppError('conflict', `\`${input.username.slice(0, 64)}\` is not an orphan any more (it is gone, or a request owns it).`);
      const result = await deps.database(env).revokeUser({ username });
      store.audit.append({ actor: input.actor, action: 'orphan_dropped', env: env.name, detail: { username, complete: result.complete } });
      return result;
    },
  };
}

export type Expiry = ReturnType<typeof createExpiry>;
