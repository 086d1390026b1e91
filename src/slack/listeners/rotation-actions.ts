// Approve / Deny on a permanent user's new-password request.
import type { App, BlockButtonAction } from '@slack/bolt';
import { ACTIONS, textMessage } from '../blocks.js';
import { clickReply } from '../click-reply.js';
import type { SlackDeps } from '../deps.js';
import { errorReply } from '../replies.js';

export function registerRotationActions(app: App, deps: SlackDeps): void {
  for (const [actionId, decision] of [
    [ACTIONS.rotationApprove, 'approve'],
    [ACTIONS.rotationDeny, 'deny'],
  ] as const) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      const reply = clickReply({ body, respond, client });
      const user = body.user.id;
      try {
        const { changed } = await deps.permanent.decideRotation({ requestId: action.value ?? '', actor: user, decision });
        if (!changed) await reply({ ...textMessage('Nothing changed: this new-password request was already decided.') });
      } catch (err) {
        await reply({ ...errorReply(err, deps.log, { user, action: actionId }) });
      }
    });
  }
}
