// SQL Server and Azure SQL Database statement builders (T-SQL).
// Every name and password is a bound parameter: the batch asks the server to quote it with QUOTENAME
// and runs the result with sp_executesql. QUOTENAME gives NULL past 128 characters, and `+` keeps the
// NULL, so each batch refuses to run a NULL statement instead of silently doing nothing.
import type { Dialect, DialectName, NewPassword, NewUser, ObjectGrant, SessionRef, TableRef, Target, UserRef } from './dialect.js';
import { checkIdentifier } from './identifiers.js';
import { checkPassword } from './passwords.js';
import {
  EXPOSED_VIEW_PREFIX,
  INTEROP_CATALOG_VIEWS,
  INTEROP_METAMODEL_TABLES,
  ALL_MISSING_WRITE_LABEL,
  checkUsernamePrefix,
  isApplicationTable,
  likePrefix,
  objectRole,
  privilegeList,
} from './permissions.js';
import { MISSING_WRITE_GRANTS, allMissingWriteBatch } from './sqlserver-batch.js';
import type { DynamicPart, Param, Statement, StatementKind } from './statement.js';
import { AppError } from '../errors.js';

const text = (t: string): DynamicPart => ({ text: t });
const ident = (name: string): DynamicPart => ({ ident: name });

function nvarchar(name: string, value: string, secret = false): Param {
  return secret ? { name, value, type: 'nvarchar', secret } : { name, value, type: 'nvarchar' };
}

/** An N'…' literal of our own fixed text (never a user value). */
function nstring(value: string): string {
  return `N'${value.replaceAll("'", "''")}'`;
}

interface DynamicOptions {
  /** A condition under which the batch does nothing: the principal is already gone. */
  skipIf?: string;
  /** A condition under which the batch refuses to run, with our own fixed sentence. */
  refuseIf?: { condition: string; message: string };
  /** Server-level permissions can be granted only from master. */
  inMaster?: boolean;
  /** Parameters passed through to the inner statement (for queries). */
  passThrough?: Param[];
  /** Server error numbers that mean "nothing to do" (the thing is already gone). */
  tolerate?: number[];
  /** Server error numbers of a documented refusal: the batch then returns one row `{ note }` instead of failing. */
  refused?: { errors: number[]; note: string };
}

/** The T-SQL expression that joins `parts` server-side; each name is a variable (a parameter or a local) quoted by QUOTENAME. */
function expression(parts: DynamicPart[]): string {
  return parts
    .map((p) => {
      if ('text' in p) return nstring(p.text);
      if ('ident' in p) return `QUOTENAME(@${p.ident})`;
      if ('literal' in p) return `QUOTENAME(@${p.literal}, N'''')`;
      return `CAST(@${p.number} AS nvarchar(20))`;
    })
    .join(' + ');
}

/** A batch that builds `parts` server-side and runs it with sp_executesql. */
function dynamic(kind: StatementKind, label: string, parts: DynamicPart[], params: Param[], options: DynamicOptions = {}): Statement {
  const expr = expression(parts);
  const pass = options.passThrough ?? [];
  const exec = pass.length
    ? `EXEC sys.sp_executesql @sql, ${nstring(pass.map((p) => `@${p.name} ${p.type === 'int' ? 'int' : 'nvarchar(128)'}`).join(', '))}, ${pass
        .map((p) => `@${p.name} = @${p.name}`)
        .join(', ')};`
    : `EXEC ${options.inMaster ? 'master.' : ''}sys.sp_executesql @sql;`;
  const run = options.refused
    ? `BEGIN TRY\n  ${exec}\nEND TRY\nBEGIN CATCH\n  IF ERROR_NUMBER() NOT IN (${options.refused.errors.join(', ')}) THROW;\n  SELECT ${nstring(options.refused.note)} AS note;\nEND CATCH;`
    : options.tolerate?.length
      ? `BEGIN TRY\n  ${exec}\nEND TRY\nBEGIN CATCH\n  IF ERROR_NUMBER() NOT IN (${options.tolerate.join(', ')}) THROW;\nEND CATCH;`
      : exec;
  const lines = [
    ...(options.skipIf ? [`IF ${options.skipIf} RETURN;`] : []),
    ...(options.refuseIf ? [`IF ${options.refuseIf.condition} THROW 50000, ${nstring(options.refuseIf.message)}, 1;`] : []),
    `DECLARE @sql nvarchar(max) = ${expr};`,
    `IF @sql IS NULL THROW 50000, N'A name or password is longer than 128 characters; nothing was run.', 1;`,
    run,
  ];
  return { kind, label, sql: lines.join('\n'), params: [...params, ...pass], dynamic: parts };
}

