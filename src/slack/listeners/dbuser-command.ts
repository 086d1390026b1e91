// /dbuser: parsed, acknowledged at once (with the answer itself when it is ready), then run through the
// use cases and answered ephemerally.
import { auditCsv, auditLine } from '../../access/audit-report.js';
import { within } from '../../clock.js';
import { parseDbuser, type DbuserCommand } from '../../commands/dbuser.js';
import { formatDuration } from '../../duration.js';
import { helpMessage, listMessage, detailsMessage, permanentModal, removedMessage, requestModal, revokeConfirmMessage, textMessage, type SlackMessage } from '../blocks.js';
import { errorReply } from '../replies.js';
import type { SlackDeps } from '../deps.js';
import type { Listeners } from '../router.js';

/** The subcommands answered inside the acknowledgement when their answer is ready in time. */
type AnsweredAtOnce = Extract<DbuserCommand, { action: 'help' | 'details' | 'list' }>;

/**
 * How long an answer may take and still go back in the acknowledgement, which Slack waits 3 s for.
 * Only `list` can take longer: when the approver groups' members are not cached, Slack is asked.
 */
const ANSWER_IN_ACK_MS = 1_000;

type Answer =
  /** Ready: send it in the acknowledgement. */
  | { reply: SlackMessage }
  /** Not ready in time: acknowledge empty, then post it to the response_url when it is. */
  | { later: Promise<SlackMessage> }
  /** The rest of the subcommands: acknowledge empty, then run. */
  | { parsed: Exclude<DbuserCommand, AnsweredAtOnce> };

export function registerDbuserCommand(listeners: Listeners, deps: SlackDeps): void {
  const { config, log } = deps;
  const failure = (err: unknown, user: string) => errorReply(err, log, { user, command: 'dbuser' });

  /**
   * Usage errors, help, connection details and the list need nothing but memory and SQLite (for the
   * list, once the approver groups' members are cached), so they are worked out at once and go back in
   * the acknowledgement itself: Slack shows that body to the user exactly as it shows a response_url
   * reply, without a second request and without the CPU of one on the loop that must acknowledge the
   * next command. Everything else is acknowledged first and answered after.
   */
  async function answer(text: string, user: string): Promise<Answer> {
    try {
      const parsed = parseDbuser(text);
      if (parsed.action === 'help') return { reply: helpMessage() };
      if (parsed.action === 'details') return { reply: detailsMessage(deps.access.connections({ env: parsed.env, user })) };
      if (parsed.action !== 'list') return { parsed };
      const known = deps.access.listKnown(user);
      if (known) return { reply: listMessage(known.own, known.approving) };
      const listing = deps.access.list(user).then(
        ({ own, approving }) => listMessage(own, approving),
        (err: unknown) => failure(err, user),
      );
      const ready = await within(listing, ANSWER_IN_ACK_MS);
      return ready ? { reply: ready } : { later: listing };
    } catch (err) {
      return { reply: failure(err, user) };
    }
  }

  listeners.command('/dbuser', async ({ command, ack, respond, client }) => {
    const user = command.user_id;
    const answered = await answer(command.text ?? '', user);
    if ('reply' in answered) {
      await ack(answered.reply);
      return;
    }
    await ack();
    if ('later' in answered) {
      await respond(await answered.later);
      return;
    }
    const { parsed } = answered;
    try {
      switch (parsed.action) {
        case 'permanent-modal':
          await client.views.open({ trigger_id: command.trigger_id, view: permanentModal(config.environments) as never });
          return;
        case 'request-modal':
          await client.views.open({ trigger_id: command.trigger_id, view: requestModal(config.environments) as never });
          return;
        case 'request': {
          const { request, route, warning } = await deps.access.requestTemporary({
            env: parsed.env,
            requester: user,
            reason: parsed.reason,
            breakGlass: parsed.breakGlass,
            ...(parsed.durationMs !== undefined ? { durationMs: parsed.durationMs } : {}),
            ...(parsed.ticket !== undefined ? { ticket: parsed.ticket } : {}),
          });
          if (route === 'approval') {
            const env = deps.access.environment(request.env);
            await respond(textMessage(`Request \`${request.id}\` for a temporary user in *${env.name}* is waiting for an approver in <#${env.channels.approvals}>. You will get a message when it is decided.${warning ? `\n${warning}` : ''}`));
            return;
          }
          await respond(textMessage(`Creating your temporary user in *${request.env}* (${route})… The password will appear here in your DM with me, only to you.`));
          await deps.access.provision(request.id);
          return;
        }
        case 'delete': {
          const done = await deps.access.remove({ env: parsed.env, user });
          await respond(removedMessage(done));
          return;
        }
        case 'revoke': {
          const { request, outcome } = await deps.expiry.revokeByUsername({ username: parsed.username, actor: user });
          // A permanent user: the second step is a button that asks once more (Slack's confirm dialog), not a flag to type.
          if (outcome === 'unconfirmed') {
            await respond(revokeConfirmMessage(request));
            return;
          }
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
          const { requests, network, warnings } = await deps.permanent.requestPermanent({
            envs: parsed.envs,
            requester: user,
            access: parsed.access,
            via: parsed.via,
            ips: parsed.ips,
            reason: parsed.reason,
            ...(parsed.ticket !== undefined ? { ticket: parsed.ticket } : {}),
          });
          const where = requests.map((r) => `\`${r.id}\` (${r.env})`).join(', ');
          await respond(
            textMessage(
              `Permanent user request${requests.length > 1 ? 's' : ''} ${where} sent to the permanent-user approvers. The password comes here, only to you, once approved.\n` +
                `The bot cannot change the network: ${network.intro}.\n\`\`\`${network.text}\`\`\`` +
                warnings.map((w) => `\n${w}`).join(''),
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
        // Issue 17 item 3: access reviews open or due soon, for approvers.
        case 'reviews': {
          const lines = await deps.reviews.due(user);
          await respond(textMessage(lines.length ? `*Access reviews of permanent users, open or due soon*\n${lines.join('\n')}` : 'No access review is open or due soon in the environments you approve.'));
          return;
        }
        case 'audit': {
          if (parsed.env) deps.access.environment(parsed.env);
          const envs = await deps.access.approverEnvironments(user, parsed.env);
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
      }
    } catch (err) {
      await respond(failure(err, user));
    }
  });
}
