// /interop: acknowledged at once, then parsed, run through the interop use cases, answered ephemerally;
// Approve / Deny on interop approval messages.
import { interopUsage, parseInterop } from '../../commands/interop.js';
import { ACTIONS, textMessage } from '../blocks.js';
import { registerDecisionButtons } from '../click-reply.js';
import type { SlackDeps } from '../deps.js';
import { errorReply } from '../replies.js';
import type { Listeners } from '../router.js';

export function registerInteropCommand(listeners: Listeners, deps: SlackDeps): void {
  const { log } = deps;

  listeners.command('/interop', async ({ command, ack, respond }) => {
    await ack();
    const user = command.user_id;
    try {
      const parsed = parseInterop(command.text ?? '');
      const waiting = (id: string, env: string) => `Request \`${id}\` is waiting for an approver of *${env}*; the outcome will show on the approval message.`;
      switch (parsed.action) {
        case 'help':
          await respond(textMessage(interopUsage()));
          return;
        case 'setup': {
          const action = await deps.interop.requestSetup({ env: parsed.env, requester: user });
          await respond(textMessage(`${waiting(action.id, action.env)} Once approved, the password of the interoperability user appears here, only to you.`));
          return;
        }
        case 'expose': {
          const { env, entity, view, module } = parsed;
          const action = await deps.interop.requestExpose({ env, entity, requester: user, ...(view ? { view } : {}), ...(module ? { module } : {}) });
          await respond(textMessage(`${waiting(action.id, action.env)}\n${action.objects.map((o) => `• ${o.privileges.join(', ')} on ${o.object}`).join('\n')}`));
          return;
        }
        case 'promote': {
          const { entity, from, to, view, module } = parsed;
          const action = await deps.interop.requestPromote({ entity, from, to, requester: user, ...(view ? { view } : {}), ...(module ? { module } : {}) });
          await respond(textMessage(waiting(action.id, action.env)));
          return;
        }
        case 'sync': {
          const action = await deps.interop.requestSync({ env: parsed.env, requester: user });
          await respond(textMessage(action ? waiting(action.id, action.env) : `Every exposed view in *${parsed.env}* already has its grants.`));
          return;
        }
        case 'status': {
          const s = await deps.interop.status(parsed.env);
          const list = (views: { view: string }[]) => (views.length ? views.map((v) => `\`${v.view}\``).join(', ') : '_none_');
          await respond(
            textMessage(
              [
                `*Interoperability in ${s.env}*`,
                `• User \`${s.username}\`: ${s.userExists ? 'exists' : 'not created yet (`/interop setup ' + s.env + '`)'}`,
                `• Views granted: ${list(s.granted)}`,
                `• Exposed views lacking grants: ${list(s.lacking)}${s.lacking.length ? ` (\`/interop sync ${s.env}\`)` : ''}`,
                `• Grants recorded for views that no longer exist: ${s.vanished.length ? s.vanished.map((v) => `\`${v}\``).join(', ') : '_none_'}`,
              ].join('\n'),
            ),
          );
          return;
        }
      }
    } catch (err) {
      await respond(errorReply(err, log, { user, command: 'interop' }));
    }
  });

  registerDecisionButtons(listeners, log, { approve: ACTIONS.interopApprove, deny: ACTIONS.interopDeny }, 'interop request', ({ id, actor, decision }) =>
    deps.interop.decide({ actionId: id, actor, decision }),
  );
}
