// Access requests and their lifecycle: the state machine, and the repository that moves a request through it atomically with its audit entry.
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { assertNoSecretKeys, type AuditLog } from './audit.js';
import { isSqliteError } from './sqlite-errors.js';

export type RequestState =
  | 'pending'
  | 'approved'
  | 'provisioning'
  | 'active'
  | 'revoking'
  | 'revoke_failed'
  | 'revoked'
  | 'denied'
  | 'expired'
  | 'failed';

// Permanent and interop requests come later: the kind column's CHECK lists the kinds, and a migration extends it.
export type RequestKind = 'temporary' | 'permanent';
export type Access = 'readwrite' | 'readonly' | 'interop';

export const REQUEST_STATES: readonly RequestState[] = Object.freeze([
  'pending',
  'approved',
  'provisioning',
  'active',
  'revoking',
  'revoke_failed',
  'revoked',
  'denied',
  'expired',
  'failed',
] as const);

/**
 * States in which a request still holds (or may soon hold) a database user: at most one per person, environment and kind.
 * revoke_failed is one: its user may still exist, so the person cannot ask for another until it is resolved.
 */
export const OPEN_STATES: readonly RequestState[] = Object.freeze([
  'pending',
  'approved',
  'provisioning',
  'active',
  'revoking',
  'revoke_failed',
] as const);

/** States whose revocation is retried when nextAttemptAt comes: listRetryDue, nextDueAt. */
const RETRY_STATES: readonly RequestState[] = Object.freeze(['revoking', 'revoke_failed'] as const);

/**
 * The state machine: the states each state may move to. `active → active` is an extension (a new
 * expiresAt); `revoking → revoking` records another revocation attempt; `revoking → revoke_failed`
 * gives up the quick retries, and revoke_failed goes back to revoking for a later attempt, or to
 * revoked once someone confirms the user is gone. failed, denied, expired and revoked are terminal.
 * There is no way back from revoking (or revoke_failed) to active: once revocation started, the
 * user may already be unable to log in, so an extension would promise access that no longer exists.
 */
export const TRANSITIONS: Readonly<Record<RequestState, readonly RequestState[]>> = Object.freeze({
  pending: Object.freeze(['approved', 'denied', 'expired', 'failed'] as const),
  approved: Object.freeze(['provisioning', 'failed'] as const),
  // provisioning → revoking: creating failed or could not be recorded, and the half-made user's drop must be retried.
  provisioning: Object.freeze(['active', 'failed', 'revoking'] as const),
  active: Object.freeze(['revoking', 'active'] as const),
  // → failed: the user being dropped was never handed out (creating it failed), and now it is gone.
  revoking: Object.freeze(['revoked', 'revoking', 'revoke_failed', 'failed'] as const),
  revoke_failed: Object.freeze(['revoking', 'revoked', 'failed'] as const),
  revoked: Object.freeze([] as const),
  denied: Object.freeze([] as const),
  expired: Object.freeze([] as const),
  failed: Object.freeze([] as const),
});

export interface AccessRequest {
  /** 'r_' + 10 random base32 characters. */
  id: string;
  kind: RequestKind;
  env: string;
  /** Slack user id. */
  requester: string;
  /** Display name at request time. */
  requesterName: string;
  access: Access;
  /** Requested lifetime. */
  durationMs: number;
  reason: string;
  state: RequestState;
  /** Database username, set when provisioning starts (before the CREATE), so a crash can be reconciled. */
  username: string | null;
  /** The requester chose the password (the password itself is never stored). */
  ownPassword: boolean;
  breakGlass: boolean;
  /** Milliseconds since the epoch, from the Clock. */
  createdAt: number;
  updatedAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionReason: string | null;
  activatedAt: number | null;
  expiresAt: number | null;
  /** The approval message, to update it later. */
  approvalChannel: string | null;
  approvalTs: string | null;
  /** Last failure, a sentence (never a password). */
  error: string | null;
  /** Revocation attempts made so far (0 until revocation starts). */
  revokeAttempts: number;
  /** When to try revoking again (revoking, revoke_failed); null when none is scheduled. */
  nextAttemptAt: number | null;
  /** How many times the expiry was extended. */
  extensions: number;
  /** Permanent users: how they connect, and from which public IPs when allowlisted. */
  via: Via | null;
  ips: string[];
  /** Permanent users: a password rotation waiting for approval, who asked and when, and its approval message. */
  rotationRequestedBy: string | null;
  rotationRequestedAt: number | null;
  rotationApprovalTs: string | null;
  /** Governance (issue 17): the ticket reference given, or null. */
  ticket: string | null;
  /** Approvals needed, fixed at request time (the change window may add one); null: the policy's quorum. */
  requiredApprovals: number | null;
  /** The change window the request was made outside of ("Mon–Fri 08:00–18:00 Europe/Lisbon"), or null. */
  outsideWindow: string | null;
}

