// Expiry: revoke on time (with retries), remind before, extend within policy, expire undecided
// requests, remind approvers, and find orphans. PRODUCT.md "Expiry"; issue "Expiry".
import type { LoadedEnvironment } from '../config.js';
import type { RevokeReport } from '../dialects/database.js';
import type { RevokeOutcome } from './core/revocation.js';
import { formatDuration } from '../duration.js';
import { AppError, isAppError } from '../errors.js';
import { OPEN_STATES, type AccessRequest } from '../store/requests.js';
import { createLanes } from './core/lanes.js';
import { revocationNeedsConfirmation } from './core/policy.js';
import { askAgain, userWords } from './core/wording.js';
import { interopUsername } from './interop.js';
import type { OrphanReport } from './core/ports.js';
import type { AccessDeps } from './core/deps.js';
import type { Access } from './index.js';

export interface ExpirySettings {
  /** Due items taken per query. */
  batchSize: number;
  /** Revocations one environment runs at once (its lane); other environments never wait for them. */
  concurrency: number;
}

export const DEFAULT_EXPIRY_SETTINGS: ExpirySettings = { batchSize: 500, concurrency: 8 };

/** Backoff of one request whose scheduled work failed unexpectedly (the store refused a write): 1 s doubling to 60 s. */
const HOLD_MS = { first: 1_000, max: 60_000 };

export interface ExpiryDeps extends AccessDeps {
  access: Access;
  settings?: Partial<ExpirySettings>;
}

