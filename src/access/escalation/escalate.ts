// Escalation (issue 17 item 4): a request or interop action still undecided after policy.escalateAfter is
// also sent to the environment's escalationApprovers, once (store.escalations is the "once", across
// restarts), saying who was asked first and since when. Who may then decide is the policy's
// (core/policy.ts mayDecide). Queued through the outbox; never awaits Slack.
import type { LoadedEnvironment } from '../../config.js';
import { formatDuration } from '../../duration.js';
import type { AccessDeps } from '../core/deps.js';
import type { Policy } from '../core/policy.js';
import { userWords } from '../core/wording.js';

export interface EscalationDeps extends Pick<AccessDeps, 'store' | 'notices' | 'clock' | 'log' | 'config'> {
  policy: Pick<Policy, 'knownEnvironment' | 'approverMention' | 'escalationMention'>;
}

/** Something undecided that can be escalated: a request or an interop action, as far as escalation needs. */
interface Undecided {
  id: string;
  env: LoadedEnvironment;
  what: string;
  requester: string;
  createdAt: number;
  firstAsked: string;
  approval: { channel: string | null; ts: string | null };
  key: { requestId: string } | { actionId: string };
}

function slackTime(ms: number): string {
  // Slack shows it in each reader's time zone (https://api.slack.com/reference/surfaces/formatting#date-formatting).
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;
}

export function createEscalation(deps: EscalationDeps) {
  const { store, notices, log, policy } = deps;

  /** Everything undecided in an environment that escalates, with when it becomes due. */
  // Escalation is off unless an environment asks for it: then the timer's every look costs no query.
  const anyEscalates = deps.config.environments.some((env) => env.policy.escalateAfter !== undefined && env.escalationApprovers);

  function undecided(): { item: Undecided; dueAt: number }[] {
    const items: { item: Undecided; dueAt: number }[] = [];
    if (!anyEscalates) return items;
    for (const request of store.requests.listInStates(['pending'])) {
      const env = policy.knownEnvironment(request.env);
      const after = env?.policy.escalateAfter;
      if (!env || after === undefined || !env.escalationApprovers) continue;
      items.push({
        dueAt: request.createdAt + after,
        item: {
          id: request.id,
          env,
          what: `${userWords(request)} request`,
          requester: request.requester,
          createdAt: request.createdAt,
          firstAsked: policy.approverMention(env, request.kind),
          approval: { channel: request.approvalChannel, ts: request.approvalTs },
          key: { requestId: request.id },
        },
      });
    }
    for (const action of store.interop.listInStates(['pending'])) {
      const env = policy.knownEnvironment(action.env);
      const after = env?.policy.escalateAfter;
      if (!env || after === undefined || !env.escalationApprovers) continue;
      items.push({
        dueAt: action.createdAt + after,
        item: {
          id: action.id,
          env,
          what: `interop ${action.action} request`,
          requester: action.requester,
          createdAt: action.createdAt,
          firstAsked: policy.approverMention(env, 'temporary'),
          approval: { channel: action.approvalChannel, ts: action.approvalTs },
          key: { actionId: action.id },
        },
      });
    }
    return items;
  }

  /** Records the escalation and queues its notices in one transaction: a second run (or a restart) finds the row and sends nothing. */
  function escalate(item: Undecided, now: number): boolean {
    const { env } = item;
    const waited = formatDuration(Math.max(Math.floor((now - item.createdAt) / 60_000), 1) * 60_000);
    const to = policy.escalationMention(env);
    const text =
      `:arrow_double_up: *Escalated*: this ${item.what} of <@${item.requester}> in ${env.name} is still undecided after ${waited}. ` +
      `First asked: ${item.firstAsked}, since ${slackTime(item.createdAt)}. ${to}: you may now approve or deny it.`;
    return store.transaction(() => {
      if (!store.escalations.add(item.id)) return false;
      store.audit.append({
        actor: 'scheduler',
        action: 'escalated',
        ...('requestId' in item.key ? { requestId: item.id } : {}),
        env: env.name,
        detail: { subject: item.id, after: env.policy.escalateAfter, firstAsked: item.firstAsked, escalatedTo: to },
      });
      // Under the approval message (its buttons are where they decide), mentioning everyone escalated to.
      notices.send({ topic: 'thread.reply', env: env.name, channel: item.approval.channel ?? env.channels.approvals, threadTs: item.approval.ts, text, ...item.key });
      // And a DM to each escalation approver named as a user: a channel they may not read is no escalation.
      for (const user of env.escalationApprovers?.users ?? []) {
        notices.send({ topic: 'direct.message', env: env.name, user, text, ...('requestId' in item.key ? { requestId: item.id } : {}) });
      }
      return true;
    });
  }

  return {
    /** Escalates what is due at `now` and not escalated yet. Returns how many were. */
    tick(now: number): number {
      let escalated = 0;
      for (const { item, dueAt } of undecided()) {
        if (dueAt > now || store.escalations.at(item.id) !== undefined) continue;
        if (escalate(item, now)) {
          escalated++;
          log.info({ subject: item.id, env: item.env.name }, 'undecided request escalated');
        }
      }
      return escalated;
    },

    /** The next moment an escalation is due, or null. */
    nextDueAt(): number | null {
      let next: number | null = null;
      for (const { item, dueAt } of undecided()) {
        if (store.escalations.at(item.id) !== undefined) continue;
        if (next === null || dueAt < next) next = dueAt;
      }
      return next;
    },
  };
}

export type Escalation = ReturnType<typeof createEscalation>;
