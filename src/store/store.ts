// The bot's state in SQLite: opens the one better-sqlite3 handle, applies migrations, and hands out the repositories and a transaction helper.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { createApprovalLog, type ApprovalLog } from './approvals.js';
import { createAuditLog, type AuditLog } from './audit.js';
import { createAuditStreamLog, type AuditStreamLog } from './audit-stream.js';
import { createEscalationLog, type EscalationLog } from './escalations.js';
import { createInteropLog, type InteropLog } from './interop.js';
import { createOutboxLog, type OutboxLog } from './outbox.js';
import { createReminderLog, type ReminderLog } from './reminders.js';
import { createRequestRepository, type RequestRepository } from './requests.js';
import { createReviewLog, type ReviewLog } from './reviews.js';
import { MIGRATIONS } from './migrations.js';
import { isSqliteError } from './sqlite-errors.js';

export interface Store {
  requests: RequestRepository;
  audit: AuditLog;
  /** Per sink, how far the audit stream got (src/access/audit/stream.ts). */
  auditStream: AuditStreamLog;
  reminders: ReminderLog;
  interop: InteropLog;
  outbox: OutboxLog;
  approvals: ApprovalLog;
  /** Issue 17 item 4: what was escalated, once. */
  escalations: EscalationLog;
  /** Issue 17 item 3: access reviews of permanent users. */
  reviews: ReviewLog;
  /**
   * Runs fn in one SQLite transaction (better-sqlite3's db.transaction; immediate mode, so the write
   * lock is taken at the start and a read-then-write inside cannot be overtaken). Repository calls
   * inside join it through savepoints. fn must be synchronous: better-sqlite3 commits when it returns.
   */
  transaction<T>(fn: () => T): T;
  /** Readiness: a write that is rolled back. Throws when the file cannot be written (read-only, gone, closed). */
  checkWritable(): void;
  /** The longest synchronous wait for another process's lock, in ms (the busy_timeout pragma in force). */
  busyTimeoutMs(): number;
  close(): void;
}

export { MIGRATIONS } from './migrations.js';

/**
 * Applies the migrations `db` has not seen yet, all in one immediate transaction: two processes
 * opening the same new file cannot both apply a version, and a failing migration leaves the file
 * as it was. Returns the versions applied. Exported for tests; openStore is the way in.
 */
export function applyMigrations(db: Database.Database, migrations: readonly string[], now: number): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  const current = db.prepare<[], number>('SELECT coalesce(max(version), 0) FROM schema_migrations').pluck();
  const record = db.prepare<[number, number]>('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  const violations = db.prepare('PRAGMA foreign_key_check');

  const migrate = db.transaction((): number[] => {
    const from = current.get() ?? 0;
    if (from > migrations.length) {
      throw new AppError(
        'internal',
        `The state database ${db.name} has schema version ${from}, newer than this bot knows (${migrations.length}): ` +
          'run the newer version of the bot, or set DBACCESS_DB to another file.',
      );
    }
    const applied: number[] = [];
    for (let version = from + 1; version <= migrations.length; version++) {
      db.exec(migrations[version - 1] ?? '');
      record.run(version, now);
      applied.push(version);
    }
    // Foreign keys are off while migrating (a rebuild drops a referenced table): check them before committing.
    if (applied.length > 0 && violations.all().length > 0) {
      throw new AppError('internal', `Migration to schema version ${migrations.length} left rows pointing at missing rows.`);
    }
    return applied;
  });

  // PRAGMA foreign_keys is a no-op inside a transaction, so it is switched around it.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    return migrate.immediate();
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
}

/** Why the file at `path` could not be opened, as a sentence that says what to do. */
function openError(path: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const problem = isSqliteError(err, 'SQLITE_NOTADB')
    ? 'the file is not a SQLite database'
    : isSqliteError(err, 'SQLITE_CORRUPT')
      ? 'the database file is damaged'
      : err instanceof Error
        ? err.message
        : String(err);
  return new AppError(
    'internal',
    `Cannot open the state database ${path}: ${problem}. Check DBACCESS_DB: it must name the bot's SQLite file, or a new path to start empty.`,
    { cause: err },
  );
}

