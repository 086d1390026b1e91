// Keep and Revoke on an access review of a permanent user (issue 17 item 3).
import { textMessage } from '../blocks.js';
import { clickReply } from '../click-reply.js';
import type { SlackDeps } from '../deps.js';
import { errorReply } from '../replies.js';
import { REVIEW_ACTIONS } from '../review-blocks.js';
import type { Listeners } from '../router.js';

const OUTCOME: Record<string, string> = {
  revoked: 'was revoked',
  retrying: 'could not be fully revoked yet; the bot is retrying',
  revoke_failed: 'still could not be revoked; the bot keeps trying and alerts the reminder channel',
  skipped: 'was already being revoked',
};

export function registerReviewActions(listeners: Listeners, deps: SlackDeps): void {
  const { log } = deps;

  listeners.action(REVIEW_ACTIONS.keep, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = clickReply({ body, respond, client });
    const user = body.user.id;
    try {
      await deps.reviews.keep({ requestId: action.value ?? '', actor: user });
      await reply({ ...textMessage('Kept. The review message says until when.') });
    } catch (err) {
      await reply({ ...errorReply(err, log, { user, action: 'review keep' }) });
    }
  });

  listeners.action(REVIEW_ACTIONS.revoke, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = clickReply({ body, respond, client });
    const user = body.user.id;
    try {
      const outcome = await deps.reviews.revoke({ requestId: action.value ?? '', actor: user });
      await reply({ ...textMessage(`The user ${OUTCOME[outcome] ?? outcome}.`) });
    } catch (err) {
      await reply({ ...errorReply(err, log, { user, action: 'review revoke' }) });
    }
  });
}
