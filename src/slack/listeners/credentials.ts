// New password and Delete now, on the requester's own messages.
import { ACTIONS, credentialsMessage, removedMessage } from '../blocks.js';
import { clickReply } from '../click-reply.js';
import type { SlackDeps } from '../deps.js';
import { errorReply } from '../replies.js';
import type { Listeners } from '../router.js';

export function registerCredentialActions(listeners: Listeners, deps: SlackDeps): void {
  const { log } = deps;

  listeners.action(ACTIONS.rotate, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = clickReply({ body, respond, client });
    const user = body.user.id;
    try {
      const { request, password } = await deps.access.rotatePassword({ requestId: action.value ?? '', user });
      const details = deps.access.details({ env: request.env, user });
      // Replaces the message that was clicked (ephemeral, only the requester's), so the old password disappears with it.
      await reply({ replace_original: true, ...credentialsMessage(details, password, `New password for ${request.env}`) });
    } catch (err) {
      await reply({ ...errorReply(err, log, { user, action: 'rotate' }) });
    }
  });

  listeners.action(ACTIONS.remove, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = clickReply({ body, respond, client });
    const user = body.user.id;
    try {
      const done = await deps.access.remove({ env: action.value ?? '', user });
      await reply({
        replace_original: true,
...removedMessage(done),
      });
    } catch (err) {
      await reply({ ...errorReply(err, log, { user, action: 'delete' }) });
    }
  });
}
