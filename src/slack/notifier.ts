// The Notifier and Directory over Slack's Web API: where approvals, outcomes and the one-time password are shown.
import type { WebClient } from '@slack/web-api';
import type { Directory, Notifier } from '../access/core/ports.js';
import { planOf } from '../access/core/plan.js';
import { detailsOf, userWords } from '../access/temporary.js';
import type { Clock } from '../clock.js';

import {
  approvalMessage,
  credentialsMessage,
  expiryReminderMessage,
  interopCredentialsMessage,
  interopMessage,
  orphanReportMessage,
  revokeFailedMessage,
  rotationMessage,
  textMessage,
} from './blocks.js';
import { reviewMessage } from './review-blocks.js';

/** Opens (or finds) the DM channel between the bot and a user. */
async function dmChannel(client: WebClient, user: string): Promise<string> {
  const opened = await client.conversations.open({ users: user });
  const id = opened.channel?.id;
  if (!id) throw new Error(`conversations.open returned no channel for ${user}`);
  return id;
}

export function slackNotifier(client: WebClient): Notifier {
  /** Interop plans, to show again when the message is updated (they hold no secret; lost on restart, then the update says so). */
  const plans = new Map<string, string>();
  return {
    async approvalRequested(request, env, plan) {
      const message = approvalMessage(request, env, plan);
      const posted = await client.chat.postMessage({ channel: env.channels.approvals, ...message });
      if (!posted.ts || !posted.channel) throw new Error('chat.postMessage returned no ts');
      return { channel: posted.channel, ts: posted.ts };
    },

    async approvalUpdated(request, env, status) {
      if (!request.approvalChannel || !request.approvalTs) return;
      if (!request.username) return;
      const plan = planOf(request, env, request.username);
      await client.chat.update({ channel: request.approvalChannel, ts: request.approvalTs, ...approvalMessage(request, env, plan, status) });
    },

    async notifyRequester(request, text) {
      await client.chat.postMessage({ channel: await dmChannel(client, request.requester), ...textMessage(text) });
    },

    async deliverCredentials(request, env, password) {
      const message = credentialsMessage(detailsOf(request, env), password, `Your ${userWords(request).replace(' user', ' database user')} in ${env.name} is ready`);
      // Ephemeral, in the requester's DM with the bot: only they see it, and Slack does not keep it.
      await client.chat.postEphemeral({ channel: await dmChannel(client, request.requester), user: request.requester, ...message });
    },

    async expiryReminder(request, env, reminder) {
      const message = expiryReminderMessage(request, reminder.text, reminder);
      for (const channel of [env.channels.reminders, request.requester]) {
        const posted = await client.chat.postMessage({ channel: channel === request.requester ? await dmChannel(client, channel) : channel, ...message });
        if (posted.ts && posted.channel) reminder.posted({ channel: posted.channel, ts: posted.ts });
      }
    },

    async reminderUpdated(request, _env, message, update) {
      await client.chat.update({ channel: message.channel, ts: message.ts, ...expiryReminderMessage(request, update.status, update) });
    },

    async revoked(request, env, text) {
      await client.chat.postMessage({ channel: env.channels.reminders, ...textMessage(text) });
      await client.chat.postMessage({ channel: await dmChannel(client, request.requester), ...textMessage(text) });
    },

    async revokeFailed(request, env, text) {
      await client.chat.postMessage({ channel: env.channels.reminders, ...revokeFailedMessage(request, text) });
    },

    async remindApprovers(request, env, text) {
      const channel = request.approvalChannel ?? env.channels.approvals;
      await client.chat.postMessage({ channel, ...(request.approvalTs ? { thread_ts: request.approvalTs } : {}), ...textMessage(text) });
    },

    async rotationRequested(request, env) {
      const posted = await client.chat.postMessage({ channel: env.channels.approvals, ...rotationMessage(request, env) });
      if (!posted.ts) throw new Error('chat.postMessage returned no ts');
      return { ts: posted.ts };
    },

    async rotationDecided(request, env, status) {
      if (!request.rotationApprovalTs) return;
      await client.chat.update({ channel: env.channels.approvals, ts: request.rotationApprovalTs, ...rotationMessage(request, env, status) });
    },

    async interopRequested(action, env, plan) {
      const posted = await client.chat.postMessage({ channel: env.channels.approvals, ...interopMessage(action, env, plan) });
      if (!posted.ts || !posted.channel) throw new Error('chat.postMessage returned no ts');
      plans.set(action.id, plan);
      return { channel: posted.channel, ts: posted.ts };
    },

    async interopUpdated(action, env, status) {
      if (!action.approvalChannel || !action.approvalTs) return;
      const plan = plans.get(action.id) ?? '(see the audit log)';
      plans.delete(action.id);
      await client.chat.update({ channel: action.approvalChannel, ts: action.approvalTs, ...interopMessage(action, env, plan, status) });
    },

    async deliverInteropCredentials(action, env, username, password) {
      await client.chat.postEphemeral({ channel: await dmChannel(client, action.requester), user: action.requester, ...interopCredentialsMessage(env, username, password) });
    },

    async channelNotice(env, channel, text) {
      await client.chat.postMessage({ channel: channel === 'approvals' ? env.channels.approvals : env.channels.reminders, ...textMessage(text) });
    },

    async orphanReport(env, report) {
      await client.chat.postMessage({ channel: env.channels.reminders, ...orphanReportMessage(env, report) });
    },

    async directMessage(user, text) {
      await client.chat.postMessage({ channel: await dmChannel(client, user), ...textMessage(text) });
    },

    async threadReply(channel, threadTs, text) {
      await client.chat.postMessage({ channel, ...(threadTs ? { thread_ts: threadTs } : {}), ...textMessage(text) });
    },

    async reviewRequested(request, env, text) {
      const posted = await client.chat.postMessage({ channel: env.channels.approvals, ...reviewMessage(request, text) });
      if (!posted.ts || !posted.channel) throw new Error('chat.postMessage returned no ts');
      return { channel: posted.channel, ts: posted.ts };
    },

    async reviewUpdated(request, _env, message, status) {
      await client.chat.update({ channel: message.channel, ts: message.ts, ...reviewMessage(request, status, { decided: true }) });
    },
  };
}

