// Block Kit for access reviews of permanent users (issue 17 item 3): the review message with Keep and
// Revoke, and the same message without buttons once decided. Pure functions of the state.
import type { AccessRequest } from '../store/requests.js';
import type { Block, SlackMessage } from './blocks.js';

export const REVIEW_ACTIONS = {
  keep: 'review_keep',
  revoke: 'review_revoke',
} as const;

/** The review of `request`: `text` says who owns it, its access, since when and its last rotation; buttons until decided. */
export function reviewMessage(request: AccessRequest, text: string, options: { decided?: boolean } = {}): SlackMessage {
  const blocks: Block[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  if (!options.decided) {
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', text: { type: 'plain_text', text: 'Keep' }, action_id: REVIEW_ACTIONS.keep, value: request.id, style: 'primary' },
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Revoke' },
          action_id: REVIEW_ACTIONS.revoke,
          value: request.id,
          style: 'danger',
          // Dropping a permanent user cuts off what connects with it: Slack asks first (a confirm dialog object).
          confirm: {
            title: { type: 'plain_text', text: 'Revoke this user?' },
            text: { type: 'mrkdwn', text: `\`${request.username ?? ''}\` is dropped from ${request.env} now; whatever connects with it stops working.` },
            confirm: { type: 'plain_text', text: 'Drop it' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        },
      ],
    });
  }
  return { text: `Access review of ${request.username ?? 'a permanent user'} in ${request.env}`, blocks };
}
