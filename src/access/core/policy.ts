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

  return { knownEnvironment, environment, approverConfig, approversOf, isApprover, isAnyApprover, approverEnvironments, knownApproversOf, approverMention, assertCanDecide };
}

export type Policy = ReturnType<typeof createPolicy>;
