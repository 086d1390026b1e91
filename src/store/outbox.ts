// The outbox: every Slack notification as a row written before it is sent, leased by one dispatcher at a time, delivered in order per key.
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { assertNoSecretKeys, type AuditLog } from './audit.js';

export type OutboxState = 'pending' | 'sent' | 'dead';

export interface OutboxItem {
  id: number;
  /** What to send, e.g. 'revoked.requester': picks the handler. */
  topic: string;
  /** The request ('r_…') or interop action ('i_…') it is about, if any. */
  requestId: string | null;
  env: string | null;
  /** Rows with the same key go out one at a time, in enqueue order; null: independent. */
  orderKey: string | null;
  payload: Record<string, unknown>;
  state: OutboxState;
  /** Deliveries started so far, this one included once leased. */
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
}

export interface NewOutboxItem {
  topic: string;
  requestId?: string;
  env?: string;
  key?: string;
  /** JSON-serializable, never a secret: a key named like a password, secret or token is refused. */
  payload: Record<string, unknown>;
  /** Not sent before this moment (ms epoch); default now. */
  notBefore?: number;
}

export interface OutboxLog {
  /** Writes a pending row and returns its id. Synchronous, so it joins a store.transaction with the change it announces. */
  enqueue(item: NewOutboxItem): number;
  /**
   * Takes up to `limit` due rows for `owner` until now + leaseMs, in one immediate transaction: pending,
   * nextAttemptAt <= now, lease free or expired, and the oldest pending row of their key. Each taken
   * row's attempts is incremented, so a row that crashes its dispatcher every time still runs out of tries.
   */
  lease(now: number, owner: string, leaseMs: number, limit: number): OutboxItem[];
  /** The row went out. False when `owner` no longer holds it (its lease expired and another took it). */
  markSent(id: number, owner: string): boolean;
  /** This attempt failed: pending again from nextAttemptAt, lease released. False when `owner` no longer holds it. */
  markFailed(id: number, owner: string, error: string, nextAttemptAt: number): boolean;
  /** Gives up on the row and appends a 'delivery_failed' audit entry, in one transaction. False when `owner` no longer holds it. */
  markDead(id: number, owner: string, error: string): boolean;
  /** The earliest moment a pending row becomes leasable (due, lease free, first of its key), or null when none will. */
  nextDueAt(now: number): number | null;
  /** Rows not yet sent nor given up (the metric). */
  pending(): number;
  /** Oldest first (diagnostics, tests). */
  list(filter?: { state?: OutboxState; topic?: string; requestId?: string; limit?: number }): OutboxItem[];
  /** Deletes rows sent before `before`; returns how many. Pending and dead rows stay. */
  prune(before: number): number;
}

/** Topics are made by code; anything else is a bug. The table's CHECK says the same. */
const TOPIC = /^[a-z0-9._-]{1,64}$/;
/** Longest error text kept: a sentence, not a stack. */
const MAX_ERROR = 300;

/** The audit log's rule for a key named like a credential: one regex, kept in audit.ts. */
function isSecretKey(key: string): boolean {
  try {
    assertNoSecretKeys({ [key]: null });
    return false;
  } catch {
    return true;
  }
}

