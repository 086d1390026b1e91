// The audit stream's face: builds the sinks the variables turn on and the stream over them (src/app.ts starts and stops it).
import type { Clock } from '../../clock.js';
import type { EnvVars } from '../../config.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/store.js';
import { stdoutSink, webhookSink, type AuditSink, type FetchLike, type LineWriter } from './sinks.js';
import { createAuditStream, type AuditStream, type AuditStreamOptions } from './stream.js';

export type { AuditStream } from './stream.js';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signAuditRequest, verifyAuditRequest } from './signature.js';

/** What tests and the console may change: shorter waits, their own stdout and fetch. */
export interface AuditStreamOverrides {
  backoff?: AuditStreamOptions['backoff'];
  pollMs?: number;
  batchSize?: number;
  timeoutMs?: number;
  stdout?: LineWriter;
  fetch?: FetchLike;
}

type AuditVars = Pick<EnvVars, 'AUDIT_STREAM' | 'AUDIT_WEBHOOK_URL' | 'AUDIT_WEBHOOK_SECRET' | 'AUDIT_WEBHOOK_TIMEOUT' | 'AUDIT_STREAM_FROM'>;

/** The stream the variables ask for; one without sinks (start and stop do nothing) when none is set. */
export function auditStreamFromConfig(input: { vars: AuditVars; store: Store; clock: Clock; log: Logger; overrides?: AuditStreamOverrides }): AuditStream {
  const { vars, store, clock, log, overrides = {} } = input;
  const sinks: AuditSink[] = [];
  if (vars.AUDIT_STREAM === 'stdout') sinks.push(stdoutSink(overrides.stdout));
  const secret = vars.AUDIT_WEBHOOK_SECRET;
  if (vars.AUDIT_WEBHOOK_URL !== undefined && secret !== undefined) {
    sinks.push(
      webhookSink({
        url: new URL(vars.AUDIT_WEBHOOK_URL),
        secret,
        source: store.auditStream.source(),
        clock,
        ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
      }),
    );
  }
  const timeoutMs = overrides.timeoutMs ?? vars.AUDIT_WEBHOOK_TIMEOUT;
  return createAuditStream({
    store,
    sinks,
    clock,
    log,
    ...(vars.AUDIT_STREAM_FROM ? { from: vars.AUDIT_STREAM_FROM } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(overrides.backoff ? { backoff: overrides.backoff } : {}),
    ...(overrides.pollMs !== undefined ? { pollMs: overrides.pollMs } : {}),
    ...(overrides.batchSize !== undefined ? { batchSize: overrides.batchSize } : {}),
  });
}
