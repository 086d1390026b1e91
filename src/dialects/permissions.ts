// The permission sets the product grants, as data, so every dialect grants the same things.
// seeds/outsystems-cloud-database-access.md#granted-permissions and seeds/data-interoperability-o11-dba.md#setup
import { AppError } from '../errors.js';
import type { ObjectPrivilege } from './dialect.js';

/** Application tables: created by the Platform Server for Service Studio entities. Never OSSYS. */
export const APPLICATION_TABLE_PREFIX = 'OSUSR_';
/** Views OutSystems creates when an entity is exposed to ODC. */
export const EXPOSED_VIEW_PREFIX = 'OSUSR_VIEW_';

/** `prefix` as a LIKE pattern with `\` as the escape: `_` and `%` must not act as wildcards. */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_[]/g, (c) => `\\${c}`)}%`;
}

/** True for a name a write grant may target: an application table, case-insensitively. */
export function isApplicationTable(name: string): boolean {
  return name.toUpperCase().startsWith(APPLICATION_TABLE_PREFIX);
}

const PRIVILEGES: readonly ObjectPrivilege[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];

/** `privileges` as the text of a GRANT, after checking each at run time (types vanish there). */
export function privilegeList(privileges: readonly ObjectPrivilege[]): string {
  const unique = [...new Set(privileges)];
  if (unique.length === 0 || unique.some((p) => !PRIVILEGES.includes(p))) {
    throw new AppError('internal', `privileges must be some of ${PRIVILEGES.join(', ')}`);
  }
  return PRIVILEGES.filter((p) => unique.includes(p)).join(', ');
}

/** Whether an object name is an exposed view or a table, for messages. */
export function objectRole(name: string): 'view' | 'table' {
  return name.toUpperCase().startsWith(EXPOSED_VIEW_PREFIX) ? 'view' : 'table';
}

/** The OutSystems metamodel tables the interoperability user reads. */
export const INTEROP_METAMODEL_TABLES = [
  'OSSYS_APPLICATION',
  'OSSYS_APP_DEFINITION_MODULE',
  'OSSYS_ENTITY',
  'OSSYS_ENTITY_ATTR',
  'OSSYS_ENTITY_EXTRA_METADATA',
  'OSSYS_ENTITY_VIEW',
  'OSSYS_ESPACE',
  'OSSYS_MODULE',
] as const;

/** Catalog views the interoperability user reads, per dialect family: schema and name. */
export const INTEROP_CATALOG_VIEWS = {
  tsql: ['columns', 'foreign_keys', 'foreign_key_columns', 'index_columns', 'key_constraints', 'objects', 'schemas', 'tables', 'types'].map(
    (name) => ({ schema: 'sys', name }),
  ),
  plsql: ['ALL_CONS_COLUMNS', 'ALL_CONSTRAINTS', 'ALL_TAB_COLS', 'ALL_TAB_COLUMNS', 'ALL_TYPES'].map((name) => ({ schema: 'SYS', name })),
} as const;

/**
 * The bot's username prefix: at least 3 characters ending in `_`, so that it can never match the
 * server's own accounts (`os…`, `db…`: OSADMIN, DBSNMP) and orphan detection stays on the bot's users.
 */
export function usernamePrefixProblem(prefix: string): string | undefined {
  if (prefix.length < 3) return 'it must be at least 3 characters long';
  if (!prefix.endsWith('_')) return 'it must end with _';
  return undefined;
}

export function checkUsernamePrefix(prefix: string): string {
  const problem = usernamePrefixProblem(prefix);
  if (problem) throw new AppError('invalid_input', `The username prefix ${JSON.stringify(prefix.slice(0, 20))} is not allowed: ${problem}.`);
  return prefix;
}

/** The label of grantAllMissingWrite, the same on every dialect (dry runs and plans recognise it). */
export const ALL_MISSING_WRITE_LABEL = 'grant INSERT, UPDATE, DELETE on every OSUSR_ table lacking them';
