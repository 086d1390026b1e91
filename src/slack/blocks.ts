// Block Kit for every message and modal the bot shows. Pure functions of the state: no client calls here.
import { outsideWindowLine, ticketLink } from '../access/core/governance.js';
import { ticketInput } from './governance-blocks.js';
import type { ConnectionDetails } from '../access/temporary.js';
import { usageText } from '../commands/dbuser.js';
import type { LoadedEnvironment } from '../config.js';
import { formatDuration } from '../duration.js';
import { escapeText } from '../text.js';
import type { InteropAction } from '../store/interop.js';
import type { AccessRequest } from '../store/requests.js';

export type Block = Record<string, unknown>;
export interface SlackMessage {
  /** Fallback and notification text: never a secret (it can show on a lock screen). */
  text: string;
  blocks: Block[];
}

export const ACTIONS = {
  approve: 'approval_approve',
  deny: 'approval_deny',
  rotate: 'credentials_rotate',
  remove: 'user_delete',
  extend: 'expiry_extend',
  revokeNow: 'expiry_revoke',
  retry: 'revoke_retry',
  dropOrphan: 'orphan_drop',
  rotationApprove: 'rotation_approve',
  rotationDeny: 'rotation_deny',
  interopApprove: 'interop_approve',
  interopDeny: 'interop_deny',
} as const;

export const VIEWS = {
  request: 'dbuser_request',
  permanent: 'dbuser_permanent',
  denyReason: 'approval_deny_reason',
} as const;

const md = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const field = (label: string, value: string) => ({ type: 'mrkdwn', text: `*${label}*\n${value}` });
const button = (text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Block => ({
  type: 'button',
  text: { type: 'plain_text', text },
  action_id: actionId,
  value,
  ...(style ? { style } : {}),
});

export { escapeText };

/** "read & write, temporary" / "read-only, permanent": the kind and access of a user, as every list shows them. */
export function kindWords(r: Pick<AccessRequest, 'kind' | 'access'>): string {
  return `${r.access === 'readonly' ? 'read-only' : 'read & write'}, ${r.kind === 'permanent' ? 'permanent' : 'temporary'}`;
}

/**
 * Revoke now, with Slack's confirmation dialog when the user is permanent: dropping one cuts off what
 * connects with it and cannot be undone, so the click asks first
 * (https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object: title ≤ 100,
 * text ≤ 300, confirm and deny ≤ 30 characters).
 */
export function revokeButton(r: Pick<AccessRequest, 'id' | 'kind' | 'access' | 'env' | 'username'>, label = 'Revoke now'): Block {
  const plain = button(label, ACTIONS.revokeNow, r.id, 'danger');
  if (r.kind !== 'permanent') return plain;
  const text = `This drops the ${kindWords(r).replace(', ', ' ')} user ${r.username ?? ''} in ${r.env} now: everything that connects with it stops working. A new one needs a new request and approval.`;
  return {
    ...plain,
    confirm: {
      title: { type: 'plain_text', text: 'Drop the permanent user?' },
      text: { type: 'plain_text', text: text.slice(0, 300) },
      confirm: { type: 'plain_text', text: 'Drop it' },
      deny: { type: 'plain_text', text: 'Keep it' },
      style: 'danger',
    },
  };
}

/** `<!date>` shows the time in each reader's time zone, with a UTC fallback. */
export function slackDate(ms: number): string {
  const fallback = `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

function requestFields(request: AccessRequest, env: LoadedEnvironment): Block {
  const permanent = request.kind === 'permanent';
  const connection = request.via === 'allowlist' ? `IP allowlisting: ${request.ips.join(', ')}` : request.via === 'tgw' ? 'Transit Gateway' : 'VPN';
  return {
    type: 'section',
    fields: [
      field('Requester', `<@${request.requester}>`),
      field('Environment', `${env.name} (${env.dialect})`),
      field('Access', permanent ? `${request.access === 'readonly' ? 'read-only' : 'read & write'}, permanent` : 'read & write, temporary'),
      permanent ? field('Connects by', connection) : field('Duration', formatDuration(request.durationMs)),
      field('Reason', request.reason ? escapeText(request.reason) : '_none given_'),
      field('Request', `\`${request.id}\``),
      // Governance (issue 17 item 1): the ticket, linked by policy.ticket.url.
      ...(request.ticket !== null ? [field('Ticket', ticketLink(env, request.kind, request.ticket))] : []),
    ],
  };
}

