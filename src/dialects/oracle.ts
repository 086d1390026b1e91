// Oracle statement builders (PL/SQL). Every name and password is a bind variable: an anonymous block
// quotes it with DBMS_ASSERT.ENQUOTE_NAME and runs the result with EXECUTE IMMEDIATE. Errors that
// mean "already gone" are swallowed inside the block, so block/kill/drop are safe to repeat.
import type { Dialect, NewPassword, NewUser, ObjectGrant, SessionRef, TableRef, Target, UserRef } from './dialect.js';
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
import { checkWritable, sessionNumber } from './sqlserver.js';
import type { DynamicPart, Param, Statement, StatementKind } from './statement.js';
import { AppError } from '../errors.js';

const text = (t: string): DynamicPart => ({ text: t });
const ident = (name: string): DynamicPart => ({ ident: name });

/** ORA-01918: user does not exist. ORA-00030: user session ID does not exist. ORA-00031: session marked for kill. */
const USER_MISSING = -1918;
const SESSION_MISSING = -30;
const SESSION_MARKED_FOR_KILL = -31;
/** ORA-01940: cannot drop a user that is currently connected (a killed session not yet cleaned up). */
const USER_CONNECTED = 1940;

function bind(name: string, value: string, secret = false): Param {
  return secret ? { name, value, type: 'nvarchar', secret } : { name, value, type: 'nvarchar' };
}

/** A '…' literal of our own fixed text (never a user value). */
function plsqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** The PL/SQL expression that joins `parts`; an ident is a bind, or the PL/SQL variable `locals` names for it. */
function expression(parts: DynamicPart[], locals: Record<string, string> = {}): string {
  return parts
    .map((p) => {
      if ('text' in p) return plsqlString(p.text);
      if ('ident' in p) return `DBMS_ASSERT.ENQUOTE_NAME(${locals[p.ident] ?? `:${p.ident}`}, FALSE)`;
      if ('number' in p) return `TO_CHAR(:${p.number})`;
      throw new Error('string literals are not used on Oracle: passwords are quoted identifiers');
    })
    .join(' || ');
}

/** An anonymous block that builds `parts` server-side and runs it; `tolerate` lists SQLCODEs that mean "nothing to do". */
function dynamic(kind: StatementKind, label: string, parts: DynamicPart[], params: Param[], tolerate: number[] = []): Statement {
  const body = `EXECUTE IMMEDIATE ${expression(parts)};`;
  const handler = tolerate.length
    ? `\nEXCEPTION\n  WHEN OTHERS THEN\n    IF SQLCODE NOT IN (${tolerate.join(', ')}) THEN RAISE; END IF;`
    : '';
  return { kind, label, sql: `BEGIN\n  ${body}${handler}\nEND;`, params, dynamic: parts };
}

function query(label: string, sql: string, params: Param[]): Statement {
  return { kind: 'query', label, sql, params };
}

function user(req: UserRef, t: Target): Param {
  return bind('username', checkIdentifier(req.username, 'username', t.rules));
}
function owner(t: Target): Param {
  return bind('owner', checkIdentifier(t.schema, 'schema', t.rules));
}

function grantSystem(privilege: string, req: UserRef, t: Target): Statement {
  return dynamic('grant', `grant ${privilege}`, [text(`GRANT ${privilege} TO `), ident('username')], [user(req, t)]);
}

function grantOn(kind: StatementKind, label: string, privileges: string, schema: Param, object: Param, req: UserRef, t: Target): Statement {
  return dynamic(kind, label, [text(`GRANT ${privileges} ON `), ident(schema.name), text('.'), ident(object.name), text(' TO '), ident('username')], [schema, object, user(req, t)]);
}

/** INSERT, UPDATE, DELETE on one table: `tablename` is grantWrite's bind, or grantAllMissingWrite's loop record. */
const WRITE_GRANT: DynamicPart[] = [text('GRANT INSERT, UPDATE, DELETE ON '), ident('owner'), text('.'), ident('tablename'), text(' TO '), ident('username')];

/** The `OSUSR_` tables of :owner lacking any of INSERT, UPDATE, DELETE for :username, as `table_name`; no ORDER BY. */
const MISSING_WRITE_GRANTS = [
  'SELECT t.table_name AS table_name',
  // DBA_TABLES, not ALL_TABLES: ALL_ lists only the tables the admin itself can reach, so a
  // missing grant to the admin would silently leave tables out.
  'FROM dba_tables t',
  "WHERE t.owner = :owner AND t.table_name LIKE :pattern ESCAPE '\\'",
  '  AND (SELECT COUNT(DISTINCT p.privilege) FROM dba_tab_privs p',
  '       WHERE p.grantee = :username AND p.owner = t.owner AND p.table_name = t.table_name',
  "         AND p.privilege IN ('INSERT', 'UPDATE', 'DELETE')) < 3",
];

