// Sends the bot what Slack sends it: slash commands, button clicks and modal submissions, signed with the signing secret.
import { createHmac, randomBytes } from 'node:crypto';
import type { FakeSlack } from './fake-slack.js';

export interface DriverOptions {
  eventsUrl: string;
  signingSecret: string;
  teamId?: string;
  fake: FakeSlack;
  /** Seconds clock for signing; default Date.now()/1000. */
  now?: () => number;
}

export interface DriverResponse {
  status: number;
  body: string;
  /** Parsed when JSON, else undefined. */
  json: unknown;
}

export interface SubmittedValue {
  type: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  selected_options?: { value: string }[];
}

export interface SlackDriver {
  slashCommand(input: {
    user: string;
    userName?: string;
    command: string;
    text: string;
    channel?: string;
  }): Promise<DriverResponse & { responseUrl: string; triggerId: string }>;
  /**
   * Clicks a button. With `message` (and no `value`/`blockId`), the button's block_id, value and label are taken
   * from the message's blocks, as Slack would send them. From a view (no `container`) there is no response_url,
   * as in Slack, and `responseUrl` is ''.
   */
  blockAction(input: {
    user: string;
    actionId: string;
    value?: string;
    blockId?: string;
    container?: { channel: string; messageTs: string; isEphemeral?: boolean };
    message?: Record<string, unknown>;
    view?: Record<string, unknown>;
    triggerId?: string;
  }): Promise<DriverResponse & { responseUrl: string }>;
  viewSubmission(input: {
    user: string;
    view: {
      id?: string;
      callbackId: string;
      privateMetadata?: string;
      values: Record<string, Record<string, SubmittedValue>>;
    };
  }): Promise<DriverResponse>;
  /**
   * An Events API callback (`event_callback`) carrying `event`, e.g. `{ type: 'app_home_opened', user, tab: 'home' }`
   * when someone opens the app's Home tab.
   */
  event(event: Record<string, unknown>): Promise<DriverResponse>;
  /** Posts an arbitrary raw body with explicit headers (for signature tests). */
  raw(body: string, headers: Record<string, string>): Promise<DriverResponse>;
}

// Deprecated verification token and app id: Slack still sends both, nothing should rely on them.
const verificationToken = 'fake-verification-token';
const apiAppId = 'A0FAKEAPP1';
const defaultChannel = 'C0CONSOLE1';

/** A message body (what an app may return in a command's acknowledgement). */
function isMessage(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && ('text' in json || 'blocks' in json);
}

