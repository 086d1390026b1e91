// The quorum of the one approval workflow: each approval recorded once per person, the requester never
// counting, and the decision taken only when enough different approvers have said yes (policy.approvals).
import type { Clock } from '../../clock.js';
import type { LoadedEnvironment } from '../../config.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { AccessRequest } from '../../store/requests.js';
import type { Store } from '../../store/store.js';
import { escapeText } from '../../text.js';
import type { Notices } from './notices.js';
import type { Policy } from './policy.js';
import type { Provisioning } from './provisioning.js';
import { statusLine, userWords } from './wording.js';

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
 * How many approvals this request needs: the number recorded when it was made (the change window may
 * have added one, src/access/core/governance.ts), so a window that opens or a policy edited while it
 * waits never changes it; the policy's for requests made before that was recorded.
 */
export function requiredApprovalsOf(request: Pick<AccessRequest, 'kind' | 'requiredApprovals'>, env: LoadedEnvironment): number {
  return request.requiredApprovals ?? requiredApprovals(env, request.kind);
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

export interface DecisionOutcome {
  request: AccessRequest;
  /** False when someone else decided first: nothing changed. */
  changed: boolean;
}

/**
 * The decision on a request (temporary or permanent user): who may decide is the policy's; the
 * decision is recorded with its notices in one transaction; an approval that completes the quorum
 * runs the action (provisioning) itself.
 */
export function createDecisions(deps: { store: Store; notices: Notices; clock: Clock; log: Logger; policy: Policy; provisioning: Provisioning }) {
  const { store, notices, clock, log, policy, provisioning } = deps;
  const { assertCanDecide } = policy;
  const { provision } = provisioning;

  async function decide(input: { requestId: string; actor: string; decision: 'approve' | 'deny'; reason?: string }): Promise<DecisionOutcome> {
    const { request, env } = await assertCanDecide(input.requestId, input.actor);
    const reason = input.reason?.trim() || null;
    const to = input.decision === 'approve' ? 'approved' : 'denied';
    const outcome = store.transaction((): { done: AccessRequest; quorum?: Quorum } | undefined => {
      const current = store.requests.get(request.id);
      if (current?.state !== 'pending') return undefined;
      let quorum: Quorum | undefined;
      if (to === 'approved') {
        quorum = countApproval(store, { subject: request.id, actor: input.actor, requester: request.requester, required: requiredApprovalsOf(current, env) });
        if (!quorum.reached) {
          // Not decided yet: the message shows who approved, and keeps its buttons for the next approver.
          store.audit.append({ actor: input.actor, action: 'approval_recorded', requestId: request.id, env: env.name, detail: { approvals: quorum.approvers.length, required: quorum.required } });
          notices.send({ topic: 'approval.updated', requestId: request.id, status: quorumLine(quorum) });
          return { done: current, quorum };
        }
      }
      const done = store.requests.transition(request.id, {
        from: ['pending'],
        to,
        actor: input.actor,
        set: { decidedBy: input.actor, decidedAt: clock.now(), decisionReason: reason },
        ...(quorum && quorum.required > 1 ? { detail: { approvers: quorum.approvers } } : {}),
      });
      if (!done) return undefined;
      notices.send({ topic: 'approval.updated', requestId: done.id, status: quorum && quorum.required > 1 ? `${quorumLine(quorum)} Creating the user…` : statusLine(done) });
      notices.send({
        topic: 'requester.notice',
        requestId: done.id,
        text:
          to === 'denied'
            ? `Your ${userWords(done)} request for ${env.name} was denied by <@${input.actor}>${reason ? `: ${escapeText(reason)}` : '.'}`
            : `Your ${userWords(done)} request for ${env.name} was approved by ${(quorum?.approvers ?? [input.actor]).map((a) => `<@${a}>`).join(', ')}. Creating it now; the password will follow here, only to you.`,
      });
      return { done };
    });
    if (!outcome) return { request: store.requests.get(request.id) ?? request, changed: false };
    if (outcome.quorum && !outcome.quorum.reached) return { request: outcome.done, changed: true };
    const decided = outcome.done;
    if (to === 'denied') provisioning.forgetChosenPassword(request.id);
    // The workflow runs the action itself: no entry point can record an approval and forget to create the user.
    else void provision(decided.id).catch((err: unknown) => log.error({ err, requestId: decided.id }, 'provisioning after approval failed'));
    return { request: decided, changed: true };
  }

  /**
   * The requester takes back a request still waiting for a decision: recorded as denied by themselves
   * (the audit entry's actor), the approval message loses its buttons. Approvers deny instead.
   */
  function withdraw(input: { requestId: string; actor: string }): AccessRequest {
    const request = store.requests.get(input.requestId);
    if (!request) throw new AppError('not_found', 'That request no longer exists.');
    policy.assertCanWithdraw(request, input.actor);
    const withdrawn = store.transaction(() => {
      const done = store.requests.transition(request.id, {
        from: ['pending'],
        to: 'denied',
        actor: input.actor,
        set: { decidedBy: input.actor, decidedAt: clock.now(), decisionReason: 'withdrawn by the requester' },
        detail: { withdrawn: true },
      });
      if (done) notices.send({ topic: 'approval.updated', requestId: done.id, status: statusLine(done) });
      return done;
    });
    if (!withdrawn) throw new AppError('conflict', 'Your request was decided meanwhile; run the command again.');
    provisioning.forgetChosenPassword(request.id);
    return withdrawn;
  }

  return { decide, withdraw };
}

export type Decisions = ReturnType<typeof createDecisions>;
