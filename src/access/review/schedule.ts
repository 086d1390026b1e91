// Access reviews fall due (issue 17 item 3): every permanent user is reviewed policy.reviewEvery after its
// creation or last review; unanswered, a reminder after policy.reviewGrace and, after another reviewGrace,
// policy.reviewExpiredAction. Each step is a row change and its notices in one transaction, so a
// restart neither repeats nor skips one. Driven by the due timer (src/app.ts); never awaits Slack.
import type { LoadedEnvironment } from '../../config.js';
import type { AccessRequest } from '../../store/requests.js';
import type { Review } from '../../store/reviews.js';
import type { ReviewDeps } from './deps.js';
import { overdueText, reminderText, reviewText } from './wording.js';

/** The active permanent users of configured environments, with their review rows. */
export function reviewedUsers(deps: ReviewDeps): { request: AccessRequest; env: LoadedEnvironment; review: Review | undefined }[] {
  const { store, policy } = deps;
  const users: { request: AccessRequest; env: LoadedEnvironment; review: Review | undefined }[] = [];
  for (const id of store.reviews.activePermanentIds()) {
    const request = store.requests.get(id);
    if (request?.state !== 'active') continue;
    const env = policy.knownEnvironment(request.env);
    if (env) users.push({ request, env, review: store.reviews.get(request.id) });
  }
  return users;
}

/** When the first review of a user falls due: reviewEvery after it was created. */
function firstDue(request: AccessRequest, env: LoadedEnvironment): number {
  return (request.activatedAt ?? request.createdAt) + env.policy.reviewEvery;
}

/** The moment the next step of a review is due, or null when it waits for a person. */
function nextStepAt(request: AccessRequest, env: LoadedEnvironment, review: Review | undefined): number | null {
  if (!review) return firstDue(request, env);
  if (review.askedAt === null) return review.dueAt;
  if (review.remindedAt === null) return review.askedAt + env.policy.reviewGrace;
  if (review.expiredAt === null) return review.remindedAt + env.policy.reviewGrace;
  return null;
}

export function createReviewSchedule(deps: ReviewDeps) {
  const { store, notices, log, policy } = deps;

  /** The last approved password rotation of a user, from the audit log. */
  function lastRotation(requestId: string): number | null {
    const rotations = store.audit.list({ requestId }).filter((e) => e.action === 'rotation_approved');
    return rotations.at(-1)?.at ?? null;
  }

  function ask(request: AccessRequest, env: LoadedEnvironment): void {
    store.transaction(() => {
      if (!store.reviews.markAsked(request.id)) return;
      const review = store.reviews.get(request.id);
      store.audit.append({ actor: 'scheduler', action: 'review_requested', requestId: request.id, env: env.name, detail: { dueAt: review?.dueAt } });
      const text = reviewText({ request, env, review, lastRotation: lastRotation(request.id), deciders: policy.approverMention(env, 'permanent') });
      notices.send({ topic: 'review.requested', requestId: request.id, text });
    });
  }

  function remind(request: AccessRequest, env: LoadedEnvironment): void {
    store.transaction(() => {
      if (!store.reviews.markReminded(request.id)) return;
      store.audit.append({ actor: 'scheduler', action: 'review_reminded', requestId: request.id, env: env.name });
      notices.send({ topic: 'review.reminder', requestId: request.id, text: reminderText(request, env, policy.approverMention(env, 'permanent')) });
    });
  }

  /** The grace ran out twice: notify keeps the review open and says so; revoke closes it and drops the user. */
  function expire(request: AccessRequest, env: LoadedEnvironment): boolean {
    const action = env.policy.reviewExpiredAction;
    return store.transaction(() => {
      if (!store.reviews.markExpired(request.id)) return false;
      store.audit.append({ actor: 'scheduler', action: 'review_expired', requestId: request.id, env: env.name, detail: { then: action } });
      if (action === 'notify') {
        notices.send({ topic: 'channel.notice', env: env.name, channel: 'reminders', requestId: request.id, text: overdueText(request, env, policy.approverMention(env, 'permanent')) });
      } else {
        notices.send({ topic: 'review.updated', requestId: request.id, status: `:no_entry: Nobody reviewed \`${request.username ?? '?'}\` in time: revoked (policy.reviewExpiredAction is revoke).` });
      }
      return true;
    });
  }

  /** Revokes a user whose review expired with action revoke; also after a crash between the two (the row says so). */
  function revokeExpired(request: AccessRequest): void {
    void deps
      .attemptRevoke(request.id, 'scheduler', 'review_expired')
      .catch((err: unknown) => log.error({ err, requestId: request.id }, 'revocation after an expired access review failed; the next tick tries again'));
  }

  return {
    /** Everything due at `now`: first schedules, reviews asked, reminders, expired reviews. Returns how many steps were taken. */
    tick(now: number): number {
      let steps = 0;
      for (const { request, env, review } of reviewedUsers(deps)) {
        if (!review) {
          // A user created before reviews existed, or since the last tick: its first review is scheduled now.
          store.reviews.schedule(request.id, firstDue(request, env));
          if (now < firstDue(request, env)) continue;
          steps++;
          ask(request, env);
          continue;
        }
        if (review.expiredAt !== null) {
          if (env.policy.reviewExpiredAction === 'revoke') revokeExpired(request);
          continue;
        }
        const at = nextStepAt(request, env, review);
        if (at === null || at > now) continue;
        steps++;
        if (review.askedAt === null) ask(request, env);
        else if (review.remindedAt === null) remind(request, env);
        else if (expire(request, env) && env.policy.reviewExpiredAction === 'revoke') revokeExpired(request);
      }
      return steps;
    },

    nextDueAt(): number | null {
      let next: number | null = null;
      for (const { request, env, review } of reviewedUsers(deps)) {
        const at = nextStepAt(request, env, review);
        if (at !== null && (next === null || at < next)) next = at;
      }
      return next;
    },
  };
}
