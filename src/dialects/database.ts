// Database operations, written once for every dialect: a Dialect's builders in order, run by an Executor.
// This is the interface the rest of the bot uses (after Vault's dbplugin Database): one method per
// operation, each with its own request and response types, its contract in the doc comment.
import { AppError } from '../errors.js';
import { permissionSet, type Dialect, type NewPassword, type ObjectPrivilege, type SessionRef, type Target, type UserKind, type UserRef, type WithPassword } from './dialect.js';
import { DatabaseError, sanitized, scrub, type Executor } from './executor.js';
import { describePlan } from './render.js';
import type { Row, Statement } from './statement.js';

export interface CreateUserRequest extends WithPassword {
  kind: UserKind;
}
export interface CreatedUser {
  username: string;
  kind: UserKind;
  /** Application tables that received INSERT, UPDATE, DELETE (read-write kinds). */
  grantedTables: string[];
  /** What was not granted because the platform refuses it in a documented way, and why nothing is lost (for the audit). */
  notes: string[];
}
export interface InteropGrantReport {
  /** As CreatedUser.notes. */
  notes: string[];
}

export interface SyncGrantsRequest extends UserRef {
  kind: UserKind;
}
export interface GrantReport {
  /** Tables granted by this call: those created since the last grant. */
  added: string[];
  /** Tables whose grant failed; the others were still granted. */
  failed: { table: string; error: DatabaseError }[];
}

export interface GrantObjectsRequest extends UserRef {
  grants: { object: string; privileges: ObjectPrivilege[] }[];
}

export interface RevokeStep {
  step: 'block login' | 'list sessions' | 'kill session' | 'drop user' | 'drop login';
  /** What exactly, for the report: 'disable the login', 'end session 53'. */
  label: string;
  error?: DatabaseError;
}
export interface RevokeReport {
  username: string;
  /** Every step attempted, in order, with its error if it failed. */
  steps: RevokeStep[];
  sessionsEnded: number;
  /** True when every step succeeded: the user is gone. */
  complete: boolean;
}

export interface EntityTable {
  entity: string;
  table: string;
  module: string;
}
export interface ExposedView {
  view: string;
  select: boolean;
  insert: boolean;
  update: boolean;
  delete: boolean;
}

/** A failed create, after the half-made user was dropped (or not: see `cleanup`). */
export class ProvisioningError extends DatabaseError {
  readonly cleanup: RevokeReport | undefined;
  /** What failed, without what became of the half-made user (a caller that keeps dropping it says that itself). */
  readonly failure: string;

  constructor(cause: DatabaseError, cleanup: RevokeReport | undefined) {
    const outcome = !cleanup
      ? 'Nothing was created.'
      : cleanup.complete
        ? `The half-made user ${cleanup.username} was dropped again.`
        : `The half-made user ${cleanup.username} could not be fully dropped (${cleanup.steps
            .filter((s) => s.error)
            .map((s) => s.label)
            .join(', ')} failed): an administrator must drop it.`;
    super(cause.code, `${cause.message} ${outcome}`, { serverCode: cause.serverCode, statement: cause.statement });
    this.cleanup = cleanup;
    this.failure = cause.message;
  }
}