/** The path of the first key named like a secret in `value`, at any depth, or undefined. */
function secretPath(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = secretPath(item, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, inner] of Object.entries(value)) {
    if (isSecretKey(key)) return `${path}.${key}`;
    const found = secretPath(inner, `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

function truncate(text: string): string {
  return text.length <= MAX_ERROR ? text : `${text.slice(0, MAX_ERROR - 1)}…`;
}

interface OutboxRow {
  id: number;
  topic: string;
  request_id: string | null;
  env: string | null;
  order_key: string | null;
  payload: string;
  state: OutboxState;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

function toItem(row: OutboxRow): OutboxItem {
  return {
    id: row.id,
    topic: row.topic,
    requestId: row.request_id,
    env: row.env,
    orderKey: row.order_key,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    sentAt: row.sent_at,
  };
}

/** A pending row no earlier pending row of its key holds back. Uses outbox_by_key. */
const FIRST_OF_KEY = `(o.order_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM outbox p WHERE p.state = 'pending' AND p.order_key = o.order_key AND p.id < o.id))`;

/** The outbox over an open, migrated database; statements are prepared here, once. */
export function createOutboxLog(db: Database.Database, clock: Clock, audit: AuditLog): OutboxLog {
  const insert = db.prepare<{ topic: string; requestId: string | null; env: string | null; key: string | null; payload: string; due: number; now: number }>(
    `INSERT INTO outbox (topic, request_id, env, order_key, payload, state, next_attempt_at, created_at, updated_at)
     VALUES (@topic, @requestId, @env, @key, @payload, 'pending', @due, @now, @now)`,
  );
  const due = db.prepare<{ now: number; limit: number }, { id: number }>(
    `SELECT o.id FROM outbox o
     WHERE o.state = 'pending' AND o.next_attempt_at <= @now AND (o.lease_until IS NULL OR o.lease_until <= @now) AND ${FIRST_OF_KEY}
     ORDER BY o.next_attempt_at, o.id LIMIT @limit`,
  );
  const take = db.prepare<{ id: number; owner: string; until: number; now: number }, OutboxRow>(
    `UPDATE outbox SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1, updated_at = @now
     WHERE id = @id RETURNING *`,
  );
  const sent = db.prepare<{ id: number; owner: string; now: number }>(
    `UPDATE outbox SET state = 'sent', sent_at = @now, updated_at = @now, lease_owner = NULL, lease_until = NULL
     WHERE id = @id AND state = 'pending' AND lease_owner = @owner`,
  );
  const failed = db.prepare<{ id: number; owner: string; now: number; error: string; next: number }>(
    `UPDATE outbox SET last_error = @error, next_attempt_at = @next, updated_at = @now, lease_owner = NULL, lease_until = NULL
     WHERE id = @id AND state = 'pending' AND lease_owner = @owner`,
  );
  const dead = db.prepare<{ id: number; owner: string; now: number; error: string }, OutboxRow>(
    `UPDATE outbox SET state = 'dead', last_error = @error, updated_at = @now, lease_owner = NULL, lease_until = NULL
     WHERE id = @id AND state = 'pending' AND lease_owner = @owner RETURNING *`,
  );
  const isRequest = db.prepare<[string], number>('SELECT count(*) FROM requests WHERE id = ?').pluck();
  // A row leased by someone else becomes leasable when its lease ends; rows held back by their key are not counted.
  // Two lookups that each stop early, instead of one min() over every pending row (5.6 ms at 10,000 rows
  // waiting for a slow Slack, on every pass): the first free row in due order (outbox_due), and among
  // rows under lease (few: those in flight; outbox_leased) the first whose lease runs out.
  const nextFree = db.prepare<{ now: number }, number>(
    `SELECT o.next_attempt_at FROM outbox o
     WHERE o.state = 'pending' AND (o.lease_until IS NULL OR o.lease_until <= @now) AND ${FIRST_OF_KEY}
     ORDER BY o.next_attempt_at, o.id LIMIT 1`,
  ).pluck();
  const nextLeased = db.prepare<{ now: number }, number | null>(
    `SELECT min(max(o.next_attempt_at, o.lease_until)) FROM outbox o
     WHERE o.state = 'pending' AND o.lease_until > @now AND ${FIRST_OF_KEY}`,
  ).pluck();
  const countPending = db.prepare<[], number>(`SELECT count(*) FROM outbox WHERE state = 'pending'`).pluck();
  const listRows = db.prepare<{ state: string | null; topic: string | null; requestId: string | null; limit: number }, OutboxRow>(
    `SELECT * FROM outbox
     WHERE (@state IS NULL OR state = @state) AND (@topic IS NULL OR topic = @topic) AND (@requestId IS NULL OR request_id = @requestId)
     ORDER BY id LIMIT @limit`,
  );
  const prune = db.prepare<[number]>(`DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?`);

  const leaseTx = db.transaction((now: number, owner: string, until: number, limit: number): OutboxItem[] =>
    due.all({ now, limit }).flatMap(({ id }) => {
      const row = take.get({ id, owner, until, now });
      return row === undefined ? [] : [toItem(row)];
    }),
  );

  const deadTx = db.transaction((id: number, owner: string, error: string): boolean => {
    const row = dead.get({ id, owner, now: clock.now(), error: truncate(error) });
    if (row === undefined) return false;
    // audit_log.request_id references requests: an interop action's id goes in the detail instead.
    const known = row.request_id !== null && (isRequest.get(row.request_id) ?? 0) > 0;
    audit.append({
      actor: 'bot',
      action: 'delivery_failed',
      requestId: known ? (row.request_id ?? undefined) : undefined,
      env: row.env ?? undefined,
      detail: { what: row.topic, error: row.last_error, ...(!known && row.request_id !== null ? { subject: row.request_id } : {}) },
    });
    return true;
  });

  return {
    enqueue(item) {
      if (!TOPIC.test(item.topic)) {
        throw new AppError('internal', `An outbox topic must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-', not ${JSON.stringify(item.topic.slice(0, 80))}.`);
      }
      const secret = secretPath(item.payload, 'payload');
      if (secret !== undefined) {
        throw new AppError('internal', `Refused to queue a ${item.topic} notification with ${secret}: a key named like a password, secret or token may not be stored.`);
      }
      let payload: string | undefined;
      try {
        payload = JSON.stringify(item.payload);
      } catch (err) {
        throw new AppError('internal', `The payload of a ${item.topic} notification could not be written as JSON.`, { cause: err });
      }
      if (payload === undefined) throw new AppError('internal', `The payload of a ${item.topic} notification is not JSON.`);
      const now = clock.now();
      const result = insert.run({
        topic: item.topic,
        requestId: item.requestId ?? null,
        env: item.env ?? null,
        key: item.key ?? null,
        payload,
        due: item.notBefore ?? now,
        now,
      });
      return Number(result.lastInsertRowid);
    },

    lease(now, owner, leaseMs, limit) {
      if (!(Number.isInteger(limit) && limit > 0)) throw new AppError('internal', `An outbox lease limit must be a positive whole number, not ${limit}.`);
      if (!(leaseMs > 0)) throw new AppError('internal', `An outbox lease must last a positive time, not ${leaseMs} ms.`);
      // Immediate: the write lock is taken before the SELECT, so two dispatchers cannot both see a row free.
      return leaseTx.immediate(now, owner, now + leaseMs, limit);
    },

    markSent(id, owner) {
      return sent.run({ id, owner, now: clock.now() }).changes === 1;
    },

    markFailed(id, owner, error, nextAttemptAt) {
      return failed.run({ id, owner, now: clock.now(), error: truncate(error), next: nextAttemptAt }).changes === 1;
    },

    markDead(id, owner, error) {
      return deadTx.immediate(id, owner, error);
    },

    nextDueAt(now) {
      const free = nextFree.get({ now });
      const leased = nextLeased.get({ now }) ?? undefined;
      if (free === undefined) return leased ?? null;
      return leased === undefined ? free : Math.min(free, leased);
    },

    pending() {
      return countPending.get() ?? 0;
    },

    list(filter = {}) {
      const { state, topic, requestId, limit } = filter;
      return listRows.all({ state: state ?? null, topic: topic ?? null, requestId: requestId ?? null, limit: limit ?? -1 }).map(toItem);
    },

    prune(before) {
      return prune.run(before).changes;
    },
  };
}