function query(label: string, sql: string, params: Param[]): Statement {
  return { kind: 'query', label, sql, params };
}

/** 6106: "Process ID %d is not an active process ID." */
const PROCESS_NOT_ACTIVE = 6106;
/** 15434: "Could not drop login as the user is currently logged in." (a killed session not yet gone) */
const LOGIN_IN_USE = 15434;

/**
 * A GRANT on a system object refused: 4613 "Grantor does not have GRANT permission", 4629 "can be
 * granted only when the current database is master", 15151 "cannot find the object … or you do not
 * have permission", 15247 "User does not have permission to perform this action".
 */
const SYSTEM_OBJECT_REFUSED = [4613, 4629, 15151, 15247];

/**
 * Catalog views are readable by public and show only the rows of objects the user holds a permission
 * on ("Metadata Visibility Configuration",
 * https://learn.microsoft.com/en-us/sql/relational-databases/security/metadata-visibility-configuration),
 * so an interop user that cannot be granted them explicitly still reads what it needs.
 */
const CATALOG_READABLE_BY_PUBLIC = 'already readable by public; its rows follow the user\'s own object permissions';

/**
 * "GRANT System Object Permissions" applies to SQL Server and Azure SQL Managed Instance only, and needs
 * CONTROL SERVER (https://learn.microsoft.com/en-us/sql/t-sql/statements/grant-system-object-permissions-transact-sql).
 * Azure SQL Database has no such grant, and the RDS master user has no CONTROL SERVER
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.MasterAccounts.html).
 */
function systemObjectGrantsAccepted(t: Target, contained: boolean): boolean {
  return !contained && t.platform !== 'rds' && t.platform !== 'azure-sql-database';
}

/** INSERT, UPDATE, DELETE on one table: `@table` is grantWrite's parameter, or grantAllMissingWrite's local variable. */
const WRITE_GRANT: DynamicPart[] = [text('GRANT INSERT, UPDATE, DELETE ON OBJECT::'), ident('schema'), text('.'), ident('table'), text(' TO '), ident('username')];

const LOGIN_MISSING = 'NOT EXISTS (SELECT 1 FROM sys.server_principals WHERE name = @username)';
const USER_MISSING = 'NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = @username)';

