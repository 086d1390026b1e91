// The audit stream's sinks: JSON lines on stdout for log shippers, and a signed HTTPS webhook. Each resolves only once its entries were accepted.
import type { Clock } from '../../clock.js';
import type { AuditSinkName } from '../../store/audit-stream.js';
import type { StreamedEntry } from './entry.js';
import { SIGNATURE_HEADER, signAuditRequest, TIMESTAMP_HEADER } from './signature.js';

export interface AuditSink {
  readonly name: AuditSinkName;
  /**
   * Delivers a batch, oldest first. Resolves once the sink accepted all of it; rejects otherwise (then
   * the whole batch is sent again later, so a receiver may see an entry twice: it dedups by `id`).
   * `signal` aborts when the stream gives up waiting or stops.
   */
  deliver(entries: readonly StreamedEntry[], signal: AbortSignal): Promise<void>;
}

/** The part of a Writable the stdout sink uses. */
export interface LineWriter {
  write(chunk: string, callback: (err?: Error | null) => void): boolean;
}

/**
 * One JSON object per line. A batch is one write, so the bot's own log lines (pino writes whole lines
 * to the same stdout) never land inside it; shippers tell the two apart by `"type":"audit"`.
 */
export function stdoutSink(out: LineWriter = process.stdout): AuditSink {
  return {
    name: 'stdout',
    deliver(entries) {
      const text = entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
      return new Promise((resolve, reject) => {
        out.write(text, (err) => (err ? reject(err) : resolve()));
      });
    },
  };
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface WebhookSinkOptions {
  url: URL;
  /** AUDIT_WEBHOOK_SECRET, behind a function so nothing that walks the options can print it. */
  secret: () => string;
  /** Names this state database; sent with every batch. */
  source: string;
  clock: Clock;
  /** Default: the global fetch. */
  fetch?: FetchLike;
}

/** A delivery the receiver refused or never answered, described without the URL (it may hold a token). */
export class WebhookError extends Error {
  override readonly name = 'WebhookError';
}

/**
 * POSTs `{"source": …, "entries": [...]}` signed (signature.ts). Any 2xx is acceptance; anything else,
 * a redirect included (it is not followed, so a body never goes where the operator did not point it),
 * is a failure to retry.
 */
export function webhookSink(options: WebhookSinkOptions): AuditSink {
  const send = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  const href = options.url.href;
  return {
    name: 'webhook',
    async deliver(entries, signal) {
      const body = JSON.stringify({ source: options.source, entries });
      const timestamp = Math.floor(options.clock.now() / 1000);
      let response: Response;
      try {
        response = await send(href, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [TIMESTAMP_HEADER]: String(timestamp),
            [SIGNATURE_HEADER]: signAuditRequest(options.secret(), timestamp, body),
          },
          body,
          signal,
          redirect: 'manual',
        });
      } catch (err) {
        throw new WebhookError(`the webhook could not be reached (${reachError(err)})`, { cause: err });
      }
      // Read to the end, so the connection can be reused; the answer itself means nothing to us.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status > 299) {
        throw new WebhookError(`the webhook answered HTTP ${response.status}`);
      }
    },
  };
}

/** fetch's TypeError says only "fetch failed": the cause's code (ECONNREFUSED, UND_ERR_SOCKET…) says why. */
function reachError(err: unknown): string {
  if (err instanceof Error && err.name === 'AbortError') return 'aborted';
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return err instanceof Error ? err.name : 'unknown error';
}