/** The approval request: who, what, where, how long, why, the SQL plan (password masked), and the buttons until decided. */
export function approvalMessage(request: AccessRequest, env: LoadedEnvironment, plan: string, status?: string): SlackMessage {
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: request.kind === 'permanent' ? 'Permanent database user request' : 'Temporary database user request' } },
    requestFields(request, env),
    // Governance (issue 17 item 5): the window it was asked outside of, and the approvals that takes (recorded with it).
    ...(request.outsideWindow !== null ? [md(outsideWindowLine(request.outsideWindow, request.requiredApprovals ?? env.policy.approvals[request.kind]))] : []),
    md(`*SQL plan*\n\`\`\`${plan}\`\`\``),
  ];
  // Buttons while a decision is still possible (a quorum may be part-way); the status says where it stands.
  if (status !== undefined) blocks.push(context(status));
  if (request.state === 'pending') {
    blocks.push({ type: 'actions', block_id: `decide:${request.id}`, elements: [button('Approve', ACTIONS.approve, request.id, 'primary'), button('Deny', ACTIONS.deny, request.id, 'danger')] });
  }
  return { text: `${request.kind === 'permanent' ? 'Permanent' : 'Temporary'} database user request from <@${request.requester}> for ${env.name}`, blocks };
}

/** A permanent user's owner asks for a new password: Approve / Deny until decided. */
export function rotationMessage(request: AccessRequest, env: LoadedEnvironment, status?: string): SlackMessage {
  return {
    text: `New password requested for ${request.username} in ${env.name}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'New password for a permanent user' } },
      md(`<@${request.requester}> asks for a new password of \`${request.username}\` (${request.access === 'readonly' ? 'read-only' : 'read & write'}) in *${env.name}*. The old one stops working when it is approved.`),
      ...(status === undefined ? [] : [context(status)]),
      // Buttons while the rotation waits for a decision (a quorum may be part-way).
      ...(request.rotationRequestedAt !== null || status === undefined
        ? [{ type: 'actions', elements: [button('Approve', ACTIONS.rotationApprove, request.id, 'primary'), button('Deny', ACTIONS.rotationDeny, request.id, 'danger')] }]
        : []),
    ],
  };
}

function detailFields(d: ConnectionDetails): Block {
  return {
    type: 'section',
    fields: [
      field('Access', kindWords(d.request)),
      field('Server', `\`${d.host}\``),
      field('Port', String(d.port)),
      ...(d.instance ? [field('Instance', `\`${d.instance}\``)] : []),
      field('Database', `\`${d.database}\``),
      field('Username', `\`${d.username}\``),
      field('Expires', d.expiresAt === null ? 'never (permanent; rotate or revoke on request)' : slackDate(d.expiresAt)),
    ],
  };
}

/** The password, shown once. Only ever sent as an ephemeral message to the requester. */
export function credentialsMessage(details: ConnectionDetails, password: string, heading: string): SlackMessage {
  const permanent = details.request.kind === 'permanent';
  return {
    text: `Your ${permanent ? 'permanent' : 'temporary'} database user in ${details.request.env} is ready`,
    blocks: [
      md(`*${heading}*`),
      detailFields(details),
      md(`*Password*\n\`${password}\``),
      context(
        permanent
          ? `Shown once and stored nowhere: copy it now. Lost it? \`/dbuser rotate ${details.request.env} --access ${details.request.access === 'readonly' ? 'read' : 'readwrite'}\` asks for a new one.`
          : 'Shown once and stored nowhere: copy it now. Lost it? *New password* replaces it.',
      ),
      ...(permanent
        ? []
        : [{ type: 'actions', elements: [button('New password', ACTIONS.rotate, details.request.id), button('Delete now', ACTIONS.remove, details.request.env, 'danger')] }]),
    ],
  };
}

/** `/dbuser details`: each of the person's active users in one environment, temporary and permanent, with what they can do with it. */
export function detailsMessage(users: readonly ConnectionDetails[]): SlackMessage {
  const env = users[0]?.request.env ?? '';
  const blocks: Block[] = users.flatMap((details): Block[] => {
    const r = details.request;
    if (r.kind === 'permanent') {
      const rotate = `\`/dbuser rotate ${r.env} --access ${r.access === 'readonly' ? 'read' : 'readwrite'}\``;
      return [
        md(`*Your ${r.access === 'readonly' ? 'read-only' : 'read & write'} permanent database user in ${r.env}*`),
        detailFields(details),
        context(`The password is not stored. ${rotate} asks an approver for a new one. *Revoke* drops the user (it asks you to confirm).`),
        { type: 'actions', elements: [revokeButton(r, 'Revoke')] },
      ];
    }
    return [
      md(`*Your temporary database user in ${r.env}*`),
      detailFields(details),
      context('The password is not stored. *New password* sets a new one and shows it to you once.'),
      { type: 'actions', elements: [button('New password', ACTIONS.rotate, r.id), button('Delete now', ACTIONS.remove, r.env, 'danger')] },
    ];
  });
  return { text: `Your database users in ${env}`, blocks };
}

