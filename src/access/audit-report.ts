// The audit log for approvers: a readable summary and a CSV export that spreadsheets cannot misread.
import type { AuditEntry } from '../store/audit.js';

// ticket (issue 17 item 1): its own column, so a compliance review can filter by it; it is in detail too.
const COLUMNS = ['at', 'actor', 'action', 'request_id', 'env', 'ticket', 'detail'] as const;

/**
 * One CSV field: quoted when needed, and a leading = + - @ (or tab / carriage return) defused with a quote,
 * so a reason someone typed cannot run as a formula in the approver's spreadsheet (CSV injection).
 */
export function csvField(value: string): string {
  const defused = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused;
}

export function auditCsv(entries: AuditEntry[]): string {
  const rows = entries.map((e) =>
    [new Date(e.at).toISOString(), e.actor, e.action, e.requestId ?? '', e.env ?? '', ticketOf(e), e.detail ? JSON.stringify(e.detail) : ''].map(csvField).join(','),
  );
  return `${[COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}

function ticketOf(e: AuditEntry): string {
  const ticket = e.detail?.['ticket'];
  return typeof ticket === 'string' ? ticket : '';
}

export function auditLine(e: AuditEntry): string {
  const when = new Date(e.at).toISOString().replace('T', ' ').slice(0, 16);
  const who = /^[UW][A-Z0-9]+$/.test(e.actor) ? `<@${e.actor}>` : e.actor;
  return `${when} ${who} ${e.action}${e.env ? ` (${e.env})` : ''}${e.requestId ? ` \`${e.requestId}\`` : ''}`;
}