export interface Database {
  /**
   * Creates `username` with `password` and the permission set of `kind` (temporary users get read &
   * write). If any step fails, whatever this call created is dropped again (best effort) and a
   * ProvisioningError says both what failed and what became of the half-made user. A user that
   * already existed before the call is never dropped.
   */
  createUser(req: CreateUserRequest): Promise<CreatedUser>;
  /**
   * Per-table grants do not cover tables created later, and every publish can add OSUSR_ tables.
   * For read-write kinds this grants INSERT, UPDATE, DELETE on every OSUSR_ table that lacks them and
   * reports what it added; it is idempotent and cheap when nothing is missing. Other kinds hold only
   * database-wide or fixed grants, which need no sync: it reports nothing added.
   */
  syncGrants(req: SyncGrantsRequest): Promise<GrantReport>;
  /** Grants privileges on tables or views of the schema (interop `expose`). Stops at the first failure. */
  grantObjects(req: GrantObjectsRequest): Promise<void>;
  /**
   * Re-applies the interoperability read set to an existing user; GRANT is idempotent, so only what is
   * missing is added. A grant the platform refuses in a documented way is reported, not thrown.
   */
  grantInteropSet(req: UserRef): Promise<InteropGrantReport>;
  /**
   * Blocks new logins, ends live sessions, then drops the user (and login). Best effort: every step
   * is attempted even after one fails, and every failure is in the report; it never throws for a
   * database error. Revoking a user that does not exist is not an error and reports complete.
   */
  revokeUser(req: UserRef): Promise<RevokeReport>;
  /**
   * Sets a new password; the user keeps its grants. With `unlock`, also lifts a lockout after bad
   * passwords: ask for it only while the user's request is active, never for one being revoked.
   */
  rotatePassword(req: NewPassword): Promise<void>;
  userExists(req: UserRef): Promise<boolean>;
  /** Users of this environment's database whose name starts with `prefix` (orphan detection); never the server's own. */
  listUsers(req: { prefix: string }): Promise<string[]>;
  /** Active entities named `entity` with their physical tables, one per module that has one. */
  findEntityTables(req: { entity: string }): Promise<EntityTable[]>;
  /** Exposed `OSUSR_VIEW_%` views with the privileges `username` holds on each. */
  listExposedViews(req: UserRef): Promise<ExposedView[]>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  dialect: Dialect;
  executor: Executor;
  target: Target;
  /**
   * A killed session can hold on for a moment (Oracle cleans it up asynchronously; SQL Server rolls
   * back its work), and the drop fails meanwhile: how often and how long to wait before trying again.
   */
  dropRetry?: { attempts: number; delayMs: number };
}

const DEFAULT_DROP_RETRY = { attempts: 5, delayMs: 1000 };

/** The statements `createUser` will run, for an approval message; table grants are found at run time. */
export function createUserPlan(dialect: Dialect, req: CreateUserRequest, target: Target): Statement[] {
  const set = permissionSet(req.kind);
  const grants =
    set === 'interop'
      ? dialect.grantInterop(req, target)
      : set === 'read'
        ? dialect.grantRead(req, target, 'read')
        : [...dialect.grantRead(req, target, 'readwrite'), dialect.grantAllMissingWrite?.(req, target) ?? dialect.missingWriteGrants(req, target)];
  return [...dialect.createUser(req, target), ...grants];
}

/** The interoperability setup as approvers read it: the statements, masked, then what the platform does not grant and why. */
export function interopSetupPlan(dialect: Dialect, req: UserRef, target: Target, exists: boolean): string {
  const statements = exists ? dialect.grantInterop(req, target) : createUserPlan(dialect, { ...req, password: PLAN_PASSWORD, kind: 'interop' }, target);
  const notes = dialect.interopNotes(target).map((note) => `Note: ${note}.`);
  return [describePlan(statements, dialect.family), ...notes].join('\n');
}

/** A valid stand-in for a password not generated yet; plans mask every password anyway. */
const PLAN_PASSWORD = 'Plan-Only-Pw-42ab';