/** What `/dbuser delete` (or Delete now) did: a user revoked, or requests withdrawn. */
export function removedMessage(done: readonly AccessRequest[]): SlackMessage {
  const lines = done.map((r) =>
    r.state === 'revoked' ? `Your user \`${r.username}\` in *${r.env}* was revoked.` : `Your ${kindWords(r).replace(', ', ' ')} request in *${r.env}* was withdrawn.`,
  );
  return textMessage(lines.join('\n'));
}

/** `/dbuser revoke` of a permanent user: the second step, a button that asks once more before it drops the user. */
export function revokeConfirmMessage(request: AccessRequest): SlackMessage {
  const whose = `<@${request.requester}>`;
  return {
    text: `Confirm: drop the permanent user ${request.username} in ${request.env}?`,
    blocks: [
      md(`\`${request.username}\` is the ${kindWords(request).replace(', ', ' ')} user of ${whose} in *${request.env}*. Dropping it ends its sessions and cuts off everything that connects with it; a new one needs a new request and approval.`),
      { type: 'actions', elements: [revokeButton(request, 'Drop it now')] },
    ],
  };
}

const STATE_LABEL: Record<string, string> = {
  pending: 'waiting for approval',
  approved: 'approved',
  provisioning: 'being created',
  active: 'active',
  revoking: 'being revoked',
  revoke_failed: 'revocation failing, retrying',
};

function listLine(r: AccessRequest, withRequester: boolean): string {
  const who = withRequester ? `<@${r.requester}> ` : '';
  const until = r.state === 'active' && r.expiresAt !== null ? `, until ${slackDate(r.expiresAt)}` : '';
  const user = r.username ? ` \`${r.username}\`` : '';
  return `• ${who}*${r.env}*${user}: ${kindWords(r)}, ${STATE_LABEL[r.state] ?? r.state}${until}`;
}

export function listMessage(own: AccessRequest[], approving: AccessRequest[]): SlackMessage {
  const blocks: Block[] = [md(own.length ? `*Yours*\n${own.map((r) => listLine(r, false)).join('\n')}` : 'You have no database users or open requests.')];
  if (approving.length) blocks.push(md(`*In environments you approve*\n${approving.map((r) => listLine(r, true)).join('\n')}`));
  return { text: 'Your database users and requests', blocks };
}

export function helpMessage(): SlackMessage {
  return { text: usageText(), blocks: [md(usageText())] };
}

export function textMessage(text: string): SlackMessage {
  return { text, blocks: [md(text)] };
}

/** The form behind a bare `/dbuser request`. */
export function requestModal(envs: LoadedEnvironment[]): Record<string, unknown> {
  const options = envs.map((e) => ({ text: { type: 'plain_text', text: `${e.name} (${e.dialect})` }, value: e.name }));
  // Each environment has its own default and longest lifetime (prod may allow 8h where dev allows 12h):
  // left empty, the field means the chosen environment's default; with one environment it is filled in.
  const only = envs.length === 1 ? envs[0] : undefined;
  const limits = envs.map((e) => `${e.name} ${formatDuration(e.policy.ttl)} (${formatDuration(e.policy.minTtl)}–${formatDuration(e.policy.maxTtl)})`).join(', ');
  return {
    type: 'modal',
    callback_id: VIEWS.request,
    title: { type: 'plain_text', text: 'Temporary DB user' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'env',
        label: { type: 'plain_text', text: 'Environment' },
        element: { type: 'static_select', action_id: 'value', options, ...(only ? { initial_option: options[0] } : {}) },
      },
      {
        type: 'input',
        block_id: 'duration',
        optional: true,
        label: { type: 'plain_text', text: 'For how long' },
        hint: { type: 'plain_text', text: `e.g. 4h or 90m; empty for the environment's default. Default (shortest–longest): ${limits}`.slice(0, 2000) },
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          placeholder: { type: 'plain_text', text: "The environment's default" },
          ...(only ? { initial_value: formatDuration(only.policy.ttl) } : {}),
        },
      },
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 } },
      ticketInput(envs, 'temporary'),
      {
        type: 'input',
        block_id: 'password',
        optional: true,
        label: { type: 'plain_text', text: 'Your own password (optional)' },
        hint: {
          type: 'plain_text',
          text: '12-30 printable ASCII characters, three of: upper, lower, digit, symbol; none of " \' ; \\ { } = @ / and not your username. Leave empty for a generated one.',
        },
        element: { type: 'plain_text_input', action_id: 'value', max_length: 30 },
      },
    ],
  };
}

