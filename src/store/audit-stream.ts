// The audit stream's state: per sink, the id of the last audit entry it accepted and its retry state; and the entries after it.
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { toEntry, type AuditEntry, type AuditRow } from './audit.js';

/** Where audit entries are streamed to (the table's CHECK says the same). */
export type AuditSinkName = 'stdout' | 'webhook';

export interface AuditCursor {
  sink: AuditSinkName;
  /** The last entry the sink accepted; every entry with a greater id is still to be delivered. */
  lastId: number;
  /** Failed deliveries in a row (0: the last one was accepted). */
  failures: number;
  /** Not before this moment (ms epoch) is the next delivery tried. */
  nextAttemptAt: number;
  lastError: string | null;
  /** When the current run of failures began; null while deliveries succeed. */
  failingSince: number | null;
}

export interface AuditStreamLog {
  /**
   * The sink's cursor, created on first use: at 0 (`from: 'beginning'`, every entry ever written is
   * delivered) or at the newest entry (`from: 'now'`). An existing cursor is returned unchanged.
   */
  open(sink: AuditSinkName, from: 'beginning' | 'now'): AuditCursor;
  cursor(sink: AuditSinkName): AuditCursor | undefined;
  /** Up to `limit` entries after `afterId`, oldest first. */
  after(afterId: number, limit: number): AuditEntry[];
  /** The sink accepted every entry up to `lastId`: the cursor moves there (never back) and the failures are cleared. */
  advance(sink: AuditSinkName, lastId: number): void;
  /** A delivery failed: counts it and sets when to try again. */
  failed(sink: AuditSinkName, error: string, nextAttemptAt: number): AuditCursor;
  /** Entries after the sink's cursor (the metric); 0 for a sink never opened. */
  waiting(sink: AuditSinkName): number;
  /** This state database's name in idempotency ids: 16 hex digits made by the migration, never changed. */
  source(): string;
}

interface CursorRow {
  sink: AuditSinkName;
  last_id: number;
  failures: number;
  next_attempt_at: number;
  last_error: string | null;
  failing_since: number | null;
}

const MAX_ERROR = 300;

function toCursor(row: CursorRow): AuditCursor {
  return {
    sink: row.sink,
    lastId: row.last_id,
    failures: row.failures,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    failingSince: row.failing_since,
  };
}

export function createAuditStreamLog(db: Database.Database, clock: Clock): AuditStreamLog {
  const select = db.prepare<[AuditSinkName], CursorRow>('SELECT * FROM audit_stream WHERE sink = ?');
  const insert = db.prepare<{ sink: AuditSinkName; lastId: number; now: number }>(
    'INSERT INTO audit_stream (sink, last_id, updated_at) VALUES (@sink, @lastId, @now) ON CONFLICT (sink) DO NOTHING',
  );
  const newest = db.prepare<[], number>('SELECT coalesce(max(id), 0) FROM audit_log').pluck();
  const after = db.prepare<[number, number], AuditRow>('SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?');
  const advance = db.prepare<{ sink: AuditSinkName; lastId: number; now: number }>(
    `UPDATE audit_stream SET last_id = max(last_id, @lastId), failures = 0, next_attempt_at = 0, last_error = NULL,
       failing_since = NULL, updated_at = @now WHERE sink = @sink`,
  );
  const failed = db.prepare<{ sink: AuditSinkName; error: string; next: number; now: number }, CursorRow>(
    `UPDATE audit_stream SET failures = failures + 1, next_attempt_at = @next, last_error = @error,
       failing_since = coalesce(failing_since, @now), updated_at = @now WHERE sink = @sink RETURNING *`,
  );
  // The primary key bounds the count to the entries not yet delivered.
  const waiting = db.prepare<[AuditSinkName], number>(
    'SELECT count(*) FROM audit_log WHERE id > (SELECT last_id FROM audit_stream WHERE sink = ?)',
  ).pluck();
  const source = db.prepare<[], string>('SELECT source FROM audit_stream_source').pluck();

  function cursor(sink: AuditSinkName): AuditCursor | undefined {
    const row = select.get(sink);
    return row === undefined ? undefined : toCursor(row);
  }

  const open = db.transaction((sink: AuditSinkName, from: 'beginning' | 'now'): AuditCursor => {
    insert.run({ sink, lastId: from === 'now' ? (newest.get() ?? 0) : 0, now: clock.now() });
    const opened = cursor(sink);
    if (opened === undefined) throw new AppError('internal', `The audit stream cursor of ${sink} was not written.`);
    return opened;
  });

  return {
    open: (sink, from) => open.immediate(sink, from),
    cursor,
    after(afterId, limit) {
      return after.all(afterId, limit).map(toEntry);
    },
    advance(sink, lastId) {
      advance.run({ sink, lastId, now: clock.now() });
    },
    failed(sink, error, nextAttemptAt) {
      const row = failed.get({ sink, error: error.slice(0, MAX_ERROR), next: nextAttemptAt, now: clock.now() });
      if (row === undefined) throw new AppError('internal', `The audit stream has no cursor for ${sink}: open it first.`);
      return toCursor(row);
    },
    waiting(sink) {
      return waiting.get(sink) ?? 0;
    },
    source() {
      const value = source.get();
      if (value === undefined) throw new AppError('internal', 'The state database has no audit stream source: its migration 7 did not run.');
      return value;
    },
  };
}
