// The audit webhook's signature: HMAC-SHA256 over "v1:<timestamp>:<body>", sent in headers, checked by receivers (and by our tests).
// Modelled on Slack's request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
// the timestamp is inside the signed text, so a captured request cannot be replayed later with a new one.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Unix time in seconds at which the request was signed. */
export const TIMESTAMP_HEADER = 'x-dbaccess-timestamp';
/** `v1=` and the hex HMAC-SHA256 of `v1:<timestamp>:<raw body>` keyed with AUDIT_WEBHOOK_SECRET. */
export const SIGNATURE_HEADER = 'x-dbaccess-signature';
const VERSION = 'v1';
/** How far a receiver should accept a timestamp from its own clock (Slack uses the same five minutes). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The value of SIGNATURE_HEADER for `body` signed at `timestamp` (Unix seconds). */
export function signAuditRequest(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${VERSION}:${timestamp}:${body}`).digest('hex');
  return `${VERSION}=${mac}`;
}

/**
 * What a receiver does: recompute the signature over the raw body as received (before any JSON
 * parsing), compare in constant time, and refuse a timestamp too far from now.
 */
export function verifyAuditRequest(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): boolean {
  const { secret, timestamp, signature, body, nowSeconds } = input;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(signAuditRequest(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