/**
 * Names and group members from Slack, group members cached briefly (approver checks run on every click).
 * One call per group at a time: while Slack is slow, every check of that group waits for the same
 * call instead of sending its own (usergroups.users.list is rate limited, and a slow Slack would
 * otherwise get one more call per request). What is only shown (the list) may use members up to
 * `staleMs` old while a refresh runs, so a slow Slack never holds up its answer; who may decide never
 * uses stale members.
 */
export function slackDirectory(client: WebClient, clock: Clock, cacheMs = 60_000, staleMs = 10 * 60_000): Directory {
  const groups = new Map<string, { at: number; members: string[] }>();
  const inFlight = new Map<string, Promise<string[]>>();
  function fetchMembers(group: string): Promise<string[]> {
    const pending = inFlight.get(group);
    if (pending) return pending;
    const call = client.usergroups.users
      .list({ usergroup: group })
      .then((listed) => {
        const members = listed.users ?? [];
        groups.set(group, { at: clock.now(), members });
        return members;
      })
      .finally(() => inFlight.delete(group));
    inFlight.set(group, call);
    return call;
  }
  function fresh(group: string): string[] | undefined {
    const cached = groups.get(group);
    return cached && clock.now() - cached.at < cacheMs ? cached.members : undefined;
  }
  return {
    async displayName(user) {
      const info = await client.users.info({ user });
      const profile = info.user?.profile;
      return profile?.display_name || profile?.real_name || info.user?.real_name || info.user?.name || user;
    },
    async groupMembers(group) {
      return fresh(group) ?? (await fetchMembers(group));
    },
    knownGroupMembers(group) {
      const known = fresh(group);
      if (known) return known;
      const cached = groups.get(group);
      if (!cached || clock.now() - cached.at >= staleMs) return undefined;
      // Stale but recent: shown as it is while one refresh runs (its failure is the next caller's to see).
      fetchMembers(group).catch(() => undefined);
      return cached.members;
    },
  };
}