/**
 * "Catalog views" are readable by PUBLIC, which since 12.2 holds READ on them WITH GRANT OPTION: any
 * admin may pass READ on, while SELECT on a SYS object needs SYS (ANY privileges do not reach SYS
 * objects, O7_DICTIONARY_ACCESSIBILITY) and fails with ORA-01031. Oracle Database Reference 19c,
 * "About Static Data Dictionary Views" (ALL_ views), and SQL Language Reference, GRANT (READ).
 */
const CATALOG_PRIVILEGE = 'READ';

export const oracle = {
  name: 'oracle',
  family: 'plsql',
  stillConnectedErrors: [USER_CONNECTED],

  createUser(req: NewUser, t: Target): Statement[] {
    // Without a profile the DEFAULT one applies: passwords expire after 180 days and 10 bad ones
    // lock the account (Security Guide 19c, "Managing Resources with Profiles").
    const profile = req.kind ? t.profiles?.[req.kind] : undefined;
    const profileParts = profile ? [text(' PROFILE '), ident('profile')] : [];
    return [
      dynamic(
        'create user',
        profile ? `create user with profile ${profile}` : 'create user',
        [text('CREATE USER '), ident('username'), text(' IDENTIFIED BY '), ident('password'), ...profileParts],
        [user(req, t), bind('password', checkPassword(req), true), ...(profile ? [bind('profile', checkIdentifier(profile, 'profile', t.rules))] : [])],
      ),
      grantSystem('CREATE SESSION', req, t),
    ];
  },

  grantRead(req: UserRef, t: Target, access: 'read' | 'readwrite'): Statement[] {
    // SELECT ANY TABLE also allows LOCK TABLE … IN EXCLUSIVE MODE and SELECT … FOR UPDATE, so a
    // read-only user could stall the platform; READ ANY TABLE (12.1.0.2+) allows only queries.
    // SQL Language Reference 19c, GRANT, "System Privileges" (READ ANY TABLE / SELECT ANY TABLE).
    const tables = access === 'read' ? 'READ ANY TABLE' : 'SELECT ANY TABLE';
    if (t.schemaPrivileges) {
      // 23ai schema privileges: the same right on the OutSystems schema only (SQL Language Reference
      // 23ai, GRANT, "schema_privileges").
      const onSchema = dynamic('grant', `grant ${tables} on schema ${t.schema}`, [text(`GRANT ${tables} ON SCHEMA `), ident('owner'), text(' TO '), ident('username')], [owner(t), user(req, t)]);
      return [onSchema, grantSystem('SELECT ANY DICTIONARY', req, t)];
    }
    return [grantSystem(tables, req, t), grantSystem('SELECT ANY DICTIONARY', req, t)];
  },

  countApplicationTables(t: Target): Statement {
    return query(
      'count the OSUSR_ tables of the schema',
      "SELECT COUNT(*) AS total FROM dba_tables WHERE owner = :owner AND table_name LIKE :pattern ESCAPE '\\'",
      [owner(t), bind('pattern', likePrefix('OSUSR_'))],
    );
  },

  missingWriteGrants(req: UserRef, t: Target): Statement {
    return query('list OSUSR_ tables lacking INSERT, UPDATE, DELETE for the user', [...MISSING_WRITE_GRANTS, 'ORDER BY t.table_name'].join('\n'), [
      owner(t),
      bind('pattern', likePrefix('OSUSR_')),
      user(req, t),
    ]);
  },

  grantWrite(req: TableRef, t: Target): Statement {
    const table = checkIdentifier(req.table, 'table', t.rules);
    if (!isApplicationTable(table)) {
      throw new AppError('invalid_input', `Write access is only for application tables (OSUSR_…); ${table} is not one.`);
    }
    return dynamic('grant', `grant INSERT, UPDATE, DELETE on ${table}`, WRITE_GRANT, [owner(t), bind('tablename', table), user(req, t)]);
  },

  grantAllMissingWrite(req: UserRef, t: Target): Statement {
    // missingWriteGrants's selection in a cursor FOR loop; each GRANT is grantWrite's, with the table
    // name taken from the loop record and quoted by DBMS_ASSERT.ENQUOTE_NAME on the server. The names
    // granted come back through an OUT REF CURSOR over the collection (as findEntityTables' rows do).
    // GRANT is DDL and commits, so a failure leaves the earlier grants: the caller then drops the
    // half-made user, and with it whatever was granted.
    return {
      kind: 'grant',
      label: ALL_MISSING_WRITE_LABEL,
      sql: [
        'DECLARE',
        '  granted SYS.ODCIVARCHAR2LIST := SYS.ODCIVARCHAR2LIST();',
        'BEGIN',
        '  FOR missing IN (',
        ...[...MISSING_WRITE_GRANTS, 'ORDER BY t.table_name'].map((line) => `    ${line}`),
        '  ) LOOP',
        `    EXECUTE IMMEDIATE ${expression(WRITE_GRANT, { tablename: 'missing.table_name' })};`,
        '    granted.EXTEND;',
        '    granted(granted.COUNT) := missing.table_name;',
        '  END LOOP;',
        '  OPEN :tables FOR SELECT COLUMN_VALUE AS table_name FROM TABLE(granted);',
        'END;',
      ].join('\n'),
      params: [owner(t), bind('pattern', likePrefix('OSUSR_')), user(req, t)],
      cursor: 'tables',
    };
  },

  grantInterop(req: UserRef, t: Target): Statement[] {
    const metamodel = INTEROP_METAMODEL_TABLES.map((table) => grantOn('grant', `grant SELECT on ${table}`, 'SELECT', owner(t), bind('tablename', table), req, t));
    const catalog = INTEROP_CATALOG_VIEWS.plsql.map((view) =>
      grantOn('grant', `grant ${CATALOG_PRIVILEGE} on ${view.schema}.${view.name}`, CATALOG_PRIVILEGE, bind('viewowner', view.schema), bind('viewname', view.name), req, t),
    );
    return [grantSystem('CREATE SESSION', req, t), ...metamodel, ...catalog];
  },

  interopNotes(): string[] {
    return [];
  },

  grantObject(req: ObjectGrant, t: Target): Statement {
    const object = checkIdentifier(req.object, objectRole(req.object), t.rules);
    const privileges = privilegeList(req.privileges);
    checkWritable(object, req.privileges);
    return grantOn('grant', `grant ${privileges} on ${object}`, privileges, owner(t), bind('objectname', object), req, t);
  },

  blockLogin(req: UserRef, t: Target): Statement[] {
    return [dynamic('block login', 'lock the account', [text('ALTER USER '), ident('username'), text(' ACCOUNT LOCK')], [user(req, t)], [USER_MISSING])];
  },

  listSessions(req: UserRef, t: Target): Statement {
    return query(
      "list the user's live sessions on every instance",
      // Sessions already marked KILLED are on their way out; killing them again only raises ORA-00031.
      "SELECT sid AS id, serial# AS serial, inst_id AS instance FROM gv$session WHERE username = :username AND status <> 'KILLED' ORDER BY inst_id, sid",
      [user(req, t)],
    );
  },

  killSession(req: SessionRef & UserRef, t: Target): Statement {
    const serial = sessionNumber(req.serial ?? -1);
    const instance = sessionNumber(req.instance ?? 1);
    if (t.platform === 'rds') {
      // RDS gives no ALTER SYSTEM; its procedure does the same as KILL SESSION … IMMEDIATE
      // ("Terminating a session", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.Oracle.CommonDBATasks.KillingSession.html).
      return {
        kind: 'kill session',
        label: `end session ${req.id},${serial}`,
        sql: [
          'BEGIN',
          "  rdsadmin.rdsadmin_util.kill(sid => :sid, serial => :serial, method => 'IMMEDIATE');",
          'EXCEPTION',
          '  WHEN OTHERS THEN',
          `    IF SQLCODE NOT IN (${SESSION_MISSING}, ${SESSION_MARKED_FOR_KILL}) THEN RAISE; END IF;`,
          'END;',
        ].join('\n'),
        params: [
          { name: 'sid', value: sessionNumber(req.id), type: 'int' },
          { name: 'serial', value: serial, type: 'int' },
        ],
      };
    }
    return dynamic(
      'kill session',
      `end session ${req.id},${serial} on instance ${instance}`,
      [text("ALTER SYSTEM KILL SESSION '"), { number: 'sid' }, text(','), { number: 'serial' }, text(',@'), { number: 'instance' }, text("' IMMEDIATE")],
      [
        { name: 'sid', value: sessionNumber(req.id), type: 'int' },
        { name: 'serial', value: serial, type: 'int' },
        { name: 'instance', value: instance, type: 'int' },
      ],
      [SESSION_MISSING, SESSION_MARKED_FOR_KILL],
    );
  },

  dropUser(req: UserRef, t: Target): Statement[] {
    return [dynamic('drop user', 'drop the user and its objects', [text('DROP USER '), ident('username'), text(' CASCADE')], [user(req, t)], [USER_MISSING])];
  },

  setPassword(req: NewPassword, t: Target): Statement {
    const base = [text('ALTER USER '), ident('username'), text(' IDENTIFIED BY '), ident('password')];
    const params = [user(req, t), bind('password', checkPassword(req), true)];
    if (!req.unlock) return dynamic('set password', 'set a new password', base, params);
    // ACCOUNT UNLOCK lifts a lock after too many bad passwords, but would also lift revocation's
    // ACCOUNT LOCK. DBA_USERS tells them apart: LOCKED(TIMED) is failed logins, LOCKED is a manual
    // lock (Database Reference 19c, "DBA_USERS", ACCOUNT_STATUS). Only the first is unlocked, so a
    // rotation racing a revocation never re-enables the user.
    return {
      kind: 'set password',
      label: 'set a new password and unlock the account',
      sql: [
        'DECLARE',
        '  unlock_clause VARCHAR2(20);',
        'BEGIN',
        "  SELECT MAX(CASE WHEN account_status LIKE '%LOCKED(TIMED)' THEN ' ACCOUNT UNLOCK' END) INTO unlock_clause FROM dba_users WHERE username = :username;",
        `  EXECUTE IMMEDIATE ${expression(base)} || unlock_clause;`,
        'END;',
      ].join('\n'),
      params,
      dynamic: [...base, text(' ACCOUNT UNLOCK')],
      note: 'ACCOUNT UNLOCK only when locked by failed logins (LOCKED(TIMED)), never a lock set by revocation',
    };
  },

  userExists(req: UserRef, t: Target): Statement {
    return query('check whether the user exists', 'SELECT COUNT(*) AS present FROM all_users WHERE username = :username', [user(req, t)]);
  },

  listUsers(req: { prefix: string }, t: Target): Statement {
    const prefix = checkIdentifier(checkUsernamePrefix(req.prefix).toUpperCase(), 'username', t.rules);
    // Never Oracle's own accounts (ORACLE_MAINTAINED, Database Reference 19c, "ALL_USERS"), the
    // OutSystems schema owner or the admin itself, whatever the prefix.
    return query(
      `list users starting with ${prefix}`,
      [
        'SELECT username AS name FROM all_users',
        "WHERE username LIKE :pattern ESCAPE '\\' AND oracle_maintained <> 'Y'",
        "  AND username <> :owner AND username <> SYS_CONTEXT('USERENV', 'SESSION_USER')",
        'ORDER BY username',
      ].join('\n'),
      [bind('pattern', likePrefix(prefix)), owner(t)],
    );
  },

  findEntityTables(req: { entity: string }, t: Target): Statement {
    const entity = checkIdentifier(req.entity, 'entity', t.rules);
    // The owner is an identifier, so the query is built server-side and returned through a cursor.
    const parts = [
      text('SELECT e.NAME AS entity_name, e.PHYSICAL_TABLE_NAME AS table_name, m.NAME AS module_name FROM '),
      ident('owner'),
      text('.OSSYS_ENTITY e JOIN '),
      ident('owner'),
      text('.OSSYS_ESPACE m ON m.ID = e.ESPACE_ID WHERE UPPER(e.NAME) = UPPER(:1) AND e.IS_ACTIVE = 1 ORDER BY m.NAME'),
    ];
    return {
      kind: 'query',
      label: `find the table of entity ${entity}`,
      sql: `BEGIN\n  OPEN :matches FOR ${expression(parts)} USING :entity;\nEND;`,
      params: [owner(t), bind('entity', entity)],
      dynamic: parts,
      cursor: 'matches',
    };
  },

  listExposedViews(req: UserRef, t: Target): Statement {
    const flag = (privilege: string) => `MAX(CASE WHEN p.privilege = '${privilege}' THEN 1 ELSE 0 END) AS can_${privilege.toLowerCase()}`;
    return query(
      'list exposed OSUSR_VIEW_ views and their grants to the user',
      [
        `SELECT v.view_name AS view_name, ${['SELECT', 'INSERT', 'UPDATE', 'DELETE'].map(flag).join(', ')}`,
        'FROM all_views v',
        'LEFT JOIN dba_tab_privs p ON p.owner = v.owner AND p.table_name = v.view_name AND p.grantee = :username',
        "WHERE v.owner = :owner AND v.view_name LIKE :pattern ESCAPE '\\'",
        'GROUP BY v.view_name',
        'ORDER BY v.view_name',
      ].join('\n'),
      [user(req, t), owner(t), bind('pattern', likePrefix(EXPOSED_VIEW_PREFIX))],
    );
  },
} satisfies Dialect;