function tsqlDialect(name: Exclude<DialectName, 'oracle'>) {
  /** Azure SQL Database: contained users, no logins, no server-level permissions. */
  const contained = name === 'azuresql';
  const user = (req: UserRef, t: Target) => nvarchar('username', checkIdentifier(req.username, 'username', t.rules));
  const schema = (t: Target) => nvarchar('schema', checkIdentifier(t.schema, 'schema', t.rules));

  function grantTo(label: string, permission: string, req: UserRef, t: Target): Statement {
    return dynamic('grant', label, [text(`GRANT ${permission} TO `), ident('username')], [user(req, t)]);
  }

  return {
    name,
    family: 'tsql',
    stillConnectedErrors: [LOGIN_IN_USE],

    createUser(req: NewUser, t: Target): Statement[] {
      const password = nvarchar('password', checkPassword(req), true);
      const schemaParam = schema(t);
      if (contained) {
        return [
          dynamic(
            'create user',
            'create contained database user',
            [text('CREATE USER '), ident('username'), text(' WITH PASSWORD = N'), { literal: 'password' }, text(', DEFAULT_SCHEMA = '), ident('schema')],
            [user(req, t), password, schemaParam],
          ),
        ];
      }
      const database = nvarchar('database', checkIdentifier(t.database ?? '', 'schema', t.rules));
      return [
        dynamic(
          'create login',
          'create login',
          [
            text('CREATE LOGIN '),
            ident('username'),
            text(' WITH PASSWORD = N'),
            { literal: 'password' },
            // The option order of the documented syntax; SQL Server takes any, the grammar checks this one.
            text(', DEFAULT_DATABASE = '),
            ident('database'),
            text(', CHECK_EXPIRATION = OFF, CHECK_POLICY = ON'),
          ],
          [user(req, t), password, database],
          {
            // Logins are per instance, and several environments' databases may share one: a login of
            // this name may be another environment's (its interop user, say). Say so rather than
            // "already exists", and never take it over.
            refuseIf: {
              condition: 'EXISTS (SELECT 1 FROM sys.server_principals WHERE name = @username)',
              message: 'A login of this name already exists on this instance, perhaps for another environment whose database shares it; nothing was created. Give this environment its own username (interop.username).',
            },
          },
        ),
        dynamic(
          'create user',
          'create database user for the login',
          [text('CREATE USER '), ident('username'), text(' FOR LOGIN '), ident('username'), text(' WITH DEFAULT_SCHEMA = '), ident('schema')],
          [user(req, t), schemaParam],
        ),
      ];
    },

    grantRead(req: UserRef, t: Target): Statement[] {
      const viewDatabaseState = grantTo('grant VIEW DATABASE STATE', 'VIEW DATABASE STATE', req, t);
      const statements = [
        grantTo('grant SELECT on every table and view of the database', 'SELECT', req, t),
        grantTo('grant SHOWPLAN', 'SHOWPLAN', req, t),
        // Azure SQL Database has no server-level permissions, so VIEW SERVER STATE does not exist
        // there; for a database user VIEW DATABASE STATE is what the DMVs ask instead
        // ("System dynamic management views", Permissions:
        // https://learn.microsoft.com/en-us/sql/relational-databases/system-dynamic-management-views/system-dynamic-management-views).
        contained
          ? { ...viewDatabaseState, note: 'Azure SQL Database has no VIEW SERVER STATE (no server-level permissions); VIEW DATABASE STATE replaces it for the DMVs of this database' }
          : viewDatabaseState,
      ];
      if (!contained) {
        statements.push(
          dynamic('grant', 'grant VIEW SERVER STATE (server level, from master)', [text('GRANT VIEW SERVER STATE TO '), ident('username')], [user(req, t)], {
            inMaster: true,
          }),
        );
      }
      return statements;
    },

    countApplicationTables(t: Target): Statement {
      return query(
        'count the OSUSR_ tables of the schema',
        "SELECT COUNT(*) AS total FROM sys.tables AS t JOIN sys.schemas AS s ON s.schema_id = t.schema_id WHERE s.name = @schema AND t.name LIKE @pattern ESCAPE N'\\';",
        [schema(t), nvarchar('pattern', likePrefix('OSUSR_'))],
      );
    },

    missingWriteGrants(req: UserRef, t: Target): Statement {
      return query('list OSUSR_ tables lacking INSERT, UPDATE, DELETE for the user', [...MISSING_WRITE_GRANTS, 'ORDER BY t.name;'].join('\n'), [
        schema(t),
        nvarchar('pattern', likePrefix('OSUSR_')),
        user(req, t),
      ]);
    },

    grantWrite(req: TableRef, t: Target): Statement {
      const table = checkIdentifier(req.table, 'table', t.rules);
      if (!isApplicationTable(table)) {
        throw new AppError('invalid_input', `Write access is only for application tables (OSUSR_…); ${table} is not one.`);
      }
      return dynamic('grant', `grant INSERT, UPDATE, DELETE on ${table}`, WRITE_GRANT, [schema(t), nvarchar('table', table), user(req, t)]);
    },

    grantAllMissingWrite(req: UserRef, t: Target): Statement {
      // missingWriteGrants's selection, kept in a table variable first so the grants cannot change
      // what the cursor reads. Each GRANT is grantWrite's, with @table a local variable that QUOTENAME
      // quotes on the server. A failure ends the batch (THROW, or the GRANT's own error): the caller
      // then drops the half-made user, and with it whatever was granted.
      return {
        kind: 'grant',
        label: ALL_MISSING_WRITE_LABEL,
        sql: allMissingWriteBatch(expression(WRITE_GRANT)),
        params: [schema(t), nvarchar('pattern', likePrefix('OSUSR_')), user(req, t)],
      };
    },

    grantInterop(req: UserRef, t: Target): Statement[] {
      const metamodel = INTEROP_METAMODEL_TABLES.map((table) =>
        dynamic(
          'grant',
          `grant SELECT on ${table}`,
          [text('GRANT SELECT ON OBJECT::'), ident('schema'), text('.'), ident('table'), text(' TO '), ident('username')],
          [schema(t), nvarchar('table', table), user(req, t)],
        ),
      );
      if (!systemObjectGrantsAccepted(t, contained)) return metamodel;
      const catalog = INTEROP_CATALOG_VIEWS.tsql.map((view, i) => ({
        ...dynamic(
          'grant',
          `grant SELECT on ${view.schema}.${view.name}`,
          [text(`GRANT SELECT ON OBJECT::${view.schema}.`), ident('view'), text(' TO '), ident('username')],
          [nvarchar('view', view.name), user(req, t)],
          // Refused without CONTROL SERVER: recorded, never a reason to roll the setup back.
          { refused: { errors: SYSTEM_OBJECT_REFUSED, note: `${view.schema}.${view.name} not granted (the server refused it): ${CATALOG_READABLE_BY_PUBLIC}` } },
        ),
        ...(i === 0 ? { note: 'GRANT on system objects needs CONTROL SERVER: a refusal is recorded as "already readable by public", never a reason to roll back' } : {}),
      }));
      return [...metamodel, ...catalog];
    },

    interopNotes(t: Target): string[] {
      if (systemObjectGrantsAccepted(t, contained)) return [];
      const where = contained ? 'Azure SQL Database has no GRANT on system objects' : 'RDS gives no CONTROL SERVER, which GRANT on system objects needs';
      const views = INTEROP_CATALOG_VIEWS.tsql.map((v) => `${v.schema}.${v.name}`).join(', ');
      return [`${views}: not granted (${where}); ${CATALOG_READABLE_BY_PUBLIC}`];
    },

    grantObject(req: ObjectGrant, t: Target): Statement {
      const object = checkIdentifier(req.object, objectRole(req.object), t.rules);
      const privileges = privilegeList(req.privileges);
      checkWritable(object, req.privileges);
      return dynamic(
        'grant',
        `grant ${privileges} on ${object}`,
        [text(`GRANT ${privileges} ON OBJECT::`), ident('schema'), text('.'), ident('object'), text(' TO '), ident('username')],
        [schema(t), nvarchar('object', object), user(req, t)],
      );
    },

    blockLogin(req: UserRef, t: Target): Statement[] {
      if (contained) {
        return [dynamic('block login', 'deny CONNECT (blocks new logins)', [text('DENY CONNECT TO '), ident('username')], [user(req, t)], { skipIf: USER_MISSING })];
      }
      return [dynamic('block login', 'disable the login', [text('ALTER LOGIN '), ident('username'), text(' DISABLE')], [user(req, t)], { skipIf: LOGIN_MISSING })];
    },

    listSessions(req: UserRef, t: Target): Statement {
      return query(
        "list the user's live sessions",
        // original_login_name: login_name changes under impersonation (EXECUTE AS), the login that
        // connected does not ("sys.dm_exec_sessions",
        // https://learn.microsoft.com/en-us/sql/relational-databases/system-dynamic-management-views/sys-dm-exec-sessions-transact-sql).
        'SELECT session_id AS id FROM sys.dm_exec_sessions WHERE original_login_name = @username AND session_id <> @@SPID ORDER BY session_id;',
        [user(req, t)],
      );
    },

    killSession(req: SessionRef & UserRef, t: Target): Statement {
      // KILL takes no variables, so the number is formatted server-side from an int parameter.
      // Session ids are reused at once: the guard checks the id still belongs to the user, and 6106
      // (the session ended meanwhile) is nothing to do. KILL must not run inside a transaction.
      return dynamic(
        'kill session',
        `end session ${req.id}`,
        [text('KILL '), { number: 'session_id' }],
        [{ name: 'session_id', value: sessionNumber(req.id), type: 'int' }, user(req, t)],
        {
          skipIf: 'NOT EXISTS (SELECT 1 FROM sys.dm_exec_sessions WHERE session_id = @session_id AND original_login_name = @username)',
          tolerate: [PROCESS_NOT_ACTIVE],
        },
      );
    },

    dropUser(req: UserRef, t: Target): Statement[] {
      // A guard rather than DROP USER IF EXISTS, which SQL Server 2014 does not know.
      const dropUser = dynamic('drop user', 'drop the database user', [text('DROP USER '), ident('username')], [user(req, t)], { skipIf: USER_MISSING });
      if (contained) return [dropUser];
      return [dropUser, dynamic('drop login', 'drop the login', [text('DROP LOGIN '), ident('username')], [user(req, t)], { skipIf: LOGIN_MISSING })];
    },

    setPassword(req: NewPassword, t: Target): Statement {
      const principal = contained ? 'USER' : 'LOGIN';
      // UNLOCK lifts a CHECK_POLICY lockout after bad passwords; only logins have one (ALTER LOGIN:
      // https://learn.microsoft.com/en-us/sql/t-sql/statements/alter-login-transact-sql). It does not
      // undo DISABLE, which is how revocation blocks a login.
      const unlock = req.unlock && !contained;
      return dynamic(
        'set password',
        `set a new password on the ${principal.toLowerCase()}${unlock ? ' and unlock it' : ''}`,
        [text(`ALTER ${principal} `), ident('username'), text(' WITH PASSWORD = N'), { literal: 'password' }, ...(unlock ? [text(' UNLOCK')] : [])],
        [user(req, t), nvarchar('password', checkPassword(req), true)],
      );
    },

    userExists(req: UserRef, t: Target): Statement {
      // This environment's database only: a login of the same name may belong to another environment
      // whose database shares the instance.
      return query('check whether the user exists', 'SELECT CASE WHEN EXISTS (SELECT 1 FROM sys.database_principals WHERE name = @username) THEN 1 ELSE 0 END AS present;', [
        user(req, t),
      ]);
    },

    listUsers(req: { prefix: string }, t: Target): Statement {
      const prefix = checkIdentifier(checkUsernamePrefix(req.prefix), 'username', { ...t.rules, upperCaseUsernames: false });
      // sys.server_principals covers the whole instance, and other environments' databases may share
      // it: only the users of this database count, with their login found by sid. principal_id 5 and
      // up leaves out dbo, guest, INFORMATION_SCHEMA and sys; USER_NAME() is the admin itself.
      return query(
        `list users starting with ${prefix}`,
        [
          'SELECT dp.name AS name',
          'FROM sys.database_principals AS dp',
          ...(contained ? [] : ['LEFT JOIN sys.server_principals AS sp ON sp.sid = dp.sid']),
          "WHERE dp.type = 'S' AND dp.principal_id > 4 AND dp.name <> USER_NAME()",
          `  AND (dp.name LIKE @pattern ESCAPE N'\\'${contained ? '' : " OR sp.name LIKE @pattern ESCAPE N'\\'"})`,
          'ORDER BY dp.name;',
        ].join('\n'),
        [nvarchar('pattern', likePrefix(prefix))],
      );
    },

    findEntityTables(req: { entity: string }, t: Target): Statement {
      const entity = checkIdentifier(req.entity, 'entity', t.rules);
      return dynamic(
        'query',
        `find the table of entity ${entity}`,
        [
          text('SELECT e.NAME AS entity_name, e.PHYSICAL_TABLE_NAME AS table_name, m.NAME AS module_name FROM '),
          ident('schema'),
          text('.OSSYS_ENTITY AS e JOIN '),
          ident('schema'),
          text('.OSSYS_ESPACE AS m ON m.ID = e.ESPACE_ID WHERE e.NAME = @entity AND e.IS_ACTIVE = 1 ORDER BY m.NAME'),
        ],
        [schema(t)],
        { passThrough: [nvarchar('entity', entity)] },
      );
    },

    listExposedViews(req: UserRef, t: Target): Statement {
      const flag = (permission: string) => `MAX(CASE WHEN p.permission_name = N'${permission}' THEN 1 ELSE 0 END) AS can_${permission.toLowerCase()}`;
      return query(
        'list exposed OSUSR_VIEW_ views and their grants to the user',
        [
          `SELECT v.name AS view_name, ${['SELECT', 'INSERT', 'UPDATE', 'DELETE'].map(flag).join(', ')}`,
          'FROM sys.views AS v',
          'JOIN sys.schemas AS s ON s.schema_id = v.schema_id',
          'LEFT JOIN sys.database_permissions AS p',
          "  ON p.class = 1 AND p.major_id = v.object_id AND p.minor_id = 0 AND p.state IN ('G', 'W')",
          '  AND p.grantee_principal_id = DATABASE_PRINCIPAL_ID(@username)',
          "WHERE s.name = @schema AND v.name LIKE @pattern ESCAPE N'\\'",
          'GROUP BY v.name',
          'ORDER BY v.name;',
        ].join('\n'),
        [user(req, t), schema(t), nvarchar('pattern', likePrefix(EXPOSED_VIEW_PREFIX))],
      );
    },
  } satisfies Dialect;
}

/**
 * Write privileges only ever go to application tables and exposed views (`OSUSR_…`), whoever calls
 * the builder: never an OSSYS_ table.
 */
export function checkWritable(object: string, privileges: readonly string[]): void {
  if (privileges.some((p) => p !== 'SELECT') && !isApplicationTable(object)) {
    throw new AppError('invalid_input', `INSERT, UPDATE and DELETE are only for application tables and views (OSUSR_…); ${object} is not one.`);
  }
}

/** A session number from the server, checked before it goes anywhere near a statement. */
export function sessionNumber(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new AppError('internal', `not a session number: ${String(value)}`);
  return value;
}

export const sqlServer = tsqlDialect('sqlserver') satisfies Dialect;
export const azureSql = tsqlDialect('azuresql') satisfies Dialect;
