// Provisioning, the action of an approved request: create the user, hand the password to the requester
// once, and make sure that whatever fails after a login may exist (the server, a deadline, SQLite, a
// crash) leaves no login alive that nobody tracks. Also what finishes a crash's leftovers: reconcile
// at start and the sweep on every tick, and the report of requests whose environment is gone.
import type { LoadedEnvironment } from '../../config.js';
import { ProvisioningError } from '../../dialects/database.js';
import { targetOf } from '../../dialects/index.js';
import { generatePassword } from '../../dialects/passwords.js';
import { nominalUsername } from '../../dialects/usernames.js';
import { isAppError } from '../../errors.js';
import { failpoint } from '../../failpoints.js';
import type { AccessRequest } from '../../store/requests.js';
import type { AccessDeps } from './deps.js';
import type { Policy } from './policy.js';
import type { Revoker } from './revocation.js';
import { retryStore } from './store-retry.js';
import { askAgain, statusLine, userWords } from './wording.js';

export function createProvisioning(deps: AccessDeps & { policy: Policy; revoker: Revoker }) {
  const { config, store, notifier, notices, clock, log, policy, revoker } = deps;
  const { knownEnvironment } = policy;

  /** Passwords people chose, until their request is provisioned or ends; memory only, never the store. */
  const chosenPasswords = new Map<string, string>();
  /** Requests this process is creating or cleaning up right now: the sweep leaves them alone. */
  const working = new Map<string, Promise<AccessRequest | undefined>>();
  /** Environments with open requests that the configuration no longer has: reported once each. */
  const driftReported = new Set<string>();
  let driftSeen: string[] = [];
  let nextDriftCheckAt = 0;
  const DRIFT_CHECK_MS = 60_000;
  const storeRetry = <T>(write: () => T): Promise<T> => retryStore(write, deps.storeRetryDelaysMs);

  /**
   * Hands something only the requester may see (a password) straight to Slack: it cannot wait in the
   * outbox, which is written down. True only when Slack took it; a failure is audited, never thrown.
   */
  async function deliver(what: string, request: { id: string; env: string }, send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (err) {
      log.warn({ err, requestId: request.id, what }, 'slack delivery failed');
      const error = String((err as Error).message ?? err).slice(0, 300);
      // Request ids start with r_, interop action ids with i_ (their tables' CHECKs); the audit log links only requests.
      const ref = request.id.startsWith('r_') ? { requestId: request.id } : { detail: { what, error, actionId: request.id } };
      await storeRetry(() => store.audit.append({ actor: 'bot', action: 'delivery_failed', env: request.env, detail: { what, error }, ...ref })).catch(
        (e: unknown) => log.error({ err: e, requestId: request.id }, 'could not audit a failed delivery'),
      );
      return false;
    }
  }

  function usernameFor(request: AccessRequest, env: LoadedEnvironment): string {
    return nominalUsername({ prefix: config.usernamePrefix, requester: request.requesterName || request.requester, rules: targetOf(env).rules });
  }

  /**
   * Creates the database user of an approved request and hands the password to the requester.
   * Whatever fails after the user may exist (the server, a deadline, SQLite) leaves no login behind
   * untracked: the user is dropped at once, or the request moves to revoking and the revoker keeps at it.
   */
  async function provision(requestId: string): Promise<AccessRequest | undefined> {
    // Already being created (the approval started it): the same outcome for every caller.
    const running = working.get(requestId);
    if (running) return running;
    const approved = store.requests.get(requestId);
    if (!approved || approved.state !== 'approved') return approved;
    const env = knownEnvironment(approved.env);
    if (!env) return approved;
    return track(requestId, () => create(approved, env));
  }

  /** Runs `work` for a request as this process's one piece of work on it, which the sweep leaves alone. */
  function track(requestId: string, work: () => Promise<AccessRequest | undefined>): Promise<AccessRequest | undefined> {
    const done = work().finally(() => working.delete(requestId));
    working.set(requestId, done);
    return done;
  }

  async function create(approved: AccessRequest, env: LoadedEnvironment): Promise<AccessRequest | undefined> {
    // The username is recorded before anything is created, so a crash in between can be cleaned up.
    const provisioning = store.requests.transition(approved.id, { from: ['approved'], to: 'provisioning', actor: 'bot', set: { username: approved.username ?? usernameFor(approved, env) } });
    if (!provisioning?.username) return store.requests.get(approved.id);
    const chosen = chosenPasswords.get(approved.id);
    chosenPasswords.delete(approved.id);
    const password = chosen ?? generatePassword();
    const started = clock.now();
    const kind = approved.kind === 'permanent' ? (approved.access === 'readonly' ? 'readonly' : 'readwrite') : 'temporary';
    let created;
    try {
      failpoint('provision:before-create');
      created = await deps.database(env).createUser({ username: provisioning.username, password, kind });
      failpoint('provision:after-create');
    } catch (err) {
      deps.metrics?.provisioned('failure', (clock.now() - started) / 1000);
      if (!isAppError(err)) log.error({ err, requestId: approved.id }, 'provisioning failed unexpectedly');
      const message = isAppError(err) ? err.message : 'an unexpected error (see the bot log).';
      // The database layer already dropped what it made, or knows nothing was made (the name may even
      // belong to someone else): only a half-made user it could not drop is left to the revoker.
      if (err instanceof ProvisioningError) {
        const nothingLeft = !err.cleanup || err.cleanup.complete;
        return settleFailure(provisioning, env, nothingLeft ? message : `${err.failure} The half-made user ${provisioning.username} is not dropped yet.`, nothingLeft);
      }
      // Anything else (our own deadline, a bug) may come after the server created the login: drop whatever is there.
      return cleanUp(provisioning, message);
    }
    deps.metrics?.provisioned('success', (clock.now() - started) / 1000);
    let active: AccessRequest | undefined;
    try {
      active = await storeRetry(() =>
        store.transaction(() => {
          const now = clock.now();
          const done = store.requests.transition(approved.id, {
            from: ['provisioning'],
            to: 'active',
            actor: 'bot',
            set: { activatedAt: now, expiresAt: approved.kind === 'permanent' ? null : now + approved.durationMs, error: null },
            detail: { username: created.username, grantedTables: created.grantedTables.length, generatedCredential: chosen === undefined },
          });
          if (done && approved.ownPassword && chosen === undefined) {
            notices.send({ topic: 'requester.notice', requestId: done.id, text: 'The password you chose was lost when the bot restarted, so a strong one was generated for you instead.' });
          }
          return done;
        }),
      );
    } catch (err) {
      // The login exists but its expiry could not be written: it must not stay alive untracked.
      log.error({ err, requestId: approved.id }, 'the new user could not be recorded; dropping it');
      return cleanUp(provisioning, 'the bot could not record the new user in its state database, so it was not handed out.');
    }
    if (!active) return store.requests.get(approved.id);
    deps.onChange?.();
    const shown = await deliver('credentials', active, () => notifier.deliverCredentials(active, env, password));
    await storeRetry(() =>
      store.transaction(() => {
        store.audit.append({ actor: 'bot', action: shown ? 'credentials_shown' : 'credentials_not_shown', requestId: active.id, env: env.name });
        if (!shown) {
          // Nothing secret here: only the way to a new password, since the one set could not be shown.
          notices.send({
            topic: 'requester.notice',
            requestId: active.id,
            text: `Your ${userWords(active)} \`${active.username}\` in ${env.name} is ready, but its password could not be shown to you. ${
              active.kind === 'temporary'
                ? `Run \`/dbuser details ${env.name}\` and click *New password*.`
                : `Ask for a new one with \`/dbuser rotate ${env.name} --access ${active.access === 'readonly' ? 'read' : 'readwrite'}\`.`
            }`,
          });
        }
        notices.send({ topic: 'approval.updated', requestId: active.id, status: statusLine(active) });
      }),
    ).catch((err: unknown) => log.error({ err, requestId: active.id }, 'could not record the credentials delivery'));
    return active;
  }

  /**
   * The request's user may exist but will not be handed out: drop it now. Gone → failed, and the
   * requester is told; not sure it is gone → revoking, and the revoker retries (alerting when it
   * keeps failing). When even that cannot be written, the request stays provisioning and the sweep
   * (or the next start) comes back to it.
   */
  async function cleanUp(request: AccessRequest, error: string): Promise<AccessRequest | undefined> {
    const env = knownEnvironment(request.env);
    if (!env || !request.username) return request;
    let complete = false;
    try {
      complete = (await deps.database(env).revokeUser({ username: request.username })).complete;
    } catch (err) {
      log.warn({ err, requestId: request.id }, 'dropping a half-made user failed; the revoker retries');
    }
    return settleFailure(request, env, error, complete);
  }

  /** Records how a creation that will not be handed out ended: failed when nothing is left, else revoking. */
  async function settleFailure(request: AccessRequest, env: LoadedEnvironment, error: string, nothingLeft: boolean): Promise<AccessRequest | undefined> {
    try {
      return await storeRetry(() =>
        store.transaction(() => {
          if (!nothingLeft) {
            const moved = store.requests.transition(request.id, { from: ['provisioning'], to: 'revoking', actor: 'bot', set: { error, nextAttemptAt: clock.now() } });
            if (moved) {
              const keeps = 'The bot keeps trying to drop it, and alerts the reminder channel if it cannot.';
              notices.send({ topic: 'approval.updated', requestId: moved.id, status: `Creating the user failed: ${error} ${keeps}` });
              notices.send({
                topic: 'requester.notice',
                requestId: moved.id,
                text: `Your ${userWords(moved)} in ${env.name} could not be created: ${error} ${keeps} Ask again once it is gone.`,
              });
            }
            return moved;
          }
          const failed = store.requests.transition(request.id, { from: ['provisioning'], to: 'failed', actor: 'bot', set: { error } });
          if (failed) {
            notices.send({ topic: 'approval.updated', requestId: failed.id, status: statusLine(failed) });
            notices.send({
              topic: 'requester.notice',
              requestId: failed.id,
              text: `Your ${userWords(failed)} in ${env.name} could not be created: ${error} Ask again with ${askAgain(failed)}; if it fails again, tell an approver.`,
            });
          }
          return failed;
        }),
      );
    } catch (err) {
      log.error({ err, requestId: request.id }, 'could not record the failed creation; the sweep comes back to it');
      return request;
    } finally {
      deps.onChange?.();
    }
  }

  /** A request approved this long ago that nobody is creating was left by an entry point that forgot to: the sweep creates it. */
  const APPROVED_STALE_MS = 60_000;

  /** A request provisioning this long (and not by this process) was interrupted: its half-made user is dropped. */
  function provisioningStaleMs(env: LoadedEnvironment): number {
    return 2 * env.policy.dbTimeout + 60_000;
  }

  /** Open requests of environments the configuration no longer has: reported once each, and left alone. */
  /** Environments no longer configured that still have open requests, as last checked (readiness shows them). */
  function unknownEnvironments(): string[] {
    return [...driftSeen];
  }

  /**
   * Looks for open requests of environments gone from the configuration, at most once a minute (it
   * counts every open request), and reports each such environment once.
   */
  function reportDrift(now: number = clock.now()): void {
    if (now < nextDriftCheckAt) return;
    nextDriftCheckAt = now + DRIFT_CHECK_MS;
    const open = store.requests.countOpenByEnv();
    driftSeen = Object.keys(open)
      .filter((name) => !knownEnvironment(name))
      .sort();
    for (const name of driftSeen) {
      if (driftReported.has(name)) continue;
      driftReported.add(name);
      const count = open[name] ?? 0;
      const text = `:warning: ${count} open request(s) belong to the environment "${name}", which is no longer in the bot's configuration. The bot leaves them alone: put "${name}" back to let it finish them (revoke its users), or remove those users by hand.`;
      log.warn({ env: name, openRequests: count }, 'open requests of an environment missing from the configuration');
      store.transaction(() => {
        store.audit.append({ actor: 'bot', action: 'environment_missing', env: name, detail: { openRequests: count } });
        for (const env of config.environments) notices.send({ topic: 'channel.notice', env: env.name, channel: 'reminders', text });
      });
    }
  }

  /**
   * What a crash or a forgetful caller left behind, found on every tick: approved requests nobody is
   * creating, requests stuck provisioning, chosen passwords of requests that ended, and requests of
   * environments gone from the configuration. The work runs in the background (it may await a database).
   */
  function sweep(now: number): void {
    for (const id of chosenPasswords.keys()) {
      const state = store.requests.get(id)?.state;
      if (state !== 'pending' && state !== 'approved') chosenPasswords.delete(id);
    }
    reportDrift(now);
    for (const request of store.requests.listInStates(['approved', 'provisioning'])) {
      const env = knownEnvironment(request.env);
      if (!env || working.has(request.id)) continue;
      if (request.state === 'approved' && request.updatedAt + APPROVED_STALE_MS <= now) void provision(request.id);
      if (request.state === 'provisioning' && request.updatedAt + provisioningStaleMs(env) <= now) void recoverProvisioning(request, 'creating it was interrupted (the bot restarted or lost its state database).');
    }
  }

  /** When sweep has something to do next, or null. */
  function nextSweepAt(): number | null {
    let next: number | null = null;
    for (const request of store.requests.listInStates(['approved', 'provisioning'])) {
      const env = knownEnvironment(request.env);
      if (!env || working.has(request.id)) continue;
      const at = request.updatedAt + (request.state === 'approved' ? APPROVED_STALE_MS : provisioningStaleMs(env));
      if (next === null || at < next) next = at;
    }
    return next;
  }

  async function recoverProvisioning(request: AccessRequest, error: string): Promise<AccessRequest | undefined> {
    return working.get(request.id) ?? track(request.id, () => cleanUp(request, error));
  }

  /**
   * After a restart: an approved request is provisioned; a request caught mid-provisioning has its
   * half-made user dropped (its password is gone anyway): failed when the drop succeeded, revoking
   * (retried, then alerted) when it did not. A revocation is resumed. Requests of environments no
   * longer configured are reported and left alone, and never stop the start.
   */
  async function reconcile(): Promise<{ provisioned: number; failed: number; revoked: number; cleaning: number }> {
    const counts = { provisioned: 0, failed: 0, revoked: 0, cleaning: 0 };
    reportDrift();
    const known = (r: AccessRequest) => knownEnvironment(r.env) !== undefined;
    // Environments are independent: one whose database hangs delays no other.
    const byEnv = new Map<string, AccessRequest[]>();
    for (const request of store.requests.listInStates(['approved', 'provisioning', 'revoking']).filter(known)) {
      byEnv.set(request.env, [...(byEnv.get(request.env) ?? []), request]);
    }
    await Promise.all(
      [...byEnv.values()].map(async (requests) => {
        for (const request of requests) {
          try {
            if (request.state === 'approved') {
              if ((await provision(request.id))?.state === 'active') counts.provisioned++;
            } else if (request.state === 'provisioning') {
              const after = await recoverProvisioning(request, 'creating it was interrupted by a restart of the bot.');
              if (after?.state === 'failed') counts.failed++;
              else counts.cleaning++;
            } else if (request.nextAttemptAt === null) {
              // A revocation the crash interrupted has no retry scheduled; scheduled ones are the timer's.
              if ((await revoker.attempt(request.id, 'bot', 'retry')) === 'revoked') counts.revoked++;
            }
          } catch (err) {
            log.error({ err, requestId: request.id }, 'reconciliation of a request failed; the scheduler comes back to it');
          }
        }
      }),
    );
    return counts;
  }

  /** Forgets the password a person chose for a request that ended before it was used. */
  function forgetChosenPassword(requestId: string): void {
    chosenPasswords.delete(requestId);
  }

  return {
    deliver,
    provision,
    reconcile,
    sweep,
    nextSweepAt,
    unknownEnvironments,
    storeRetry,
    /** Keeps a password the requester chose, in memory, until their request is created or ends. */
    rememberChosenPassword: (requestId: string, password: string) => void chosenPasswords.set(requestId, password),
    forgetChosenPassword,
    /** How many chosen passwords are held in memory (tests: they must not outlive their request). */
    heldPasswords: () => chosenPasswords.size,
  };
}

export type Provisioning = ReturnType<typeof createProvisioning>;
