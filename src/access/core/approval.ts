// The quorum of the one approval workflow: each approval recorded once per person, the requester never
// counting, and the decision taken only when enough different approvers have said yes (policy.approvals).
import type { LoadedEnvironment } from '../../config.js';
import { AppError } from '../../errors.js';
import type { Store } from '../../store/store.js';

export type ApprovalKind = 'temporary' | 'permanent' | 'interop';

export interface Quorum {
  /** Everyone who approved so far, first first. */
  approvers: string[];
  required: number;
  reached: boolean;
}

/** How many different approvers a request of `kind` needs in `env`. */
export function requiredApprovals(env: LoadedEnvironment, kind: ApprovalKind): number {
  return env.policy.approvals[kind];
}

/**
 * Records `actor`'s approval of `subject`, inside the transaction of the decision it may complete.
 * A quorum of one is the plain workflow: nothing is recorded beyond the decision itself.
 */
export function countApproval(store: Store, input: { subject: string; actor: string; requester: string; required: number }): Quorum {
  const { subject, actor, requester, required } = input;
  if (required <= 1) return { approvers: [actor], required: 1, reached: true };
  if (actor === requester) {
    throw new AppError('forbidden', `This request needs ${required} approvers other than the person who asked; yours does not count.`);
  }
  if (!store.approvals.add(subject, actor)) {
    const so = store.approvals.list(subject).length;
    throw new AppError('conflict', `You approved this already (${so} of ${required}); another approver must approve it too.`);
  }
  const approvers = store.approvals.list(subject);
  return { approvers, required, reached: approvers.length >= required };
}

/** "Approved by <@A> (1 of 2); waiting for another approver." */
export function quorumLine(quorum: Quorum): string {
  const who = quorum.approvers.map((a) => `<@${a}>`).join(', ');
  const left = quorum.required - quorum.approvers.length;
  return left > 0
    ? `Approved by ${who} (${quorum.approvers.length} of ${quorum.required}); waiting for ${left === 1 ? 'another approver' : `${left} more approvers`}.`
    : `Approved by ${who} (${quorum.required} of ${quorum.required}).`;
}
