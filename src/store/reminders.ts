// Reminders sent exactly once across restarts: a reminder is claimed (a row) before it is sent and marked sent after.
// The messages a reminder became are kept too, so they can be rewritten when the user is extended or revoked.
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { isSqliteError } from './sqlite-errors.js';

export interface ReminderLog {
  /** Claims (request, kind) atomically; true when this caller claimed it, false when it was claimed before (sent, or being sent by someone else). `kind` is e.g. 'expiry:3600000' or 'pending:1'. */
  claim(requestId: string, kind: string): boolean;
  /** Records that the claimed reminder went out; the first sentAt stays. AppError('internal') when it was never claimed. */
  markSent(requestId: string, kind: string): void;
  /** Claims that were never marked sent and are older than `before` (a crash between claim and send): to send again. Oldest first. */
  listUnsent(before: number): { requestId: string; kind: string; claimedAt: number }[];
  /** Drops a claim so it can be claimed again (the send failed). No-op when there is no claim; AppError('internal') for one already sent. */
  release(requestId: string, kind: string): void;
  /** Kinds already claimed for a request, sent or not, in the order they were claimed. */
  kindsFor(requestId: string): string[];
  /** Records a reminder message Slack accepted (channel and ts), to rewrite later; recording one twice changes nothing. */
  recordMessage(requestId: string, message: PostedMessage): void;
  /** The reminder messages of a request, oldest first. */
  messagesFor(requestId: string): PostedMessage[];
}

/** A message as Slack identifies it: the conversation and the message's ts. */
export interface PostedMessage {
  channel: string;
  ts: string;
}

/** Kinds are made by code ('expiry:3600000'), never typed by a person: anything else is a bug. The table's CHECK says the same. */
const KIND = /^[a-z0-9:_-]{1,64}$/;

function assertKind(kind: string): void {
  if (!KIND.test(kind)) {
    throw new AppError('internal', `A reminder kind must be 1 to 64 characters of a-z, 0-9, ':', '_' and '-', not ${JSON.stringify(kind.slice(0, 80))}.`);
  }
}

interface ReminderRow {
  request_id: string;
  kind: string;
  claimed_at: number;
  sent_at: number | null;
}

/** The reminder log over an open, migrated database; statements are prepared here, once. */
export function createReminderLog(db: Database.Database, clock: Clock): ReminderLog {
  // DO NOTHING on the primary key: of two claimers, the one whose insert lands first wins; the other sees no change.
  const insert = db.prepare<[string, string, number]>(
    'INSERT INTO reminders (request_id, kind, claimed_at) VALUES (?, ?, ?) ON CONFLICT (request_id, kind) DO NOTHING',
  );
  const sent = db.prepare<[number, string, string]>(
    'UPDATE reminders SET sent_at = coalesce(sent_at, ?) WHERE request_id = ? AND kind = ?',
  );
  const unsent = db.prepare<[number], ReminderRow>(
    'SELECT * FROM reminders WHERE sent_at IS NULL AND claimed_at < ? ORDER BY claimed_at, rowid',
  );
  const drop = db.prepare<[string, string]>('DELETE FROM reminders WHERE request_id = ? AND kind = ? AND sent_at IS NULL');
  const wasSent = db.prepare<[string, string], number>(
    'SELECT count(*) FROM reminders WHERE request_id = ? AND kind = ? AND sent_at IS NOT NULL',
  ).pluck();
  const kinds = db.prepare<[string], string>('SELECT kind FROM reminders WHERE request_id = ? ORDER BY claimed_at, rowid').pluck();
  const addMessage = db.prepare<[string, string, string, number]>(
    'INSERT INTO reminder_messages (request_id, channel, ts, posted_at) VALUES (?, ?, ?, ?) ON CONFLICT (channel, ts) DO NOTHING',
  );
  const messages = db.prepare<[string], PostedMessage>('SELECT channel, ts FROM reminder_messages WHERE request_id = ? ORDER BY posted_at, rowid');

  return {
    claim(requestId, kind) {
      assertKind(kind);
      try {
        return insert.run(requestId, kind, clock.now()).changes === 1;
      } catch (err) {
        // request_id references requests(id): a reminder about a request that does not exist is a bug in the caller.
        if (isSqliteError(err, 'SQLITE_CONSTRAINT_FOREIGNKEY')) {
          throw new AppError('internal', `Refused a reminder claim for request ${requestId}, which does not exist.`, { cause: err });
        }
        throw err;
      }
    },

    markSent(requestId, kind) {
      assertKind(kind);
      if (sent.run(clock.now(), requestId, kind).changes === 0) {
        throw new AppError('internal', `Reminder ${kind} of request ${requestId} was marked sent without being claimed.`);
      }
    },

    listUnsent(before) {
      return unsent.all(before).map((row) => ({ requestId: row.request_id, kind: row.kind, claimedAt: row.claimed_at }));
    },

    release(requestId, kind) {
      assertKind(kind);
      // A sent reminder released could be claimed and sent again: exactly once is the point of this table.
      if (drop.run(requestId, kind).changes === 0 && (wasSent.get(requestId, kind) ?? 0) > 0) {
        throw new AppError('internal', `Reminder ${kind} of request ${requestId} was already sent; it cannot be released.`);
      }
    },

    kindsFor(requestId) {
      return kinds.all(requestId);
    },

    recordMessage(requestId, message) {
      addMessage.run(requestId, message.channel, message.ts, clock.now());
    },

    messagesFor(requestId) {
      return messages.all(requestId).map((m) => ({ channel: m.channel, ts: m.ts }));
    },
  };
}
