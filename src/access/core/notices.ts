// Every Slack notice the use cases send, as data: written to the outbox (in the same transaction as the
// state change it reports, where there is one) and delivered later by its dispatcher, so no database
// operation ever awaits Slack, and a notice that fails is retried, then audited, never lost silently.
import type { LoadedEnvironment } from '../../config.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/store.js';
import { extensionLeft } from './policy.js';
import type { Notifier, OrphanReport } from './ports.js';

/** What can be told, to whom. Never a password: credentials are handed over directly, once, in memory. */
export type Notice =
  /** Rewrites the approval message of a request with its current state and `status`. */
  | { topic: 'approval.updated'; requestId: string; status: string }
  /** A DM to the requester of a request. */
  | { topic: 'requester.notice'; requestId: string; text: string }
  | { topic: 'revoked'; requestId: string; text: string }
  | { topic: 'revoke.failed'; requestId: string; text: string }
  | { topic: 'expiry.reminder'; requestId: string; text: string }
  /** Rewrites every reminder message of the request (extended, or gone): `status` and the buttons that still apply. */
  | { topic: 'reminders.updated'; requestId: string; status: string }
  | { topic: 'approvers.reminder'; requestId: string; text: string }
  /** Rewrites the rotation approval message `ts` (the request forgets it once the rotation is decided). */
  | { topic: 'rotation.decided'; requestId: string; status: string; ts: string | null }
  /** A DM to one person (each break-glass approver is a notice of their own, so each fails alone). */
  | { topic: 'direct.message'; env: string; user: string; text: string; requestId?: string }
  /** A message in one of an environment's channels. */
  | { topic: 'channel.notice'; env: string; channel: 'approvals' | 'reminders'; text: string; requestId?: string }
  | { topic: 'orphan.report'; env: string; report: OrphanReport }
  | { topic: 'interop.updated'; actionId: string; status: string }
  /** Issue 17 item 4: a reply under an approval message (the escalation), keyed to its request or action for order. */
  | { topic: 'thread.reply'; env: string; channel: string; threadTs: string | null; text: string; requestId?: string; actionId?: string }
  /** Issue 17 item 3: a permanent user's access review (Keep / Revoke); its message is recorded for the decision. */
  | { topic: 'review.requested'; requestId: string; text: string }
  /** A reply under the review message (the reminder), or in the approval channel when it was never posted. */
  | { topic: 'review.reminder'; requestId: string; text: string }
  /** Rewrites the review message with the decision. */
  | { topic: 'review.updated'; requestId: string; status: string };

export type NoticeTopic = Notice['topic'];

/** The part of the outbox the notices need (src/store/outbox.ts and src/access/core/outbox.ts). */
export interface NoticeQueue {
  enqueue(item: { topic: string; requestId?: string; env?: string; key?: string; payload: Record<string, unknown> }): unknown;
}

export interface Notices {
  /** Queues `notice`; call it inside store.transaction to make it part of a state change. */
  send(notice: Notice): void;
  /** The outbox handlers, one per topic: each turns a queued row back into a Slack call. */
  handlers(): Record<NoticeTopic, (payload: Record<string, unknown>) => Promise<void>>;
  /** Registers every handler with `outbox`; a notice with nothing left to tell is done, not retried. */
  registerWith(outbox: { register(topic: string, handler: (item: { id: number; payload: Record<string, unknown> }) => Promise<void>): void }): void;
}

/** A row whose request, action or environment is gone has nothing left to tell: it is dropped as delivered. */
export class NoticeObsolete extends Error {
  override readonly name = 'NoticeObsolete';
}

