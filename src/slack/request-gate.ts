// The door of /slack/events: checks a request's signature and age and the shape of its body before
// Bolt sees it, so a request that is not from Slack gets 401, a signed one that is malformed gets 400,
// and neither reaches code that could throw outside a try (issue 14, problems 5 and 6).
//
// Slack's rule ("Verifying requests from Slack", docs.slack.dev/authentication/verifying-requests-from-slack):
// HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret, and reject a timestamp more
// than five minutes from the local time in either direction. Bolt's own check only rejects old ones,
// and a signed `payload=null` makes its receiver throw in a promise nobody awaits.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { HTTPModuleFunctions } from '@slack/bolt';
import type { Logger } from '../log.js';

/** Slack's window, either way. */
export const MAX_CLOCK_SKEW_SECONDS = 5 * 60;

export interface RequestGateOptions {
  signingSecret: string;
  /** The path Slack posts to; anything else goes straight to Bolt. */
  path: string;
  log: Logger;
  /** Milliseconds since the epoch: the wall clock, since it is compared with Slack's. */
  now?: () => number;
  /** Largest body read, in bytes (Bolt's default: 4 MB). */
  bodyLimit?: number;
}

export function gateSlackRequests(next: RequestListener, options: RequestGateOptions): RequestListener {
  const { log } = options;
  const now = options.now ?? Date.now;

  async function admit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw: string;
    try {
      const buffered = await HTTPModuleFunctions.bufferIncomingMessage(req, options.bodyLimit ?? HTTPModuleFunctions.defaultBodyLimit);
      raw = buffered.rawBody.toString('utf8');
    } catch (err) {
      const tooLarge = HTTPModuleFunctions.isRawBodyError(err) && err.statusCode === 413;
      log.warn({ status: tooLarge ? 413 : 400 }, tooLarge ? 'Slack request refused: body too large' : 'Slack request refused: body could not be read');
      return refuse(res, tooLarge ? 413 : 400);
    }
    const form = isForm(req) ? new URLSearchParams(raw) : undefined;
    // Slack's SSL check carries no signature and asks for nothing but a 200; nothing else in it is read.
    if (form?.get('ssl_check') === '1') return refuse(res, 200);
    const unsigned = signatureProblem(req, raw, options.signingSecret, now());
    if (unsigned) {
      log.warn({ status: 401, reason: unsigned }, 'Slack request refused');
      return refuse(res, 401);
    }
    const malformed = form ? formProblem(form) : jsonProblem(raw);
    if (malformed) {
      log.warn({ status: 400, reason: malformed }, 'signed Slack request with a malformed body refused');
      return refuse(res, 400);
    }
    next(req, res);
  }

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'POST' || path !== options.path) {
      next(req, res);
      return;
    }
    admit(req, res).catch((err: unknown) => {
      log.error({ err }, 'Slack request could not be checked');
      if (!res.headersSent) refuse(res, 500);
    });
  };
}

function refuse(res: ServerResponse, status: number): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

function isForm(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** Why the request is not provably Slack's, or undefined when it is. */
export function signatureProblem(req: Pick<IncomingMessage, 'headers'>, body: string, signingSecret: string, nowMs: number): string | undefined {
  const timestampHeader = req.headers['x-slack-request-timestamp'];
  const signatureHeader = req.headers['x-slack-signature'];
  if (typeof timestampHeader !== 'string' || typeof signatureHeader !== 'string') return 'missing signature headers';
  if (!/^\d{1,12}$/.test(timestampHeader)) return 'timestamp is not a number of seconds';
  const timestamp = Number(timestampHeader);
  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) > MAX_CLOCK_SKEW_SECONDS) return 'timestamp more than 5 minutes from now';
  const expected = Buffer.from(`v0=${createHmac('sha256', signingSecret).update(`v0:${timestampHeader}:${body}`).digest('hex')}`);
  const given = Buffer.from(signatureHeader);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature mismatch';
  return undefined;
}

/** Interactive payloads, all of which name the person who acted. */
function payloadProblem(text: string): string | undefined {
  const payload = parseObject(text);
  if (!payload) return 'payload is not a JSON object';
  if (typeof payload['type'] !== 'string') return 'payload has no type';
  const user = payload['user'];
  if (!isRecord(user) || typeof user['id'] !== 'string') return 'payload names no user';
  return undefined;
}

/** A slash command, an interactive payload (`payload=`), or neither. */
function formProblem(form: URLSearchParams): string | undefined {
  const payload = form.get('payload');
  if (payload !== null) return payloadProblem(payload);
  if (form.get('command') && form.get('user_id')) return undefined;
  return 'neither a slash command nor an interactive payload';
}

/** Events API bodies: a JSON object with a type. */
function jsonProblem(raw: string): string | undefined {
  const body = parseObject(raw);
  if (!body) return 'body is not a JSON object';
  return typeof body['type'] === 'string' ? undefined : 'body has no type';
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