export type Via = 'vpn' | 'tgw' | 'allowlist';

export interface NewRequest {
  kind: RequestKind;
  env: string;
  requester: string;
  requesterName: string;
  access: Access;
  durationMs: number;
  reason: string;
  ownPassword: boolean;
  breakGlass: boolean;
  /** The database username, when it is chosen up front (so the approval plan can name it). */
  username?: string;
  via?: Via;
  ips?: string[];
  ticket?: string | null;
  requiredApprovals?: number;
  outsideWindow?: string | null;
}

type SettableField =
  | 'username'
  | 'decidedBy'
  | 'decidedAt'
  | 'decisionReason'
  | 'activatedAt'
  | 'expiresAt'
  | 'error'
  | 'approvalChannel'
  | 'approvalTs'
  | 'revokeAttempts'
  | 'nextAttemptAt'
  | 'extensions';

/** Fields a transition may change along with the state. */
type Changes = Partial<Pick<AccessRequest, SettableField>>;

const SETTABLE_FIELDS: readonly SettableField[] = [
  'username',
  'decidedBy',
  'decidedAt',
  'decisionReason',
  'activatedAt',
  'expiresAt',
  'error',
  'approvalChannel',
  'approvalTs',
  'revokeAttempts',
  'nextAttemptAt',
  'extensions',
];

export interface Transition {
  from: readonly RequestState[];
  to: RequestState;
  /** Slack user id, or 'bot' / 'scheduler'. */
  actor: string;
  /** Fields to change with the state; a field left out (or undefined) keeps its value, null clears it. */
  set?: Changes;
  /** Extra audit detail (JSON-serializable, no secrets). */
  detail?: Record<string, unknown>;
}

