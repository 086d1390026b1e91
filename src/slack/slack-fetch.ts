// The fetch Bolt and the Web API client use. Replies to a response_url leave over node:http(s) with
// kept-alive connections; everything else (Web API calls, file uploads) goes through the given fetch,
// and observeWebApi tells the Slack status (slack-status.ts) whether each Web API call got an answer.
//
// Why: Bolt's respond() posts through Node's built-in fetch, which costs about 0.6–1 ms of CPU and a
// good deal of garbage per reply, on the same event loop that must acknowledge the next command within
// Slack's 3 seconds. A plain node:http request on a reused connection costs a fraction of that
// (`npm run bench -- --only=ack --diagnose`: bare-respond against bare-respond-http).
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { describeSlackFailure } from './slack-status.js';

export interface SlackFetchOptions {
  /** The Web API base (clientOptions.slackApiUrl); URLs under it always go through `inner`. */
  webApiUrl: string;
  /** A response_url post that has not been answered in this long is abandoned with an error. */
  timeoutMs: number;
}

type Fetch = typeof globalThis.fetch;

/** Longest response body kept (Slack answers a response_url with "ok" or a short error). */
const MAX_BODY = 64 * 1024;

export function slackFetch(inner: Fetch, options: SlackFetchOptions): Fetch {
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : undefined;
    const body = init?.body;
    const headers = init?.headers;
    // Exactly what Bolt's respond() sends: a JSON string POSTed with a plain header object.
    const isReply =
      url !== undefined &&
      !url.startsWith(options.webApiUrl) &&
      /^https?:/.test(url) &&
      init?.method === 'POST' &&
      typeof body === 'string' &&
      isPlainHeaders(headers) &&
      init.signal == null;
    if (!isReply) return inner(input, init);
    return post(url, headers as Record<string, string>, body as string, options.timeoutMs, agents);
  };
}

function isPlainHeaders(headers: unknown): boolean {
  if (headers === undefined) return true;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return false;
  const proto = Object.getPrototypeOf(headers) as unknown;
  return proto === Object.prototype || proto === null;
}

function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, agents: { http: HttpAgent; https: HttpsAgent }): Promise<Response> {
  const https = url.startsWith('https:');
  const send = https ? httpsRequest : httpRequest;
  return new Promise<Response>((resolve, reject) => {
    const request = send(url, { method: 'POST', headers: { ...headers, 'Content-Length': Buffer.byteLength(body) }, agent: https ? agents.https : agents.http }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 599) {
          reject(new Error(`response_url answered with HTTP status ${status}`));
          return;
        }
        resolve(replyResponse(status, res.statusMessage ?? '', res.headers, Buffer.concat(chunks).subarray(0, MAX_BODY)) as unknown as Response);
      });
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`response_url did not answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * What Bolt's respond() and the metrics hook read of a fetch Response (ok, status, statusText,
 * headers.get), plus the body as text or JSON. Building an undici Response instead costs about 60 µs
 * per reply, more than the request itself.
 */
export interface ReplyResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
  clone(): ReplyResponse;
}

function replyResponse(status: number, statusText: string, headers: IncomingHttpHeaders, body: Buffer): ReplyResponse {
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText,
    headers: {
      get(name) {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    text: () => Promise.resolve(body.toString('utf8')),
    json: () => Promise.resolve().then(() => JSON.parse(body.toString('utf8')) as unknown),
    clone: () => replyResponse(status, statusText, headers, body),
  };
}

/**
 * Tells `observe` what each Web API call found: undefined when Slack answered (any status below 500),
 * else why it did not (a socket error code, a timeout, "HTTP 503"). Replies to a response_url are
 * not the Web API and are not reported. The call itself is untouched.
 */
export function observeWebApi<Init, Res extends { status: number }>(
  inner: (url: string | URL, init?: Init) => Promise<Res>,
  webApiUrl: string,
  observe: (failure: string | undefined) => void,
): (url: string | URL, init?: Init) => Promise<Res> {
  return async (url, init) => {
    if (!String(url).startsWith(webApiUrl)) return inner(url, init);
    try {
      const response = await inner(url, init);
      observe(response.status >= 500 ? `HTTP ${response.status}` : undefined);
      return response;
    } catch (err) {
      observe(describeSlackFailure(err));
      throw err;
    }
  };
}
