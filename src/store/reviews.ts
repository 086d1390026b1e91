// Access reviews of permanent users (issue 17 item 3): per user, when the next review is due, and the open
// review's progress (asked, reminded, expired) and message. The rules live in src/access/review/.
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { PostedMessage } from './reminders.js';

export interface Review {
  requestId: string;
  dueAt: number;
  askedAt: number | null;
  remindedAt: number | null;
  expiredAt: number | null;
  message: PostedMessage | null;
  lastReviewedAt: number | null;
  lastReviewedBy: string | null;
}

export interface ReviewLog {
  /** The review row of a permanent user, or undefined before its first schedule. */
  get(requestId: string): Review | undefined;
  /** Schedules the first review of a user at `dueAt`; a user already scheduled keeps its row. */
  schedule(requestId: string, dueAt: number): void;
  /** Every scheduled review, soonest first. */
  list(): Review[];
  /** The ids of active permanent users, oldest first: the users reviews are about (never the many temporary ones). */
  activePermanentIds(): string[];
  /** Marks the review asked (the message is queued); false when one is open already. */
  markAsked(requestId: string): boolean;
  markReminded(requestId: string): boolean;
  markExpired(requestId: string): boolean;
  /** The review message Slack accepted, to rewrite after the decision. */
  recordMessage(requestId: string, message: PostedMessage): void;
  /** Closes the open review (Keep): the next is due at `nextDueAt`. False when none was open (a second click). */
  keep(requestId: string, by: string, nextDueAt: number): boolean;
  /** Closes the open review without scheduling another (Revoke, or the user is gone). */
  close(requestId: string, by: string): boolean;
}

interface ReviewRow {
  request_id: string;
  due_at: number;
  asked_at: number | null;
  reminded_at: number | null;
  expired_at: number | null;
  channel: string | null;
  ts: string | null;
  last_reviewed_at: number | null;
  last_reviewed_by: string | null;
}

function reviewOf(row: ReviewRow): Review {
  return {
    requestId: row.request_id,
    dueAt: row.due_at,
    askedAt: row.asked_at,
    remindedAt: row.reminded_at,
    expiredAt: row.expired_at,
    message: row.channel !== null && row.ts !== null ? { channel: row.channel, ts: row.ts } : null,
    lastReviewedAt: row.last_reviewed_at,
    lastReviewedBy: row.last_reviewed_by,
  };
}

export function createReviewLog(db: Database.Database, clock: Clock): ReviewLog {
  const one = db.prepare<[string], ReviewRow>('SELECT * FROM reviews WHERE request_id = ?');
  const all = db.prepare<[], ReviewRow>('SELECT * FROM reviews ORDER BY due_at, request_id');
  const permanent = db.prepare<[], string>("SELECT id FROM requests WHERE state = 'active' AND kind = 'permanent' ORDER BY created_at, id").pluck();
  const insert = db.prepare<[string, number]>('INSERT INTO reviews (request_id, due_at) VALUES (?, ?) ON CONFLICT (request_id) DO NOTHING');
  const asked = db.prepare<[number, string]>('UPDATE reviews SET asked_at = ?, channel = NULL, ts = NULL WHERE request_id = ? AND asked_at IS NULL');
  const reminded = db.prepare<[number, string]>('UPDATE reviews SET reminded_at = ? WHERE request_id = ? AND asked_at IS NOT NULL AND reminded_at IS NULL');
  const expired = db.prepare<[number, string]>('UPDATE reviews SET expired_at = ? WHERE request_id = ? AND asked_at IS NOT NULL AND expired_at IS NULL');
  const message = db.prepare<[string, string, string]>('UPDATE reviews SET channel = ?, ts = ? WHERE request_id = ?');
  const keep = db.prepare<[number, number, string, string]>(
    `UPDATE reviews SET due_at = ?, asked_at = NULL, reminded_at = NULL, expired_at = NULL, last_reviewed_at = ?, last_reviewed_by = ?
     WHERE request_id = ? AND asked_at IS NOT NULL`,
  );
  const close = db.prepare<[number, string, string]>(
    `UPDATE reviews SET asked_at = NULL, reminded_at = NULL, expired_at = NULL, last_reviewed_at = ?, last_reviewed_by = ?
     WHERE request_id = ? AND asked_at IS NOT NULL`,
  );
  return {
    get: (requestId) => {
      const row = one.get(requestId);
      return row ? reviewOf(row) : undefined;
    },
    schedule: (requestId, dueAt) => void insert.run(requestId, dueAt),
    list: () => all.all().map(reviewOf),
    activePermanentIds: () => permanent.all(),
    markAsked: (requestId) => asked.run(clock.now(), requestId).changes === 1,
    markReminded: (requestId) => reminded.run(clock.now(), requestId).changes === 1,
    markExpired: (requestId) => expired.run(clock.now(), requestId).changes === 1,
    recordMessage: (requestId, posted) => void message.run(posted.channel, posted.ts, requestId),
    keep: (requestId, by, nextDueAt) => keep.run(nextDueAt, clock.now(), by, requestId).changes === 1,
    close: (requestId, by) => close.run(clock.now(), by, requestId).changes === 1,
  };
}
