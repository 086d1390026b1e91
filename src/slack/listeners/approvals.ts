// Approve / Deny on the approval message; Deny asks for an optional reason in a modal.
import { ACTIONS, VIEWS, denyModal, textMessage } from '../blocks.js';
import { clickReply } from '../click-reply.js';
import type { SlackDeps } from '../deps.js';
import { errorReply } from '../replies.js';
import type { Listeners } from '../router.js';

export function registerApprovalActions(listeners: Listeners, deps: SlackDeps): void {
  const { log } = deps;

  /** Tells the clicker, and only them, why nothing happened. */
  function alreadyDecided(state: string, by: string | null): string {
    return `Nothing changed: this request is already ${state}${by ? ` (by <@${by}>)` : ''}.`;
  }

  listeners.action(ACTIONS.approve, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = clickReply({ body, respond, client });
    const user = body.user.id;
    try {
      const outcome = await deps.access.decide({ requestId: action.value ?? '', actor: user, decision: 'approve' });
      if (!outcome.changed) {
        await reply({ ...textMessage(alreadyDecided(outcome.request.state, outcome.request.decidedBy)) });
        return;
      }
      await deps.access.provision(outcome.request.id);
    } catch (err) {
      await reply({ ...errorReply(err, log, { user, action: 'approve' }) });
    }
  });

  listeners.action(ACTIONS.deny, async ({ ack, body, action, respond, client }) => {
    await ack();
    const reply = clickReply({ body, respond, client });
    const user = body.user.id;
    try {
      // Checked before the form opens, so a non-approver is told at once instead of after typing.
      const { request } = await deps.access.assertCanDecide(action.value ?? '', user);
      if (request.state !== 'pending') {
        await reply({ ...textMessage(alreadyDecided(request.state, request.decidedBy)) });
        return;
      }
      await client.views.open({ trigger_id: body.trigger_id, view: denyModal(request.id) as never });
    } catch (err) {
      await reply({ ...errorReply(err, log, { user, action: 'deny' }) });
    }
  });

  listeners.view(VIEWS.denyReason, async ({ ack, body, view, client }) => {
    await ack();
    const user = body.user.id;
    const requestId = view.private_metadata;
    const reason = view.state.values['reason']?.['value']?.value ?? undefined;
    let reply;
    try {
      const outcome = await deps.access.decide({ requestId, actor: user, decision: 'deny', ...(reason ? { reason } : {}) });
      if (outcome.changed) return;
      reply = textMessage(alreadyDecided(outcome.request.state, outcome.request.decidedBy));
    } catch (err) {
      reply = errorReply(err, log, { user, action: 'deny' });
    }
    // A modal has no response_url: tell the approver in their DM with the bot.
    const dm = await client.conversations.open({ users: user });
    if (dm.channel?.id) await client.chat.postEphemeral({ channel: dm.channel.id, user, ...reply });
  });
}
