// The dialect contract: pure statement builders, one per step, that every database implements.
// Operations that run them (create, revoke...) live in database.ts, written once for all dialects.
import type { IdentifierRules } from './identifiers.js';
import type { Statement } from './statement.js';

export type DialectName = 'sqlserver' | 'azuresql' | 'oracle';

/**
 * Where the database runs, where that changes the statements (the admin's rights differ):
 * Azure SQL Database has no server scope, RDS gives no CONTROL SERVER (SQL Server) and no ALTER
 * SYSTEM (Oracle: rdsadmin procedures instead), Managed Instance behaves like SQL Server.
 */
export type Platform = 'self-managed' | 'rds' | 'azure-mi' | 'azure-sql-database';

/** What a database user is for; decides its permission set. */
export type UserKind = 'temporary' | 'readonly' | 'readwrite' | 'interop';

/** The environment a statement is built for. */
export interface Target {
  /** Schema that holds the OutSystems tables: `dbo`, or the Oracle owner such as `OSADMIN`. */
  schema: string;
  /** SQL Server database name (the login's default database); unused elsewhere. */
  database?: string;
  rules: IdentifierRules;
  /** Self-managed when absent. */
  platform?: Platform;
  /** Oracle: the profile each kind of user is created with (the DEFAULT profile when absent). */
  profiles?: Partial<Record<UserKind, string>>;
  /** Oracle 23ai and later: read (and read & write users' SELECT) only on the OutSystems schema, with schema privileges. */
  schemaPrivileges?: boolean;
}

export interface UserRef {
  username: string;
}
export interface WithPassword extends UserRef {
  password: string;
}
/** A new user: its kind chooses the Oracle profile. */
export interface NewUser extends WithPassword {
  kind?: UserKind;
}
/** A new password; `unlock` also lifts a lockout (bad passwords), for a user whose request is active. */
export interface NewPassword extends WithPassword {
  unlock?: boolean;
}
export interface TableRef extends UserRef {
  table: string;
}
/** A live session as the server names it. SQL Server: `id` (session_id). Oracle: sid, serial#, inst_id. */
export interface SessionRef {
  id: number;
  serial?: number;
  instance?: number;
}
export type ObjectPrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';
export interface ObjectGrant extends UserRef {
  /** A table or view in the target schema. */
  object: string;
  privileges: ObjectPrivilege[];
}

/**
 * Builders for one database. Every builder is pure: it validates names, then returns statements whose
 * user-supplied values are bound parameters, quoted by the server. Contracts:
 * - Creating returns the principal statements only; grants come from the grant builders.
 * - Block, kill and drop statements tolerate a principal or session that is already gone.
 * - Query builders return one `query` statement whose rows use the lower-case column names documented
 *   on the builder.
 */
export interface Dialect {
  name: DialectName;
  family: 'tsql' | 'plsql';
  /** Server error codes of a drop refused because a killed session has not gone yet; worth a short wait and retry. */
  stillConnectedErrors: readonly number[];
  createUser(req: NewUser, t: Target): Statement[];
  /**
   * Read set: SELECT on all tables and views plus the dialect's diagnostics rights. `access` is the
   * set it is part of: a read-only user must not be able to lock (Oracle: READ, not SELECT).
   */
  grantRead(req: UserRef, t: Target, access: 'read' | 'readwrite'): Statement[];
  /** Rows `{ total }`: how many `OSUSR_…` tables the schema holds (zero means write grants would be empty). */
  countApplicationTables(t: Target): Statement;
  /** Rows `{ table_name }`: tables in the schema named `OSUSR_…` lacking any of INSERT, UPDATE, DELETE for the user. */
  missingWriteGrants(req: UserRef, t: Target): Statement;
  /** INSERT, UPDATE, DELETE on one `OSUSR_` table; refuses any other name (never `OSSYS`). */
  grantWrite(req: TableRef, t: Target): Statement;
  /**
   * Optional capability: grantWrite on every table missingWriteGrants lists, in one round trip (a real
   * schema has hundreds of OSUSR_ tables). Rows `{ table_name }`: the tables granted. It stops at the
   * first failure and throws, leaving the earlier grants, so it is for a new user that a failure drops
   * anyway; without it, database.ts grants table by table.
   */
  grantAllMissingWrite?(req: UserRef, t: Target): Statement;
  /**
   * Interoperability set: SELECT on the OutSystems metamodel tables and the dialect's catalog views.
   * A grant the platform may refuse in a documented way returns rows `{ note }` instead of failing.
   */
  grantInterop(req: UserRef, t: Target): Statement[];
  /** What the interoperability set does not grant on this platform, and why nothing is lost; for plans and the audit. */
  interopNotes(t: Target): string[];
  /** Privileges on one table or view of the schema (interop `expose`). */
  grantObject(req: ObjectGrant, t: Target): Statement;
  /** Stops new logins; existing sessions stay until killed. */
  blockLogin(req: UserRef, t: Target): Statement[];
  /** Rows `{ id, serial?, instance? }`: the user's live sessions. */
  listSessions(req: UserRef, t: Target): Statement;
  /** Ends one session of the user; a session that ended or now belongs to someone else is left alone. */
  killSession(req: SessionRef & UserRef, t: Target): Statement;
  /** Drops the user and (SQL Server) its login; a missing one is not an error. */
  dropUser(req: UserRef, t: Target): Statement[];
  setPassword(req: NewPassword, t: Target): Statement;
  /** Rows `{ present }` with 1 when the user (or its login) exists, else 0. */
  userExists(req: UserRef, t: Target): Statement;
  /**
   * Rows `{ name }`: users of this environment's database whose name starts with `prefix` (at least
   * 3 characters ending in `_`), never the server's own, the schema owner or the admin.
   */
  listUsers(req: { prefix: string }, t: Target): Statement;
  /** Rows `{ entity_name, table_name, module_name }`: active entities named `entity`, from `ossys_entity`. */
  findEntityTables(req: { entity: string }, t: Target): Statement;
  /** Rows `{ view_name, can_select, can_insert, can_update, can_delete }`: `OSUSR_VIEW_%` views and the user's grants on them. */
  listExposedViews(req: UserRef, t: Target): Statement;
}

/** Temporary users get read & write: seeds/outsystems-cloud-database-access.md#temporary-database-user */
export function permissionSet(kind: UserKind): 'read' | 'readwrite' | 'interop' {
  if (kind === 'readonly') return 'read';
  if (kind === 'interop') return 'interop';
  return 'readwrite';
}
