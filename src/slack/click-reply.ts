// Answering a button click: through its response_url when it came from a message, or, from App Home
// or a modal (which have none), as an ephemeral message in the clicker's DM with the bot.
import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../log.js';
import { textMessage, type SlackMessage } from './blocks.js';
import { errorReply } from './replies.js';
import type { Listeners } from './router.js';

export type ClickReply = (message: SlackMessage & { replace_original?: boolean }) => Promise<void>;

export function clickReply(args: { body: { user: { id: string }; response_url?: string }; respond?: RespondFn; client: WebClient }): ClickReply {
  return async (message) => {
    if (args.body.response_url && args.respond) {
      await args.respond({ response_type: 'ephemeral', replace_original: false, ...message });
      return;
    }
    const user = args.body.user.id;
    const dm = await args.client.conversations.open({ users: user });
    const { replace_original: _ignored, ...rest } = message;
    if (dm.channel?.id) await args.client.chat.postEphemeral({ channel: dm.channel.id, user, ...rest });
  };
}

/**
 * Approve / Deny buttons whose decision goes to `decide`: acknowledged at once, and the clicker told
 * when nothing changed (already decided) or why they may not.
 */
export function registerDecisionButtons(
  listeners: Listeners,
  log: Logger,
  ids: { approve: string; deny: string },
  what: string,
  decide: (input: { id: string; actor: string; decision: 'approve' | 'deny' }) => Promise<{ changed: boolean }>,
): void {
  for (const [actionId, decision] of [
    [ids.approve, 'approve'],
    [ids.deny, 'deny'],
  ] as const) {
    listeners.action(actionId, async ({ ack, body, action, respond, client }) => {
      await ack();
      const reply = clickReply({ body, respond, client });
      const user = body.user.id;
      try {
        const { changed } = await decide({ id: action.value ?? '', actor: user, decision });
        if (!changed) await reply(textMessage(`Nothing changed: this ${what} was already decided.`));
      } catch (err) {
        await reply(errorReply(err, log, { user, action: actionId }));
      }
    });
  }
}
