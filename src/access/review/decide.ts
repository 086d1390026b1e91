// Keep or Revoke after an access review (issue 17 item 3). Keep takes a permanent-user approver other than
// the owner (core/policy.ts assertCanKeep) and schedules the next review; Revoke goes through the normal
// revocation, so a user revoked by review ends like any other. Both are audited.
import { AppError } from '../../errors.js';
import type { RevokeOutcome } from '../core/revocation.js';
import type { ReviewDeps } from './deps.js';
import { slackDay } from './wording.js';

export function createReviewDecisions(deps: ReviewDeps) {
  const { store, notices, clock, policy } = deps;

  function openReviewOf(requestId: string) {
    const request = store.requests.get(requestId);
    if (!request || request.kind !== 'permanent') throw new AppError('not_found', 'That permanent user no longer exists.');
    if (request.state !== 'active') throw new AppError('conflict', `\`${request.username ?? '?'}\` is already ${request.state.replace('_', '-')}; there is nothing to review.`);
    if (store.reviews.get(requestId)?.askedAt == null) throw new AppError('conflict', 'This review was already decided. `/dbuser reviews` lists what is due.');
    return request;
  }

  return {
    /** Keeps the user: the review closes and the next falls due policy.reviewEvery from now. */
    async keep(input: { requestId: string; actor: string }): Promise<{ nextDueAt: number }> {
      const request = openReviewOf(input.requestId);
      const env = await policy.assertCanKeep(request, input.actor);
      const nextDueAt = clock.now() + env.policy.reviewEvery;
      const kept = store.transaction(() => {
        if (!store.reviews.keep(request.id, input.actor, nextDueAt)) return false;
        store.audit.append({ actor: input.actor, action: 'review_kept', requestId: request.id, env: env.name, detail: { nextDueAt } });
        notices.send({ topic: 'review.updated', requestId: request.id, status: `:white_check_mark: Kept by <@${input.actor}> on ${slackDay(clock.now())}. Next review: ${slackDay(nextDueAt)}.` });
        return true;
      });
      if (!kept) throw new AppError('conflict', 'This review was decided meanwhile. `/dbuser reviews` lists what is due.');
      deps.onChange?.();
      return { nextDueAt };
    },

    /** Revokes the user now: its owner or any approver, as any revocation (core/policy.ts assertCanRevoke). */
    async revoke(input: { requestId: string; actor: string }): Promise<RevokeOutcome> {
      const request = openReviewOf(input.requestId);
      const { env, by } = await policy.assertCanRevoke(request, input.actor);
      const closed = store.transaction(() => {
        if (!store.reviews.close(request.id, input.actor)) return false;
        store.audit.append({ actor: input.actor, action: 'review_revoked', requestId: request.id, env: env.name, detail: { by } });
        notices.send({ topic: 'review.updated', requestId: request.id, status: `:no_entry: Revoked by <@${input.actor}> after its access review on ${slackDay(clock.now())}.` });
        return true;
      });
      if (!closed) throw new AppError('conflict', 'This review was decided meanwhile. `/dbuser reviews` lists what is due.');
      return deps.attemptRevoke(request.id, input.actor, 'requested', { by });
    },
  };
}
