// What access reviews say (issue 17 item 3): the review message, its reminder, the decisions, the list.
import type { LoadedEnvironment } from '../../config.js';
import { formatDuration } from '../../duration.js';
import type { AccessRequest } from '../../store/requests.js';
import type { Review } from '../../store/reviews.js';

/** A date Slack shows in each reader's time zone (https://api.slack.com/reference/surfaces/formatting#date-formatting). */
export function slackDay(ms: number): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short}|${new Date(ms).toISOString().slice(0, 10)}>`;
}

const accessWords = (r: Pick<AccessRequest, 'access'>) => (r.access === 'readonly' ? 'read-only' : 'read & write');

/** The review message: who owns the user, its access, since when, its last rotation and review, and what silence leads to. */
export function reviewText(input: { request: AccessRequest; env: LoadedEnvironment; review: Review | undefined; lastRotation: number | null; deciders: string }): string {
  const { request, env, review, lastRotation, deciders } = input;
  const since = request.activatedAt ?? request.createdAt;
  const grace = formatDuration(env.policy.reviewGrace);
  const silence = env.policy.reviewExpiredAction === 'revoke' ? 'it is revoked' : 'the reminder channel is told';
  return [
    `:mag: *Access review*: permanent user \`${request.username ?? '?'}\` in *${env.name}* (${accessWords(request)}).`,
    `Owner: <@${request.requester}> · since ${slackDay(since)} · last password rotation: ${lastRotation === null ? 'never' : slackDay(lastRotation)} · last review: ${review?.lastReviewedAt ? `${slackDay(review.lastReviewedAt)} by <@${review.lastReviewedBy ?? '?'}>` : 'never'}.`,
    `${deciders}: *Keep* it if it is still needed (not by its owner), or *Revoke* it. Unanswered, a reminder follows in ${grace}, and ${grace} later ${silence}.`,
  ].join('\n');
}

export function reminderText(request: AccessRequest, env: LoadedEnvironment, deciders: string): string {
  const next = env.policy.reviewExpiredAction === 'revoke' ? 'it is revoked' : 'the reminder channel is told it is overdue';
  return `:bell: The access review of \`${request.username ?? '?'}\` in ${env.name} is still unanswered. ${deciders}: Keep or Revoke it; in ${formatDuration(env.policy.reviewGrace)} ${next}.`;
}

export function overdueText(request: AccessRequest, env: LoadedEnvironment, deciders: string): string {
  return `:warning: The access review of \`${request.username ?? '?'}\` (owner <@${request.requester}>) in ${env.name} is overdue: nobody kept or revoked it. ${deciders}: \`/dbuser reviews\` lists it; it stays until someone decides.`;
}

/** One line of `/dbuser reviews`. */
export function reviewLine(request: AccessRequest, review: Review, env: LoadedEnvironment, now: number): string {
  const who = `\`${request.username ?? '?'}\` in *${env.name}* (owner <@${request.requester}>, ${accessWords(request)})`;
  if (review.askedAt === null) return `• ${who}: due ${slackDay(review.dueAt)}`;
  const state = review.expiredAt !== null ? 'overdue' : review.remindedAt !== null ? 'reminded' : 'waiting';
  return `• ${who}: ${state}, asked ${formatDuration(Math.max(Math.floor((now - review.askedAt) / 3_600_000), 1) * 3_600_000)} ago`;
}
