// Interop actions (set up the interoperability user, grant exposed views and tables) and the grants made.
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { assertNoSecretKeys, type AuditLog } from './audit.js';

export type InteropActionKind = 'setup' | 'grant';
export type InteropState = 'pending' | 'running' | 'done' | 'denied' | 'failed';

export interface InteropObject {
  object: string;
  kind: 'view' | 'table';
  privileges: string[];
  /** The entity the object belongs to, when known. */
  entity?: string;
}

export interface InteropAction {
  id: string;
  env: string;
  action: InteropActionKind;
  requester: string;
  objects: InteropObject[];
  summary: string;
  state: InteropState;
  decidedBy: string | null;
  decidedAt: number | null;
  approvalChannel: string | null;
  approvalTs: string | null;
  result: string | null;
  error: string | null;
  createdAt: number;
}

export interface InteropGrant {
  env: string;
  object: string;
  kind: 'view' | 'table' | 'setup';
  privileges: string[];
  grantedAt: number;
  actionId: string;
}

export interface InteropLog {
  create(input: { env: string; action: InteropActionKind; requester: string; objects: InteropObject[]; summary: string }): InteropAction;
  get(id: string): InteropAction | undefined;
  /** Moves an action from one of `from` to `to` atomically (audited); undefined when someone else moved it first. */
  move(id: string, from: readonly InteropState[], to: InteropState, actor: string, set?: { decidedBy?: string; decidedAt?: number; result?: string; error?: string }): InteropAction | undefined;
  setApprovalMessage(id: string, channel: string, ts: string): void;
  listInStates(states: readonly InteropState[]): InteropAction[];
  recordGrant(grant: Omit<InteropGrant, 'grantedAt'>): void;
  grants(env: string): InteropGrant[];
}

interface ActionRow {
  id: string;
  env: string;
  action: InteropActionKind;
  requester: string;
  payload: string;
  summary: string;
  state: InteropState;
  decided_by: string | null;
  decided_at: number | null;
  approval_channel: string | null;
  approval_ts: string | null;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
}

function toAction(row: ActionRow): InteropAction {
  return {
    id: row.id,
    env: row.env,
    action: row.action,
    requester: row.requester,
    objects: (JSON.parse(row.payload) as { objects: InteropObject[] }).objects,
    summary: row.summary,
    state: row.state,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    approvalChannel: row.approval_channel,
    approvalTs: row.approval_ts,
    result: row.result,
    error: row.error,
    createdAt: row.created_at,
  };
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function createInteropLog(db: Database.Database, clock: Clock, audit: AuditLog): InteropLog {
  const insert = db.prepare(
    `INSERT INTO interop_actions (id, env, action, requester, payload, summary, state, created_at, updated_at)
     VALUES (@id, @env, @action, @requester, @payload, @summary, 'pending', @now, @now) RETURNING *`,
  );
  const byId = db.prepare<[string], ActionRow>('SELECT * FROM interop_actions WHERE id = ?');
  const update = db.prepare(
    `UPDATE interop_actions SET state = @to, decided_by = coalesce(@decidedBy, decided_by), decided_at = coalesce(@decidedAt, decided_at),
       result = coalesce(@result, result), error = coalesce(@error, error), updated_at = @now
     WHERE id = @id AND state = @expected RETURNING *`,
  );
  const approval = db.prepare('UPDATE interop_actions SET approval_channel = ?, approval_ts = ? WHERE id = ?');
  const inStates = db.prepare<[string], ActionRow>('SELECT * FROM interop_actions WHERE state IN (SELECT value FROM json_each(?)) ORDER BY created_at');
  const upsertGrant = db.prepare(
    `INSERT INTO interop_grants (env, object, kind, privileges, granted_at, action_id) VALUES (@env, @object, @kind, @privileges, @now, @actionId)
     ON CONFLICT (env, object) DO UPDATE SET privileges = excluded.privileges, granted_at = excluded.granted_at, action_id = excluded.action_id, kind = excluded.kind`,
  );
  const grantsOf = db.prepare<[string], { env: string; object: string; kind: InteropGrant['kind']; privileges: string; granted_at: number; action_id: string }>(
    'SELECT * FROM interop_grants WHERE env = ? ORDER BY object',
  );

  return {
    create(input) {
      assertNoSecretKeys(input.objects);
      return db
        .transaction(() => {
          const id = `i_${Array.from(randomBytes(10), (b) => BASE32[b & 31]).join('')}`;
          const row = insert.get({
            id,
            env: input.env,
            action: input.action,
            requester: input.requester,
            payload: JSON.stringify({ objects: input.objects }),
            summary: input.summary,
            now: clock.now(),
          }) as ActionRow;
          audit.append({ actor: input.requester, action: `interop_${input.action}_requested`, env: input.env, detail: { interopAction: id, objects: input.objects.map((o) => o.object) } });
          return toAction(row);
        })
        .immediate();
    },
    get(id) {
      const row = byId.get(id);
      return row && toAction(row);
    },
    move(id, from, to, actor, set = {}) {
      return db
        .transaction(() => {
          const current = byId.get(id);
          if (!current) throw new AppError('not_found', 'That interop request no longer exists.');
          if (!from.includes(current.state)) return undefined;
          const row = update.get({
            id,
            expected: current.state,
            to,
            decidedBy: set.decidedBy ?? null,
            decidedAt: set.decidedAt ?? null,
            result: set.result ?? null,
            error: set.error ?? null,
            now: clock.now(),
          }) as ActionRow | undefined;
          if (!row) return undefined;
          audit.append({ actor, action: `interop_${to}`, env: row.env, detail: { interopAction: id, from: current.state } });
          return toAction(row);
        })
        .immediate();
    },
    setApprovalMessage(id, channel, ts) {
      approval.run(channel, ts, id);
    },
    listInStates(states) {
      return inStates.all(JSON.stringify(states)).map(toAction);
    },
    recordGrant(grant) {
      upsertGrant.run({ ...grant, privileges: grant.privileges.join(', '), now: clock.now() });
    },
    grants(env) {
      return grantsOf.all(env).map((r) => ({ env: r.env, object: r.object, kind: r.kind, privileges: r.privileges.split(', '), grantedAt: r.granted_at, actionId: r.action_id }));
    },
  };
}
