// Temporary database users, the feature: request (with its preconditions, self-service and break-glass), show, delete,
// a new password, and the lists. Approving, creating and revoking are the shared core's (src/access/core/).
// seeds/outsystems-cloud-database-access.md#temporary-database-user; PRODUCT.md "/dbuser", "Approvals".
import { lifetimeAtLeast, type LoadedEnvironment } from '../config.js';
import { targetOf } from '../dialects/index.js';
import { generatePassword, passwordProblems } from '../dialects/passwords.js';
import { nominalUsername } from '../dialects/usernames.js';
import { formatDuration } from '../duration.js';
import { AppError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import { escapeText } from '../text.js';
import { OPEN_STATES, type AccessRequest } from '../store/requests.js';
import { requiredApprovals, type Decisions } from './core/approval.js';
import type { AccessDeps } from './core/deps.js';
import { checkReason, checkTicket, windowRequirement, type WindowRequirement } from './core/governance.js';
import { planOf } from './core/plan.js';
import { Refusal } from './core/refusal.js';
import type { Policy } from './core/policy.js';
import type { Provisioning } from './core/provisioning.js';
import type { Revoker } from './core/revocation.js';
import { STATE_WORDS, userWords } from './core/wording.js';

export { userWords } from './core/wording.js';

/** Temporary users need LifeTime 11.7.5 or later: seeds/outsystems-cloud-database-access.md#temporary-database-user */
export const MIN_LIFETIME_FOR_TEMPORARY = '11.7.5';


export interface TemporaryRequestInput {
  env: string;
  requester: string;
  durationMs?: number;
  reason: string;
  /** A password the requester chose; held in memory only until provisioning. */
  password?: string;
  breakGlass?: boolean;
  /** A ticket reference (policy.ticket), e.g. CHG-1234. */
  ticket?: string;
}

export type RequestRoute = 'approval' | 'self-service' | 'break-glass';

export interface RequestOutcome {
  request: AccessRequest;
  route: RequestRoute;
  /** For the requester's answer: nobody can decide this request, and how to withdraw it (policy.undecidableWarning). */
  warning?: string;
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

export function createTemporaryUsers(deps: AccessDeps & { policy: Policy; provisioning: Provisioning; revoker: Revoker; decisions: Decisions }) {
  const { config, store, notifier, notices, directory, clock, log, policy, provisioning, revoker } = deps;
  const { withdraw } = deps.decisions;
  const { environment, approverMention, isApprover, knownApproversOf } = policy;
  const { storeRetry } = provisioning;

  /**
   * Preconditions of seeds/outsystems-cloud-database-access.md#before-you-begin, each refused with what
   * to do; every one that blocks is named (an environment on LifeTime 11.7.2 *and* IP allowlisting hears
   * both), so the user does not meet a second refusal after fixing the first.
   */
  function checkPreconditions(env: LoadedEnvironment, durationMs: number, refusal: Refusal): void {
    if (!lifetimeAtLeast(env.lifetimeVersion, MIN_LIFETIME_FOR_TEMPORARY)) {
      refusal.add('forbidden', `Temporary users need LifeTime ${MIN_LIFETIME_FOR_TEMPORARY} or later; ${env.name} runs ${env.lifetimeVersion}. Upgrade LifeTime, or ask for a permanent user.`, 'env');
    }
    if (env.network !== 'vpn' && env.network !== 'tgw') {
      const why =
        env.network === 'allowlist'
          ? `${env.name} is reached by IP allowlisting, which cannot coexist with temporary users (a tunnel replaces the allowlist)`
          : `${env.name} has no VPN or AWS Transit Gateway tunnel`;
      const who = env.hosting === 'outsystems-cloud' ? 'with OutSystems (a support case)' : 'with your network team';
      refusal.add('forbidden', `Temporary users need a VPN or Transit Gateway tunnel: ${why}. Set one up ${who}, then ask again.`, 'env');
    }
    const allowlisted = (['readonly', 'readwrite'] as const).map((a) => store.requests.findPermanent(env.name, a)).find((p) => p?.via === 'allowlist');
    if (allowlisted) {
      refusal.add(
        'forbidden',
        `${env.name} has a permanent user (${allowlisted.username}) that connects by IP allowlisting, which cannot coexist with temporary users: a tunnel replaces the allowlist. Move that user to VPN or Transit Gateway first.`,
        'env',
      );
    }
    if (durationMs > env.policy.maxTtl) {
      refusal.add('invalid_input', `${formatDuration(durationMs)} is longer than ${env.name} allows: at most ${formatDuration(env.policy.maxTtl)}.`, 'duration');
    }
    if (durationMs < env.policy.minTtl) {
      refusal.add('invalid_input', `${formatDuration(durationMs)} is shorter than ${env.name} allows: at least ${formatDuration(env.policy.minTtl)}, so there is time to connect.`, 'duration');
    }
  }

  /**
   * Every check that needs no Slack call, all at once (the form shows each next to its field): the
   * environment, its preconditions, break-glass rights, the password's own rules, one open request at a
   * time. Only an unknown environment stops at once: every other rule is about it.
   */
  function validateRequest(input: TemporaryRequestInput): { env: LoadedEnvironment; durationMs: number; reason: string; breakGlass: boolean; ticket: string | null; window: WindowRequirement } {
    const env = environment(input.env);
    const refusal = new Refusal();
    const durationMs = input.durationMs ?? env.policy.ttl;
    checkPreconditions(env, durationMs, refusal);
    const reason = input.reason.trim();
    const breakGlass = input.breakGlass === true;
    if (breakGlass) {
      if (!env.breakGlass.includes(input.requester)) {
        refusal.add('forbidden', `Break-glass access to ${env.name} is only for the people its configuration lists. Ask an approver: ${approverMention(env)}.`);
      }
      if (reason.length === 0) refusal.add('invalid_input', 'Break-glass needs a reason: add --reason "what is broken".', 'reason');
    }
    // Governance (issue 17 items 1, 5): ticket and reason rules, and the change window, with the clock's time.
    checkReason(env, 'temporary', reason, refusal);
    const ticket = checkTicket(env, 'temporary', input.ticket, refusal);
    const window = windowRequirement(env, 'temporary', clock.now());
    if (window.outside?.outside === 'break-glass' && !breakGlass) {
      const who = env.breakGlass.includes(input.requester) ? 'ask again with --break-glass and a reason' : `ask inside the window, or someone on ${env.name}'s break-glass list`;
      refusal.add('forbidden', `Outside the change window (${window.outside.label}), temporary users in ${env.name} need break-glass: ${who}.`, 'env');
    }
    if (input.password !== undefined) {
      const problems = passwordProblems(input.password);
      if (problems.length > 0) refusal.add('invalid_input', `That password cannot be used. ${problems.join(' ')}`, 'password');
    }
    const existing = store.requests.findOpen(env.name, input.requester, 'temporary');
    if (existing) {
      refusal.add(
        'conflict',
        `You already have a temporary user request in ${env.name} (${STATE_WORDS[existing.state] ?? existing.state}). One at a time: see it with \`/dbuser details ${env.name}\`, or remove it with \`/dbuser delete ${env.name}\`.`,
        'env',
      );
    }
    refusal.throwIfAny();
    return { env, durationMs, reason, breakGlass, ticket, window };
  }

  async function requestTemporary(input: TemporaryRequestInput): Promise<RequestOutcome> {
    const { env, durationMs, reason, breakGlass, ticket, window } = validateRequest(input);
    // Outside the change window, self-service asks the approvers like everyone else: one approval is one
    // more than the none it needs inside, so the policy's quorum, not one more (docs/configuration.md).
    const selfServiceListed = env.selfService.includes(input.requester);
    const required = selfServiceListed && window.outside !== undefined ? requiredApprovals(env, 'temporary') : window.required;
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
      const refusal = new Refusal();
      checkPreconditions(env, durationMs, refusal);
      refusal.throwIfAny();
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
          ticket,
          // Fixed now, so a window that opens while the request waits does not change it.
          requiredApprovals: required,
          outsideWindow: window.outside?.label ?? null,
        },
        input.requester,
      );
    });
    if (input.password !== undefined) provisioning.rememberChosenPassword(request.id, input.password);

    const selfService = selfServiceListed && window.outside === undefined;
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
          for (const user of policy.approverConfig(env, 'temporary').users) {
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
      provisioning.forgetChosenPassword(request.id);
      const error = String((err as Error).message ?? err).slice(0, 300);
      await storeRetry(() =>
        store.transaction(() => {
          store.audit.append({ actor: 'bot', action: 'delivery_failed', requestId: request.id, env: env.name, detail: { what: 'approval request', error } });
          store.requests.transition(request.id, { from: ['pending'], to: 'failed', actor: 'bot', set: { error: 'the approval request could not be posted to Slack' } });
        }),
      );
      throw new AppError('unavailable', `Your request could not be posted to the approval channel of ${env.name}. Try again in a minute; if it keeps failing, tell the bot's operators.`);
    }
    const warning = await policy.undecidableWarning(env, 'temporary', input.requester, required);
    return { request: store.requests.get(request.id) ?? request, route: 'approval', ...(warning ? { warning } : {}) };
  }

  /** Break-glass: members of approver groups are looked up in Slack after the fact, each DM queued on its own. */
  async function alertGroupMembers(env: LoadedEnvironment, request: AccessRequest, text: string): Promise<void> {
    const direct = new Set([...policy.approverConfig(env, 'temporary').users, request.requester]);
    for (const group of policy.approverConfig(env, 'temporary').groups) {
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

  function details(input: { env: string; user: string }): ConnectionDetails {
    const env = environment(input.env);
    const request = store.requests.findOpen(env.name, input.user, 'temporary');
    if (!request || request.state !== 'active' || !request.username || request.expiresAt === null) {
      const state = request ? ` Your request is ${STATE_WORDS[request.state] ?? request.state}.` : '';
      throw new AppError('not_found', `You have no active temporary user in ${env.name}.${state} Ask for one with \`/dbuser request ${env.name}\`.`);
    }
    return detailsOf(request, env);
  }

  /**
   * `/dbuser details <env>`: every active user the person owns there, temporary first, then permanent
   * (read-only before read & write). Refused with where their requests stand when there is none.
   */
  function connections(input: { env: string; user: string }): ConnectionDetails[] {
    const env = environment(input.env);
    const open = store.requests.listByRequester(input.user, OPEN_STATES).filter((r) => r.env === env.name);
    const rank = (r: AccessRequest) => (r.kind === 'temporary' ? 0 : r.access === 'readonly' ? 1 : 2);
    const active = open.filter((r) => r.state === 'active' && r.username).sort((a, b) => rank(a) - rank(b));
    if (active.length === 0) {
      const states = open.map((r) => `your ${userWords(r)} request is ${STATE_WORDS[r.state] ?? r.state}`).join('; ');
      throw new AppError('not_found', `You have no active database user in ${env.name}${states ? ` (${states})` : ''}. Ask for one with \`/dbuser request ${env.name}\`.`);
    }
    return active.map((r) => detailsOf(r, env));
  }

  /**
   * `/dbuser delete <env>`: revokes the person's temporary user there now, or withdraws their request
   * still waiting for approval. Without a temporary one, it withdraws their pending permanent requests
   * there. It never drops a permanent user: that is `/dbuser revoke <username>`, after a confirmation.
   */
  async function remove(input: { env: string; user: string }): Promise<AccessRequest[]> {
    const env = environment(input.env);
    const request = store.requests.findOpen(env.name, input.user, 'temporary');
    if (!request) {
      const permanent = store.requests.listByRequester(input.user, OPEN_STATES).filter((r) => r.env === env.name && r.kind === 'permanent');
      const pending = permanent.filter((r) => r.state === 'pending');
      if (pending.length > 0) return pending.map((r) => withdraw({ requestId: r.id, actor: input.user }));
      const user = permanent.find((r) => r.username !== null);
      if (user) {
        throw new AppError(
          'conflict',
          `You have no temporary user or request in ${env.name}. Your ${userWords(user)} \`${user.username}\` stays: \`/dbuser revoke ${user.username}\` drops it, after you confirm.`,
        );
      }
      throw new AppError('not_found', `You have no temporary user or request in ${env.name}, and no permanent request waiting there.`);
    }
    if (request.state === 'pending') return [withdraw({ requestId: request.id, actor: input.user })];
    if (!['active', 'revoking', 'revoke_failed'].includes(request.state)) {
      throw new AppError('conflict', `Your user in ${env.name} is ${STATE_WORDS[request.state] ?? request.state}; try again in a minute.`);
    }
    const outcome = await revoker.attempt(request.id, input.user, request.state === 'active' ? 'requested' : 'retry', { by: 'owner' });
    const after = store.requests.get(request.id) ?? request;
    if (outcome !== 'revoked') {
      throw new AppError(
        'db_error',
        `The user ${after.username} in ${env.name} could not be fully removed yet: ${after.error ?? 'unknown error'}. It is blocked where that step succeeded, and the bot keeps retrying; approvers are alerted if it keeps failing.`,
      );
    }
    return [after];
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

  return { validateRequest, requestTemporary, details, connections, remove, rotatePassword, list, listKnown };
}