/** `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret. */
export function signature(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function createSlackDriver(options: DriverOptions): SlackDriver {
  const { eventsUrl, signingSecret, fake } = options;
  const teamId = options.teamId ?? 'T0FAKE0001';
  const now = options.now ?? (() => Date.now() / 1000);
  let sequence = 0;

  function userName(user: string, given?: string): string {
    return given ?? fake.users.get(user)?.name ?? user.toLowerCase();
  }

  function payloadUser(user: string): Record<string, string> {
    const name = userName(user);
    return { id: user, username: name, name, team_id: teamId };
  }

  function triggerId(): string {
    sequence += 1;
    return `${Math.floor(now())}${String(sequence).padStart(3, '0')}.${teamId.slice(1)}.${randomBytes(16).toString('hex')}`;
  }

  function actionTs(): string {
    const seconds = now();
    return `${Math.floor(seconds)}.${String(Math.floor((seconds % 1) * 1_000_000)).padStart(6, '0')}`;
  }

  async function post(body: string, contentType: string): Promise<DriverResponse> {
    const timestamp = Math.floor(now());
    return raw(body, {
      // Bolt's HTTPReceiver compares this header exactly, so no "; charset" suffix (Slack sends none either).
      'Content-Type': contentType,
      'X-Slack-Request-Timestamp': String(timestamp),
      'X-Slack-Signature': signature(signingSecret, timestamp, body),
    });
  }

  async function raw(body: string, headers: Record<string, string>): Promise<DriverResponse> {
    const response = await fetch(eventsUrl, { method: 'POST', headers, body });
    const text = await response.text();
    return { status: response.status, body: text, json: parseJson(text, response.headers.get('content-type')) };
  }

  function postPayload(payload: Record<string, unknown>): Promise<DriverResponse> {
    return post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  }

  return {
    async slashCommand(input) {
      const channel = input.channel ?? defaultChannel;
      const responseUrl = fake.newResponseUrl();
      const trigger = triggerId();
      const form = new URLSearchParams({
        token: verificationToken,
        team_id: teamId,
        team_domain: 'fake-workspace',
        channel_id: channel,
        channel_name: channelName(channel),
        user_id: input.user,
        user_name: userName(input.user, input.userName),
        command: input.command,
        text: input.text,
        api_app_id: apiAppId,
        is_enterprise_install: 'false',
        response_url: responseUrl,
        trigger_id: trigger,
      });
      const response = await post(form.toString(), 'application/x-www-form-urlencoded');
      // A message in the acknowledgement is what Slack shows in reply to the command.
      if (response.status === 200 && isMessage(response.json)) fake.acknowledgedWith(responseUrl, response.json);
      return { ...response, responseUrl, triggerId: trigger };
    },

    async blockAction(input) {
      const found = input.message === undefined ? undefined : findButton(input.message.blocks, input.actionId);
      const responseUrl = input.container === undefined ? '' : fake.newResponseUrl();
      const action: Record<string, unknown> = {
        type: 'button',
        action_id: input.actionId,
        block_id: input.blockId ?? found?.blockId ?? randomBytes(3).toString('hex'),
        text: { type: 'plain_text', text: found?.text ?? input.actionId, emoji: true },
        value: input.value ?? found?.value,
        style: found?.style,
        action_ts: actionTs(),
      };
      const payload: Record<string, unknown> = {
        type: 'block_actions',
        user: payloadUser(input.user),
        api_app_id: apiAppId,
        token: verificationToken,
        trigger_id: input.triggerId ?? triggerId(),
        team: { id: teamId, domain: 'fake-workspace' },
        enterprise: null,
        is_enterprise_install: false,
        actions: [action],
      };
      if (input.container !== undefined) {
        const { channel, messageTs, isEphemeral } = input.container;
        payload.container = {
          type: 'message',
          message_ts: messageTs,
          channel_id: channel,
          is_ephemeral: isEphemeral ?? false,
        };
        payload.channel = { id: channel, name: channelName(channel) };
        payload.response_url = responseUrl;
      }
      if (input.message !== undefined) payload.message = input.message;
      if (input.view !== undefined) {
        payload.view = input.view;
        if (input.container === undefined) payload.container = { type: 'view', view_id: input.view.id };
      }
      const response = await postPayload(payload);
      return { ...response, responseUrl };
    },

    async viewSubmission(input) {
      const id = input.view.id ?? `V${String(++sequence).padStart(9, '0')}`;
      const payload = {
        type: 'view_submission',
        team: { id: teamId, domain: 'fake-workspace' },
        user: payloadUser(input.user),
        api_app_id: apiAppId,
        token: verificationToken,
        trigger_id: triggerId(),
        view: {
          id,
          team_id: teamId,
          type: 'modal',
          blocks: [],
          private_metadata: input.view.privateMetadata ?? '',
          callback_id: input.view.callbackId,
          state: { values: input.view.values },
          hash: `${Math.floor(now())}.${randomBytes(4).toString('hex')}`,
          previous_view_id: null,
          root_view_id: id,
          app_id: apiAppId,
          external_id: '',
          bot_id: 'B0FAKEBOT1',
        },
        response_urls: [],
        is_enterprise_install: false,
        enterprise: null,
      };
      return postPayload(payload);
    },

    async event(event) {
      const body = JSON.stringify({
        token: verificationToken,
        type: 'event_callback',
        team_id: teamId,
        api_app_id: apiAppId,
        event: { event_ts: actionTs(), ...event },
        event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
        event_time: Math.floor(now()),
      });
      const timestamp = Math.floor(now());
      return raw(body, { 'Content-Type': 'application/json', 'X-Slack-Request-Timestamp': String(timestamp), 'X-Slack-Signature': signature(signingSecret, timestamp, body) });
    },

    raw,
  };
}

function channelName(channel: string): string {
  if (channel.startsWith('D')) return 'directmessage';
  if (channel.startsWith('G')) return 'privategroup';
  return 'console';
}

function parseJson(text: string, contentType: string | null): unknown {
  if (!contentType?.includes('application/json')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface FoundButton {
  blockId?: string;
  text?: string;
  value?: string;
  style?: string;
}

/** The button with this action_id in actions blocks or section accessories, as Slack would describe a click on it. */
function findButton(blocks: unknown, actionId: string): FoundButton | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const block of blocks) {
    if (!isRecord(block)) continue;
    const elements = Array.isArray(block.elements) ? block.elements : [];
    const candidates = isRecord(block.accessory) ? [...elements, block.accessory] : elements;
    for (const element of candidates) {
      if (isRecord(element) && element.action_id === actionId) {
        return {
          blockId: stringOrUndefined(block.block_id),
          text: isRecord(element.text) ? stringOrUndefined(element.text.text) : undefined,
          value: stringOrUndefined(element.value),
          style: stringOrUndefined(element.style),
        };
      }
    }
  }
  return undefined;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
