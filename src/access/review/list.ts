// `/dbuser reviews` (issue 17 item 3): the access reviews open or falling due within the grace, for approvers.
import { AppError } from '../../errors.js';
import type { ReviewDeps } from './deps.js';
import { reviewedUsers } from './schedule.js';
import { reviewLine } from './wording.js';

export function createReviewList(deps: ReviewDeps) {
  const { clock, policy } = deps;
  return {
    /** Lines for `actor`: reviews open, then those due within reviewGrace, in the environments they approve. */
    async due(actor: string): Promise<string[]> {
      const envs = await policy.approverEnvironments(actor);
      if (envs.length === 0) throw new AppError('forbidden', 'Only approvers see access reviews; `/dbuser list` shows your own users.');
      const now = clock.now();
      const rows = reviewedUsers(deps)
        .filter(({ env, review }) => envs.includes(env.name) && review !== undefined && (review.askedAt !== null || review.dueAt <= now + env.policy.reviewGrace))
        .sort((a, b) => Number(b.review!.askedAt !== null) - Number(a.review!.askedAt !== null) || a.review!.dueAt - b.review!.dueAt);
      return rows.map(({ request, env, review }) => reviewLine(request, review!, env, now));
    },
  };
}