export function createDatabase(options: DatabaseOptions): Database {
  const { dialect, target } = options;
  const dropRetry = options.dropRetry ?? DEFAULT_DROP_RETRY;
  const executor = sanitized(options.executor);
  type Run = (statement: Statement) => Promise<Row[]>;
  const run: Run = (statement) => executor.run(statement);

  /**
   * A runner for an operation that holds a secret: a server error on any of its statements may
   * echo the password of another, so every error is scrubbed of all of them.
   */
  function runScrubbing(secrets: readonly string[]): Run {
    return async (statement) => {
      try {
        return await executor.run(statement);
      } catch (err) {
        const e = asDatabaseError(err);
        throw new DatabaseError(e.code, scrub(e.message, secrets), { serverCode: e.serverCode, statement: e.statement });
      }
    };
  }

  /** Runs each statement in order; returns the notes of grants the platform refused in a documented way. */
  async function runAll(statements: Statement[], runner: Run = run): Promise<string[]> {
    const notes: string[] = [];
    for (const statement of statements) {
      for (const row of await runner(statement)) if (typeof row['note'] === 'string') notes.push(row['note']);
    }
    return notes;
  }

  /** The interop set; its notes are what the platform does not grant (known in advance) and what the server refused. */
  async function grantInterop(req: UserRef, run: Run): Promise<string[]> {
    return [...dialect.interopNotes(target), ...(await runAll(dialect.grantInterop(req, target), run))];
  }

  async function grantMissingTables(req: UserRef, run: Run): Promise<GrantReport> {
    const rows = await run(dialect.missingWriteGrants(req, target));
    const report: GrantReport = { added: [], failed: [] };
    for (const table of rows.map((row) => text(row, 'table_name'))) {
      try {
        await run(dialect.grantWrite({ username: req.username, table }, target));
        report.added.push(table);
      } catch (err) {
        report.failed.push({ table, error: asDatabaseError(err) });
      }
    }
    return report;
  }

  /**
   * Write grants for a new user, all or fail: in one round trip when the dialect can (a failure ends
   * in dropping the user, which takes whatever was granted with it), else table by table.
   */
  async function grantAllMissingTables(req: UserRef, run: Run): Promise<string[]> {
    if (dialect.grantAllMissingWrite) return (await run(dialect.grantAllMissingWrite(req, target))).map((row) => text(row, 'table_name'));
    const report = await grantMissingTables(req, run);
    const firstFailure = report.failed[0];
    if (firstFailure) throw firstFailure.error;
    return report.added;
  }

  /**
   * A new read & write user that received no write grant: either the schema truly has no OSUSR_ table,
   * or the admin cannot see them (a wrong schema, its case on Oracle, no right to read DBA_TABLES).
   * Either way the user would be read-only while everyone believes otherwise, so it is an error.
   */
  async function requireApplicationTables(run: Run): Promise<void> {
    const [row] = await run(dialect.countApplicationTables(target));
    // A server always answers COUNT(*) with one numeric row; a dry run that says nothing is not a count.
    const total = Number(row?.['total']);
    if (!Number.isFinite(total) || total > 0) return;
    throw new DatabaseError(
      'db_error',
      `The schema ${target.schema} has no OSUSR_ tables the bot's admin can see, so a read & write user would get no write access. Check connection.schema${
        dialect.family === 'plsql' ? ' (upper case, as Oracle stores it) and that the admin may read DBA_TABLES (SELECT ANY DICTIONARY)' : ''
      }.`,
      { statement: 'count the OSUSR_ tables of the schema' },
    );
  }

  async function revokeUser(req: UserRef, run: Run): Promise<RevokeReport> {
    const steps: RevokeStep[] = [];
    let sessionsEnded = 0;
    /** Runs one step; a failure (even building the statement) is recorded and the revocation goes on. */
    async function attempt(step: RevokeStep['step'], label: string, build: () => Statement): Promise<Row[] | undefined> {
      try {
        const statement = build();
        const rows = await run(statement);
        steps.push({ step, label: statement.label });
        return rows;
      } catch (err) {
        steps.push({ step, label, error: asDatabaseError(err) });
        return undefined;
      }
    }
    // Block first: a session ended before the block could reconnect and make the drop fail.
    for (const statement of dialect.blockLogin(req, target)) await attempt('block login', statement.label, () => statement);
    async function endSessions(): Promise<void> {
      const sessions = (await attempt('list sessions', 'list sessions', () => dialect.listSessions(req, target))) ?? [];
      for (const row of sessions) {
        if (await attempt('kill session', 'end a session', () => dialect.killSession({ ...sessionOf(row), username: req.username }, target))) sessionsEnded++;
      }
    }
    await endSessions();
    for (const statement of dialect.dropUser(req, target)) {
      const step = statement.kind === 'drop login' ? 'drop login' : 'drop user';
      for (let attemptNo = 1; ; attemptNo++) {
        const before = steps.length;
        await attempt(step, statement.label, () => statement);
        const error = steps[before]?.error;
        const stillConnected = error?.serverCode !== undefined && dialect.stillConnectedErrors.includes(Number(error.serverCode));
        if (!stillConnected || attemptNo >= dropRetry.attempts) break;
        steps.pop(); // only the last attempt is reported
        await sleep(dropRetry.delayMs);
        // A session opened or not yet gone since the last look (a pool reconnecting before the block
        // took effect) would refuse the drop again: look and end sessions again before each retry.
        await endSessions();
      }
    }
    return { username: req.username, steps, sessionsEnded, complete: steps.every((s) => !s.error) };
  }

  return {
    async createUser(req) {
      const set = permissionSet(req.kind);
      const run = runScrubbing([req.password]);
      const [first, ...rest] = dialect.createUser(req, target);
      if (!first) throw new AppError('internal', `${dialect.name} has no create statement`);
      try {
        await run(first);
      } catch (err) {
        const error = asDatabaseError(err);
        // After a timeout the CREATE may have happened: drop what may exist (revocation is idempotent).
        // After a refusal, or when the server was never reached, nothing of ours exists, and the name
        // may even belong to someone else: drop nothing.
        if (error.code === 'db_timeout') throw new ProvisioningError(error, await revokeUser(req, run));
        throw new ProvisioningError(error, undefined);
      }
      try {
        await runAll(rest, run);
        const notes = set === 'interop' ? await grantInterop(req, run) : await runAll(dialect.grantRead(req, target, set), run);
        let grantedTables: string[] = [];
        if (set === 'readwrite') {
          grantedTables = await grantAllMissingTables(req, run);
          if (grantedTables.length === 0) await requireApplicationTables(run);
        }
        return { username: req.username, kind: req.kind, grantedTables, notes };
      } catch (err) {
        const cleanup = await revokeUser(req, run);
        throw new ProvisioningError(asDatabaseError(err), cleanup);
      }
    },

    async syncGrants(req) {
      if (permissionSet(req.kind) !== 'readwrite') return { added: [], failed: [] };
      return grantMissingTables(req, run);
    },

    async grantObjects(req) {
      await runAll(req.grants.map((g) => dialect.grantObject({ username: req.username, object: g.object, privileges: g.privileges }, target)));
    },

    async grantInteropSet(req) {
      return { notes: await grantInterop(req, run) };
    },

    revokeUser: (req) => revokeUser(req, run),

    async rotatePassword(req) {
      await runScrubbing([req.password])(dialect.setPassword(req, target));
    },

    async userExists(req) {
      const rows = await run(dialect.userExists(req, target));
      return Number(rows[0]?.['present'] ?? 0) > 0;
    },

    async listUsers(req) {
      return (await run(dialect.listUsers(req, target))).map((row) => text(row, 'name'));
    },

    async findEntityTables(req) {
      const rows = await run(dialect.findEntityTables(req, target));
      return rows.map((row) => ({ entity: text(row, 'entity_name'), table: text(row, 'table_name'), module: text(row, 'module_name') }));
    },

    async listExposedViews(req) {
      const rows = await run(dialect.listExposedViews(req, target));
      return rows.map((row) => ({
        view: text(row, 'view_name'),
        select: flag(row, 'can_select'),
        insert: flag(row, 'can_insert'),
        update: flag(row, 'can_update'),
        delete: flag(row, 'can_delete'),
      }));
    },

    close: () => executor.close(),
  };
}

function asDatabaseError(err: unknown): DatabaseError {
  if (err instanceof DatabaseError) return err;
  if (err instanceof AppError) return new DatabaseError(err.code, err.message);
  return new DatabaseError('internal', err instanceof Error ? err.message : String(err));
}

function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string' || value.length === 0) throw new DatabaseError('db_error', `The database returned no ${column} where one was expected.`);
  return value;
}

function flag(row: Row, column: string): boolean {
  return Number(row[column] ?? 0) > 0;
}

function sessionOf(row: Row): SessionRef {
  const number = (column: string) => (row[column] === undefined || row[column] === null ? undefined : Number(row[column]));
  const id = number('id');
  if (id === undefined || !Number.isSafeInteger(id)) throw new DatabaseError('db_error', 'The database returned a session without a number.');
  const serial = number('serial');
  const instance = number('instance');
  return { id, ...(serial !== undefined ? { serial } : {}), ...(instance !== undefined ? { instance } : {}) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
