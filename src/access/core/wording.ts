// The words every feature shares: what kind of user a request is about, its state, and the status line
// of its approval message. Words follow the kind: a permanent user is never called temporary.
import { escapeText } from '../../text.js';
import type { AccessRequest } from '../../store/requests.js';

/** "temporary user" / "read-only permanent user", for messages. */
export function userWords(request: Pick<AccessRequest, 'kind' | 'access'>): string {
  if (request.kind === 'temporary') return 'temporary user';
  return `${request.access === 'readonly' ? 'read-only' : 'read & write'} permanent user`;
}

/** How a person asks again for a user of this kind. */
export function askAgain(request: Pick<AccessRequest, 'kind' | 'access' | 'env'>): string {
  return request.kind === 'temporary'
    ? `\`/dbuser request ${request.env}\``
    : `\`/dbuser permanent ${request.env} --access ${request.access === 'readonly' ? 'read' : 'readwrite'}\``;
}

/** Open states a person may still act on, in words for messages. */
export const STATE_WORDS: Readonly<Record<string, string>> = Object.freeze({
  pending: 'waiting for approval',
  approved: 'approved, being created',
  provisioning: 'being created',
  active: 'active',
  revoking: 'being revoked',
  revoke_failed: 'failing to be revoked (the bot keeps retrying)',
});

function time(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

/** The status line of a request's approval message: who decided, when, and where it stands. */
export function statusLine(request: AccessRequest): string {
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
    case 'expired':
      return `Expired: ${request.decisionReason ?? 'nobody decided in time'}.`;
    default:
      return STATE_WORDS[request.state] ?? request.state;
  }
}
