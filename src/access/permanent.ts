// Permanent database users: read-only or read & write, per environment, always approved, with the
// connection rules of the seed, the support-case text for the network part, rotation and grant sync.
// seeds/outsystems-cloud-database-access.md#permanent-database-user and #having-temporary-and-permanent-users-simultaneously
import type { LoadedEnvironment } from '../config.js';
import type { GrantReport } from '../dialects/database.js';
import { targetOf } from '../dialects/index.js';
import { generatePassword } from '../dialects/passwords.js';
import { nominalUsername } from '../dialects/usernames.js';
import { AppError, isAppError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import { OPEN_STATES, type AccessRequest, type Via } from '../store/requests.js';
import { countApproval, quorumLine, requiredApprovals } from './core/approval.js';
import { checkReason, checkTicket, windowRequirement } from './core/governance.js';
import { planOf } from './core/plan.js';
import { Refusal } from './core/refusal.js';
import { userWords } from './core/wording.js';
import { ipProblem } from './ips.js';
import { networkRequest, type NetworkRequest } from './network-request.js';
import type { AccessDeps } from './core/deps.js';
import type { Access } from './index.js';

export type PermanentAccess = 'readonly' | 'readwrite';

export interface PermanentRequestInput {
  envs: string[];
  requester: string;
  access: PermanentAccess;
  via: Via;
  ips: string[];
  reason: string;
  /** A ticket reference (policy.ticket), e.g. CHG-1234: one for every environment asked. */
  ticket?: string;
}

export interface PermanentRequestOutcome {
  requests: AccessRequest[];
  /** The network part the bot cannot do: a support case for OutSystems, or a request to the customer's network team. */
  network: NetworkRequest;
  /** For the requester's answer: requests nobody can decide, and how to withdraw them (policy.undecidableWarning). */
  warnings: string[];
}

/** A way in, as a noun: "a VPN tunnel". */
const NETWORK_WORDS: Record<Via, string> = {
  vpn: 'VPN tunnel',
  tgw: 'Transit Gateway tunnel',
  allowlist: 'IP allowlist',
};


export function createPermanentAccess(deps: AccessDeps & { access: Access }) {
  const { store, notifier, notices, config, access } = deps;

  const accessWord = (access: PermanentAccess) => (access === 'readonly' ? 'read-only' : 'read & write');
  const accessFlag = (access: PermanentAccess) => (access === 'readonly' ? 'read' : 'readwrite');

  /**
   * The connection rules of the seed, both ways, for one environment, and the environment's own
   * `network`: a request for another way in would make the support case contradict the configuration.
   */
  function checkConnection(env: LoadedEnvironment, via: Via, refusal: Refusal): void {
    const others = (['readonly', 'readwrite'] as const).map((a) => store.requests.findPermanent(env.name, a)).filter((r): r is AccessRequest => r !== undefined);
    if (via === 'allowlist') {
      if (env.network === 'vpn' || env.network === 'tgw') {
        refusal.add(
          'forbidden',
          `${env.name} is connected through a ${NETWORK_WORDS[env.network]} (its network is ${env.network}), and IP allowlisting cannot coexist with a tunnel (the tunnel replaces the allowlist). Use --via ${env.network}.`,
          'via',
        );
      }
      const temporaryUsers = store.requests.listInStates(OPEN_STATES).filter((r) => r.env === env.name && r.kind === 'temporary');
      if (temporaryUsers.length > 0) {
        refusal.add('forbidden', `${env.name} has temporary users, which need a tunnel; IP allowlisting cannot coexist with them. Use --via vpn or --via tgw.`, 'via');
      }
      const tunnelled = others.find((r) => r.via !== 'allowlist');
      if (tunnelled) refusal.add('forbidden', `${env.name} has a permanent user (${tunnelled.username}) connecting through a tunnel; IP allowlisting cannot coexist with it. Use --via ${tunnelled.via}.`, 'via');
      return;
    }
    if (env.network !== 'none' && env.network !== via) {
      refusal.add(
        'forbidden',
        `${env.name} is reached through ${env.network === 'allowlist' ? 'IP allowlisting' : `a ${NETWORK_WORDS[env.network]}`} (its network is ${env.network}), not a ${NETWORK_WORDS[via]}. Use --via ${env.network}, or ask the bot's operator to change network once the ${NETWORK_WORDS[via]} exists.`,
        'via',
      );
    }
    const allowlisted = others.find((r) => r.via === 'allowlist');
    if (allowlisted) {
      refusal.add(
        'forbidden',
        `${env.name} has a permanent user (${allowlisted.username}) on IP allowlisting; a ${NETWORK_WORDS[via]} would end that allowlist. Move it first, or use --via allowlist.`,
        'via',
      );
    }
  }

  function checkIps(via: Via, ips: string[], refusal: Refusal): string[] {
    if (via !== 'allowlist') {
      if (ips.length > 0) refusal.add('invalid_input', '--ip is only for --via allowlist: with a tunnel, any address of your private network connects.', 'ips');
      return [];
    }
    if (ips.length === 0) refusal.add('invalid_input', 'IP allowlisting needs the public static IP addresses: add --ip 52.95.110.1,52.95.110.2.', 'ips');
    const problems = ips.map((ip) => [ip, ipProblem(ip)] as const).filter(([, p]) => p !== undefined);
    if (problems.length > 0) {
      refusal.add('invalid_input', `Only public static IP addresses can be allowlisted: ${problems.map(([ip, p]) => `${ip.slice(0, 45)} ${p}`).join('; ')}.`, 'ips');
    }
    return [...new Set(ips)];
  }

  /** One per environment and access, and the connection rules: checked before any Slack call, and again in the inserting transaction. */
  function checkOne(env: LoadedEnvironment, input: Pick<PermanentRequestInput, 'access' | 'via'>, refusal: Refusal): void {
    const existing = store.requests.findPermanent(env.name, input.access);
    if (existing) {
      refusal.add(
        'conflict',
        `${env.name} already has a ${accessWord(input.access)} permanent user (\`${existing.username}\`, <@${existing.requester}>, ${existing.state}): one per environment. For a new password use \`/dbuser rotate ${env.name} --access ${accessFlag(input.access)}\`.`,
        'envs',
      );
    }
    checkConnection(env, input.via, refusal);
  }

  return {
    /**
     * Every rule of a permanent request that needs no Slack call, all at once; throws one AppError
     * naming each problem with its form field. The form calls it inside Slack's acknowledgement.
     */
    validatePermanent(input: PermanentRequestInput): { reason: string; ips: string[]; envs: LoadedEnvironment[]; ticket: string | null } {
      const refusal = new Refusal();
      const reason = input.reason.trim();
      if (reason.length === 0) refusal.add('invalid_input', 'A permanent user needs a reason: add --reason "what it is for".', 'reason');
      const ips = checkIps(input.via, input.ips, refusal);
      const envs: LoadedEnvironment[] = [];
      for (const name of new Set(input.envs.map((e) => e.trim().toLowerCase()).filter(Boolean))) {
        try {
          envs.push(access.environment(name));
        } catch (err) {
          if (!isAppError(err)) throw err;
          refusal.add(err.code, err.message, 'envs');
        }
      }
      if (input.envs.every((e) => e.trim() === '')) refusal.add('invalid_input', 'Name at least one environment.', 'envs');
      let ticket: string | null = null;
      for (const env of envs) {
        checkOne(env, input, refusal);
        // Governance (issue 17 items 1, 5): each environment's ticket and reason rules, and its change window.
        if (reason.length > 0) checkReason(env, 'permanent', reason, refusal);
        ticket = checkTicket(env, 'permanent', input.ticket, refusal) ?? ticket;
        const window = windowRequirement(env, 'permanent', deps.clock.now());
        if (window.outside?.outside === 'break-glass') {
          refusal.add('forbidden', `Outside the change window (${window.outside.label}), ${env.name} takes no permanent-user requests (there is no break-glass for them): ask again inside it.`, 'envs');
        }
      }
      refusal.throwIfAny();
      return { reason, ips, envs, ticket };
    },

    /** One request per environment, each decided by that environment's permanent-user approvers. */
    async requestPermanent(input: PermanentRequestInput): Promise<PermanentRequestOutcome> {
      const { reason, ips, envs, ticket } = this.validatePermanent(input);
      const requesterName = await deps.directory.displayName(input.requester).catch(() => input.requester);
      // The rules are checked in the transaction that inserts: two overlapping requests cannot both pass
      // (a VPN user and an allowlisted one side by side), since nothing is awaited in between.
      const created = store.transaction(() =>
        envs.map((env) => {
          const refusal = new Refusal();
          checkOne(env, input, refusal);
          refusal.throwIfAny();
          const username = nominalUsername({ prefix: config.usernamePrefix, requester: `${input.access === 'readonly' ? 'ro' : 'rw'}_${env.name}`, rules: targetOf(env).rules });
          // Fixed now, so a window that opens while the request waits does not change it.
          const window = windowRequirement(env, 'permanent', deps.clock.now());
          const request = store.requests.create(
            {
              kind: 'permanent', env: env.name, requester: input.requester, requesterName, access: input.access, durationMs: 0, reason, ownPassword: false, breakGlass: false, via: input.via, ips, username,
              ticket, requiredApprovals: window.required, outsideWindow: window.outside?.label ?? null,
            },
            input.requester,
          );
          return { env, request, username };
        }),
      );
      const requests: AccessRequest[] = [];
      for (const { env, request, username } of created) {
        const plan = planOf(request, env, username);
        const posted = await access.deliver('approval request', request, () =>
          notifier.approvalRequested(request, env, plan).then(({ channel, ts }) => store.requests.setApprovalMessage(request.id, channel, ts)),
        );
        if (!posted) {
          // Nobody can approve a request nobody can see: withdraw them all rather than leave them blocking.
          for (const c of created) store.requests.transition(c.request.id, { from: ['pending'], to: 'failed', actor: 'bot', set: { error: 'the approval request could not be posted to Slack' } });
          throw new AppError('unavailable', `The request could not be posted to the approval channel of ${env.name}, so nothing was requested. Try again in a minute.`);
        }
        requests.push(store.requests.get(request.id) ?? request);
      }
      const warnings: string[] = [];
      for (const env of envs) {
        const recorded = requests.find((r) => r.env === env.name)?.requiredApprovals ?? undefined;
        const warning = await access.undecidableWarning(env, 'permanent', input.requester, recorded);
        if (warning) warnings.push(warning);
      }
      return { requests, network: networkRequest(envs, { ...input, ips }, requests), warnings };
    },

    /** Asks for a new password of a permanent user; an approver decides, the owner gets it. */
    async requestRotation(input: { env: string; access: PermanentAccess; user: string }): Promise<AccessRequest> {
      const env = access.environment(input.env);
      const request = store.requests.findPermanent(env.name, input.access);
      if (!request || request.state !== 'active') throw new AppError('not_found', `${env.name} has no active ${accessWord(input.access)} permanent user.`);
      if (request.requester !== input.user) {
        throw new AppError('forbidden', `Only <@${request.requester}>, who owns \`${request.username}\`, can ask for its new password. An approver can revoke it with \`/dbuser revoke ${request.username}\`.`);
      }
      if (!store.requests.requestRotation(request.id, input.user)) throw new AppError('conflict', 'A new password for this user is already waiting for approval.');
      const asked = store.requests.get(request.id)!;
      const posted = await access.deliver('rotation approval request', asked, async () => {
        const { ts } = await notifier.rotationRequested(asked, env);
        store.requests.setRotationMessage(asked.id, ts);
      });
      if (!posted) {
        store.requests.finishRotation(asked.id, 'bot', 'denied');
        throw new AppError('unavailable', `Your request could not be posted to the approval channel of ${env.name}, so nothing was asked. Try again in a minute.`);
      }
      return asked;
    },

    /** Approve or deny a pending rotation. On approval the password changes and only the owner sees the new one. */
    async decideRotation(input: { requestId: string; actor: string; decision: 'approve' | 'deny' }): Promise<{ changed: boolean; request: AccessRequest }> {
      const { request, env } = await access.assertCanDecide(input.requestId, input.actor, 'rotation');
      const step = store.transaction(() => {
        const current = store.requests.get(request.id);
        if (!current?.rotationRequestedAt) return undefined;
        if (input.decision === 'approve') {
          // A rotation is a permanent user's decision: the same quorum, counted per rotation asked.
          const subject = `rotation:${current.id}:${current.rotationRequestedAt}`;
          const quorum = countApproval(store, { subject, actor: input.actor, requester: current.requester, required: requiredApprovals(env, 'permanent') });
          if (!quorum.reached) {
            store.audit.append({ actor: input.actor, action: 'approval_recorded', requestId: current.id, env: env.name, detail: { rotation: true, approvals: quorum.approvers.length, required: quorum.required } });
            notices.send({ topic: 'rotation.decided', requestId: current.id, ts: current.rotationApprovalTs, status: quorumLine(quorum) });
            return { partial: current };
          }
        }
        return { ended: store.requests.finishRotation(request.id, input.actor, input.decision === 'approve' ? 'approved' : 'denied') };
      });
      if (step && 'partial' in step && step.partial) return { changed: true, request: step.partial };
      const ended = step?.ended;
      if (!ended) return { changed: false, request };
      const again = `\`/dbuser rotate ${env.name} --access ${ended.access === 'readonly' ? 'read' : 'readwrite'}\``;
      if (input.decision === 'deny') {
        store.transaction(() => {
          notices.send({ topic: 'rotation.decided', requestId: ended.id, ts: ended.rotationApprovalTs, status: `New password denied by <@${input.actor}>.` });
          notices.send({ topic: 'requester.notice', requestId: ended.id, text: `Your request for a new password of \`${ended.username}\` in ${env.name} was denied by <@${input.actor}>.` });
        });
        return { changed: true, request: ended };
      }
      const current = store.requests.get(ended.id);
      if (current?.state !== 'active') {
        // Revoked while the approval waited: nothing may re-enable it.
        notices.send({ topic: 'rotation.decided', requestId: ended.id, ts: ended.rotationApprovalTs, status: `Approved by <@${input.actor}>, but the user is no longer active; nothing was changed.` });
        return { changed: true, request: current ?? ended };
      }
      const password = generatePassword();
      failpoint('permanent-rotation:before-set-password');
      try {
        // Unlock only a user whose request is still active, never one on its way out.
        await deps.database(env).rotatePassword({ username: ended.username!, password, unlock: ended.state === 'active' });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        store.transaction(() => {
          notices.send({ topic: 'rotation.decided', requestId: ended.id, ts: ended.rotationApprovalTs, status: `Approved by <@${input.actor}>, but setting the password failed: ${message}` });
          notices.send({
            topic: 'requester.notice',
            requestId: ended.id,
            text: `The new password for \`${ended.username}\` in ${env.name} could not be set: ${message} The old password still works; ask again with ${again}.`,
          });
        });
        throw err;
      }
      store.audit.append({ actor: input.actor, action: 'password_rotated', requestId: ended.id, env: env.name });
      const shown = await access.deliver('credentials', ended, () => notifier.deliverCredentials(ended, env, password));
      store.transaction(() => {
        store.audit.append({ actor: 'bot', action: shown ? 'credentials_shown' : 'credentials_not_shown', requestId: ended.id, env: env.name });
        if (shown) {
          notices.send({ topic: 'rotation.decided', requestId: ended.id, ts: ended.rotationApprovalTs, status: `New password approved by <@${input.actor}> and shown to <@${ended.requester}>.` });
          return;
        }
        // The password changed but nobody saw it: the old one no longer works, so say so and how to get another.
        notices.send({
          topic: 'rotation.decided',
          requestId: ended.id,
          ts: ended.rotationApprovalTs,
          status: `New password approved by <@${input.actor}> and set, but it could not be shown to <@${ended.requester}>; they need to ask again.`,
        });
        notices.send({
          topic: 'requester.notice',
          requestId: ended.id,
          text: `The new password for \`${ended.username}\` in ${env.name} was set but could not be shown to you, and the old one no longer works. Ask again with ${again}.`,
        });
      });
      return { changed: true, request: ended };
    },

    /**
     * Grants INSERT, UPDATE, DELETE on OSUSR_ tables created since (every publish can add some) to every
     * active read & write user of the environment, temporary and permanent. Reports what it added.
     */
    async sync(envName: string, actor: string): Promise<{ env: string; users: { username: string; report: GrantReport }[] }> {
      const env = access.environment(envName);
      if (actor !== 'scheduler' && !(await access.isApprover(actor, env)) && !(await access.isApprover(actor, env, 'permanent'))) {
        throw new AppError('forbidden', `Only approvers of ${env.name} can sync grants; the bot also does it every hour.`);
      }
      const users = store.requests.listInStates(['active']).filter((r) => r.env === env.name && r.access === 'readwrite' && r.username);
      const results: { username: string; report: GrantReport }[] = [];
      for (const user of users) {
        const report = await deps.database(env).syncGrants({ username: user.username!, kind: user.kind === 'temporary' ? 'temporary' : 'readwrite' });
        results.push({ username: user.username!, report });
        if (report.added.length > 0 || report.failed.length > 0) {
          store.audit.append({
            actor,
            action: 'grants_synced',
            requestId: user.id,
            env: env.name,
            detail: { added: report.added, failed: report.failed.map((f) => f.table) },
          });
        }
      }
      return { env: env.name, users: results };
    },

    /** The scheduled re-grant: every environment at once (one that hangs delays no other), reported in its reminder channel when anything was added or failed. */
    async syncAll(): Promise<void> {
      await Promise.all(
        config.environments.map(async (env) => {
          try {
            const { users } = await this.sync(env.name, 'scheduler');
            const changed = users.filter((u) => u.report.added.length > 0 || u.report.failed.length > 0);
            if (changed.length === 0) return;
            const lines = changed.map(
              (u) =>
                `• \`${u.username}\`: ${u.report.added.length} table(s) granted${u.report.added.length ? ` (${u.report.added.slice(0, 10).join(', ')}${u.report.added.length > 10 ? ', …' : ''})` : ''}${u.report.failed.length ? `; ${u.report.failed.length} failed: ${u.report.failed.map((f) => `${f.table}: ${f.error.message}`).join('; ')}` : ''}`,
            );
            notices.send({ topic: 'channel.notice', env: env.name, channel: 'reminders', text: `New application tables in *${env.name}* granted to read & write users:\n${lines.join('\n')}` });
          } catch (err) {
            deps.log.error({ err, env: env.name }, 'grant sync failed');
          }
        }),
      );
    },

    describe(request: AccessRequest): string {
      return `${userWords(request)} \`${request.username}\` in ${request.env}`;
    },
  };
}

export type PermanentAccessService = ReturnType<typeof createPermanentAccess>;
