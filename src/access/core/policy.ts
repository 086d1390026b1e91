// Environments and who may do what in them: the one place that decides who approves, used by the
// approval workflow, the listeners, App Home and the audit command alike. No Slack call unless a
// user group's members must be looked up (Directory caches them).
import type { Config, LoadedEnvironment } from '../../config.js';
import { AppError } from '../../errors.js';
import type { AccessRequest } from '../../store/requests.js';
import type { Store } from '../../store/store.js';
import type { Directory } from './ports.js';

export function createPolicy(deps: { config: Config; store: Store; directory: Directory }) {
  const { config, store, directory } = deps;

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

  /** approversOf from what is known without waiting for Slack (perhaps minutes old: for what is shown, never for who may decide), or undefined. */
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

  /**
   * Throws unless `actor` may revoke the user now: its owner (their own user, temporary or permanent),
   * or an approver of either kind of its environment. Says which, for the audit entry.
   */
  async function assertCanRevoke(request: AccessRequest, actor: string): Promise<{ env: LoadedEnvironment; by: 'owner' | 'approver' }> {
    const env = environment(request.env);
    if (actor === request.requester) return { env, by: 'owner' };
    if (await isAnyApprover(actor, env)) return { env, by: 'approver' };
    throw new AppError('forbidden', `Only the owner of this user or an approver can revoke it: <@${request.requester}>, or ${approverMention(env)} in ${env.name}.`);
  }

  /** Throws unless `actor` may withdraw the request: only the person who asked (approvers deny instead). */
  function assertCanWithdraw(request: AccessRequest, actor: string): void {
    if (actor !== request.requester) throw new AppError('forbidden', 'Only the person who asked can withdraw a request; an approver denies it instead.');
  }

  /**
   * Who besides `requester` can decide a request of `kind` in `env`, and how many must: fewer than needed
   * means nobody can ever decide it (an approver who is the only one, and may not approve their own).
   */
  async function deciders(env: LoadedEnvironment, kind: AccessRequest['kind'], requester: string, required?: number): Promise<{ others: string[]; needed: number; enough: boolean }> {
    const approvers = await approversOf(env, kind);
    const others = approvers.filter((a) => a !== requester);
    // `required`: what the request recorded (the change window may have added one); else the policy's.
    const needed = Math.max(required ?? env.policy.approvals[kind], 1);
    // A quorum never counts the requester (approval.ts); a single approval may be their own only where policy allows.
    const selfCounts = needed === 1 && env.policy.allowSelfApproval && approvers.includes(requester);
    return { others, needed, enough: others.length + (selfCounts ? 1 : 0) >= needed };
  }

  /**
   * The warning for the requester's answer when nobody can decide their request, with the way out;
   * undefined when enough people can.
   */
  async function undecidableWarning(env: LoadedEnvironment, kind: AccessRequest['kind'], requester: string, required?: number): Promise<string | undefined> {
    const { others, needed, enough } = await deciders(env, kind, requester, required);
    if (enough) return undefined;
    const who = kind === 'permanent' ? 'permanent-user approvers' : 'approvers';
    const why =
      needed > 1
        ? `it needs ${needed} ${who} other than you, and ${env.name} has ${others.length}`
        : `${env.name} has no ${who} other than you, and nobody approves their own request`;
    return `:warning: Nobody can decide this request: ${why}. Withdraw it with \`/dbuser delete ${env.name}\` and ask the bot's operators to add an approver, or it expires undecided.`;
  }

  // --- Issue 17 item 4: escalation. Escalation approvers may decide a request (or interop action) once it was escalated to them.

  /** The environment's escalation approvers, group members looked up; none when it has none. */
  async function escalationApproversOf(env: LoadedEnvironment): Promise<string[]> {
    const approvers = env.escalationApprovers;
    if (!approvers) return [];
    const members = await Promise.all(approvers.groups.map((g) => directory.groupMembers(g).catch(() => [] as string[])));
    return [...new Set([...approvers.users, ...members.flat()])];
  }

  function escalationMention(env: LoadedEnvironment): string {
    const approvers = env.escalationApprovers;
    if (!approvers) return '';
    return [...approvers.users.map((u) => `<@${u}>`), ...approvers.groups.map((g) => `<!subteam^${g}>`)].join(', ');
  }

  /** Whether `actor` may decide `subject` (a request or an interop action of `kind`): an approver, or an escalation approver once it was escalated. */
  async function mayDecide(actor: string, env: LoadedEnvironment, kind: AccessRequest['kind'] | 'interop', subject: string): Promise<boolean> {
    if (await isApprover(actor, env, kind === 'interop' ? 'temporary' : kind)) return true;
    return store.escalations.at(subject) !== undefined && (await escalationApproversOf(env)).includes(actor);
  }

  /** Who may decide, for a refusal: the approvers, and the escalation approvers once it was escalated. */
  function decidersMention(env: LoadedEnvironment, kind: AccessRequest['kind'] | 'interop', subject: string): string {
    const first = approverMention(env, kind === 'interop' ? 'temporary' : kind);
    return store.escalations.at(subject) !== undefined && env.escalationApprovers ? `${first}, or ${escalationMention(env)}` : first;
  }

  /** Throws unless `actor` may decide the request: an approver of its environment (or, once escalated, an escalation approver), and not its requester unless policy allows. */
  async function assertCanDecide(requestId: string, actor: string, what: 'request' | 'rotation' = 'request'): Promise<{ request: AccessRequest; env: LoadedEnvironment }> {
    const request = store.requests.get(requestId);
    if (!request) throw new AppError('not_found', 'That request no longer exists.');
    const env = environment(request.env);
    const allowed = what === 'rotation' ? await isApprover(actor, env, request.kind) : await mayDecide(actor, env, request.kind, request.id);
    if (!allowed) {
      const who = what === 'rotation' ? approverMention(env, request.kind) : decidersMention(env, request.kind, request.id);
      throw new AppError('forbidden', `Only ${request.kind === 'permanent' ? 'permanent-user approvers' : 'approvers'} of ${env.name} can decide: ${who}.`);
    }
    if (actor === request.requester && !env.policy.allowSelfApproval) {
      // A rotation cannot be withdrawn; a request can, and must be when nobody else can decide it.
      if (what === 'rotation') throw new AppError('forbidden', 'You cannot decide your own request; another approver must.');
      const { enough } = await deciders(env, request.kind, actor, request.requiredApprovals ?? undefined);
      const alone = enough ? '' : ` Nobody else can decide it in ${env.name}.`;
      throw new AppError('forbidden', `You cannot decide your own request; another approver must.${alone} To withdraw it: \`/dbuser delete ${env.name}\`.`);
    }
    return { request, env };
  }

  // --- Issue 17 item 3: access reviews. Keeping a permanent user takes a permanent-user approver who is not its owner.

  /** Throws unless `actor` may keep the permanent user `request` after a review: a permanent-user approver other than its owner. */
  async function assertCanKeep(request: AccessRequest, actor: string): Promise<LoadedEnvironment> {
    const env = environment(request.env);
    if (actor === request.requester) {
      throw new AppError('forbidden', `You own this user, so another permanent-user approver must keep it: ${approverMention(env, 'permanent')}.`);
    }
    if (!(await isApprover(actor, env, 'permanent'))) {
      throw new AppError('forbidden', `Only permanent-user approvers of ${env.name} can keep a user after its review: ${approverMention(env, 'permanent')}.`);
    }
    return env;
  }

  return {
    knownEnvironment,
    environment,
    approverConfig,
    approversOf,
    isApprover,
    isAnyApprover,
    approverEnvironments,
    knownApproversOf,
    approverMention,
    assertCanDecide,
    assertCanRevoke,
    assertCanWithdraw,
    undecidableWarning,
    escalationApproversOf,
    escalationMention,
    mayDecide,
    decidersMention,
    assertCanKeep,
  };
}

export type Policy = ReturnType<typeof createPolicy>;

/**
 * Whether the user can still be extended at all (by its owner or an approver): active, not yet extended
 * as often as the environment allows, and short of its longest lifetime. Reminders offer Extend only then.
 */
export function extensionLeft(request: AccessRequest, env: Pick<LoadedEnvironment, 'policy'>): boolean {
  if (request.state !== 'active' || request.expiresAt === null || request.activatedAt === null) return false;
  return request.extensions < env.policy.maxExtensions && request.expiresAt - request.activatedAt < env.policy.maxTtl;
}

/** Dropping a permanent user cuts off whatever connects with it and cannot be undone: it is confirmed first. */
export function revocationNeedsConfirmation(request: Pick<AccessRequest, 'kind'>): boolean {
  return request.kind === 'permanent';
}
