// What the use cases need from the outside world, as interfaces: Slack (or the console) implements them.
import type { LoadedEnvironment } from '../../config.js';
import type { InteropAction } from '../../store/interop.js';
import type { PostedMessage } from '../../store/reminders.js';
import type { AccessRequest } from '../../store/requests.js';

export type { PostedMessage } from '../../store/reminders.js';

/** Where approvals and outcomes are shown. Implementations never write a password anywhere but `deliverCredentials`. */
export interface Notifier {
  /** Posts the request to the environment's approval channel with the masked SQL plan and Approve / Deny buttons. */
  approvalRequested(request: AccessRequest, env: LoadedEnvironment, plan: string): Promise<{ channel: string; ts: string }>;
  /** Rewrites the approval message with `status` (who decided, when, the outcome) and no buttons. */
  approvalUpdated(request: AccessRequest, env: LoadedEnvironment, status: string): Promise<void>;
  /** A direct message to the requester; never holds a secret. */
  notifyRequester(request: AccessRequest, text: string): Promise<void>;
  /** The password, once, only to the requester: an ephemeral message in their DM with the bot. */
  deliverCredentials(request: AccessRequest, env: LoadedEnvironment, password: string): Promise<void>;
  /** A direct message to one person (a break-glass alert to an approver); never holds a secret. */
  directMessage(user: string, text: string): Promise<void>;
  /** A message in one of an environment's channels (a break-glass note, grants synced, a configuration warning). */
  channelNotice(env: LoadedEnvironment, channel: 'approvals' | 'reminders', text: string): Promise<void>;
  /**
   * Before expiry: to the reminder channel and the owner, with Revoke now, and Extend when one is left.
   * Each message Slack accepts is handed to `posted` at once (so a later failure loses none of them).
   */
  expiryReminder(request: AccessRequest, env: LoadedEnvironment, reminder: { text: string; extend: boolean; posted: (message: PostedMessage) => void }): Promise<void>;
  /** Rewrites a reminder already posted with `status` and only the buttons that still apply (none once the user is gone). */
  reminderUpdated(request: AccessRequest, env: LoadedEnvironment, message: PostedMessage, update: { status: string; extend: boolean }): Promise<void>;
  /** After a revocation: the reminder channel and the owner are told. */
  revoked(request: AccessRequest, env: LoadedEnvironment, text: string): Promise<void>;
  /** A revocation gave up its quick retries: an alert in the reminder channel with a Retry button. */
  revokeFailed(request: AccessRequest, env: LoadedEnvironment, text: string): Promise<void>;
  /** Undecided request: a reply under the approval message, mentioning the approvers. */
  remindApprovers(request: AccessRequest, env: LoadedEnvironment, text: string): Promise<void>;
  /** A permanent user's owner asks for a new password: the approval channel gets Approve / Deny. */
  rotationRequested(request: AccessRequest, env: LoadedEnvironment): Promise<{ ts: string }>;
  /** Rewrites the rotation approval message with the outcome and no buttons. */
  rotationDecided(request: AccessRequest, env: LoadedEnvironment, status: string): Promise<void>;
  /** An interop action waiting for an approver, with its plan and Approve / Deny. */
  interopRequested(action: InteropAction, env: LoadedEnvironment, plan: string): Promise<{ channel: string; ts: string }>;
  /** Rewrites the interop approval message with the outcome and no buttons. */
  interopUpdated(action: InteropAction, env: LoadedEnvironment, status: string): Promise<void>;
  /** The interoperability user's password, once, ephemeral, to whoever asked for the setup. */
  deliverInteropCredentials(action: InteropAction, env: LoadedEnvironment, username: string, password: string): Promise<void>;
  /** Database users the state does not know, and active users whose login is gone, with Drop buttons. */
  orphanReport(env: LoadedEnvironment, report: OrphanReport): Promise<void>;
  /** A reply in a message's thread (an escalation under the approval message), or a plain message in `channel` when there is no thread. */
  threadReply(channel: string, threadTs: string | null, text: string): Promise<void>;
  /** Issue 17 item 3: a permanent user's access review in the approval channel, with Keep and Revoke. */
  reviewRequested(request: AccessRequest, env: LoadedEnvironment, text: string): Promise<PostedMessage>;
  /** Rewrites a review message with the decision (`status`) and no buttons. */
  reviewUpdated(request: AccessRequest, env: LoadedEnvironment, message: PostedMessage, status: string): Promise<void>;
}

export interface OrphanReport {
  /** Users in the database carrying the bot's prefix that no open request owns. */
  unknown: string[];
  /** Active requests whose database user is missing. */
  missing: { requestId: string; username: string; requester: string }[];
}

/** What the use cases report to monitoring; src/ops/metrics.ts implements it with Prometheus. */
export interface AccessMetrics {
  provisioned(outcome: 'success' | 'failure', seconds: number): void;
  revoked(outcome: 'revoked' | 'retrying' | 'revoke_failed', seconds: number, latenessSeconds?: number): void;
}

/** Who people are, as Slack knows them. */
export interface Directory {
  /** The name to derive a nominal username from: display name, else real name, else the id. */
  displayName(user: string): Promise<string>;
  /** Members of a Slack user group. */
  groupMembers(group: string): Promise<string[]>;
  /**
   * Members of a Slack user group when they are known without waiting for Slack, else undefined. For
   * what is only shown (never for who may decide): they may be a few minutes old while a refresh runs.
   */
  knownGroupMembers(group: string): string[] | undefined;
}
