// Temporary database users: request, approve or deny, provision, show, rotate, delete, and reconcile after a crash.
// seeds/outsystems-cloud-database-access.md#temporary-database-user; PRODUCT.md "/dbuser", "Approvals".
import type { Clock } from '../clock.js';
import { lifetimeAtLeast, type Config, type LoadedEnvironment } from '../config.js';
import type { Database } from '../dialects/database.js';
import { ProvisioningError } from '../dialects/database.js';
import { targetOf } from '../dialects/index.js';
import { generatePassword, passwordProblems } from '../dialects/passwords.js';
import { nominalUsername } from '../dialects/usernames.js';
import { formatDuration } from '../duration.js';
import { AppError, isAppError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import { escapeText } from '../text.js';
import type { Logger } from '../log.js';
import { OPEN_STATES, type AccessRequest } from '../store/requests.js';
import type { Store } from '../store/store.js';
import { countApproval, quorumLine, requiredApprovals, type Quorum } from './core/approval.js';
import type { Notices } from './core/notices.js';
import { planOf } from './core/plan.js';
import { retryStore } from './core/store-retry.js';
import { STATE_WORDS, askAgain, statusLine, userWords } from './core/wording.js';
import type { AccessMetrics, Directory, Notifier } from './ports.js';
import { createRevoker, type RevocationSettings } from './revocation.js';

export { userWords } from './core/wording.js';

/** Temporary users need LifeTime 11.7.5 or later: seeds/outsystems-cloud-database-access.md#temporary-database-user */
export const MIN_LIFETIME_FOR_TEMPORARY = '11.7.5';

export interface AccessDeps {
  /** Retry pauses of failed revocations; tests shorten them. */
  revocation?: Partial<RevocationSettings>;
  /** Told when something may now be due sooner (an activation, a scheduled retry, { field: 'env' }): wakes the expiry timer. */
  onChange?: () => void;
  /** Jitter source for retries, in [0, 1). */
  random?: () => number;
  /** Pauses between tries of a state write that must land (tests shorten them); see core/store-retry.ts. */
  storeRetryDelaysMs?: readonly number[];
  config: Config;
  store: Store;
  /** The Database of an environment (opened once per environment by the caller). */
  database: (env: LoadedEnvironment) => Database;
  /** Only what must not be written down goes here directly: approval posts (their ts is needed) and credentials. */
  notifier: Notifier;
  /** Every other Slack notice, through the outbox. */
  notices: Notices;
  directory: Directory;
  clock: Clock;
  log: Logger;
  metrics?: AccessMetrics;
}

export interface TemporaryRequestInput {
  env: string;
  requester: string;
  durationMs?: number;
  reason: string;
  /** A password the requester chose; held in memory only until provisioning. */
  password?: string;
  breakGlass?: boolean;
}

export type RequestRoute = 'approval' | 'self-service' | 'break-glass';

export interface RequestOutcome {
  request: AccessRequest;
  route: RequestRoute;
}

export interface DecisionOutcome {
  request: AccessRequest;
  /** False when someone else decided first: nothing changed. */
  changed: boolean;
}

export interface ConnectionDetails {
  request: AccessRequest;
  host: string;
  port: number;
  instance: string | undefined;
  database: string;
  username: string;
  /** Null for a permanent user. */
  expiresAt: number | null;
}

/** What a user needs to connect, from the environment's public details. */
export function detailsOf(request: AccessRequest, env: LoadedEnvironment): ConnectionDetails {
  if (!request.username) throw new AppError('internal', `request ${request.id} has no username`);
  return {
    request,
    host: env.details.host,
    port: env.details.port,
    instance: 'instance' in env.details ? env.details.instance : undefined,
    database: env.details.database,
    username: request.username,
    expiresAt: request.expiresAt,
  };
}

/** A person's open requests, and those they may decide. */
export interface Listing {
  own: AccessRequest[];
  approving: AccessRequest[];
}

export function createTemporaryAccess(deps: AccessDeps) {
  const { config, store, notifier, notices, directory, clock, log } = deps;
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
  const revoker = createRevoker({
    store,
    notices,
    clock,
    log,
    database: deps.database,
    knownEnvironment,
    statusLine,
    ...(deps.revocation ? { settings: deps.revocation } : {}),
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.onChange ? { onChange: deps.onChange } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });

  /** The environment of that name, or undefined when the configuration does not have it (any more). */
  function knownEnvironment(name: string): LoadedEnvironment | undefined {
    const wanted = name.trim().toLowerCase();
    return config.environments.find((e) => e.name === wanted);
  }

  function environment(name: string): LoadedEnvironment {
    const env = knownEnvironment(name);
    if (!env) {
      const known = config.environments.map((e) => e.name).join(', ');
      throw new AppError('not_found', `There is no environment called "${name.slice(0, 40)}". Environments: ${known}.`, { field: 'env' });
    }
    return env;
  }

  /** Who decides: permanent users need the environment's permanent approvers (company or infrastructure administrators). */
  function approverConfig(env: LoadedEnvironment, kind: AccessRequest['kind']) {
    return kind === 'permanent' ? (env.permanentApprovers ?? env.approvers) : env.approvers;
  }

  async function approversOf(env: LoadedEnvironment, kind: AccessRequest['kind'] = 'temporary'): Promise<string[]> {
    const approvers = approverConfig(env, kind);
    const members = await Promise.all(approvers.groups.map((g) => directory.groupMembers(g).catch(() => [] as string[])));
    return [...new Set([...approvers.users, ...members.flat()])];
  }

  async function isApprover(user: string, env: LoadedEnvironment, kind: AccessRequest['kind'] = 'temporary'): Promise<boolean> {
    return (await approversOf(env, kind)).includes(user);
  }

  /** An approver of either kind: taking access away (a revocation) is for any of them. */
  async function isAnyApprover(user: string, env: LoadedEnvironment): Promise<boolean> {
    return (await isApprover(user, env, 'temporary')) || (await isApprover(user, env, 'permanent'));
  }

  /**
   * The environments whose approvers (of either kind) include `user`, optionally only `only`: who may
   * read the audit log of an environment, see its pending requests on App Home, or revoke its users.
   */
  async function approverEnvironments(user: string, only?: string): Promise<string[]> {
    const names: string[] = [];
    for (const env of config.environments) {
      if (only !== undefined && env.name !== only.trim().toLowerCase()) continue;
      if (await isAnyApprover(user, env)) names.push(env.name);
    }
    return names;
  }

  /** approversOf from what is known without asking Slack, or undefined when a group's members are not. */
  function knownApproversOf(env: LoadedEnvironment, kind: AccessRequest['kind']): string[] | undefined {
    const approvers = approverConfig(env, kind);
    const members: string[] = [];
    for (const group of approvers.groups) {
      const known = directory.knownGroupMembers(group);
      if (!known) return undefined;
      members.push(...known);
    }
    return [...new Set([...approvers.users, ...members])];
  }

  function approverMention(env: LoadedEnvironment, kind: AccessRequest['kind'] = 'temporary'): string {
    const approvers = approverConfig(env, kind);
    return [...approvers.users.map((u) => `<@${u}>`), ...approvers.groups.map((g) => `<!subteam^${g}>`)].join(', ');
  }

  /** Preconditions of seeds/outsystems-cloud-database-access.md#before-you-begin, each refused with what to do. */
  function checkPreconditions(env: LoadedEnvironment, durationMs: number): void {
    if (!lifetimeAtLeast(env.lifetimeVersion, MIN_LIFETIME_FOR_TEMPORARY)) {
      throw new AppError(
        'forbidden',
        `Temporary users need LifeTime ${MIN_LIFETIME_FOR_TEMPORARY} or later; ${env.name} runs ${env.lifetimeVersion}. Upgrade LifeTime, or ask for a permanent user.`,
      );
    }
    if (env.network !== 'vpn' && env.network !== 'tgw') {
      const why =
        env.network === 'allowlist'
          ? `${env.name} is reached by IP allowlisting, which cannot coexist with temporary users (a tunnel replaces the allowlist)`
          : `${env.name} has no VPN or AWS Transit Gateway tunnel`;
      throw new AppError('forbidden', `Temporary users need a VPN or Transit Gateway tunnel: ${why}. Set one up with OutSystems, then ask again.`, { field: 'env' });
    }
    const allowlisted = (['readonly', 'readwrite'] as const).map((a) => store.requests.findPermanent(env.name, a)).find((p) => p?.via === 'allowlist');
    if (allowlisted) {
      throw new AppError(
        'forbidden',
        `${env.name} has a permanent user (${allowlisted.username}) that connects by IP allowlisting, which cannot coexist with temporary users: a tunnel replaces the allowlist. Move that user to VPN or Transit Gateway first.`, { field: 'env' });
    }
    if (durationMs > env.policy.maxTtl) {
      throw new AppError('invalid_input', `${formatDuration(durationMs)} is longer than ${env.name} allows: at most ${formatDuration(env.policy.maxTtl)}.`, { field: 'duration' });
    }
  }

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
   * Every check that needs no Slack call, in the order a person would fix them: the environment,
   * its preconditions, break-glass rights, the password's own rules, one open request at a time.
   */
  function validateRequest(input: TemporaryRequestInput): { env: LoadedEnvironment; durationMs: number; reason: string; breakGlass: boolean } {
    const env = environment(input.env);
    const durationMs = input.durationMs ?? env.policy.ttl;
    checkPreconditions(env, durationMs);
    const reason = input.reason.trim();
    const breakGlass = input.breakGlass === true;
    if (breakGlass) {
      if (!env.breakGlass.includes(input.requester)) {
        throw new AppError('forbidden', `Break-glass access to ${env.name} is only for the people its configuration lists. Ask an approver: ${approverMention(env)}.`);
      }
      if (reason.length === 0) throw new AppError('invalid_input', 'Break-glass needs a reason: add --reason "what is broken".', { field: 'reason' });
    }
    if (input.password !== undefined) {
      const problems = passwordProblems(input.password);
      if (problems.length > 0) throw new AppError('invalid_input', `That password cannot be used. ${problems.join(' ')}`, { field: 'password' });
    }
    const existing = store.requests.findOpen(env.name, input.requester, 'temporary');
    if (existing) {
      throw new AppError(
        'conflict',
        `You already have a temporary user request in ${env.name} (${STATE_WORDS[existing.state] ?? existing.state}). One at a time: see it with \`/dbuser details ${env.name}\`, or remove it with \`/dbuser delete ${env.name}\`.`, { field: 'env' });
    }
    return { env, durationMs, reason, breakGlass };
  }

  async function requestTemporary(input: TemporaryRequestInput): Promise<RequestOutcome> {
    const { env, durationMs, reason, breakGlass } = validateRequest(input);
    const requesterName = await directory.displayName(input.requester).catch(() => input.requester);
    if (input.password !== undefined) {
      // SQL Server refuses a password holding the login name; the suffix is random, so check the rest.
      const base = nominalUsername({ prefix: config.usernamePrefix, requester: requesterName, rules: targetOf(env).rules }).replace(/_[^_]+$/, '');
      const problems = passwordProblems(input.password, base);
      if (problems.length > 0) throw new AppError('invalid_input', `That password cannot be used. ${problems.join(' ')}`, { field: 'password' });
    }
    // Named now, so the approval plan shows the exact user that will be created.
    const username = nominalUsername({ prefix: config.usernamePrefix, requester: requesterName, rules: targetOf(env).rules });
    // Checked again in the transaction that inserts: a permanent allowlisted user created meanwhile wins.
    const request = store.transaction(() => {
      checkPreconditions(env, durationMs);
      return store.requests.create(
        {
          username,
          kind: 'temporary',
          env: env.name,
          requester: input.requester,
          requesterName,
          access: 'readwrite',
          durationMs,
          reason,
          ownPassword: input.password !== undefined,
          breakGlass,
        },
        input.requester,
      );
    });
    if (input.password !== undefined) chosenPasswords.set(request.id, input.password);

    const selfService = env.selfService.includes(input.requester);
    if (breakGlass || selfService) {
      const route: RequestRoute = breakGlass ? 'break-glass' : 'self-service';
      const alert = `:rotating_light: Break-glass: <@${input.requester}> is creating a temporary user in ${env.name} without approval. Reason: ${escapeText(reason)}`;
      const approved = store.transaction(() => {
        const done = store.requests.transition(request.id, {
          from: ['pending'],
          to: 'approved',
          actor: input.requester,
          set: { decidedBy: input.requester, decidedAt: clock.now(), decisionReason: route === 'break-glass' ? `break-glass: ${reason}` : 'self-service (LifeTime administrator)' },
          detail: { route },
        });
        // The alerts are queued with the approval itself: nothing is created unannounced, and nothing waits for Slack.
        if (done && breakGlass) {
          notices.send({ topic: 'channel.notice', env: env.name, channel: 'approvals', text: alert, requestId: done.id });
          for (const user of approverConfig(env, 'temporary').users) {
            if (user !== input.requester) notices.send({ topic: 'direct.message', env: env.name, user, text: alert, requestId: done.id });
          }
        }
        return done;
      });
      if (!approved) throw new AppError('conflict', 'The request changed while it was being approved; look at `/dbuser list`.');
      if (breakGlass) void alertGroupMembers(env, approved, alert);
      return { request: approved, route };
    }

    const plan = planOf(request, env, username);
    try {
      const { channel, ts } = await notifier.approvalRequested(request, env, plan);
      await storeRetry(() => store.requests.setApprovalMessage(request.id, channel, ts));
    } catch (err) {
      log.warn({ err, requestId: request.id }, 'approval request could not be posted');
      // Nobody can approve a request nobody can see: withdraw it rather than leave it pending.
      chosenPasswords.delete(request.id);
      const error = String((err as Error).message ?? err).slice(0, 300);
      await storeRetry(() =>
        store.transaction(() => {
          store.audit.append({ actor: 'bot', action: 'delivery_failed', requestId: request.id, env: env.name, detail: { what: 'approval request', error } });
          store.requests.transition(request.id, { from: ['pending'], to: 'failed', actor: 'bot', set: { error: 'the approval request could not be posted to Slack' } });
        }),
      );
      throw new AppError('unavailable', `Your request could not be posted to the approval channel of ${env.name}. Try again in a minute; if it keeps failing, tell the bot's operators.`);
    }
    return { request: store.requests.get(request.id) ?? request, route: 'approval' };
  }

  /** Break-glass: members of approver groups are looked up in Slack after the fact, each DM queued on its own. */
  async function alertGroupMembers(env: LoadedEnvironment, request: AccessRequest, text: string): Promise<void> {
    const direct = new Set([...approverConfig(env, 'temporary').users, request.requester]);
    for (const group of approverConfig(env, 'temporary').groups) {
      try {
        const members = await directory.groupMembers(group);
        store.transaction(() => {
          for (const user of members) {
            if (direct.has(user)) continue;
            direct.add(user);
            notices.send({ topic: 'direct.message', env: env.name, user, text, requestId: request.id });
          }
        });
      } catch (err) {
        log.warn({ err, group, requestId: request.id }, 'break-glass alert: approver group could not be read');
      }
    }
  }

  /** Throws unless `actor` may decide the request: an approver of its environment, and not its requester unless policy allows. */
  async function assertCanDecide(requestId: string, actor: string): Promise<{ request: AccessRequest; env: LoadedEnvironment }> {
    const request = store.requests.get(requestId);
    if (!request) throw new AppError('not_found', 'That request no longer exists.');
    const env = environment(request.env);
    if (!(await isApprover(actor, env, request.kind))) {
      throw new AppError('forbidden', `Only ${request.kind === 'permanent' ? 'permanent-user approvers' : 'approvers'} of ${env.name} can decide: ${approverMention(env, request.kind)}.`);
    }
    if (actor === request.requester && !env.policy.allowSelfApproval) {
      throw new AppError('forbidden', 'You cannot decide your own request; another approver must.');
    }
    return { request, env };
  }

  async function decide(input: { requestId: string; actor: string; decision: 'approve' | 'deny'; reason?: string }): Promise<DecisionOutcome> {
    const { request, env } = await assertCanDecide(input.requestId, input.actor);
    const reason = input.reason?.trim() || null;
    const to = input.decision === 'approve' ? 'approved' : 'denied';
    const outcome = store.transaction((): { done: AccessRequest; quorum?: Quorum } | undefined => {
      const current = store.requests.get(request.id);
      if (current?.state !== 'pending') return undefined;
      let quorum: Quorum | undefined;
      if (to === 'approved') {
        quorum = countApproval(store, { subject: request.id, actor: input.actor, requester: request.requester, required: requiredApprovals(env, request.kind) });
        if (!quorum.reached) {
          // Not decided yet: the message shows who approved, and keeps its buttons for the next approver.
          store.audit.append({ actor: input.actor, action: 'approval_recorded', requestId: request.id, env: env.name, detail: { approvals: quorum.approvers.length, required: quorum.required } });
          notices.send({ topic: 'approval.updated', requestId: request.id, status: quorumLine(quorum) });
          return { done: current, quorum };
        }
      }
      const done = store.requests.transition(request.id, {
        from: ['pending'],
        to,
        actor: input.actor,
        set: { decidedBy: input.actor, decidedAt: clock.now(), decisionReason: reason },
        ...(quorum && quorum.required > 1 ? { detail: { approvers: quorum.approvers } } : {}),
      });
      if (!done) return undefined;
      notices.send({ topic: 'approval.updated', requestId: done.id, status: quorum && quorum.required > 1 ? `${quorumLine(quorum)} Creating the user…` : statusLine(done) });
      notices.send({
        topic: 'requester.notice',
        requestId: done.id,
        text:
          to === 'denied'
            ? `Your ${userWords(done)} request for ${env.name} was denied by <@${input.actor}>${reason ? `: ${escapeText(reason)}` : '.'}`
            : `Your ${userWords(done)} request for ${env.name} was approved by ${(quorum?.approvers ?? [input.actor]).map((a) => `<@${a}>`).join(', ')}. Creating it now; the password will follow here, only to you.`,
      });
      return { done };
    });
    if (!outcome) return { request: store.requests.get(request.id) ?? request, changed: false };
    if (outcome.quorum && !outcome.quorum.reached) return { request: outcome.done, changed: true };
    const decided = outcome.done;
    if (to === 'denied') chosenPasswords.delete(request.id);
    // The workflow runs the action itself: no entry point can record an approval and forget to create the user.
    else void provision(decided.id).catch((err: unknown) => log.error({ err, requestId: decided.id }, 'provisioning after approval failed'));
    return { request: decided, changed: true };
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

  function details(input: { env: string; user: string }): ConnectionDetails {
    const env = environment(input.env);
    const request = store.requests.findOpen(env.name, input.user, 'temporary');
    if (!request || request.state !== 'active' || !request.username || request.expiresAt === null) {
      const state = request ? ` Your request is ${STATE_WORDS[request.state] ?? request.state}.` : '';
      throw new AppError('not_found', `You have no active temporary user in ${env.name}.${state} Ask for one with \`/dbuser request ${env.name}\`.`);
    }
    return detailsOf(request, env);
  }

  /** Revokes the requester's active user now, or withdraws a request still waiting for approval. */
  async function remove(input: { env: string; user: string }): Promise<AccessRequest> {
    const env = environment(input.env);
    const request = store.requests.findOpen(env.name, input.user, 'temporary');
    if (!request) throw new AppError('not_found', `You have no temporary user or request in ${env.name}.`);
    if (request.state === 'pending') {
      const withdrawn = store.transaction(() => {
        const done = store.requests.transition(request.id, {
          from: ['pending'],
          to: 'denied',
          actor: input.user,
          set: { decidedBy: input.user, decidedAt: clock.now(), decisionReason: 'withdrawn by the requester' },
        });
        if (done) notices.send({ topic: 'approval.updated', requestId: done.id, status: statusLine(done) });
        return done;
      });
      if (!withdrawn) throw new AppError('conflict', 'Your request was decided meanwhile; run the command again.');
      chosenPasswords.delete(request.id);
      return withdrawn;
    }
    if (!['active', 'revoking', 'revoke_failed'].includes(request.state)) {
      throw new AppError('conflict', `Your user in ${env.name} is ${STATE_WORDS[request.state] ?? request.state}; try again in a minute.`);
    }
    const outcome = await revoker.attempt(request.id, input.user, request.state === 'active' ? 'requested' : 'retry');
    const after = store.requests.get(request.id) ?? request;
    if (outcome !== 'revoked') {
      throw new AppError(
        'db_error',
        `The user ${after.username} in ${env.name} could not be fully removed yet: ${after.error ?? 'unknown error'}. It is blocked where that step succeeded, and the bot keeps retrying; approvers are alerted if it keeps failing.`,
      );
    }
    return after;
  }

  /** A new password for the requester's active user; returned once to the caller, never kept. */
  async function rotatePassword(input: { requestId: string; user: string }): Promise<{ request: AccessRequest; password: string; env: LoadedEnvironment }> {
    const request = store.requests.get(input.requestId);
    if (!request || request.requester !== input.user) throw new AppError('forbidden', 'Only the person who asked for this user can get a new password for it.');
    // A permanent user's new password needs an approver: /dbuser rotate, never this button.
    if (request.kind !== 'temporary') {
      throw new AppError('forbidden', `A new password for a permanent user needs an approver: ask with \`/dbuser rotate ${request.env} --access ${request.access === 'readonly' ? 'read' : 'readwrite'}\`.`);
    }
    if (request.state !== 'active' || !request.username) {
      throw new AppError('conflict', `This user is ${STATE_WORDS[request.state] ?? request.state}, so it has no password to renew. Ask for a new one with \`/dbuser request ${request.env}\`.`);
    }
    const env = environment(request.env);
    const password = generatePassword();
    // Active (checked above): lift a lockout after bad passwords too.
    await deps.database(env).rotatePassword({ username: request.username, password, unlock: true });
    failpoint('rotate:after-set-password');
    store.audit.append({ actor: input.user, action: 'password_rotated', requestId: request.id, env: env.name });
    return { request, password, env };
  }

  /** The requester's requests; for an approver, every open request of the environments they approve. */
  async function list(user: string): Promise<Listing> {
    const approved: string[] = [];
    for (const env of config.environments) if (await isApprover(user, env)) approved.push(env.name);
    return listing(user, approved);
  }

  /**
   * list, answered at once from what is known (approver groups' members cached), or undefined when
   * Slack must be asked who is in a group: then use list.
   */
  function listKnown(user: string): Listing | undefined {
    const approved: string[] = [];
    for (const env of config.environments) {
      const approvers = knownApproversOf(env, 'temporary');
      if (!approvers) return undefined;
      if (approvers.includes(user)) approved.push(env.name);
    }
    return listing(user, approved);
  }

  function listing(user: string, approved: readonly string[]): Listing {
    const own = store.requests.listByRequester(user, OPEN_STATES);
    const approving = approved.length
      ? store.requests.listInStates(OPEN_STATES).filter((r: AccessRequest) => approved.includes(r.env) && r.requester !== user)
      : [];
    return { own, approving };
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
    environment,
    knownEnvironment,
    unknownEnvironments,
    approverMention,
    deliver,
    isAnyApprover,
    approverEnvironments,
    sweep,
    nextSweepAt,
    forgetChosenPassword,
    /** How many chosen passwords are held in memory (tests: they must not outlive their request). */
    heldPasswords: () => chosenPasswords.size,
    isApprover,
    approversOf,
    validateRequest,
    requestTemporary,
    assertCanDecide,
    decide,
    provision,
    details,
    remove,
    rotatePassword,
    list,
    listKnown,
    reconcile,
    statusLine,
    planOf,
    revoker,
  };
}

export type TemporaryAccess = ReturnType<typeof createTemporaryAccess>;