export interface RequestRepository {
  /** How many requests are in each state (the metrics gauge); states with none are absent. */
  countByState(): Partial<Record<RequestState, number>>;
  /**
   * Inserts a pending request and its 'requested' audit entry atomically. Throws AppError('conflict')
   * naming the open request when the requester already has an open request of that kind in that
   * environment (enforced by a partial UNIQUE index, so two concurrent creates cannot both succeed).
   */
  create(input: NewRequest, actor: string): AccessRequest;
  get(id: string): AccessRequest | undefined;
  /**
   * Atomically moves `id` from one of `from` to `to`, applies `set`, bumps updatedAt and appends an
   * audit entry with action `'state:' + to` and detail `{ ...t.detail, from, changes: t.set }`.
   * Returns the updated request, or undefined when the request is not in one of `from` (someone
   * else moved it first: a double click, a second approver); nothing is written then. Throws
   * AppError('internal') for a transition TRANSITIONS forbids, whatever the current state, and
   * AppError('not_found') when no request has this id.
   */
  transition(id: string, t: Transition): AccessRequest | undefined;
  /** Non-state fields that change without a transition (the approval message's ts once posted). Bumps updatedAt; not audited; AppError('not_found') for an unknown id. */
  setApprovalMessage(id: string, channel: string, ts: string): void;
  /** The open request (OPEN_STATES) of this requester, kind and environment, if any. */
  findOpen(env: string, requester: string, kind: RequestKind): AccessRequest | undefined;
  /** By requester, newest first, optionally only some states. */
  listByRequester(requester: string, states?: readonly RequestState[]): AccessRequest[];
  /** All requests in the given states, oldest first (for approvers' lists, reconciliation). */
  listInStates(states: readonly RequestState[]): AccessRequest[];
  /** Active requests whose expiresAt <= at, soonest first, at most `limit`. */
  listExpiring(at: number, limit: number): AccessRequest[];
  /** Active requests with after < expiresAt <= upTo, soonest first: the users a reminder window newly reaches. */
  listExpiringBetween(after: number, upTo: number): AccessRequest[];
  /** The open permanent user of an environment with this access, if any. */
  findPermanent(env: string, access: Access): AccessRequest | undefined;
  /** Marks a password rotation as asked for (audited); false when one is already pending or the user is not an active permanent one. */
  requestRotation(id: string, by: string): boolean;
  setRotationMessage(id: string, ts: string): void;
  /** Ends a pending rotation, approved or denied (audited); returns the request as it was, or undefined when none was pending (a second click). */
  finishRotation(id: string, actor: string, outcome: 'approved' | 'denied'): AccessRequest | undefined;
  /** The earliest expiresAt of an active request later than `after`, or null. */
  nextExpiryAfter(after: number): number | null;
  /** Requests in revoking or revoke_failed whose nextAttemptAt <= at, soonest first, at most `limit`; null nextAttemptAt is never due. */
  listRetryDue(at: number, limit: number): AccessRequest[];
  /**
   * The earliest moment any work is due: the soonest expiresAt of an active request or nextAttemptAt
   * of a revoking / revoke_failed one; null when there is none. A scheduler sleeps until then.
   */
  nextDueAt(): number | null;
  /**
   * Revocation work of one environment due at `at`: active requests expired by then, and revoking /
   * revoke_failed ones whose next attempt has come; soonest first, at most `limit`, none of `exclude`.
   */
  listDueIn(env: string, at: number, limit: number, exclude?: readonly string[]): AccessRequest[];
  /** Open requests per environment (configuration drift: environments no longer configured that still have some). */
  countOpenByEnv(): Record<string, number>;
  /** nextDueAt restricted to the environments `envs`, leaving out the requests `exclude` (already being worked on). */
  nextDueAmong(envs: readonly string[], exclude: readonly string[]): number | null;
  /** Pending requests created at or before `at`, oldest first, at most `limit` (approval reminders). */
  listPendingOlderThan(at: number, limit: number): AccessRequest[];
}

interface RequestRow {
  id: string;
  kind: RequestKind;
  env: string;
  requester: string;
  requester_name: string;
  access: Access;
  duration_ms: number;
  reason: string;
  state: RequestState;
  username: string | null;
  requester_chose_credential: 0 | 1;
  break_glass: 0 | 1;
  created_at: number;
  updated_at: number;
  decided_by: string | null;
  decided_at: number | null;
  decision_reason: string | null;
  activated_at: number | null;
  expires_at: number | null;
  approval_channel: string | null;
  approval_ts: string | null;
  error: string | null;
  revoke_attempts: number;
  next_attempt_at: number | null;
  extensions: number;
  via: Via | null;
  ips: string | null;
  rotation_requested_by: string | null;
  rotation_requested_at: number | null;
  rotation_approval_ts: string | null;
  ticket: string | null;
  required_approvals: number | null;
  outside_window: string | null;
}