/** Asks an approver why they deny; the reason is optional. */
export function denyModal(requestId: string): Record<string, unknown> {
  return {
    type: 'modal',
    callback_id: VIEWS.denyReason,
    private_metadata: requestId,
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'reason',
        optional: true,
        label: { type: 'plain_text', text: 'Reason (shown to the requester)' },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 },
      },
    ],
  };
}

/**
 * Before expiry, and the same message rewritten after an extension or a revocation: the buttons that
 * still apply to the user as it is now. Extend only while one is left; none once it is no longer active.
 */
export function expiryReminderMessage(request: AccessRequest, text: string, offer: { extend: boolean }): SlackMessage {
  const active = request.state === 'active';
  const buttons = active ? [...(offer.extend ? [button('Extend', ACTIONS.extend, request.id, 'primary')] : []), button('Revoke now', ACTIONS.revokeNow, request.id, 'danger')] : [];
  const when = active && request.expiresAt !== null ? `Expires ${slackDate(request.expiresAt)}.` : '';
  const last = active && !offer.extend ? ' It cannot be extended any more.' : '';
  return {
    text: active ? `The temporary user ${request.username} in ${request.env} expires soon` : `The temporary user ${request.username} in ${request.env} is gone`,
    blocks: [
      md(text),
      context(`${when}${last} Request \`${request.id}\`.`.trim()),
      ...(buttons.length ? [{ type: 'actions', elements: buttons }] : []),
    ],
  };
}

/** A revocation that keeps failing: Retry for approvers. */
export function revokeFailedMessage(request: AccessRequest, text: string): SlackMessage {
  return {
    text: `Revocation of ${request.username} in ${request.env} is failing`,
    blocks: [md(text), { type: 'actions', elements: [button('Retry', ACTIONS.retry, request.id, 'danger')] }],
  };
}

/** Users the bot's state does not explain, with Drop buttons for approvers. */
export function orphanReportMessage(env: LoadedEnvironment, report: { unknown: string[]; missing: { username: string; requester: string }[] }): SlackMessage {
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: `Database users to look at in ${env.name}` } }];
  if (report.unknown.length) {
    blocks.push(md(`*In the database with the bot's prefix, but unknown to the bot* (created by hand, or left by a crash):`));
    for (const username of report.unknown.slice(0, 40)) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`${username}\`` }, accessory: button('Drop', ACTIONS.dropOrphan, `${env.name}:${username}`, 'danger') });
    }
    if (report.unknown.length > 40) blocks.push(context(`…and ${report.unknown.length - 40} more.`));
  }
  if (report.missing.length) {
    blocks.push(md(`*Active for the bot, but missing from the database* (dropped by hand?):\n${report.missing.map((m) => `• \`${m.username}\` of <@${m.requester}>`).join('\n')}`));
  }
  return { text: `Database users to look at in ${env.name}`, blocks };
}

/** An interop action waiting for an approver: what, where, the plan, Approve / Deny until decided. */
export function interopMessage(action: InteropAction, env: LoadedEnvironment, plan: string, status?: string): SlackMessage {
  return {
    text: `Data interoperability request for ${env.name}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Data interoperability (DBA step)' } },
      {
        type: 'section',
        fields: [
          field('Requested by', action.requester === 'scheduler' ? 'the hourly check' : `<@${action.requester}>`),
          field('Environment', `${env.name} (${env.dialect})`),
          field('What', escapeText(action.summary)),
          field('Request', `\`${action.id}\``),
        ],
      },
      md(`*SQL plan*\n\`\`\`${plan}\`\`\``),
      ...(status === undefined ? [] : [context(status)]),
      // Buttons while a decision is still possible (a quorum may be part-way).
      ...(action.state === 'pending'
        ? [{ type: 'actions', elements: [button(action.action === 'grant' && action.requester === 'scheduler' ? 'Grant' : 'Approve', ACTIONS.interopApprove, action.id, 'primary'), button('Deny', ACTIONS.interopDeny, action.id, 'danger')] }]
        : []),
    ],
  };
}

