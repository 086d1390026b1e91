// Answering a button click: through its response_url when it came from a message, or, from App Home
// or a modal (which have none), as an ephemeral message in the clicker's DM with the bot.
import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from './blocks.js';

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
