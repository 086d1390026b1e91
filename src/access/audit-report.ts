// The audit log for approvers: a readable summary and a CSV export that spreadsheets cannot misread.
import type { AuditEntry } from '../store/audit.js';

const COLUMNS = ['at', 'actor', 'action', 'request_id', 'env', 'detail'] as const;

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
    [new Date(e.at).toISOString(), e.actor, e.action, e.requestId ?? '', e.env ?? '', e.detail ? JSON.stringify(e.detail) : ''].map(csvField).join(','),
  );
  return `${[COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}

export function auditLine(e: AuditEntry): string {
  const when = new Date(e.at).toISOString().replace('T', ' ').slice(0, 16);
  const who = /^[UW][A-Z0-9]+$/.test(e.actor) ? `<@${e.actor}>` : e.actor;
  return `${when} ${who} ${e.action}${e.env ? ` (${e.env})` : ''}${e.requestId ? ` \`${e.requestId}\`` : ''}`;
}
