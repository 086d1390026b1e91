// The append-only audit log: who did what to which request, when; SQLite triggers refuse UPDATE and DELETE.
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { isSqliteError } from './sqlite-errors.js';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  requestId: string | null;
  env: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditLog {
  append(entry: { actor: string; action: string; requestId?: string; env?: string; detail?: Record<string, unknown> }): AuditEntry;
  /** Oldest first. `since` is inclusive; without `limit`, every matching entry. */
  list(filter?: { requestId?: string; env?: string; since?: number; limit?: number }): AuditEntry[];
}

/**
 * Key names that suggest a credential. Passwords are never stored (PRODUCT.md, "State"), and the
 * audit log cannot be corrected afterwards — its triggers refuse UPDATE and DELETE — so a secret
 * written once would stay for good. Callers never pass one; this catches the bug where one does,
 * before anything is written. It matches by name only, so it errs on the side of refusing
 * (a key like `bypass` is refused too: rename it).
 */
const SECRET_KEY = /pass(word)?|secret|token/i;

/** Throws AppError('internal') when `detail`, at any depth, has a key named like a secret. */
export function assertNoSecretKeys(detail: unknown, path = 'detail'): void {
  if (Array.isArray(detail)) {
    detail.forEach((item, i) => assertNoSecretKeys(item, `${path}[${i}]`));
    return;
  }
  if (detail === null || typeof detail !== 'object') return;
  for (const [key, value] of Object.entries(detail)) {
    if (SECRET_KEY.test(key)) {
      throw new AppError(
        'internal',
        `Refused to write ${path}.${key} to the audit log: a key named like a password, secret or token may not be stored.`,
      );
    }
    assertNoSecretKeys(value, `${path}.${key}`);
  }
}

/** A row of audit_log as SQLite returns it (the audit stream reads them too). */
export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  request_id: string | null;
  env: string | null;
  detail: string | null;
}

interface ListParams {
  requestId: string | null;
  env: string | null;
  since: number | null;
  limit: number;
}

/** Which filters a list query applies: one prepared statement per combination, so each can use its index. */
type FilterShape = `${boolean}:${boolean}:${boolean}`;

function listSql(byRequest: boolean, byEnv: boolean, bySince: boolean): string {
  const where = [
    byRequest ? 'request_id = @requestId' : null,
    byEnv ? 'env = @env' : null,
    bySince ? 'at >= @since' : null,
  ].filter((term) => term !== null);
  // id, not at, orders entries: two entries can share a millisecond, ids never repeat (AUTOINCREMENT).
  return `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT @limit`;
}

export function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    requestId: row.request_id,
    env: row.env,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  };
}

function serialize(detail: Record<string, unknown>): string {
  try {
    return JSON.stringify(detail);
  } catch (err) {
    throw new AppError('internal', 'An audit detail could not be written as JSON.', { cause: err });
  }
}

/** The audit log over an open, migrated database; statements are prepared here, once. */
export function createAuditLog(db: Database.Database, clock: Clock): AuditLog {
  const insert = db.prepare<
    { at: number; actor: string; action: string; requestId: string | null; env: string | null; detail: string | null },
    AuditRow
  >(
    `INSERT INTO audit_log (at, actor, action, request_id, env, detail)
     VALUES (@at, @actor, @action, @requestId, @env, @detail) RETURNING *`,
  );
  const lists = new Map<FilterShape, Database.Statement<ListParams, AuditRow>>();
  for (const byRequest of [false, true]) {
    for (const byEnv of [false, true]) {
      for (const bySince of [false, true]) {
        lists.set(`${byRequest}:${byEnv}:${bySince}`, db.prepare<ListParams, AuditRow>(listSql(byRequest, byEnv, bySince)));
      }
    }
  }

  return {
    append(entry) {
      if (entry.detail !== undefined) assertNoSecretKeys(entry.detail);
      let row: AuditRow | undefined;
      try {
        row = insert.get({
          at: clock.now(),
          actor: entry.actor,
          action: entry.action,
          requestId: entry.requestId ?? null,
          env: entry.env ?? null,
          detail: entry.detail === undefined ? null : serialize(entry.detail),
        });
      } catch (err) {
        // request_id references requests(id): an entry about a request that does not exist is a bug in the caller.
        if (isSqliteError(err, 'SQLITE_CONSTRAINT_FOREIGNKEY')) {
          throw new AppError('internal', `Refused an audit entry for request ${entry.requestId}, which does not exist.`, { cause: err });
        }
        throw err;
      }
      if (row === undefined) throw new AppError('internal', 'The audit log did not return the entry it wrote.');
      return toEntry(row);
    },

    list(filter = {}) {
      const { requestId, env, since, limit } = filter;
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
        throw new AppError('internal', `An audit list limit must be a positive whole number, not ${limit}.`);
      }
      const shape: FilterShape = `${requestId !== undefined}:${env !== undefined}:${since !== undefined}`;
      const statement = lists.get(shape);
      if (statement === undefined) throw new AppError('internal', `No audit query prepared for filter ${shape}.`);
      // LIMIT -1 is SQLite for "no limit".
      const rows = statement.all({ requestId: requestId ?? null, env: env ?? null, since: since ?? null, limit: limit ?? -1 });
      return rows.map(toEntry);
    },
  };
}