export function createNotices(deps: {
  queue: NoticeQueue;
  store: Store;
  notifier: Notifier;
  /** The environment of that name, or undefined when the configuration no longer has it. */
  knownEnvironment: (name: string) => LoadedEnvironment | undefined;
  log: Logger;
}): Notices {
  const { store, notifier } = deps;

  function envOrObsolete(name: string): LoadedEnvironment {
    const env = deps.knownEnvironment(name);
    if (!env) throw new NoticeObsolete(`environment ${name} is no longer configured`);
    return env;
  }

  function requestOf(payload: Record<string, unknown>) {
    const request = store.requests.get(String(payload['requestId']));
    if (!request) throw new NoticeObsolete(`request ${String(payload['requestId'])} is gone`);
    return { request, env: envOrObsolete(request.env) };
  }

  const text = (payload: Record<string, unknown>) => String(payload['text'] ?? payload['status'] ?? '');

  return {
    registerWith(outbox) {
      for (const [topic, send] of Object.entries(this.handlers())) {
        outbox.register(topic, async (item) => {
          try {
            await send(item.payload);
          } catch (err) {
            if (!(err instanceof NoticeObsolete)) throw err;
            deps.log.info({ topic, outboxId: item.id, why: err.message }, 'notice dropped: nothing left to tell');
          }
        });
      }
    },
    send(notice) {
      const requestId = 'requestId' in notice ? notice.requestId : undefined;
      const actionId = 'actionId' in notice ? notice.actionId : undefined;
      const env = 'env' in notice ? notice.env : requestId ? store.requests.get(requestId)?.env : undefined;
      // Notices about one request (or interop action) go out in the order they were written.
      const key = requestId ?? actionId;
      deps.queue.enqueue({
        topic: notice.topic,
        payload: { ...notice },
        ...(requestId ? { requestId } : {}),
        ...(env ? { env } : {}),
        ...(key ? { key } : {}),
      });
    },
    handlers() {
      return {
        'approval.updated': async (p) => {
          const { request, env } = requestOf(p);
          await notifier.approvalUpdated(request, env, text(p));
        },
        'requester.notice': async (p) => notifier.notifyRequester(requestOf(p).request, text(p)),
        revoked: async (p) => {
          const { request, env } = requestOf(p);
          await notifier.revoked(request, env, text(p));
        },
        'revoke.failed': async (p) => {
          const { request, env } = requestOf(p);
          await notifier.revokeFailed(request, env, text(p));
        },
        'expiry.reminder': async (p) => {
          const { request, env } = requestOf(p);
          // A reminder about a user that is no longer active would offer buttons that do nothing.
          if (request.state !== 'active') return;
          await notifier.expiryReminder(request, env, {
            text: text(p),
            extend: extensionLeft(request, env),
            posted: (message) => store.reminders.recordMessage(request.id, message),
          });
        },
        'reminders.updated': async (p) => {
          const { request, env } = requestOf(p);
          const extend = extensionLeft(request, env);
          for (const message of store.reminders.messagesFor(request.id)) await notifier.reminderUpdated(request, env, message, { status: text(p), extend });
        },
        'approvers.reminder': async (p) => {
          const { request, env } = requestOf(p);
          if (request.state !== 'pending') return;
          await notifier.remindApprovers(request, env, text(p));
        },
        'rotation.decided': async (p) => {
          const { request, env } = requestOf(p);
          const ts = typeof p['ts'] === 'string' ? p['ts'] : null;
          await notifier.rotationDecided({ ...request, rotationApprovalTs: ts }, env, text(p));
        },
        'direct.message': async (p) => notifier.directMessage(String(p['user']), text(p)),
        'channel.notice': async (p) => {
          const env = envOrObsolete(String(p['env']));
          await notifier.channelNotice(env, p['channel'] === 'approvals' ? 'approvals' : 'reminders', text(p));
        },
        'orphan.report': async (p) => {
          const env = envOrObsolete(String(p['env']));
          await notifier.orphanReport(env, orphanReportOf(p['report']));
        },
        'thread.reply': async (p) => {
          envOrObsolete(String(p['env']));
          const threadTs = typeof p['threadTs'] === 'string' ? p['threadTs'] : null;
          await notifier.threadReply(String(p['channel']), threadTs, text(p));
        },
        'review.requested': async (p) => {
          const { request, env } = requestOf(p);
          // Revoked meanwhile, or decided before the message went out: nothing to ask any more.
          if (request.state !== 'active' || store.reviews.get(request.id)?.askedAt == null) return;
          const posted = await notifier.reviewRequested(request, env, text(p));
          store.reviews.recordMessage(request.id, posted);
        },
        'review.reminder': async (p) => {
          const { request, env } = requestOf(p);
          if (request.state !== 'active') return;
          const message = store.reviews.get(request.id)?.message;
          await notifier.threadReply(message?.channel ?? env.channels.approvals, message?.ts ?? null, text(p));
        },
        'review.updated': async (p) => {
          const { request, env } = requestOf(p);
          const message = store.reviews.get(request.id)?.message;
          if (message) await notifier.reviewUpdated(request, env, message, text(p));
        },
        'interop.updated': async (p) => {
          const action = store.interop.get(String(p['actionId']));
          if (!action) throw new NoticeObsolete(`interop action ${String(p['actionId'])} is gone`);
          await notifier.interopUpdated(action, envOrObsolete(action.env), text(p));
        },
      };
    },
  };
}

/** The orphan report back from its JSON row: lists of names and of { requestId, username, requester }. */
function orphanReportOf(value: unknown): OrphanReport {
  const record = recordOf(value);
  const list = (key: string): unknown[] => {
    const items = record[key];
    return Array.isArray(items) ? items : [];
  };
  return {
    unknown: list('unknown').map(String),
    missing: list('missing').map((m) => {
      const entry = recordOf(m);
      return { requestId: String(entry['requestId'] ?? ''), username: String(entry['username'] ?? ''), requester: String(entry['requester'] ?? '') };
    }),
  };
}

function recordOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value)) : {};
}
