// A local fake of the Slack Web API and of response_url: answers like Slack, records every call, fails on demand.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { attachFakeSocketMode, SOCKET_PATH, type FakeSocketMode } from './fake-socket-mode.js';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  token: string | undefined;
  at: number;
  /** 'ack': a message the app returned in its acknowledgement, shown by Slack like a response_url post. */
  via?: 'ack';
}

export interface FakeUser {
  id: string;
  name: string;
  realName?: string;
  displayName?: string;
  isBot?: boolean;
}

export interface FakeFault {
  status?: number;
  error?: string;
  retryAfterSeconds?: number;
  delayMs?: number;
}

export interface FakeSlack {
  /** Base URL to give the WebClient as slackApiUrl, ending with '/api/'. */
  apiUrl: string;
  /** Every Web API call and response_url post, in order. */
  calls: SlackCall[];
  /** A fresh response_url on this fake; posts to it are recorded as method 'response_url' with args = { responseUrl, ...body }. */
  newResponseUrl(): string;
  /**
   * A message the app returned in the HTTP response to a slash command: Slack shows it exactly as a post to
   * that command's response_url, so it is recorded as one (method 'response_url'), marked `via: 'ack'`.
   */
  acknowledgedWith(responseUrl: string, message: Record<string, unknown>): void;
  users: Map<string, FakeUser>;
  /** user-group id → member user ids, served by usergroups.users.list */
  usergroups: Map<string, string[]>;
  /** Make the next `times` calls of `method` fail: HTTP status (429 with Retry-After, 500...), or ok:false with `error`, or a delay. */
  fail(method: string, fault: FakeFault, times?: number): void;
  /** Resolves with the first call (already recorded or future) matching the predicate; rejects after timeoutMs with a message listing the methods seen. */
  waitFor(predicate: (call: SlackCall) => boolean, timeoutMs?: number): Promise<SlackCall>;
  /**
   * Takes the whole Web API down until `outage(undefined)`: 'refused' stops listening (connections are
   * refused, as with a host that is down; response_url posts fail too), `{ status }` answers every
   * Web API call with that HTTP status, `{ delayMs }` answers every call that much later. Calls that
   * reach the fake are still recorded.
   */
  outage(mode: FakeOutage | undefined): Promise<void>;
  /** Calls of one method. */
  callsOf(method: string): SlackCall[];
  /** The Socket Mode endpoint apps.connections.open points to (an outage 'refused' drops its connections too). */
  socketMode: FakeSocketMode;
  close(): Promise<void>;
}

export type FakeOutage = 'refused' | { status: number } | { delayMs: number };

type Reply = { status: number; headers: Record<string, string>; body: unknown };
type Args = Record<string, unknown>;

interface Waiter {
  predicate: (call: SlackCall) => boolean;
  resolve: (call: SlackCall) => void;
  reject: (err: unknown) => void;
}

// The WebClient sends form bodies and JSON-encodes every non-scalar argument; these are the arguments Slack
// documents as JSON strings. Only these are decoded, so a `text` that happens to start with '[' stays text.
const jsonArgs = new Set(['blocks', 'attachments', 'view', 'metadata', 'unfurls', 'user_auth_blocks', 'profile', 'files']);

// Slack message timestamps are "seconds.micros"; a fixed epoch keeps them deterministic across runs.
const tsEpochSeconds = 1_700_000_000;

