// Escalations (issue 17 item 4): one row per request or interop action escalated, so "once" holds across restarts.
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';

export interface EscalationLog {
  /** Records that `subject` was escalated now; false when it had been already (nothing changes). */
  add(subject: string): boolean;
  /** When `subject` was escalated, or undefined when it was not. */
  at(subject: string): number | undefined;
}

export function createEscalationLog(db: Database.Database, clock: Clock): EscalationLog {
  const insert = db.prepare<[string, number]>('INSERT INTO escalations (subject, at) VALUES (?, ?) ON CONFLICT (subject) DO NOTHING');
  const when = db.prepare<[string], number>('SELECT at FROM escalations WHERE subject = ?').pluck();
  return {
    add: (subject) => insert.run(subject, clock.now()).changes === 1,
    at: (subject) => when.get(subject),
  };
}
