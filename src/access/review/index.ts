// Access reviews of permanent users (issue 17 item 3), the feature's face: the schedule the due timer runs
// (src/app.ts), Keep and Revoke (src/slack/listeners/review-actions.ts), and `/dbuser reviews`.
import type { ReviewDeps } from './deps.js';
import { createReviewDecisions } from './decide.js';
import { createReviewList } from './list.js';
import { createReviewSchedule } from './schedule.js';

export type { ReviewDeps } from './deps.js';

export function createReviews(deps: ReviewDeps) {
  const schedule = createReviewSchedule(deps);
  const decisions = createReviewDecisions(deps);
  const list = createReviewList(deps);
  return { tick: schedule.tick, nextDueAt: schedule.nextDueAt, keep: decisions.keep, revoke: decisions.revoke, due: list.due };
}

export type Reviews = ReturnType<typeof createReviews>;