export async function startFakeSlack(options: { teamId?: string; botUserId?: string } = {}): Promise<FakeSlack> {
  const teamId = options.teamId ?? 'T0FAKE0001';
  const botUserId = options.botUserId ?? 'U0FAKEBOT1';
  const botId = 'B0FAKEBOT1';
  const appId = 'A0FAKEAPP1';

  const calls: SlackCall[] = [];
  const users = new Map<string, FakeUser>();
  const usergroups = new Map<string, string[]>();
  const faults = new Map<string, { fault: FakeFault; remaining: number }[]>();
  const responseUrls = new Set<string>();
  const waiters = new Set<Waiter>();
  const timers = new Set<NodeJS.Timeout>();
  let sequence = 0;
  let origin = '';
  let outage: FakeOutage | undefined;

  function next(): number {
    sequence += 1;
    return sequence;
  }

  function nextTs(): string {
    const n = next();
    return `${tsEpochSeconds + Math.floor(n / 10_000)}.${String((n % 10_000) * 100).padStart(6, '0')}`;
  }

  function record(call: SlackCall): void {
    calls.push(call);
    for (const waiter of waiters) {
      let matched: boolean;
      try {
        matched = waiter.predicate(call);
      } catch (err) {
        waiters.delete(waiter);
        waiter.reject(err);
        continue;
      }
      if (matched) {
        waiters.delete(waiter);
        waiter.resolve(call);
      }
    }
  }

  function takeFault(method: string): FakeFault | undefined {
    const queue = faults.get(method);
    const head = queue?.[0];
    if (queue === undefined || head === undefined) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    return head.fault;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  /** The answer a fault asks for, or undefined to answer normally (a pure delay). */
  function faultReply(fault: FakeFault): Reply | undefined {
    const status = fault.status ?? (fault.retryAfterSeconds !== undefined ? 429 : undefined);
    if (status === 429) {
      return {
        status,
        headers: { 'Retry-After': String(fault.retryAfterSeconds ?? 1) },
        body: { ok: false, error: fault.error ?? 'ratelimited' },
      };
    }
    if (status !== undefined && status !== 200) {
      return { status, headers: {}, body: { ok: false, error: fault.error ?? 'fatal_error' } };
    }
    if (fault.error !== undefined) return { status: 200, headers: {}, body: { ok: false, error: fault.error } };
    return undefined;
  }

  function ok(body: Args): Reply {
    return { status: 200, headers: {}, body: { ok: true, ...body } };
  }

  function slackError(error: string): Reply {
    return { status: 200, headers: {}, body: { ok: false, error } };
  }

  function dmChannelFor(userId: string): string {
    return `D${userId.slice(1)}`;
  }

  function isUserId(channel: string): boolean {
    return /^[UW][A-Z0-9]+$/.test(channel);
  }

  function viewReply(method: string, args: Args): Reply {
    const view = isRecord(args.view) ? args.view : {};
    const id = method === 'views.update' && typeof args.view_id === 'string' ? args.view_id : `V${String(next()).padStart(9, '0')}`;
    return ok({
      view: {
        id,
        team_id: teamId,
        type: method === 'views.publish' ? 'home' : 'modal',
        ...view,
        state: { values: {} },
        hash: `${tsEpochSeconds}.${String(next()).padStart(8, '0')}`,
        root_view_id: id,
        app_id: appId,
        bot_id: botId,
      },
    });
  }

  function answer(method: string, args: Args): Reply {
    switch (method) {
      case 'auth.test':
        return ok({
          url: 'https://fake-workspace.slack.com/',
          team: 'Fake Workspace',
          user: 'dbaccess',
          team_id: teamId,
          user_id: botUserId,
          bot_id: botId,
        });
      case 'chat.postMessage': {
        const channel = String(args.channel ?? '');
        if (channel === '') return slackError('channel_not_found');
        const ts = nextTs();
        return ok({
          channel: isUserId(channel) ? dmChannelFor(channel) : channel,
          ts,
          message: { type: 'message', user: botUserId, bot_id: botId, text: args.text ?? '', blocks: args.blocks, ts },
        });
      }
      case 'chat.update':
        return ok({
          channel: args.channel,
          ts: args.ts,
          text: args.text ?? '',
          message: { type: 'message', user: botUserId, bot_id: botId, text: args.text ?? '', blocks: args.blocks },
        });
      case 'chat.postEphemeral':
        return ok({ message_ts: nextTs() });
      case 'conversations.open': {
        const ids = String(args.users ?? '').split(',').filter((u) => u !== '');
        if (typeof args.channel === 'string') return ok({ channel: { id: args.channel } });
        const [first] = ids;
        if (first === undefined) return slackError('users_list_not_supplied');
        // Slack gives a 1:1 DM a D id and a group DM a G id; both stay the same for the same members.
        const id = ids.length === 1 ? dmChannelFor(first) : `G${ids.map((u) => u.slice(1)).join('')}`;
        return ok({ channel: { id } });
      }
      case 'views.open':
      case 'views.update':
      case 'views.push':
      case 'views.publish':
        return viewReply(method, args);
      case 'users.info': {
        const user = users.get(String(args.user ?? ''));
        if (user === undefined) return slackError('user_not_found');
        return ok({
          user: {
            id: user.id,
            team_id: teamId,
            name: user.name,
            real_name: user.realName ?? user.name,
            deleted: false,
            is_bot: user.isBot ?? false,
            profile: { display_name: user.displayName ?? '', real_name: user.realName ?? user.name },
          },
        });
      }
      case 'files.getUploadURLExternal': {
        const fileId = `F${next()}`;
        return ok({ upload_url: `${origin}/upload/${fileId}`, file_id: fileId });
      }
      case 'files.completeUploadExternal':
        return ok({ files: (Array.isArray(args.files) ? args.files : []).map((f) => ({ ...(f as object) })) });
      case 'apps.connections.open':
        return ok({ url: `${origin.replace(/^http/, 'ws')}${SOCKET_PATH}${next()}` });
      case 'usergroups.users.list': {
        const members = usergroups.get(String(args.usergroup ?? ''));
        return members === undefined ? slackError('no_such_subteam') : ok({ users: [...members] });
      }
      default:
        return ok({});
    }
  }

  async function handle(req: IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? '/', origin);
    if (req.method !== 'POST') return { status: 405, headers: {}, body: { ok: false, error: 'method_not_allowed' } };
    const raw = await readBody(req);
    // File uploads (files.uploadV2 step 2) carry the file itself, recorded as text for tests.
    if (url.pathname.startsWith('/upload/')) {
      record({ method: 'file_upload', args: { fileId: url.pathname.slice('/upload/'.length), content: String(raw) }, token: undefined, at: Date.now() });
      return ok({});
    }
    let args: Args;
    try {
      args = parseBody(raw, req.headers['content-type']);
    } catch {
      return slackError('invalid_form_data');
    }

    const fullUrl = `${origin}${url.pathname}`;
    if (url.pathname.startsWith('/response/')) {
      if (!responseUrls.has(fullUrl)) return { status: 404, headers: {}, body: { ok: false, error: 'no_service' } };
      record({ method: 'response_url', args: { responseUrl: fullUrl, ...args }, token: undefined, at: Date.now() });
      return withFault('response_url', ok({}));
    }
    if (!url.pathname.startsWith('/api/')) return { status: 404, headers: {}, body: { ok: false, error: 'unknown_path' } };

    const method = url.pathname.slice('/api/'.length);
    const token = bearer(req.headers.authorization) ?? (typeof args.token === 'string' ? args.token : undefined);
    delete args.token;
    record({ method, args, token, at: Date.now() });
    if (outage !== undefined && outage !== 'refused') {
      if ('status' in outage) return { status: outage.status, headers: {}, body: { ok: false, error: 'fatal_error' } };
      await sleep(outage.delayMs);
    }
    if (token === undefined) return slackError('not_authed');
    return withFault(method, answer(method, args));
  }

  async function withFault(method: string, normal: Reply): Promise<Reply> {
    const fault = takeFault(method);
    if (fault === undefined) return normal;
    if (fault.delayMs !== undefined) await sleep(fault.delayMs);
    return faultReply(fault) ?? normal;
  }

  const server = createServer((req, res) => {
    handle(req).then(
      (reply) => send(res, reply),
      (err: unknown) => send(res, { status: 500, headers: {}, body: { ok: false, error: String(err) } }),
    );
  });

  function listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  const socketMode = attachFakeSocketMode(server);
  await listen(0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake Slack is not listening on a TCP port');
  const port = address.port;
  origin = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${origin}/api/`,
    calls,
    users,
    usergroups,
    newResponseUrl() {
      const url = `${origin}/response/${teamId}/${next()}/${randomToken()}`;
      responseUrls.add(url);
      return url;
    },
    acknowledgedWith(responseUrl, message) {
      record({ method: 'response_url', args: { responseUrl, ...message }, token: undefined, at: Date.now(), via: 'ack' });
    },
    fail(method, fault, times = 1) {
      const queue = faults.get(method) ?? [];
      queue.push({ fault, remaining: times });
      faults.set(method, queue);
    },
    waitFor(predicate, timeoutMs = 2_000) {
      const seen = calls.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<SlackCall>((resolve, reject) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          waiters.delete(waiter);
          const methods = calls.map((c) => c.method);
          reject(
            new Error(
              `no matching Slack call within ${timeoutMs} ms; calls seen: ${methods.length === 0 ? '(none)' : methods.join(', ')}`,
            ),
          );
        }, timeoutMs);
        timers.add(timer);
        const waiter: Waiter = {
          predicate,
          resolve: (call) => {
            clearTimeout(timer);
            timers.delete(timer);
            resolve(call);
          },
          reject: (err) => {
            clearTimeout(timer);
            timers.delete(timer);
            reject(err);
          },
        };
        waiters.add(waiter);
      });
    },
    async outage(mode) {
      const wasRefused = outage === 'refused';
      outage = mode;
      if (mode === 'refused' && !wasRefused) {
        socketMode.drop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      } else if (mode !== 'refused' && wasRefused) {
        await listen(port);
      }
    },
    callsOf(method) {
      return calls.filter((c) => c.method === method);
    },
    socketMode,
    close() {
      socketMode.drop();
      if (outage === 'refused') return Promise.resolve();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const waiter of waiters) waiter.reject(new Error('fake Slack closed'));
      waiters.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        // A delayed reply would otherwise hold close() open until its client gives up.
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(reply.status, { 'Content-Type': 'application/json; charset=utf-8', ...reply.headers });
  res.end(JSON.stringify(reply.body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string | undefined): Args {
  if (raw.trim() === '') return {};
  // fetch() without a Content-Type says text/plain; a body that is a JSON object is still meant as JSON.
  if (contentType?.includes('application/json') || raw.trimStart().startsWith('{')) {
    const parsed: unknown = JSON.parse(raw);
    if (!isRecord(parsed)) throw new Error('JSON body is not an object');
    return { ...parsed };
  }
  const args: Args = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    args[key] = jsonArgs.has(key) ? decodeJson(value) : value;
  }
  return args;
}

function decodeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

function randomToken(): string {
  return randomBytes(12).toString('base64url');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