function toRequest(row: RequestRow): AccessRequest {
  return {
    id: row.id,
    kind: row.kind,
    env: row.env,
    requester: row.requester,
    requesterName: row.requester_name,
    access: row.access,
    durationMs: row.duration_ms,
    reason: row.reason,
    state: row.state,
    username: row.username,
    ownPassword: row.requester_chose_credential === 1,
    breakGlass: row.break_glass === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    decisionReason: row.decision_reason,
    activatedAt: row.activated_at,
    expiresAt: row.expires_at,
    approvalChannel: row.approval_channel,
    approvalTs: row.approval_ts,
    error: row.error,
    revokeAttempts: row.revoke_attempts,
    nextAttemptAt: row.next_attempt_at,
    extensions: row.extensions,
    via: row.via,
    ips: row.ips === null ? [] : (JSON.parse(row.ips) as string[]),
    rotationRequestedBy: row.rotation_requested_by,
    rotationRequestedAt: row.rotation_requested_at,
    rotationApprovalTs: row.rotation_approval_ts,
    ticket: row.ticket,
    requiredApprovals: row.required_approvals,
    outsideWindow: row.outside_window,
  };
}

// RFC 4648 base32, lower case: ids are read and typed in Slack (`/dbuser delete r_…`), where case is a nuisance.
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * 'r_' + 10 random base32 characters (50 bits). 256 is a multiple of 32, so masking a byte keeps
 * the characters uniform. A collision is left to the primary key to refuse: at 50 bits it does not
 * happen at this bot's volume.
 */
function newRequestId(): string {
  return `r_${Array.from(randomBytes(10), (byte) => BASE32[byte & 31]).join('')}`;
}

