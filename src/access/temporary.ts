// Temporary database users: request, approve or deny, provision, show, rotate, delete, and reconcile after a crash.
// seeds/outsystems-cloud-database-access.md#temporary-database-user; PRODUCT.md "/dbuser", "Approvals".
import type { Clock } from '../clock.js';
import { lifetimeAtLeast, type Config, type LoadedEnvironment } from '../config.js';
import type { Database } from '../dialects/database.js';
import { createUserPlan } from '../dialects/database.js';
import { dialectOf, targetOf } from '../dialects/index.js';
import { generatePassword, passwordProblems } from '../dialects/passwords.js';
import { describePlan } from '../dialects/render.js';
import { nominalUsername } from '../dialects/usernames.js';
import { formatDuration } from '../duration.js';
import { AppError, isAppError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import { escapeText } from '../text.js';
import type { Logger } from '../log.js';
import { OPEN_STATES, type AccessRequest } from '../store/requests.js';
import type { Store } from '../store/store.js';
import type { AccessMetrics, Directory, Notifier } from './ports.js';
import { createRevoker, type RevocationSettings } from './revocation.js';

/** Temporary users need LifeTime 11.7.5 or later: seeds/outsystems-cloud-database-access.md#temporary-database-user */
export const MIN_LIFETIME_FOR_TEMPORARY = '11.7.5';

export interface AccessDeps {
  /** Retry pauses of failed revocations; tests shorten them. */
  revocation?: Partial<RevocationSettings>;
  /** Told when something may now be due sooner (an activation, a scheduled retry): wakes the expiry timer. */
  onChange?: () => void;
  /** Jitter source for retries, in [0, 1). */
  random?: () => number;
  config: Config;
  store: Store;
  /** The Database of an environment (opened once per environment by the caller). */
  database: (env: LoadedEnvironment) => Database;
  notifier: Notifier;
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

/** "temporary user" / "read-only permanent user", for messages. */
export function userWords(request: Pick<AccessRequest, 'kind' | 'access'>): string {
  if (request.kind === 'temporary') return 'temporary user';
  return `${request.access === 'readonly' ? 'read-only' : 'read & write'} permanent user`;
}

/** Open states a person may still act on, in words for messages. */
const STATE_WORDS: Record<string, string> = {
  pending: 'waiting for approval',
  approved: 'approved, being created',
  provisioning: 'being created',
  active: 'active',
  revoking: 'being revoked',
  revoke_failed: 'failing to be revoked (the bot keeps retrying)',
};

/** A person's open requests, and those they may decide. */
export interface Listing {
  own: AccessRequest[];
  approving: AccessRequest[];
}

export function createTemporaryAccess(deps: AccessDeps) {
  const { config, store, notifier, directory, clock, log } = deps;
  /** Passwords people chose, until their request is provisioned; memory only, never the store. */
  const chosenPasswords = new Map<string, string>();
  const revoker = createRevoker({
    store,
    notifier,
    clock,
    log,
    database: deps.database,
    environment,
    statusLine,
    ...(deps.revocation ? { settings: deps.revocation } : {}),
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.onChange ? { onChange: deps.onChange } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });

  function environment(name: string): LoadedEnvironment {
    const wanted = name.trim().toLowerCase();
    const env = config.environments.find((e) => e.name === wanted);
    if (!env) {
      const known = config.environments.map((e) => e.name).join(', ');
      throw new AppError('not_found', `There is no environment called "${name.slice(0, 40)}". Environments: ${known}.`);
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
      throw new AppError('forbidden', `Temporary users need a VPN or Transit Gateway tunnel: ${why}. Set one up with OutSystems, then ask again.`);
    }
    const allowlisted = (['readonly', 'readwrite'] as const).map((a) => store.requests.findPermanent(env.name, a)).find((p) => p?.via === 'allowlist');
    if (allowlisted) {
      throw new AppError(
        'forbidden',
        `${env.name} has a permanent user (${allowlisted.username}) that connects by IP allowlisting, which cannot coexist with temporary users: a tunnel replaces the allowlist. Move that user to VPN or Transit Gateway first.`,
      );
    }
    if (durationMs > env.policy.maxTtl) {
      throw new AppError('invalid_input', `${formatDuration(durationMs)} is longer than ${env.name} allows: at most ${formatDuration(env.policy.maxTtl)}.`);
    }
  }

  /** Records a failed delivery in the audit log so it is visible, without undoing the state change it reports. */
  async function deliver(what: string, request: AccessRequest, send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (err) {
      log.warn({ err, requestId: request.id, what }, 'slack delivery failed');
      store.audit.append({ actor: 'bot', action: 'delivery_failed', requestId: request.id, env: request.env, detail: { what, error: String((err as Error).message ?? err) } });
      return false;
    }
  }

  function planOf(request: AccessRequest, env: LoadedEnvironment, username: string): string {
    // The plan of this request's kind: a read-only permanent user gets no write grants, and the approver must see that.
    const kind = request.kind === 'permanent' ? (request.access === 'readonly' ? 'readonly' : 'readwrite') : 'temporary';
    const plan = createUserPlan(dialectOf(env), { username, password: generatePassword(), kind }, targetOf(env));
    return describePlan(plan, dialectOf(env).family);
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
      if (reason.length === 0) throw new AppError('invalid_input', 'Break-glass needs a reason: add --reason "what is broken".');
    }
    if (input.password !== undefined) {
      const problems = passwordProblems(input.password);
      if (problems.length > 0) throw new AppError('invalid_input', `That password cannot be used. ${problems.join(' ')}`);
    }
    const existing = store.requests.findOpen(env.name, input.requester, 'temporary');
    if (existing) {
      throw new AppError(
        'conflict',
        `You already have a temporary user request in ${env.name} (${STATE_WORDS[existing.state] ?? existing.state}). One at a time: see it with \`/dbuser details ${env.name}\`, or remove it with \`/dbuser delete ${env.name}\`.`,
      );
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
      if (problems.length > 0) throw new AppError('invalid_input', `That password cannot be used. ${problems.join(' ')}`);
    }
    // Named now, so the approval plan shows the exact user that will be created.
    const username = nominalUsername({ prefix: config.usernamePrefix, requester: requesterName, rules: targetOf(env).rules });
    const request = store.requests.create(
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
    if (input.password !== undefined) chosenPasswords.set(request.id, input.password);

    const selfService = env.selfService.includes(input.requester);
    if (breakGlass || selfService) {
      const route: RequestRoute = breakGlass ? 'break-glass' : 'self-service';
      const approved = store.requests.transition(request.id, {
        from: ['pending'],
        to: 'approved',
        actor: input.requester,
        set: { decidedBy: input.requester, decidedAt: clock.now(), decisionReason: route === 'break-glass' ? `break-glass: ${reason}` : 'self-service (LifeTime administrator)' },
        detail: { route },
      });
      if (!approved) throw new AppError('conflict', 'The request changed while it was being approved; look at `/dbuser list`.');
      if (breakGlass) {
        const approvers = await approversOf(env);
        await deliver('break-glass alert', approved, () =>
          notifier.alertApprovers(approved, env, approvers, `Break-glass: <@${input.requester}> is creating a temporary user in ${env.name} without approval. Reason: ${escapeText(reason)}`),
        );
      }
      return { request: approved, route };
    }

    const plan = planOf(request, env, username);
    const posted = await deliver('approval request', request, () =>
      notifier.approvalRequested(request, env, plan).then(({ channel, ts }) => store.requests.setApprovalMessage(request.id, channel, ts)),
    );
    if (!posted) {
      // Nobody can approve a request nobody can see: withdraw it rather than leave it pending.
      chosenPasswords.delete(request.id);
      store.requests.transition(request.id, { from: ['pending'], to: 'failed', actor: 'bot', set: { error: 'the approval request could not be posted to Slack' } });
      throw new AppError('unavailable', `Your request could not be posted to the approval channel of ${env.name}. Try again in a minute; if it keeps failing, tell the bot's operators.`);
    }
    return { request: store.requests.get(request.id) ?? request, route: 'approval' };
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
    const decided = store.requests.transition(request.id, {
      from: ['pending'],
      to,
      actor: input.actor,
      set: { decidedBy: input.actor, decidedAt: clock.now(), decisionReason: reason },
    });
    if (!decided) return { request: store.requests.get(request.id) ?? request, changed: false };
    if (to === 'denied') {
      chosenPasswords.delete(request.id);
      await deliver('approval update', decided, () => notifier.approvalUpdated(decided, env, statusLine(decided)));
      await deliver('requester notice', decided, () =>
        notifier.notifyRequester(decided, `Your ${userWords(decided)} request for ${env.name} was denied by <@${input.actor}>${reason ? `: ${escapeText(reason)}` : '.'}`),
      );
      return { request: decided, changed: true };
    }
    await deliver('approval update', decided, () => notifier.approvalUpdated(decided, env, statusLine(decided)));
    await deliver('requester notice', decided, () =>
      notifier.notifyRequester(decided, `Your ${userWords(decided)} request for ${env.name} was approved by <@${input.actor}>. Creating it now; the password will follow here, only to you.`),
    );
    return { request: decided, changed: true };
  }

  /** Creates the database user of an approved request and hands the password to the requester. */
  async function provision(requestId: string): Promise<AccessRequest | undefined> {
    const approved = store.requests.get(requestId);
    if (!approved || approved.state !== 'approved') return approved;
    const env = environment(approved.env);
    // The username is recorded before anything is created, so a crash in between can be cleaned up.
    const provisioning = store.requests.transition(approved.id, { from: ['approved'], to: 'provisioning', actor: 'bot', set: { username: approved.username ?? usernameFor(approved, env) } });
    if (!provisioning?.username) return store.requests.get(requestId);
    const chosen = chosenPasswords.get(approved.id);
    chosenPasswords.delete(approved.id);
    const password = chosen ?? generatePassword();
    const started = clock.now();
    try {
      const kind = approved.kind === 'permanent' ? (approved.access === 'readonly' ? 'readonly' : 'readwrite') : 'temporary';
      failpoint('provision:before-create');
      const created = await deps.database(env).createUser({ username: provisioning.username, password, kind });
      failpoint('provision:after-create');
      deps.metrics?.provisioned('success', (clock.now() - started) / 1000);
      const now = clock.now();
      const active = store.requests.transition(approved.id, {
        from: ['provisioning'],
        to: 'active',
        actor: 'bot',
        set: { activatedAt: now, expiresAt: approved.kind === 'permanent' ? null : now + approved.durationMs, error: null },
        detail: { username: created.username, grantedTables: created.grantedTables.length, generatedCredential: chosen === undefined },
      });
      if (!active) return store.requests.get(requestId);
      deps.onChange?.();
      if (approved.ownPassword && chosen === undefined) {
        await deliver('requester notice', active, () =>
          notifier.notifyRequester(active, 'The password you chose was lost when the bot restarted, so a strong one was generated for you instead.'),
        );
      }
      const shown = await deliver('credentials', active, () => notifier.deliverCredentials(active, env, password));
      if (!shown) {
        // Nothing secret here: only the way to a new password, since the one set could not be shown.
        await deliver('requester notice', active, () =>
          notifier.notifyRequester(
            active,
            `Your ${userWords(active)} \`${active.username}\` in ${env.name} is ready, but its password could not be shown to you. ${
              active.kind === 'temporary' ? `Run \`/dbuser details ${env.name}\` and click *New password*.` : `Ask for a new one with \`/dbuser rotate ${env.name} --access ${active.access === 'readonly' ? 'read' : 'readwrite'}\`.`
            }`,
          ),
        );
      }
      await deliver('approval update', active, () => notifier.approvalUpdated(active, env, statusLine(active)));
      return active;
    } catch (err) {
      deps.metrics?.provisioned('failure', (clock.now() - started) / 1000);
      const message = isAppError(err) ? err.message : 'an unexpected error (see the bot log)';
      if (!isAppError(err)) log.error({ err, requestId }, 'provisioning failed unexpectedly');
      const failed = store.requests.transition(approved.id, { from: ['provisioning'], to: 'failed', actor: 'bot', set: { error: message } });
      if (failed) {
        await deliver('approval update', failed, () => notifier.approvalUpdated(failed, env, statusLine(failed)));
        await deliver('requester notice', failed, () =>
          notifier.notifyRequester(failed, `Your ${userWords(failed)} in ${env.name} could not be created: ${message} Ask again; if it fails again, tell an approver.`),
        );
      }
      return failed;
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
      const withdrawn = store.requests.transition(request.id, {
        from: ['pending'],
        to: 'denied',
        actor: input.user,
        set: { decidedBy: input.user, decidedAt: clock.now(), decisionReason: 'withdrawn by the requester' },
      });
      if (!withdrawn) throw new AppError('conflict', 'Your request was decided meanwhile; run the command again.');
      chosenPasswords.delete(request.id);
      await deliver('approval update', withdrawn, () => notifier.approvalUpdated(withdrawn, env, statusLine(withdrawn)));
      return withdrawn;
    }
    if (!['active', 'revoking', 'revoke_failed'].includes(request.state)) {
      throw new AppError('conflict', `Your user in ${env.name} is ${STATE_WORDS[request.state] ?? request.state}; try again in a minute.`);
    }
    const outcome = await revoker.attempt(request, input.user, request.state === 'active' ? 'requested' : 'retry');
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

  /**
   * After a restart: an approved request is provisioned; a request caught mid-provisioning has its
   * half-made user dropped (its password is gone anyway) and is marked failed; a revocation is resumed.
   */
  async function reconcile(): Promise<{ provisioned: number; failed: number; revoked: number }> {
    const counts = { provisioned: 0, failed: 0, revoked: 0 };
    for (const request of store.requests.listInStates(['approved'])) {
      if ((await provision(request.id))?.state === 'active') counts.provisioned++;
    }
    for (const request of store.requests.listInStates(['provisioning'])) {
      const env = environment(request.env);
      if (request.username) await deps.database(env).revokeUser({ username: request.username });
      const failed = store.requests.transition(request.id, {
        from: ['provisioning'],
        to: 'failed',
        actor: 'bot',
        set: { error: 'interrupted by a restart of the bot; nothing was left behind' },
      });
      if (failed) {
        counts.failed++;
        await deliver('requester notice', failed, () =>
          notifier.notifyRequester(failed, `Creating your temporary user in ${env.name} was interrupted by a restart of the bot. Nothing was left behind: ask again with \`/dbuser request ${env.name}\`.`),
        );
      }
    }
    // A revocation the crash interrupted has no retry scheduled; scheduled ones are the timer's.
    for (const request of store.requests.listInStates(['revoking']).filter((r) => r.nextAttemptAt === null)) {
      if ((await revoker.attempt(request, 'bot', 'retry')) === 'revoked') counts.revoked++;
    }
    return counts;
  }

  function statusLine(request: AccessRequest): string {
    const time = (ms: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
    const when = (ms: number | null) => (ms === null ? '' : ` at ${time(ms)}`);
    switch (request.state) {
      case 'approved':
        return `Approved by <@${request.decidedBy}>${when(request.decidedAt)}${request.decisionReason ? ` (${escapeText(request.decisionReason)})` : ''}; creating the user…`;
      case 'denied':
        return request.decidedBy === request.requester
          ? `Withdrawn by <@${request.requester}>${when(request.decidedAt)}.`
          : `Denied by <@${request.decidedBy}>${when(request.decidedAt)}${request.decisionReason ? `: ${escapeText(request.decisionReason)}` : '.'}`;
      case 'active':
        return `Approved by <@${request.decidedBy}>${when(request.decidedAt)}. User ${request.username} active ${request.expiresAt === null ? 'until revoked (permanent)' : `until ${time(request.expiresAt)}`}.`;
      case 'failed':
        return `Failed: ${request.error ?? 'unknown error'}`;
      case 'revoked':
        return `User ${request.username} revoked${when(request.updatedAt)}.`;
      default:
        return STATE_WORDS[request.state] ?? request.state;
    }
  }

  return {
    environment,
    approverMention,
    deliver,
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
