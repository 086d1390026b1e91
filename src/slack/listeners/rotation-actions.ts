// Approve / Deny on a permanent user's new-password request.
import { ACTIONS } from '../blocks.js';
import { registerDecisionButtons } from '../click-reply.js';
import type { SlackDeps } from '../deps.js';
import type { Listeners } from '../router.js';

export function registerRotationActions(listeners: Listeners, deps: SlackDeps): void {
  registerDecisionButtons(listeners, deps.log, { approve: ACTIONS.rotationApprove, deny: ACTIONS.rotationDeny }, 'new-password request', ({ id, actor, decision }) =>
    deps.permanent.decideRotation({ requestId: id, actor, decision }),
  );
}
