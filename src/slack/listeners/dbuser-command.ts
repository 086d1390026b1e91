// /dbuser: parsed, acknowledged at once (with the answer itself when it is ready), then run through the
// use cases and answered ephemerally.
import { auditCsv, auditLine } from '../../access/audit-report.js';
import { parseDbuser, type DbuserCommand } from '../../commands/dbuser.js';
import { formatDuration } from '../../duration.js';
import { helpMessage, listMessage, detailsMessage, permanentModal, requestModal, textMessage, type SlackMessage } from '../blocks.js';
import { errorReply } from '../replies.js';
import type { SlackDeps } from '../deps.js';
import type { Listeners } from '../router.js';

/** The subcommands answered inside the acknowledgement. */
type Immediate = Extract<DbuserCommand, { action: 'help' | 'details' }>;

export function registerDbuserCommand(listeners: Listeners, deps: SlackDeps): void {
  const { config, log } = deps;

  /**
   * Usage errors, help and connection details need nothing but this process's memory and SQLite, so
   * they go back in the acknowledgement itself: Slack shows that body to the user exactly as it shows a
   * response_url reply, without a second request (and without the CPU of one, on the loop that must
   * acknowledge the next command within 3 s). Everything else is acknowledged first and answered after.
   */
  function answerAtOnce(text: string, user: string): { reply: SlackMessage } | { parsed: Exclude<DbuserCommand, Immediate> } {
    try {
      const parsed = parseDbuser(text);
      if (parsed.action === 'help') return { reply: helpMessage() };
      if (parsed.action === 'details') return { reply: detailsMessage(deps.access.details({ env: parsed.env, user })) };
      return { parsed };
    } catch (err) {
      return { reply: errorReply(err, log, { user, command: 'dbuser' }) };
    }
  }

  listeners.command('/dbuser', async ({ command, ack, respond, client }) => {
    const user = command.user_id;
    const answer = answerAtOnce(command.text ?? '', user);
    if ('reply' in answer) {
      await ack(answer.reply);
      return;
    }
    await ack();
    const { parsed } = answer;
    try {
      switch (parsed.action) {
        case 'permanent-modal':
          await client.views.open({ trigger_id: command.trigger_id, view: permanentModal(config.environments) as never });
          return;
        case 'request-modal':
          await client.views.open({ trigger_id: command.trigger_id, view: requestModal(config.environments) as never });
          return;
        case 'request': {
          const { request, route } = await deps.access.requestTemporary({
            env: parsed.env,
            requester: user,
            reason: parsed.reason,
            breakGlass: parsed.breakGlass,
            ...(parsed.durationMs !== undefined ? { durationMs: parsed.durationMs } : {}),
          });
          if (route === 'approval') {
            const env = deps.access.environment(request.env);
            await respond(textMessage(`Request \`${request.id}\` for a temporary user in *${env.name}* is waiting for an approver in <#${env.channels.approvals}>. You will get a message when it is decided.`));
            return;
          }
          await respond(textMessage(`Creating your temporary user in *${request.env}* (${route})… The password will appear here in your DM with me, only to you.`));
          await deps.access.provision(request.id);
          return;
        }
        case 'delete': {
          const done = await deps.access.remove({ env: parsed.env, user });
          await respond(textMessage(done.state === 'revoked' ? `Your user \`${done.username}\` in *${done.env}* was revoked.` : `Your request in *${done.env}* was withdrawn.`));
          return;
        }
        case 'revoke': {
          const { request, outcome } = await deps.expiry.revokeByUsername({ username: parsed.username, actor: user });
          await respond(
            textMessage(
              outcome === 'revoked'
                ? `\`${request.username}\` (<@${request.requester}>) in *${request.env}* was revoked.`
                : `\`${request.username}\` in *${request.env}* could not be fully revoked yet; the bot keeps retrying and alerts <#${deps.access.environment(request.env).channels.reminders}> if it keeps failing.`,
            ),
          );
          return;
        }
        case 'permanent': {
          const { requests, supportText } = await deps.permanent.requestPermanent({
            envs: parsed.envs,
            requester: user,
            access: parsed.access,
            via: parsed.via,
            ips: parsed.ips,
            reason: parsed.reason,
          });
          const where = requests.map((r) => `\`${r.id}\` (${r.env})`).join(', ');
          await respond(
            textMessage(
              `Permanent user request${requests.length > 1 ? 's' : ''} ${where} sent to the permanent-user approvers. The password comes here, only to you, once approved.\n` +
                `The bot cannot change the network: open an OutSystems support case with this text.\n\`\`\`${supportText}\`\`\``,
            ),
          );
          return;
        }
        case 'rotate': {
          const request = await deps.permanent.requestRotation({ env: parsed.env, access: parsed.access, user });
          await respond(textMessage(`A new password for \`${request.username}\` in *${request.env}* is waiting for an approver. It will appear here, only to you.`));
          return;
        }
        case 'sync': {
          const { env, users } = await deps.permanent.sync(parsed.env, user);
          const lines = users.map((u) => `• \`${u.username}\`: ${u.report.added.length ? `granted ${u.report.added.join(', ')}` : 'nothing missing'}${u.report.failed.length ? `; failed: ${u.report.failed.map((f) => f.table).join(', ')}` : ''}`);
          await respond(textMessage(users.length ? `Grants in *${env}*:\n${lines.join('\n')}` : `*${env}* has no active read & write users.`));
          return;
        }
        case 'audit': {
          const envs: string[] = [];
          for (const env of config.environments) {
            if (parsed.env && env.name !== parsed.env.toLowerCase()) continue;
            if ((await deps.access.isApprover(user, env)) || (await deps.access.isApprover(user, env, 'permanent'))) envs.push(env.name);
          }
          if (parsed.env) deps.access.environment(parsed.env);
          if (envs.length === 0) {
            await respond(textMessage(`:warning: Only approvers can read the audit log${parsed.env ? ` of ${parsed.env}` : ''}.`));
            return;
          }
          const since = deps.clock.now() - parsed.sinceMs;
          const entries = deps.store.audit.list({ since, limit: 100_000 }).filter((e) => e.env === null || envs.includes(e.env));
          const shown = entries.slice(-30).map(auditLine).join('\n');
          await respond(textMessage(`*Audit log, last ${formatDuration(parsed.sinceMs)} (${entries.length} entries; the last 30 below, all of them as CSV in your DM)*\n${shown || '_nothing_'}`));
          const dm = await client.conversations.open({ users: user });
          if (dm.channel?.id) {
            await client.files.uploadV2({
              channel_id: dm.channel.id,
              filename: `dbaccess-audit-${new Date().toISOString().slice(0, 10)}.csv`,
              title: 'Audit log',
              content: auditCsv(entries),
            });
          }
          return;
        }
        case 'list': {
          const { own, approving } = await deps.access.list(user);
          await respond(listMessage(own, approving));
          return;
        }
      }
    } catch (err) {
      await respond(errorReply(err, log, { user, command: 'dbuser' }));
    }
  });
}