/** The interoperability user's password, once, only to whoever asked for the setup. */
export function interopCredentialsMessage(env: LoadedEnvironment, username: string, password: string): SlackMessage {
  return {
    text: `The interoperability user of ${env.name} is ready`,
    blocks: [
      md(`*The interoperability user of ${env.name} is ready*`),
      { type: 'section', fields: [field('Server', `\`${env.details.host}\``), field('Port', String(env.details.port)), field('Database', `\`${env.details.database}\``), field('Username', `\`${username}\``)] },
      md(`*Password*\n\`${password}\``),
      context('Shown once and stored nowhere: put it in the ODC data connection now.'),
    ],
  };
}

/** App Home: my users (New password, Revoke now); for approvers, what waits for them and what keeps failing. */
export function homeView(mine: AccessRequest[], pending: AccessRequest[], failing: AccessRequest[]): Record<string, unknown> {
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: 'Your database access' } }];
  if (mine.length === 0) blocks.push(md('You have no database users or open requests. `/dbuser request <env>` asks for one.'.replace('<env>', '&lt;env&gt;')));
  for (const r of mine) {
    const what = `*${r.env}* ${r.username ? `\`${r.username}\`` : ''} — ${kindWords(r)}, ${STATE_LABEL[r.state] ?? r.state}${r.expiresAt !== null && r.state === 'active' ? `, until ${slackDate(r.expiresAt)}` : ''}`;
    const buttons =
      r.state === 'active'
        ? [...(r.kind === 'temporary' ? [button('New password', ACTIONS.rotate, r.id)] : []), revokeButton(r)]
        : [];
    blocks.push(md(what));
    if (buttons.length) blocks.push({ type: 'actions', elements: buttons });
  }
  if (pending.length > 0 || failing.length > 0) {
    blocks.push({ type: 'divider' }, { type: 'header', text: { type: 'plain_text', text: 'Waiting for you (approver)' } });
    for (const r of pending) {
      blocks.push(md(`<@${r.requester}>: ${r.kind === 'permanent' ? 'permanent' : 'temporary'} user in *${r.env}* — ${r.reason ? escapeText(r.reason) : '_no reason_'} (\`${r.id}\`)`));
      blocks.push({ type: 'actions', elements: [button('Approve', ACTIONS.approve, r.id, 'primary'), button('Deny', ACTIONS.deny, r.id, 'danger')] });
    }
    for (const r of failing) {
      blocks.push(md(`:rotating_light: \`${r.username}\` in *${r.env}* could not be revoked: ${escapeText(r.error ?? 'unknown error')}`));
      blocks.push({ type: 'actions', elements: [button('Retry', ACTIONS.retry, r.id, 'danger')] });
    }
  }
  return { type: 'home', blocks: blocks.slice(0, 100) };
}

/** The form behind a bare `/dbuser permanent`. */
export function permanentModal(envs: LoadedEnvironment[]): Record<string, unknown> {
  const option = (text: string, value: string) => ({ text: { type: 'plain_text', text }, value });
  return {
    type: 'modal',
    callback_id: VIEWS.permanent,
    title: { type: 'plain_text', text: 'Permanent DB user' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'envs',
        label: { type: 'plain_text', text: 'Environments' },
        element: { type: 'multi_static_select', action_id: 'value', options: envs.map((e) => option(`${e.name} (${e.dialect})`, e.name)) },
      },
      {
        type: 'input',
        block_id: 'access',
        label: { type: 'plain_text', text: 'Access' },
        element: { type: 'static_select', action_id: 'value', options: [option('Read-only', 'readonly'), option('Read & write (OSUSR_ tables)', 'readwrite')] },
      },
      {
        type: 'input',
        block_id: 'via',
        label: { type: 'plain_text', text: 'How you connect' },
        element: { type: 'static_select', action_id: 'value', options: [option('VPN', 'vpn'), option('AWS Transit Gateway', 'tgw'), option('IP allowlisting', 'allowlist')] },
      },
      {
        type: 'input',
        block_id: 'ips',
        optional: true,
        label: { type: 'plain_text', text: 'Public static IPs (allowlisting only)' },
        hint: { type: 'plain_text', text: 'Comma-separated, e.g. 52.95.110.1, 52.95.110.2' },
        element: { type: 'plain_text_input', action_id: 'value' },
      },
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'What it is for' }, element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 500 } },
      ticketInput(envs, 'permanent'),
    ],
  };
}