export function createExpiry(deps: ExpiryDeps) {
  const { store, clock, log, access, config, notices } = deps;
  const settings = { ...DEFAULT_EXPIRY_SETTINGS, ...deps.settings };
  /** Reminders: the end of the window scanned last; 0 after a start, so downtime is caught up. */
  let remindersScannedUpTo = 0;
  /** Requests whose work failed unexpectedly, and when they may be tried again. Memory only: a restart retries at once. */
  const held = new Map<string, { until: number; failures: number }>();
  const lanes = createLanes({ concurrency: settings.concurrency, log, onSettled: () => deps.onChange?.() });

  const knownEnvironment = access.knownEnvironment;
  const attemptRevoke = access.revoker.attempt;

  function hold(requestId: string, err: unknown): void {
    const failures = (held.get(requestId)?.failures ?? 0) + 1;
    const until = clock.now() + Math.min(HOLD_MS.first * 2 ** (failures - 1), HOLD_MS.max);
    held.set(requestId, { until, failures });
    // One line per streak, then one every tenth failure: a locked store must not flood the log.
    if (failures === 1 || failures % 10 === 0) log.error({ err, requestId, failures, retryAt: until }, 'scheduled revocation failed; holding it back');
  }

  function heldIds(now: number): string[] {
    for (const [id, h] of held) if (h.until <= now && !lanes.has(id)) held.delete(id);
    return [...held.keys()];
  }

  /**
   * Starts the revocations due at `now` in their environments' lanes and returns at once: one
   * environment whose database hangs fills its own lane and nobody else's. Returns how many started.
   */
  function dispatchRevocations(now: number): number {
    let started = 0;
    const busy = [...lanes.keys(), ...heldIds(now)];
    for (const env of config.environments) {
      const free = lanes.free(env.name);
      if (free === 0) continue;
      for (const request of store.requests.listDueIn(env.name, now, Math.min(free, settings.batchSize), busy)) {
        const reason = request.state === 'active' ? 'expired' : 'retry';
        const ran = lanes.run(env.name, request.id, async () => {
          try {
            await attemptRevoke(request.id, 'scheduler', reason);
            held.delete(request.id);
          } catch (err) {
            hold(request.id, err);
          }
        });
        if (ran) started++;
      }
    }
    return started;
  }

  /** The next moment revocation work is due in an environment with room in its lane (full lanes wake the timer as they drain). */
  function nextRevocationAt(now: number): number | null {
    const envs = config.environments.filter((e) => lanes.free(e.name) > 0).map((e) => e.name);
    const ids = [...lanes.keys(), ...heldIds(now)];
    const due = store.requests.nextDueAmong(envs, ids);
    const released = [...held.values()].map((h) => h.until);
    const all = [due, ...released].filter((t): t is number => t !== null);
    return all.length ? Math.min(...all) : null;
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

  /** Claims the reminder and queues it in one transaction: the outbox delivers it, so it is marked sent here. */
  function queueReminder(request: AccessRequest, env: LoadedEnvironment, offset: number, now: number): void {
    const kind = reminderKind(request, offset);
    const left = Math.max((request.expiresAt ?? 0) - now, 0);
    store.transaction(() => {
      if (!store.reminders.claim(request.id, kind)) return;
      notices.send({
        topic: 'expiry.reminder',
        requestId: request.id,
        text: `:hourglass_flowing_sand: The ${userWords(request)} \`${request.username}\` of <@${request.requester}> in *${env.name}* expires in ${formatDuration(Math.max(Math.round(left / 60_000), 1) * 60_000)}.`,
      });
      store.reminders.markSent(request.id, kind);
    });
  }

  /**
   * Each reminder offset o is due for users whose expiry is in (last scan + o, now + o]. Only the window
   * since the last run is read, so a run costs what is newly due, not what is active. When several
   * reminders of one user are due at once (after downtime), only the nearest is sent.
   */
  function queueReminders(now: number): void {
    const from = remindersScannedUpTo;
    const offsets = reminderOffsets();
    const due = new Map<string, { request: AccessRequest; env: LoadedEnvironment; offsets: number[] }>();
    for (const offset of offsets) {
      for (const request of store.requests.listExpiringBetween(from + offset, now + offset)) {
        const env = knownEnvironment(request.env);
        if (!env || !env.policy.reminders.includes(offset) || request.expiresAt === null || request.expiresAt <= now) continue;
        if (request.activatedAt !== null && request.expiresAt - request.activatedAt <= offset) continue; // shorter-lived than the reminder
        const entry = due.get(request.id) ?? { request, env, offsets: [] };
        entry.offsets.push(offset);
        due.set(request.id, entry);
      }
    }
    for (const { request, env, offsets: found } of due.values()) {
      const nearest = Math.min(...found);
      for (const other of found) if (other !== nearest) skipReminder(request.id, reminderKind(request, other));
      queueReminder(request, env, nearest, now);
    }
    // Moved only once everything is queued: a store error above means the same window is read again.
    remindersScannedUpTo = now;
  }

  /** Reminders claimed but never sent by an older version of the bot (before the outbox): queued now. */
  function recoverUnsent(now: number): void {
    for (const { requestId, kind } of store.reminders.listUnsent(now + 1)) {
      const request = store.requests.get(requestId);
      store.reminders.release(requestId, kind);
      const env = request ? knownEnvironment(request.env) : undefined;
      if (!request || !env || request.state !== 'active' || !kind.startsWith('expiry:')) continue;
      const offset = Number(kind.split(':')[1]);
      if (reminderKind(request, offset) === kind) queueReminder(request, env, offset, now);
    }
  }

  /** Undecided requests: expired after the environment's pendingTimeout; approvers reminded on the way. Never awaits Slack. */
  function handlePending(now: number): void {
    for (const request of store.requests.listInStates(['pending'])) {
      const env = knownEnvironment(request.env);
      if (!env) continue;
      const age = now - request.createdAt;
      if (age >= env.policy.pendingTimeout) {
        const waited = formatDuration(env.policy.pendingTimeout);
        const expired = store.transaction(() => {
          const done = store.requests.transition(request.id, {
            from: ['pending'],
            to: 'expired',
            actor: 'scheduler',
            set: { decisionReason: `nobody decided within ${waited}` },
          });
          if (!done) return undefined;
          notices.send({ topic: 'approval.updated', requestId: done.id, status: `Expired: nobody decided within ${waited}.` });
          notices.send({
            topic: 'requester.notice',
            requestId: done.id,
            text: `Your ${userWords(done)} request for ${env.name} expired: nobody decided within ${waited}. Ask again with ${askAgain(done)}, or ping an approver.`,
          });
          return done;
        });
        if (expired) access.forgetChosenPassword(expired.id);
        continue;
      }
      const dueIndex = env.policy.approverReminders.filter((at) => age >= at).length - 1;
      if (dueIndex < 0) continue;
      // Earlier reminders that were missed (downtime) are claimed silently: one nudge, not a burst.
      for (let i = 0; i < dueIndex; i++) skipReminder(request.id, `pending:${i}`);
      const kind = `pending:${dueIndex}`;
      store.transaction(() => {
        if (!store.reminders.claim(request.id, kind)) return;
        // Mentions, not member lists: Slack expands a group mention itself, so nothing here waits on Slack.
        notices.send({
          topic: 'approvers.reminder',
          requestId: request.id,
          text: `:bell: Still waiting for a decision for ${formatDuration(Math.floor(age / 60_000) * 60_000)}: ${access.approverMention(env, request.kind)}`,
        });
        store.reminders.markSent(request.id, kind);
      });
    }
  }

  /** The next moment pending work is due: a timeout or an approver reminder. */
  function nextPendingAt(): number | null {
    let next: number | null = null;
    for (const request of store.requests.listInStates(['pending'])) {
      const env = knownEnvironment(request.env);
      if (!env) continue;
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

  /**
   * Everything due at `now`, most urgent first, without waiting for any of it: revocations start in
   * their lanes, notices go to the outbox. Each part fails alone, so a store error in reminders does
   * not stop revocations. Returns the revocations started.
   */
  function tick(now: number): number {
    let started = 0;
    const parts: [string, () => void][] = [
      ['revocations', () => void (started = dispatchRevocations(now))],
      ['unsent reminders', () => recoverUnsent(now)],
      ['reminders', () => queueReminders(now)],
      ['pending requests', () => handlePending(now)],
      ['reconciliation', () => access.sweep(now)],
    ];
    const failures: unknown[] = [];
    for (const [part, run] of parts) {
      try {
        run();
      } catch (err) {
        failures.push(err);
        log.error({ err, part }, 'scheduled work failed');
      }
    }
    // The timer backs off while the store keeps failing (src/jobs/due-timer.ts).
    if (failures.length === parts.length) throw failures[0];
    return started;
  }

  return {
    settings,
    attemptRevoke,
    tick,

    /** Resolves once no revocation runs (tests, shutdown). */
    idle: () => lanes.idle(),

    /** tick, then wait for the revocations it started, until nothing more is due at `now` (tests, catch-up). */
    async runDue(now: number): Promise<void> {
      for (let round = 0; round < 1_000; round++) {
        const started = tick(now);
        await lanes.idle();
        if (started === 0) return;
      }
    },

    nextDueAt(): number | null {
      const now = clock.now();
      const candidates = [nextRevocationAt(now), nextReminderAt(), nextPendingAt(), access.nextSweepAt()].filter((t): t is number => t !== null);
      return candidates.length ? Math.min(...candidates) : null;
    },

    /**
     * Extends an active user within policy: at most maxExtensions times, never past maxTtl in total, never
     * once expired (its revocation is due or under way). Where extensionNeedsApproval is set, only an
     * approver other than the owner may extend it.
     */
    async extend(input: { requestId: string; actor: string }): Promise<AccessRequest> {
      const request = store.requests.get(input.requestId);
      if (!request) throw new AppError('not_found', 'That user no longer exists.');
      const env = access.environment(request.env);
      const approver = await access.isApprover(input.actor, env);
      const owner = input.actor === request.requester;
      if (env.policy.extensionNeedsApproval ? !approver || owner : !approver && !owner) {
        throw new AppError(
          'forbidden',
          owner
            ? `In ${env.name} another approver must extend your ${userWords(request)}: ${access.approverMention(env)}.`
            : 'Only the owner of this user or an approver can extend it.',
        );
      }
      /** The rules that depend on the user's current row: checked before, and again inside the write. */
      function extension(current: AccessRequest): { expiresAt: number; byMs: number } {
        if (current.state !== 'active' || current.expiresAt === null || current.activatedAt === null || current.expiresAt <= clock.now()) {
          throw new AppError('conflict', `This user has expired or is no longer active, so it cannot be extended. Ask for a new one with ${askAgain(current)}.`);
        }
        if (current.extensions >= env.policy.maxExtensions) {
          throw new AppError('forbidden', `This user was already extended ${current.extensions} time(s); ${env.name} allows ${env.policy.maxExtensions}. Ask for a new one when it expires.`);
        }
        const lived = current.expiresAt - current.activatedAt;
        const total = Math.min(lived + current.durationMs, env.policy.maxTtl);
        if (total <= lived) {
          throw new AppError('forbidden', `This user already has the longest lifetime ${env.name} allows (${formatDuration(env.policy.maxTtl)}).`);
        }
        return { expiresAt: current.activatedAt + total, byMs: total - lived };
      }
      extension(request);
      // The approver check above may have awaited Slack: the row is read again and every rule re-checked in
      // the write, so of overlapping clicks one extends and the others are told why not, and a revocation
      // that started meanwhile wins.
      const extended = store.transaction(() => {
        const current = store.requests.get(request.id);
        if (!current) throw new AppError('not_found', 'That user no longer exists.');
        const { expiresAt, byMs } = extension(current);
        const next = store.requests.transition(request.id, {
          from: ['active'],
          to: 'active',
          actor: input.actor,
          set: { expiresAt, extensions: current.extensions + 1 },
          detail: { extendedByMs: byMs },
        });
        // The reminders already posted speak of the old expiry: rewritten with the new one, Extend only if one is left.
        if (next) notices.send({ topic: 'reminders.updated', requestId: next.id, status: `:white_check_mark: Extended by <@${input.actor}> (${next.extensions} of ${env.policy.maxExtensions}).` });
        return next;
      });
      if (!extended) throw new AppError('conflict', 'The user changed meanwhile; look again with `/dbuser list`.');
      deps.onChange?.();
      return extended;
    },

    /** Revokes now, at the owner's or an approver's request (a button: a permanent user's asks Slack to confirm first). */
    async revokeNow(input: { requestId: string; actor: string }): Promise<RevokeOutcome> {
      const request = store.requests.get(input.requestId);
      if (!request) throw new AppError('not_found', 'That user no longer exists.');
      const { by } = await access.assertCanRevoke(request, input.actor);
      if (!['active', 'revoking', 'revoke_failed'].includes(request.state)) {
        throw new AppError('conflict', `This user is already ${request.state.replace('_', '-')}.`);
      }
      return attemptRevoke(request.id, input.actor, request.state === 'active' ? 'requested' : 'retry', { by });
    },

    /**
     * `/dbuser revoke <username>`: the owner revokes their own user, an approver anyone's. A permanent
     * user is not dropped by the command itself: the answer is 'unconfirmed', and the caller shows the
     * confirmation (revokeNow drops it once confirmed).
     */
    async revokeByUsername(input: { username: string; actor: string }): Promise<{ request: AccessRequest; outcome: RevokeOutcome | 'unconfirmed' }> {
      const wanted = input.username.trim();
      const request = store.requests
        .listInStates(['active', 'revoking', 'revoke_failed'])
        .find((r) => r.username !== null && r.username.toLowerCase() === wanted.toLowerCase());
      if (!request) throw new AppError('not_found', `No active user is called \`${wanted.slice(0, 64)}\`. \`/dbuser list\` shows them.`);
      const { by } = await access.assertCanRevoke(request, input.actor).catch((err: unknown) => {
        // Told in the command's own words: someone else's user by name is for approvers.
        if (isAppError(err, 'forbidden')) throw new AppError('forbidden', `Only approvers of ${request.env} can revoke other people's users; you can revoke your own.`);
        throw err;
      });
      if (request.state === 'active' && revocationNeedsConfirmation(request)) return { request, outcome: 'unconfirmed' };
      return { request, outcome: await attemptRevoke(request.id, input.actor, request.state === 'active' ? 'requested' : 'retry', { by }) };
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

    /** The scheduled check: every environment at once (one that hangs delays no other), each reported when it has anything to report. */
    async reportOrphans(): Promise<void> {
      await Promise.all(
        config.environments.map(async (env) => {
          try {
            const report = await this.findOrphans(env);
            if (report.unknown.length + report.missing.length === 0) return;
            store.transaction(() => {
              store.audit.append({ actor: 'scheduler', action: 'orphans_found', env: env.name, detail: { unknown: report.unknown, missing: report.missing.map((m) => m.username) } });
              notices.send({ topic: 'orphan.report', env: env.name, report });
            });
          } catch (err) {
            log.error({ err, env: env.name }, 'orphan check failed');
          }
        }),
      );
    },

    /** Drops a database user the state does not know: approvers only, and never one an open request owns. */
    async dropOrphan(input: { env: string; username: string; actor: string }): Promise<RevokeReport> {
      const env = access.environment(input.env);
      if (!(await access.isApprover(input.actor, env))) throw new AppError('forbidden', `Only approvers of ${env.name} can drop database users.`);
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
