// Extend and Revoke now (on reminders), Retry (on revoke-failed alerts), Drop (on orphan reports).
import { ACTIONS, slackDate, textMessage } from '../blocks.js';
import { clickReply } from '../click-reply.js';
import type { SlackDeps } from '../deps.js';
import { errorReply } from '../replies.js';
import type { Listeners } from '../router.js';

const OUTCOME: Record<string, string> = {
  revoked: 'was revoked',
  retrying: 'could not be fully revoked yet; the bot is retrying',
  revoke_failed: 'still could not be revoked; the bot keeps trying and the alert stays up',
  skipped: 'was already handled by someone else',
};

export function registerExpiryActions(listeners: Listeners, deps: SlackDeps): void {
  const { log } = deps;

  listeners.action(ACTIONS.extend, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = clickReply({ body, respond, client });
    const user = body.user.id;
    try {
      const extended = await deps.expiry.extend({ requestId: action.value ?? '', actor: user });
      await reply({ ...textMessage(`\`${extended.username}\` in *${extended.env}* now expires ${slackDate(extended.expiresAt!)}.`) });
    } catch (err) {
      await reply({ ...errorReply(err, log, { user, action: 'extend' }) });
    }
  });

  for (const actionId of [ACTIONS.revokeNow, ACTIONS.retry]) {
    listeners.action(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      const reply = clickReply({ body, respond, client });
      const user = body.user.id;
      try {
        const outcome = await deps.expiry.revokeNow({ requestId: action.value ?? '', actor: user });
        await reply({ ...textMessage(`The user ${OUTCOME[outcome] ?? outcome}.`) });
      } catch (err) {
        await reply({ ...errorReply(err, log, { user, action: actionId }) });
      }
    });
  }

  listeners.action(ACTIONS.dropOrphan, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = clickReply({ body, respond, client });
    const user = body.user.id;
    const [env = '', username = ''] = (action.value ?? '').split(':');
    try {
      const report = await deps.expiry.dropOrphan({ env, username, actor: user });
      await reply({ ...textMessage(report.complete ? `\`${username}\` was dropped from *${env}*.` : `\`${username}\` could not be fully dropped from *${env}*; look at the bot log.`) });
    } catch (err) {
      await reply({ ...errorReply(err, log, { user, action: 'drop orphan' }) });
    }
  });
}
