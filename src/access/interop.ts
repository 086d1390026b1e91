// /interop: the DBA steps of ODC ↔ O11 data interoperability, each approved before it runs.
// seeds/data-interoperability-o11-dba.md (#setup, #on-expose); PRODUCT.md "/interop".
import type { LoadedEnvironment } from '../config.js';
import type { ExposedView } from '../dialects/database.js';
import { interopSetupPlan } from '../dialects/database.js';
import { dialectOf, targetOf } from '../dialects/index.js';
import { generatePassword } from '../dialects/passwords.js';
import { EXPOSED_VIEW_PREFIX, isApplicationTable } from '../dialects/permissions.js';
import { AppError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import type { ObjectPrivilege } from '../dialects/dialect.js';
import type { InteropAction, InteropObject } from '../store/interop.js';
import { countApproval, quorumLine, requiredApprovals } from './core/approval.js';
import type { AccessDeps } from './core/deps.js';
import type { Access } from './index.js';

/**
 * Read on User and Tenant when `interop.userAndTenant` is on: the views only, never OSSYS_USER (end
 * users' password hashes) or OSSYS_TENANT (issue 15, item 3; docs/configuration.md says what they expose).
 */
export const USER_AND_TENANT_OBJECTS = ['OSSYS_VIEW_USER', 'OSSYS_VIEW_TENANT'] as const;

const OBJECT_PRIVILEGES: readonly string[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] satisfies readonly ObjectPrivilege[];

/** The privileges stored with an action are text (JSON); only the four the dialects grant are passed on. */
function isObjectPrivilege(privilege: string): privilege is ObjectPrivilege {
  return OBJECT_PRIVILEGES.includes(privilege);
}

/** The dedicated interoperability user of an environment. */
export function interopUsername(env: LoadedEnvironment, prefix: string): string {
  const name = env.interop.username ?? `${prefix}interop`;
  return env.dialect === 'oracle' ? name.toUpperCase() : name;
}

/** Custom view names: start with OSUSR_VIEW_, only A-Z 0-9 _, at most 50 characters (seed, expose-entities). */
export function viewNameProblem(name: string): string | undefined {
  if (!/^[A-Z0-9_]+$/.test(name)) return 'may hold only the characters A-Z, 0-9 and _';
  if (!name.startsWith(EXPOSED_VIEW_PREFIX)) return `must start with ${EXPOSED_VIEW_PREFIX}`;
  if (name.length > 50) return `is ${name.length} characters long; the limit is 50`;
  return undefined;
}

export interface InteropStatus {
  env: string;
  username: string;
  userExists: boolean;
  granted: ExposedView[];
  /** Exposed views the interop user cannot read yet. */
  lacking: ExposedView[];
  /** Grants the bot recorded for views that no longer exist (the entity stopped being exposed). */
  vanished: string[];
}

export function createInterop(deps: AccessDeps & { access: Access }) {
  const { store, notifier, notices, access, config, clock, log } = deps;
  const usernameOf = (env: LoadedEnvironment) => interopUsername(env, config.usernamePrefix);

  /** Read & write on SQL Server; read only on Oracle, where interop writes are not supported yet (unless enabled). */
  function privilegesFor(env: LoadedEnvironment): string[] {
    return env.dialect === 'oracle' && !env.interop.oracleWrite ? ['SELECT'] : ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
  }

  function objectPlan(env: LoadedEnvironment, objects: InteropObject[]): string {
    const schema = env.connection.schema;
    return objects.map((o, i) => `${i + 1}. GRANT ${o.privileges.join(', ')} ON ${schema}.${o.object} TO ${usernameOf(env)}`).join('\n');
  }

  /** The statements the dialect will run on this platform (passwords masked), and what it does not grant and why. */
  function setupPlan(env: LoadedEnvironment, exists: boolean): string {
    const username = usernameOf(env);
    const lines = [
      exists
        ? `(user ${username} exists: grants are re-applied, GRANT adds only what is missing; it gets a new password, shown once to the requester)`
        : `(password shown once to the requester)`,
      interopSetupPlan(dialectOf(env), { username }, targetOf(env), exists),
      ...(env.interop.userAndTenant ? [`GRANT SELECT ON ${USER_AND_TENANT_OBJECTS.join(', ')} (User and Tenant)`] : []),
    ];
    return lines.join('\n');
  }

  /** Posts the action for approval; one nobody can see is failed at once rather than left pending. */
  async function post(action: InteropAction, env: LoadedEnvironment, plan: string): Promise<InteropAction> {
    try {
      const { channel, ts } = await notifier.interopRequested(action, env, plan);
      store.interop.setApprovalMessage(action.id, channel, ts);
    } catch (err) {
      log.warn({ err, interopAction: action.id }, 'slack delivery failed');
      store.interop.move(action.id, ['pending'], 'failed', 'bot', { error: 'the approval request could not be posted to Slack' });
      throw new AppError('unavailable', `The request could not be posted to the approval channel of ${env.name}. Try again in a minute.`);
    }
    return store.interop.get(action.id) ?? action;
  }

  /** The objects to grant for one entity: its exposed view and its physical table, resolved from ossys_entity. */
  async function resolveEntity(env: LoadedEnvironment, input: { entity: string; view?: string; module?: string }): Promise<InteropObject[]> {
    const db = deps.database(env);
    if (input.view !== undefined) {
      const problem = viewNameProblem(input.view);
      if (problem) throw new AppError('invalid_input', `The view name ${JSON.stringify(input.view.slice(0, 60))} ${problem}.`);
    }
    let tables = await db.findEntityTables({ entity: input.entity });
    if (input.module) tables = tables.filter((t) => t.module.toLowerCase() === input.module!.toLowerCase());
    if (tables.length === 0) {
      throw new AppError('not_found', `${env.name} has no active entity called ${input.entity}${input.module ? ` in module ${input.module}` : ''}. Check the name in Service Studio.`);
    }
    if (tables.length > 1) {
      throw new AppError('invalid_input', `${input.entity} exists in several modules of ${env.name}: ${tables.map((t) => t.module).join(', ')}. Say which with --module <name>.`);
    }
    const table = tables[0]!;
    if (!isApplicationTable(table.table)) throw new AppError('internal', `entity ${input.entity} maps to ${table.table}, which is not an application table`);
    const wanted = (input.view ?? `${EXPOSED_VIEW_PREFIX}${table.entity}`).toUpperCase();
    const views = await db.listExposedViews({ username: usernameOf(env) });
    const view = views.find((v) => v.view.toUpperCase() === wanted);
    if (!view) {
      throw new AppError('not_found', `${env.name} has no view ${wanted}. Expose ${input.entity} to ODC in LifeTime first (or give its custom name with --view).`);
    }
    const privileges = privilegesFor(env);
    return [
      { object: view.view, kind: 'view', privileges, entity: table.entity },
      { object: table.table, kind: 'table', privileges, entity: table.entity },
    ];
  }

  async function requestGrant(env: LoadedEnvironment, requester: string, objects: InteropObject[], summary: string): Promise<InteropAction> {
    const duplicate = store.interop.listInStates(['pending']).find((a) => a.env === env.name && a.action === 'grant' && objects.every((o) => a.objects.some((p) => p.object === o.object)));
    if (duplicate) throw new AppError('conflict', `Those grants are already waiting for approval in ${env.name} (\`${duplicate.id}\`).`);
    const action = store.interop.create({ env: env.name, action: 'grant', requester, objects, summary });
    return post(action, env, objectPlan(env, objects));
  }

  async function status(envName: string): Promise<InteropStatus> {
    const env = access.environment(envName);
    const db = deps.database(env);
    const username = usernameOf(env);
    const [userExists, views] = await Promise.all([db.userExists({ username }), db.listExposedViews({ username })]);
    const full = privilegesFor(env);
    const has = (v: ExposedView, p: string) => (p === 'SELECT' ? v.select : p === 'INSERT' ? v.insert : p === 'UPDATE' ? v.update : v.delete);
    const granted = views.filter((v) => full.every((p) => has(v, p)));
    const lacking = views.filter((v) => !full.every((p) => has(v, p)));
    const present = new Set(views.map((v) => v.view.toUpperCase()));
    const vanished = store.interop
      .grants(env.name)
      .filter((g) => g.kind === 'view' && !present.has(g.object.toUpperCase()))
      .map((g) => g.object);
    return { env: env.name, username, userExists, granted, lacking, vanished };
  }

  /** Objects for exposed views lacking grants: the view, and its table when the view is named after its entity. */
  async function lackingObjects(env: LoadedEnvironment, lacking: ExposedView[]): Promise<InteropObject[]> {
    const privileges = privilegesFor(env);
    const objects: InteropObject[] = [];
    for (const view of lacking) {
      objects.push({ object: view.view, kind: 'view', privileges });
      const entity = view.view.slice(EXPOSED_VIEW_PREFIX.length);
      const tables = await deps.database(env).findEntityTables({ entity }).catch(() => []);
      if (tables.length === 1 && isApplicationTable(tables[0]!.table)) objects.push({ object: tables[0]!.table, kind: 'table', privileges, entity: tables[0]!.entity });
    }
    return objects;
  }

  return {
    usernameOf,
    status,

    /** Create the interoperability user (or re-apply its grants): approved first; the password goes once to the requester. */
    async requestSetup(input: { env: string; requester: string }): Promise<InteropAction> {
      const env = access.environment(input.env);
      const exists = await deps.database(env).userExists({ username: usernameOf(env) });
      if (store.interop.listInStates(['pending', 'running']).some((a) => a.env === env.name && a.action === 'setup')) {
        throw new AppError('conflict', `Setting up interoperability in ${env.name} is already waiting for approval.`);
      }
      const action = store.interop.create({
        env: env.name,
        action: 'setup',
        requester: input.requester,
        objects: [],
        summary: exists ? `Re-apply the grants of ${usernameOf(env)} (it exists) and give it a new password` : `Create the interoperability user ${usernameOf(env)}`,
      });
      return post(action, env, setupPlan(env, exists));
    },

    async requestExpose(input: { env: string; entity: string; view?: string; module?: string; requester: string }): Promise<InteropAction> {
      const env = access.environment(input.env);
      const objects = await resolveEntity(env, input);
      return requestGrant(env, input.requester, objects, `Grant ${usernameOf(env)} ${objects[0]!.privileges.join(', ')} on the exposed entity ${objects[0]!.entity}`);
    },

    async requestPromote(input: { entity: string; from: string; to: string; view?: string; module?: string; requester: string }): Promise<InteropAction> {
      const from = access.environment(input.from);
      const env = access.environment(input.to);
      const objects = await resolveEntity(env, input);
      return requestGrant(env, input.requester, objects, `Grant ${usernameOf(env)} on ${objects[0]!.entity}, promoted from ${from.name}`);
    },

    async requestSync(input: { env: string; requester: string }): Promise<InteropAction | undefined> {
      const env = access.environment(input.env);
      const { lacking } = await status(env.name);
      if (lacking.length === 0) return undefined;
      return requestGrant(env, input.requester, await lackingObjects(env, lacking), `Grant ${usernameOf(env)} on ${lacking.length} exposed view(s) lacking grants`);
    },

    /**
     * After a restart: an action caught running is marked failed (the approval message says so). Its grants
     * are idempotent, so asking again is safe; a setup's password, if the user was created, is gone.
     */
    async reconcile(): Promise<number> {
      const stuck = store.interop.listInStates(['running']);
      for (const action of stuck) {
        const failed = store.interop.move(action.id, ['running'], 'failed', 'bot', {
          error: 'interrupted by a restart of the bot: ask again (grants are idempotent; a setup whose user was created re-applies its grants)',
        });
        if (failed && access.knownEnvironment(action.env)) notices.send({ topic: 'interop.updated', actionId: failed.id, status: `Interrupted by a restart of the bot. ${failed.error}` });
      }
      return stuck.length;
    },

    /** The hourly check: newly exposed views lacking grants go to the approval channel with a Grant button. */
    async check(): Promise<void> {
      for (const env of config.environments) {
        try {
          const { userExists, lacking } = await status(env.name);
          if (!userExists || lacking.length === 0) continue;
          const pending = new Set(store.interop.listInStates(['pending']).filter((a) => a.env === env.name).flatMap((a) => a.objects.map((o) => o.object)));
          const fresh = lacking.filter((v) => !pending.has(v.view));
          if (fresh.length === 0) continue;
          await requestGrant(env, 'scheduler', await lackingObjects(env, fresh), `Newly exposed: ${fresh.map((v) => v.view).join(', ')}`);
        } catch (err) {
          log.error({ err, env: env.name }, 'interop check failed');
        }
      }
    },

    /** Approve runs the action; deny ends it. A second click changes nothing. */
    async decide(input: { actionId: string; actor: string; decision: 'approve' | 'deny' }): Promise<{ changed: boolean; action: InteropAction }> {
      const action = store.interop.get(input.actionId);
      if (!action) throw new AppError('not_found', 'That interop request no longer exists.');
      const env = access.environment(action.env);
      if (!(await access.mayDecide(input.actor, env, 'interop', action.id))) throw new AppError('forbidden', `Only approvers of ${env.name} can decide: ${access.decidersMention(env, 'interop', action.id)}.`);
      if (input.actor === action.requester && !env.policy.allowSelfApproval) throw new AppError('forbidden', 'You cannot decide your own request; another approver must.');
      const step = store.transaction(() => {
        const current = store.interop.get(action.id);
        if (current?.state !== 'pending') return undefined;
        if (input.decision === 'approve') {
          const quorum = countApproval(store, { subject: action.id, actor: input.actor, requester: action.requester, required: requiredApprovals(env, 'interop') });
          if (!quorum.reached) {
            // Not decided yet: the message shows who approved and keeps its buttons.
            store.audit.append({ actor: input.actor, action: 'approval_recorded', env: env.name, detail: { actionId: action.id, approvals: quorum.approvers.length, required: quorum.required } });
            notices.send({ topic: 'interop.updated', actionId: action.id, status: quorumLine(quorum) });
            return { partial: current };
          }
        }
        return { decided: store.interop.move(action.id, ['pending'], input.decision === 'approve' ? 'running' : 'denied', input.actor, { decidedBy: input.actor, decidedAt: clock.now() }) };
      });
      if (step && 'partial' in step && step.partial) return { changed: true, action: step.partial };
      const decided = step?.decided;
      if (!decided) return { changed: false, action: store.interop.get(action.id) ?? action };
      if (decided.state === 'denied') {
        notices.send({ topic: 'interop.updated', actionId: decided.id, status: `Denied by <@${input.actor}>.` });
        return { changed: true, action: decided };
      }
      const db = deps.database(env);
      const username = usernameOf(env);
      try {
        failpoint('interop:before-grant');
        let result: string;
        if (decided.action === 'setup') {
          const exists = await db.userExists({ username });
          // Every run of an approved setup hands out a new password: the way back for one that was never seen.
          const password = generatePassword();
          if (exists) await db.rotatePassword({ username, password });
          // Catalog grants the platform refuses in the documented way come back as notes, recorded in the result (and so the audit).
          const { notes } = exists ? await db.grantInteropSet({ username }) : await db.createUser({ username, password, kind: 'interop' });
          if (env.interop.userAndTenant) await db.grantObjects({ username, grants: USER_AND_TENANT_OBJECTS.map((object) => ({ object, privileges: ['SELECT'] })) });
          // Shown once everything is granted, so the password never arrives for a half-set-up user.
          const shown = await access.deliver('interop credentials', { id: decided.id, env: env.name }, () => notifier.deliverInteropCredentials(decided, env, username, password));
          store.interop.recordGrant({ env: env.name, object: username, kind: 'setup', privileges: ['SELECT'], actionId: decided.id });
          const how = shown
            ? `its new password was shown once to <@${decided.requester}>.`
            : `its new password could not be shown to <@${decided.requester}>: run \`/interop setup ${env.name}\` again for another one.`;
          result = exists ? `${username} existed; its grants were re-applied and ${how}` : `${username} was created; ${how}`;
          if (notes.length > 0) {
            result += ` ${notes.join('. ')}.`;
            store.audit.append({ actor: 'bot', action: 'interop_not_granted', env: env.name, detail: { interopAction: decided.id, notes } });
          }
        } else {
          await db.grantObjects({ username, grants: decided.objects.map((o) => ({ object: o.object, privileges: o.privileges.filter(isObjectPrivilege) })) });
          for (const o of decided.objects) store.interop.recordGrant({ env: env.name, object: o.object, kind: o.kind, privileges: o.privileges, actionId: decided.id });
          result = `Granted ${username}: ${decided.objects.map((o) => `${o.privileges.join(', ')} on ${o.object}`).join('; ')}.`;
        }
        failpoint('interop:after-grant');
        const done = store.transaction(() => {
          const moved = store.interop.move(decided.id, ['running'], 'done', 'bot', { result }) ?? decided;
          notices.send({ topic: 'interop.updated', actionId: moved.id, status: `Approved by <@${input.actor}>. ${result}` });
          return moved;
        });
        return { changed: true, action: done };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        store.transaction(() => {
          const failed = store.interop.move(decided.id, ['running'], 'failed', 'bot', { error: message }) ?? decided;
          notices.send({ topic: 'interop.updated', actionId: failed.id, status: `Approved by <@${input.actor}>, but it failed: ${message}` });
        });
        throw err;
      }
    },
  };
}

export type Interop = ReturnType<typeof createInterop>;
