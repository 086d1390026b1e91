// The form behind a bare `/dbuser request`: checked before it closes, so mistakes show next to their field.
import { Refusal } from '../../access/core/refusal.js';
import type { PermanentRequestInput } from '../../access/permanent.js';
import { parseDuration } from '../../duration.js';
import { AppError, isAppError } from '../../errors.js';
import { VIEWS, textMessage, type SlackMessage } from '../blocks.js';
import type { SlackDeps } from '../deps.js';
import { errorReply } from '../replies.js';
import type { Listeners } from '../router.js';

/**
 * Every problem of a refusal next to its field, at once: Slack's `response_action: errors` takes a map
 * from block_id to message (https://api.slack.com/surfaces/modals#displaying_errors). A problem about
 * no field of the form goes to `fallback`; two about one field share it.
 */
export function fieldErrors(err: AppError, fields: readonly string[], fallback: string): Record<string, string> {
  const problems = err.problems.length > 0 ? err.problems : [{ message: err.message, field: err.field }];
  const byField = new Map<string, string[]>();
  for (const { message, field } of problems) {
    const block = field !== undefined && fields.includes(field) ? field : fallback;
    byField.set(block, [...(byField.get(block) ?? []), message]);
  }
  // Slack shows at most a few lines under a field: 300 characters is what fits.
  return Object.fromEntries([...byField].map(([block, messages]) => [block, messages.join(' ').slice(0, 300)]));
}

export function registerRequestModal(listeners: Listeners, deps: SlackDeps): void {
  const { log } = deps;

  listeners.view(VIEWS.request, async ({ ack, body, view, client }) => {
    const user = body.user.id;
    const values = view.state.values;
    const env = values['env']?.['value']?.selected_option?.value ?? '';
    const durationText = values['duration']?.['value']?.value?.trim() ?? '';
    const reason = values['reason']?.['value']?.value ?? '';
    const password = values['password']?.['value']?.value || undefined;
    const ticket = values['ticket']?.['value']?.value?.trim() || undefined;
    let durationMs: number | undefined;
    // A duration that cannot be read does not hide the other fields' problems: they are checked with the default.
    const refusal = new Refusal();
    refusal.check(() => {
      durationMs = durationText ? parseDuration(durationText) : undefined;
    });
    const input = { env, requester: user, reason, ...(durationMs !== undefined ? { durationMs } : {}), ...(password !== undefined ? { password } : {}), ...(ticket !== undefined ? { ticket } : {}) };
    try {
      refusal.check(() => deps.access.validateRequest(input));
      refusal.throwIfAny();
    } catch (err) {
      if (isAppError(err) && err.code !== 'internal') {
        await ack({ response_action: 'errors', errors: fieldErrors(err, ['env', 'duration', 'reason', 'ticket', 'password'], 'env') });
        return;
      }
      await ack();
      throw err;
    }
    await ack();
    const dm = await client.conversations.open({ users: user });
    const channel = dm.channel?.id;
    const tell = async (text: string) => {
      if (channel) await client.chat.postEphemeral({ channel, user, ...textMessage(text) });
    };
    try {
      const { request, route, warning } = await deps.access.requestTemporary(input);
      if (route === 'approval') {
        await tell(`Request \`${request.id}\` for a temporary user in *${request.env}* is waiting for an approver. You will get a message when it is decided.${warning ? `\n${warning}` : ''}`);
        return;
      }
      await tell(`Creating your temporary user in *${request.env}*… The password will appear here, only to you.`);
      await deps.access.provision(request.id);
    } catch (err) {
      const reply = errorReply(err, log, { user, view: 'request' });
      if (channel) await client.chat.postEphemeral({ channel, user, ...reply });
    }
  });
}

/**
 * The form behind a bare `/dbuser permanent`: refusals shown next to their field, inside the
 * acknowledgement; the approval posts and the support-case text (by DM) come after it, so a slow
 * Slack never makes the form fail while the requests exist (issue 14, problem 4).
 */
export function registerPermanentModal(listeners: Listeners, deps: SlackDeps): void {
  listeners.view(VIEWS.permanent, async ({ ack, body, view, client }) => {
    const user = body.user.id;
    const v = view.state.values;
    const envs = (v['envs']?.['value']?.selected_options ?? []).map((o) => o.value);
    const access = v['access']?.['value']?.selected_option?.value === 'readwrite' ? 'readwrite' : 'readonly';
    const via = (v['via']?.['value']?.selected_option?.value ?? 'vpn') as 'vpn' | 'tgw' | 'allowlist';
    const ips = (v['ips']?.['value']?.value ?? '').split(',').map((ip) => ip.trim()).filter(Boolean);
    const reason = v['reason']?.['value']?.value ?? '';
    const ticket = v['ticket']?.['value']?.value?.trim() || undefined;
    const input: PermanentRequestInput = { envs, requester: user, access, via, ips, reason, ...(ticket !== undefined ? { ticket } : {}) };
    // Every rule that needs no Slack call is checked inside the acknowledgement: a refusal shows next to
    // its field. The Slack calls (users.info, one approval post per environment) run after it.
    try {
      deps.permanent.validatePermanent(input);
    } catch (err) {
      if (isAppError(err) && err.code !== 'internal') {
        await ack({ response_action: 'errors', errors: fieldErrors(err, ['envs', 'access', 'via', 'ips', 'reason', 'ticket'], 'envs') });
        return;
      }
      await ack();
      throw err;
    }
    await ack();
    const tell = async (message: SlackMessage) => {
      const dm = await client.conversations.open({ users: user });
      if (dm.channel?.id) await client.chat.postEphemeral({ channel: dm.channel.id, user, ...message });
    };
    try {
      const { requests, network, warnings } = await deps.permanent.requestPermanent(input);
      await tell(
        textMessage(
          `Permanent user request${requests.length > 1 ? 's' : ''} ${requests.map((r) => `\`${r.id}\` (${r.env})`).join(', ')} sent to the permanent-user approvers. ` +
            `The bot cannot change the network: ${network.intro}.\n\`\`\`${network.text}\`\`\`` +
            warnings.map((w) => `\n${w}`).join(''),
        ),
      );
    } catch (err) {
      await tell(errorReply(err, deps.log, { user, view: 'permanent' })).catch((failed: unknown) => deps.log.warn({ err: failed, user }, 'could not tell the requester the outcome of the permanent-user form'));
    }
  });
}
