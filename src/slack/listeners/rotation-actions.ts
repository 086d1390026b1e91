// Approve / Deny on a permanent user's new-password request.
import type { App } from '@slack/bolt';
import { ACTIONS } from '../blocks.js';
import { registerDecisionButtons } from '../click-reply.js';
import type { SlackDeps } from '../deps.js';

export function registerRotationActions(app: App, deps: SlackDeps): void {
  registerDecisionButtons(app, deps.log, { approve: ACTIONS.rotationApprove, deny: ACTIONS.rotationDeny }, 'new-password request', ({ id, actor, decision }) =>
    deps.permanent.decideRotation({ requestId: id, actor, decision }),
  );
}
