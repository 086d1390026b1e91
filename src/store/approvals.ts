// Who approved what: one row per approver and subject, so a quorum counts each person once.
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';

export interface ApprovalLog {
  /** Records `approver`'s approval of `subject` (a request, an interop action or a rotation); false when they had already. */
  add(subject: string, approver: string): boolean;
  /** The approvers of `subject`, first first. */
  list(subject: string): string[];
}

export function createApprovalLog(db: Database.Database, clock: Clock): ApprovalLog {
  const insert = db.prepare<[string, string, number]>('INSERT INTO approvals (subject, approver, at) VALUES (?, ?, ?) ON CONFLICT (subject, approver) DO NOTHING');
  const bySubject = db.prepare<[string], string>('SELECT approver FROM approvals WHERE subject = ? ORDER BY at, rowid').pluck();
  return {
    add: (subject, approver) => insert.run(subject, approver, clock.now()).changes === 1,
    list: (subject) => bySubject.all(subject),
  };
}
