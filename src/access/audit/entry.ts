// An audit entry as the stream sends it: one JSON object, marked as audit, with an idempotency id that is unique across bots.
import type { AuditEntry } from '../../store/audit.js';

export interface StreamedEntry {
  /** Always 'audit': tells these lines from the bot's log lines on the same stdout. */
  type: 'audit';
  /** The idempotency id: `<source>:<seq>`, the same on every redelivery; a receiver keeps the first it sees. */
  id: string;
  /** The entry's id in the audit log: increasing, so a receiver can also check the order. */
  seq: number;
  /** When the entry was written, ISO 8601 in UTC. */
  at: string;
  actor: string;
  action: string;
  requestId: string | null;
  env: string | null;
  detail: Record<string, unknown> | null;
}

/** `source` names the state database (store.auditStream.source()). */
export function streamedEntry(entry: AuditEntry, source: string): StreamedEntry {
  return {
    type: 'audit',
    id: `${source}:${entry.id}`,
    seq: entry.id,
    at: new Date(entry.at).toISOString(),
    actor: entry.actor,
    action: entry.action,
    requestId: entry.requestId,
    env: entry.env,
    detail: entry.detail,
  };
}