/** Throws AppError('internal') unless every `from → to` is in TRANSITIONS: a forbidden move is a bug, whatever the current state. */
function assertAllowed(t: Transition): void {
  if (t.from.length === 0) {
    throw new AppError('internal', `A transition to ${t.to} must name at least one state it starts from.`);
  }
  const forbidden = t.from.filter((from) => !TRANSITIONS[from]?.includes(t.to));
  if (forbidden.length > 0) {
    throw new AppError('internal', `The request state machine forbids ${forbidden.map((from) => `${from} → ${t.to}`).join(', ')}.`);
  }
  const unknown = Object.keys(t.set ?? {}).filter((key) => !(SETTABLE_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new AppError('internal', `A transition cannot set ${unknown.join(', ')}.`);
  }
}

/** A CHECK, NOT NULL or type refusal is a caller bug (say, active without expiresAt, 1.5 attempts): an AppError with the constraint named. */
function refusal(err: unknown, what: string): unknown {
  if (isSqliteError(err, 'SQLITE_CONSTRAINT_CHECK', 'SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT_DATATYPE')) {
    return new AppError('internal', `The state database refused ${what}: ${err.message}.`, { cause: err });
  }
  return err;
}

interface InsertParams {
  id: string;
  kind: RequestKind;
  env: string;
  requester: string;
  requesterName: string;
  access: Access;
  durationMs: number;
  reason: string;
  ownPassword: 0 | 1;
  breakGlass: 0 | 1;
  username: string | null;
  via: Via | null;
  ips: string | null;
  ticket: string | null;
  requiredApprovals: number | null;
  outsideWindow: string | null;
  now: number;
}

interface UpdateParams {
  id: string;
  expected: RequestState;
  state: RequestState;
  updatedAt: number;
  username: string | null;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionReason: string | null;
  activatedAt: number | null;
  expiresAt: number | null;
  error: string | null;
  approvalChannel: string | null;
  approvalTs: string | null;
  revokeAttempts: number;
  nextAttemptAt: number | null;
  extensions: number;
}

/** Throws AppError('internal') unless `limit` is a positive whole number: a list without a bound is a bug. */
function assertLimit(limit: number, what: string): void {
  if (!(Number.isInteger(limit) && limit > 0)) {
    throw new AppError('internal', `${what} limit must be a positive whole number, not ${limit}.`);
  }
}

/**
 * The earliest moment work is due, one MIN per state so each is a single step down its index
 * (requests_expiry, requests_retry) rather than a scan; MIN skips NULLs. Exported for the test
 * that checks the plan.
 */
export const NEXT_DUE_SQL = `SELECT min(due) FROM (
    SELECT min(expires_at) AS due FROM requests WHERE state = 'active'
    ${RETRY_STATES.map((state) => `UNION ALL SELECT min(next_attempt_at) FROM requests WHERE state = '${state}'`).join('\n    ')}
  )`;

/** The request repository over an open, migrated database; statements and transactions are prepared here, once. */
export function createRequestRepository(db: Database.Database, clock: Clock, audit: AuditLog): RequestRepository {
  // The open-state list is spelled out from OPEN_STATES so the planner can match the partial index's WHERE.
  const openList = OPEN_STATES.map((state) => `'${state}'`).join(', ');

  const insert = db.prepare<InsertParams, RequestRow>(
    `INSERT INTO requests (id, kind, env, requester, requester_name, access, duration_ms, reason, state,
       requester_chose_credential, break_glass, username, via, ips, ticket, required_approvals, outside_window, created_at, updated_at)
     VALUES (@id, @kind, @env, @requester, @requesterName, @access, @durationMs, @reason, 'pending',
       @ownPassword, @breakGlass, @username, @via, @ips, @ticket, @requiredApprovals, @outsideWindow, @now, @now)
     RETURNING *`,
  );
  const byId = db.prepare<[string], RequestRow>('SELECT * FROM requests WHERE id = ?');
  const countStates = db.prepare<[], { state: RequestState; n: number }>('SELECT state, count(*) AS n FROM requests GROUP BY state');
  // The kind is written into the text, not bound: SQLite can only prove the partial index
  // requests_one_open applies when it sees the constant, and with a bound kind it re-plans the
  // statement on every call (about 4× slower; this runs for every /dbuser details).
  const openOf = (kind: RequestKind) =>
    db.prepare<[string, string], RequestRow>(`SELECT * FROM requests WHERE env = ? AND requester = ? AND kind = '${kind}' AND state IN (${openList})`);
  const open: Record<RequestKind, Database.Statement<[string, string], RequestRow>> = { temporary: openOf('temporary'), permanent: openOf('permanent') };
  const openPermanent = db.prepare<[string, Access], RequestRow>(
    `SELECT * FROM requests WHERE env = ? AND access = ? AND kind = 'permanent' AND state IN (${openList})`,
  );
  const rotationAsk = db.prepare<[string, number, number, string]>(
    `UPDATE requests SET rotation_requested_by = ?, rotation_requested_at = ?, updated_at = ?
     WHERE id = ? AND kind = 'permanent' AND state = 'active' AND rotation_requested_by IS NULL`,
  );
  const rotationMessage = db.prepare<[string, string]>('UPDATE requests SET rotation_approval_ts = ? WHERE id = ?');
  const rotationEnd = db.prepare<[number, string, number]>(
    `UPDATE requests SET rotation_requested_by = NULL, rotation_requested_at = NULL, rotation_approval_ts = NULL, updated_at = ?
     WHERE id = ? AND rotation_requested_at = ?`,
  );
  const update = db.prepare<UpdateParams, RequestRow>(
    `UPDATE requests SET state = @state, updated_at = @updatedAt, username = @username, decided_by = @decidedBy,
       decided_at = @decidedAt, decision_reason = @decisionReason, activated_at = @activatedAt,
       expires_at = @expiresAt, error = @error, approval_channel = @approvalChannel, approval_ts = @approvalTs,
       revoke_attempts = @revokeAttempts, next_attempt_at = @nextAttemptAt, extensions = @extensions
     WHERE id = @id AND state = @expected
     RETURNING *`,
  );
  const approvalMessage = db.prepare<[string, string, number, string]>(
    'UPDATE requests SET approval_channel = ?, approval_ts = ?, updated_at = ? WHERE id = ?',
  );
  // rowid breaks ties between requests created in the same millisecond: it follows insertion order.
  const byRequester = db.prepare<[string], RequestRow>(
    'SELECT * FROM requests WHERE requester = ? ORDER BY created_at DESC, rowid DESC',
  );
  // States arrive as a JSON array, so one prepared statement serves any list of states.
  const byRequesterInStates = db.prepare<[string, string], RequestRow>(
    `SELECT * FROM requests WHERE requester = ? AND state IN (SELECT value FROM json_each(?))
     ORDER BY created_at DESC, rowid DESC`,
  );
  const inStates = db.prepare<[string], RequestRow>(
    'SELECT * FROM requests WHERE state IN (SELECT value FROM json_each(?)) ORDER BY created_at, rowid',
  );
  const expiring = db.prepare<[number, number], RequestRow>(
    `SELECT * FROM requests WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at, rowid LIMIT ?`,
  );
  const expiringBetween = db.prepare<[number, number], RequestRow>(
    `SELECT * FROM requests WHERE state = 'active' AND expires_at > ? AND expires_at <= ? ORDER BY expires_at, rowid`,
  );
  const expiryAfter = db.prepare<[number], { next: number | null }>(`SELECT MIN(expires_at) AS next FROM requests WHERE state = 'active' AND expires_at > ?`);
  const retryDue = db.prepare<[number, number], RequestRow>(
    `SELECT * FROM requests WHERE state IN (${RETRY_STATES.map((state) => `'${state}'`).join(', ')}) AND next_attempt_at <= ?
     ORDER BY next_attempt_at, rowid LIMIT ?`,
  );
  const nextDue = db.prepare<[], number | null>(NEXT_DUE_SQL).pluck();
  const openByEnv = db.prepare<[], { env: string; n: number }>(`SELECT env, count(*) AS n FROM requests WHERE state IN (${openList}) GROUP BY env`);
  // Ids and environments arrive as JSON arrays, so one prepared statement serves any list.
  const dueIn = db.prepare<[string, number, string, string, number, string, number], RequestRow>(
    `SELECT * FROM (
       SELECT *, rowid AS seq, expires_at AS due FROM requests WHERE state = 'active' AND env = ? AND expires_at <= ?
         AND id NOT IN (SELECT value FROM json_each(?))
       UNION ALL
       SELECT *, rowid AS seq, next_attempt_at AS due FROM requests WHERE state IN (${RETRY_STATES.map((state) => `'${state}'`).join(', ')}) AND env = ?
         AND next_attempt_at <= ? AND id NOT IN (SELECT value FROM json_each(?))
     ) ORDER BY due, seq LIMIT ?`,
  );
  // ORDER BY … LIMIT 1 rather than min(): SQLite walks the (state, time) index in order and stops at the
  // first row that passes the filters, so the cost follows what is excluded, not how many users are active.
  const nextDueAmong = db.prepare<[string, string, string, string], number | null>(
    `SELECT min(due) FROM (
       SELECT * FROM (SELECT expires_at AS due FROM requests WHERE state = 'active'
         AND env IN (SELECT value FROM json_each(?)) AND id NOT IN (SELECT value FROM json_each(?))
         ORDER BY expires_at LIMIT 1)
       UNION ALL
       SELECT * FROM (SELECT next_attempt_at AS due FROM requests WHERE state IN (${RETRY_STATES.map((state) => `'${state}'`).join(', ')})
         AND next_attempt_at IS NOT NULL
         AND env IN (SELECT value FROM json_each(?)) AND id NOT IN (SELECT value FROM json_each(?))
         ORDER BY next_attempt_at LIMIT 1)
     )`,
  ).pluck();
  const pendingOlder = db.prepare<[number, number], RequestRow>(
    `SELECT * FROM requests WHERE state = 'pending' AND created_at <= ? ORDER BY created_at, rowid LIMIT ?`,
  );

  function findOpen(env: string, requester: string, kind: RequestKind): AccessRequest | undefined {
    const row = open[kind].get(env, requester);
    return row && toRequest(row);
  }

  function findPermanent(env: string, access: Access): AccessRequest | undefined {
    const row = openPermanent.get(env, access);
    return row && toRequest(row);
  }

  /** The open request the new one would collide with: per person for temporary users, per access for permanent ones. */
  function collision(input: NewRequest): AccessRequest | undefined {
    return input.kind === 'permanent' ? findPermanent(input.env, input.access) : findOpen(input.env, input.requester, input.kind);
  }

  function conflict(existing: AccessRequest, input: NewRequest, cause?: unknown): AppError {
    return new AppError(
      'conflict',
      `${input.requesterName} already has an open ${input.kind} request in ${input.env}: ${existing.id} (${existing.state}). ` +
        'Wait for it to end, or delete it, before asking again.',
      { cause },
    );
  }

  const createTx = db.transaction((input: NewRequest, actor: string): AccessRequest => {
    const existing = collision(input);
    if (existing) throw conflict(existing, input);
    let row: RequestRow | undefined;
    try {
      row = insert.get({
        id: newRequestId(),
        kind: input.kind,
        env: input.env,
        requester: input.requester,
        requesterName: input.requesterName,
        access: input.access,
        durationMs: input.durationMs,
        reason: input.reason,
        ownPassword: input.ownPassword ? 1 : 0,
        breakGlass: input.breakGlass ? 1 : 0,
        username: input.username ?? null,
        via: input.via ?? null,
        ips: input.ips && input.ips.length > 0 ? JSON.stringify(input.ips) : null,
        ticket: input.ticket ?? null,
        requiredApprovals: input.requiredApprovals ?? null,
        outsideWindow: input.outsideWindow ?? null,
        now: clock.now(),
      });
    } catch (err) {
      // The index is the last word: a writer that bypassed findOpen (another process, a hand-made row) loses here.
      if (isSqliteError(err, 'SQLITE_CONSTRAINT_UNIQUE')) {
        const winner = collision(input);
        if (winner) throw conflict(winner, input, err);
      }
      throw refusal(err, `a new ${input.kind} request in ${input.env}`);
    }
    if (row === undefined) throw new AppError('internal', 'The state database did not return the request it inserted.');
    const request = toRequest(row);
    audit.append({
      actor,
      action: 'requested',
      requestId: request.id,
      env: request.env,
      // No `ownPassword` key: the secret-key guard refuses anything named like a password, even a flag.
      detail: {
        kind: request.kind,
        access: request.access,
        durationMs: request.durationMs,
        breakGlass: request.breakGlass,
        reason: request.reason,
        // Governance (issue 17): present only when it applies, so entries of environments without it stay as they were.
        ...(request.ticket !== null ? { ticket: request.ticket } : {}),
        ...(request.requiredApprovals !== null ? { requiredApprovals: request.requiredApprovals } : {}),
        ...(request.outsideWindow !== null ? { outsideWindow: request.outsideWindow } : {}),
      },
    });
    return request;
  });

  const transitionTx = db.transaction((id: string, t: Transition): AccessRequest | undefined => {
    const row = byId.get(id);
    if (row === undefined) throw new AppError('not_found', `There is no request ${id}.`);
    const current = toRequest(row);
    if (!t.from.includes(current.state)) return undefined;

    const now = clock.now();
    // assertAllowed checked every key is settable; undefined means "leave as is", as in a spread of options.
    const changes = Object.fromEntries(Object.entries(t.set ?? {}).filter(([, value]) => value !== undefined)) as Changes;
    const merged = { ...current, ...changes };
    let updated: RequestRow | undefined;
    try {
      updated = update.get({
        id,
        expected: current.state,
        state: t.to,
        updatedAt: now,
        username: merged.username,
        decidedBy: merged.decidedBy,
        decidedAt: merged.decidedAt,
        decisionReason: merged.decisionReason,
        activatedAt: merged.activatedAt,
        expiresAt: merged.expiresAt,
        error: merged.error,
        approvalChannel: merged.approvalChannel,
        approvalTs: merged.approvalTs,
        revokeAttempts: merged.revokeAttempts,
        nextAttemptAt: merged.nextAttemptAt,
        extensions: merged.extensions,
      });
    } catch (err) {
      throw refusal(err, `moving request ${id} from ${current.state} to ${t.to}`);
    }
    // The immediate transaction holds the write lock since the read above, so the row cannot have moved.
    if (updated === undefined) throw new AppError('internal', `Request ${id} changed during its own transaction.`);
    audit.append({
      actor: t.actor,
      action: `state:${t.to}`,
      requestId: id,
      env: current.env,
      detail: { ...t.detail, from: current.state, ...(Object.keys(changes).length > 0 ? { changes } : {}) },
    });
    return toRequest(updated);
  });

  return {
    create(input, actor) {
      return createTx.immediate(input, actor);
    },

    get(id) {
      const row = byId.get(id);
      return row && toRequest(row);
    },

    transition(id, t) {
      // Both checks run before the transaction opens: a bug must not write, nor wait for the lock.
      assertAllowed(t);
      if (t.detail !== undefined) assertNoSecretKeys(t.detail);
      return transitionTx.immediate(id, t);
    },

    findPermanent,

    requestRotation(id, by) {
      return db
        .transaction(() => {
          const { changes } = rotationAsk.run(by, clock.now(), clock.now(), id);
          if (changes === 0) return false;
          const request = byId.get(id);
          audit.append({ actor: by, action: 'rotation_requested', requestId: id, ...(request ? { env: request.env } : {}) });
          return true;
        })
        .immediate();
    },

    setRotationMessage(id, ts) {
      rotationMessage.run(ts, id);
    },

    finishRotation(id, actor, outcome) {
      return db
        .transaction(() => {
          const row = byId.get(id);
          if (!row || row.rotation_requested_at === null) return undefined;
          const { changes } = rotationEnd.run(clock.now(), id, row.rotation_requested_at);
          if (changes === 0) return undefined;
          audit.append({ actor, action: `rotation_${outcome}`, requestId: id, env: row.env, detail: { askedBy: row.rotation_requested_by } });
          return toRequest(row);
        })
        .immediate();
    },

    setApprovalMessage(id, channel, ts) {
      const { changes } = approvalMessage.run(channel, ts, clock.now(), id);
      if (changes === 0) throw new AppError('not_found', `There is no request ${id}.`);
    },

    findOpen,

    listByRequester(requester, states) {
      const rows = states === undefined ? byRequester.all(requester) : byRequesterInStates.all(requester, JSON.stringify(states));
      return rows.map(toRequest);
    },

    countByState() {
      return Object.fromEntries(countStates.all().map((row) => [row.state, row.n]));
    },

    listInStates(states) {
      return inStates.all(JSON.stringify(states)).map(toRequest);
    },

    listExpiring(at, limit) {
      assertLimit(limit, 'An expiry list');
      return expiring.all(at, limit).map(toRequest);
    },

    listExpiringBetween(after, upTo) {
      return expiringBetween.all(after, upTo).map(toRequest);
    },

    nextExpiryAfter(after) {
      return expiryAfter.get(after)?.next ?? null;
    },

    listRetryDue(at, limit) {
      assertLimit(limit, 'A revocation retry list');
      return retryDue.all(at, limit).map(toRequest);
    },

    nextDueAt() {
      return nextDue.get() ?? null;
    },

    countOpenByEnv() {
      return Object.fromEntries(openByEnv.all().map((row) => [row.env, row.n]));
    },

    listDueIn(env, at, limit, exclude = []) {
      assertLimit(limit, 'A due list');
      const ids = JSON.stringify(exclude);
      return dueIn.all(env, at, ids, env, at, ids, limit).map(toRequest);
    },

    nextDueAmong(envs, exclude) {
      if (envs.length === 0) return null;
      const names = JSON.stringify(envs);
      const ids = JSON.stringify(exclude);
      return nextDueAmong.get(names, ids, names, ids) ?? null;
    },

    listPendingOlderThan(at, limit) {
      assertLimit(limit, 'A pending list');
      return pendingOlder.all(at, limit).map(toRequest);
    },
  };
}