/**
 * Opens (creating if needed) the SQLite file at `path`, or an in-memory database for ':memory:',
 * and brings its schema up to date. The returned Store owns the handle until close().
 */
/** The longest synchronous wait for another process's lock (issue 13: no wait on the event loop over 50 ms). */
export const BUSY_TIMEOUT_MS = 40;

/** Thrown to roll back checkWritable's probe. */
const ROLLBACK = Symbol('rollback');

export function openStore(path: string, options: { clock?: Clock } = {}): Store {
  const clock = options.clock ?? systemClock;
  const memory = path === ':memory:';
  if (!memory) {
    const folder = dirname(resolve(path));
    try {
      mkdirSync(folder, { recursive: true });
    } catch (err) {
      throw new AppError(
        'internal',
        `Cannot create the folder ${folder} for the state database ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}. ` +
          'Create it with write access for the bot, or set DBACCESS_DB to a path the bot can write.',
        { cause: err },
      );
    }
  }

  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    // WAL: readers do not block the writer and a crash loses no committed transaction; no-op in memory.
    db.pragma('journal_mode = WAL');
    // A second process (a backup, an operator's sqlite3 shell) may hold the lock. Every wait is synchronous
    // on the event loop that acknowledges Slack, so it is kept short; writes that must land are retried
    // asynchronously by their callers (src/access/core/store-retry.ts).
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    applyMigrations(db, MIGRATIONS, clock.now());
  } catch (err) {
    db?.close();
    throw openError(path, err);
  }
  const handle = db;

  const audit = createAuditLog(handle, clock);
  const requests = createRequestRepository(handle, clock, audit);
  const reminders = createReminderLog(handle, clock);
  const interop = createInteropLog(handle, clock, audit);
  const outbox = createOutboxLog(handle, clock, audit);
  const approvals = createApprovalLog(handle, clock);
  const auditStream = createAuditStreamLog(handle, clock);
  const escalations = createEscalationLog(handle, clock);
  const reviews = createReviewLog(handle, clock);
  const run = handle.transaction((fn: () => unknown): unknown => {
    const result = fn();
    // An async fn would run its awaits after the commit, outside the transaction: refuse it, and roll back.
    if (result instanceof Promise) {
      result.catch(() => {});
      throw new AppError('internal', 'store.transaction needs a synchronous function: better-sqlite3 commits when it returns.');
    }
    return result;
  });

  return {
    requests,
    audit,
    auditStream,
    interop,
    reminders,
    outbox,
    approvals,
    escalations,
    reviews,
    transaction<T>(fn: () => T): T {
      // The generic is erased by better-sqlite3's types; run returns exactly what fn returned.
      return run.immediate(fn) as T;
    },
    checkWritable() {
      // No waiting: this runs on the event loop, and busy_timeout would freeze the bot for 5 s while
      // another process (a backup, an operator's sqlite3 shell) holds the write lock.
      handle.pragma('busy_timeout = 0');
      try {
        // Matches no row, yet SQLite refuses it on a read-only file; immediate mode takes the write lock.
        handle
          .transaction(() => {
            handle.prepare('UPDATE schema_migrations SET applied_at = applied_at WHERE version = 0').run();
            throw ROLLBACK;
          })
          .immediate();
      } catch (err) {
        // Busy: another connection is writing, so the file is writable; the bot's own writes wait their turn.
        if (err !== ROLLBACK && !isSqliteError(err, 'SQLITE_BUSY')) throw err;
      } finally {
        handle.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
    },
    busyTimeoutMs() {
      return Number(handle.pragma('busy_timeout', { simple: true }));
    },
    close() {
      if (handle.open) handle.close();
    },
  };
}
