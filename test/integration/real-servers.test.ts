// The user lifecycle against live servers: create, use, sync, rotate and revoke, checked by logging in as the users.
// Runs only when MSSQL_URL / ORACLE_URL are set (docs/integration-tests.md); otherwise it skips and says so.
import { randomInt } from 'node:crypto';
import sql from 'mssql';
import oracledb from 'oracledb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database, type RevokeReport } from '../../src/dialects/database.js';
import type { UserKind, WithPassword } from '../../src/dialects/dialect.js';
import { mssqlExecutor } from '../../src/dialects/mssql-executor.js';
import { oracle } from '../../src/dialects/oracle.js';
import { oracleExecutor, oraclePool } from '../../src/dialects/oracle-executor.js';
import { generatePassword } from '../../src/dialects/passwords.js';
import { INTEROP_METAMODEL_TABLES } from '../../src/dialects/permissions.js';
import { sqlServer } from '../../src/dialects/sqlserver.js';

// An empty variable counts as unset, so `MSSQL_URL= npm test` skips rather than failing on a bad URL.
const MSSQL_URL = process.env['MSSQL_URL'] || undefined;
const ORACLE_URL = process.env['ORACLE_URL'] || undefined;

/** Every user the suite creates starts with this; afterAll drops them, and the docs tell people so. */
const PREFIX = 'it_';
const ORDER = 'OSUSR_IT1_ORDER';
const PARAM = 'OSSYS_IT_PARAM';
/** Created by the admin after a user exists, to prove syncGrants picks up tables of later publishes. */
const LATE = 'OSUSR_IT1_LATE';
/** The view OutSystems creates when an entity is exposed to ODC, over ORDER. */
const EXPOSED_VIEW = 'OSUSR_VIEW_IT1_ORDER';
const TIMEOUT = 60_000;
/** Creating the SQL Server test database, or a first connection to a cold Oracle, can take a while. */
const HOOK_TIMEOUT = 180_000;

/** What happened to something the server was asked to do, as read from the driver's error. */
type Outcome = 'accepted' | 'permission denied' | 'login refused' | 'other error';

/** A session of a suite-created user, opened with the driver directly: the bot's executor is not what is under test here. */
interface UserSession {
  run(statement: string): Promise<void>;
  close(): Promise<void>;
}

/** One live server: the bot's Database over it, and the admin fixture and direct driver access the checks need. */
interface RealServer {
  db: Database;
  /** Schema that holds the test tables. */
  schema: string;
  /** A fresh `it_` name, cased the way the dialect requires. */
  newUsername(): string;
  /** Creates the database, schema and tables if missing, and drops a late table an aborted run left behind. */
  prepare(): Promise<void>;
  createLateTable(): Promise<void>;
  dropLateTable(): Promise<void>;
  connectAs(user: WithPassword): Promise<UserSession>;
  /** A query on the dialect's catalog views that the interoperability user must be able to run. */
  catalogQuery: string;
  /** Whether interop `expose` grants write on this dialect (read only on Oracle, as the seed says). */
  interopWrites: boolean;
  /** A statement that takes row locks with read access alone, where the dialect has one (Oracle: SELECT … FOR UPDATE). */
  lockingRead?: string;
  /** Classifies a driver error; anything not recognised is 'other error'. */
  outcomeOf(err: unknown): Exclude<Outcome, 'accepted'>;
  close(): Promise<void>;
}

// Said once, at collection, so a plain `npm test` shows why these tests did not run.
const skipped = [
  ...(MSSQL_URL ? [] : [{ variable: 'MSSQL_URL', server: 'SQL Server' }]),
  ...(ORACLE_URL ? [] : [{ variable: 'ORACLE_URL', server: 'Oracle' }]),
];
if (skipped.length > 0) {
  const variables = skipped.map((s) => s.variable).join(' and ');
  const servers = skipped.map((s) => s.server).join(' and ');
  console.log(`real-server suite: ${variables} not set, ${servers} lifecycle${skipped.length > 1 ? 's' : ''} skipped (see docs/integration-tests.md)`);
}

lifecycle('SQL Server', 'MSSQL_URL', MSSQL_URL, sqlServerHarness);
lifecycle('Oracle', 'ORACLE_URL', ORACLE_URL, oracleHarness);

/** One describe per database, the same checks for each. */
function lifecycle(name: string, variable: string, url: string | undefined, open: (url: string) => RealServer): void {
  describe.skipIf(!url)(`${name} lifecycle (${variable})`, { timeout: TIMEOUT }, () => {
    let current: RealServer | undefined;
    /** False when the fixture failed: afterAll then only closes, so the run reports one error, not two. */
    let prepared = false;
    const created: string[] = [];

    function server(): RealServer {
      if (!current) throw new Error(`the ${name} fixture did not start; see the beforeAll error`);
      return current;
    }

    async function newUser(kind: UserKind): Promise<WithPassword & { grantedTables: string[] }> {
      const s = server();
      const user = { username: s.newUsername(), password: generatePassword() };
      // Recorded before the call: a half-made user is still ours to drop in afterAll.
      created.push(user.username);
      const made = await s.db.createUser({ ...user, kind });
      return { ...user, grantedTables: made.grantedTables };
    }

    beforeAll(async () => {
      // skipIf keeps this hook from running without a URL; the check is for the type.
      if (!url) throw new Error(`${variable} is not set`);
      current = open(url);
      await current.prepare();
      prepared = true;
    }, HOOK_TIMEOUT);

    afterAll(async () => {
      const s = current;
      if (!s) return;
      const leftovers: string[] = [];
      try {
        for (const username of created) {
          const report = await s.db.revokeUser({ username });
          if (!report.complete) leftovers.push(`${username} (${failures(report).join('; ')})`);
        }
        if (prepared) await s.dropLateTable();
      } finally {
        await s.close();
      }
      // Loud rather than silent: a user left behind on a shared server must be dropped by hand.
      if (leftovers.length > 0) throw new Error(`${name}: could not drop ${leftovers.join(', ')}. Drop them by hand.`);
    }, HOOK_TIMEOUT);

    it.each(['temporary', 'readonly', 'readwrite'] as const)('a %s user reads OSUSR_, writes it only if its kind may, and never writes OSSYS_', async (kind) => {
      const s = server();
      const writes = kind !== 'readonly';

      const user = await newUser(kind);

      expect(user.grantedTables.includes(ORDER)).toBe(writes);
      const session = await s.connectAs(user);
      try {
        await session.run(`SELECT COUNT(*) FROM ${s.schema}.${ORDER}`);
        const insertOrder = `INSERT INTO ${s.schema}.${ORDER} (ID) VALUES (1)`;
        if (writes) await session.run(insertOrder);
        else await expectOutcome(s, session.run(insertOrder), 'permission denied');
        await expectOutcome(s, session.run(`INSERT INTO ${s.schema}.${PARAM} (ID) VALUES (1)`), 'permission denied');
      } finally {
        await session.close();
      }
      expect(await s.db.userExists({ username: user.username })).toBe(true);
      expect(await s.db.listUsers({ prefix: PREFIX })).toContain(user.username);
    });

    it('interop setup: the user reads the metamodel tables and the catalog views, writes nothing; expose grants the view and its table', async () => {
      const s = server();
      const user = { username: s.newUsername(), password: generatePassword() };
      created.push(user.username);

      const made = await s.db.createUser({ ...user, kind: 'interop' });
      // A refused catalog grant is a note, never a failure (as sa / SYSTEM there should be none).
      expect(Array.isArray(made.notes)).toBe(true);
      expect((await s.db.grantInteropSet({ username: user.username })).notes).toEqual(made.notes);

      let session = await s.connectAs(user);
      try {
        for (const table of INTEROP_METAMODEL_TABLES) await session.run(`SELECT COUNT(*) FROM ${s.schema}.${table}`);
        await session.run(s.catalogQuery);
        await expectOutcome(s, session.run(`INSERT INTO ${s.schema}.OSSYS_ENTITY (ID) VALUES (1)`), 'permission denied');
        await expectOutcome(s, session.run(`SELECT COUNT(*) FROM ${s.schema}.${EXPOSED_VIEW}`), 'permission denied');
      } finally {
        await session.close();
      }

      const privileges = s.interopWrites ? (['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const) : (['SELECT'] as const);
      await s.db.grantObjects({ username: user.username, grants: [EXPOSED_VIEW, ORDER].map((object) => ({ object, privileges: [...privileges] })) });
      expect((await s.db.listExposedViews({ username: user.username })).find((v) => v.view === EXPOSED_VIEW)).toMatchObject({ select: true, insert: s.interopWrites });

      session = await s.connectAs(user);
      try {
        await session.run(`SELECT COUNT(*) FROM ${s.schema}.${EXPOSED_VIEW}`);
        const insert = session.run(`INSERT INTO ${s.schema}.${ORDER} (ID) VALUES (2)`);
        if (s.interopWrites) await insert;
        else await expectOutcome(s, insert, 'permission denied');
      } finally {
        await session.close();
      }
    });

    it('revoking the interop user while a session of it is open ends the session and drops it', async () => {
      const s = server();
      const user = { username: s.newUsername(), password: generatePassword() };
      created.push(user.username);
      await s.db.createUser({ ...user, kind: 'interop' });
      const held = await s.connectAs(user);
      try {
        await held.run(s.catalogQuery);

        const report = await s.db.revokeUser({ username: user.username });

        expect(failures(report)).toEqual([]);
        expect(report.sessionsEnded).toBeGreaterThanOrEqual(1);
        expect(await s.db.userExists({ username: user.username })).toBe(false);
        await expectLoginRefused(s, user);
      } finally {
        await held.close().catch(() => {});
      }
    });

    it('a read-only user cannot lock rows where the dialect would let SELECT do it', async () => {
      const s = server();
      if (!s.lockingRead) return;
      const user = await newUser('readonly');
      const session = await s.connectAs(user);
      try {
        await session.run(`SELECT COUNT(*) FROM ${s.schema}.${ORDER}`);
        await expectOutcome(s, session.run(s.lockingRead), 'permission denied');
      } finally {
        await session.close();
      }
    });

    it('syncGrants gives a read-write user the tables created after it, once', async () => {
      const s = server();
      const user = await newUser('readwrite');
      await s.createLateTable();
      try {
        const report = await s.db.syncGrants({ username: user.username, kind: 'readwrite' });

        expect(report.failed).toEqual([]);
        expect(report.added).toEqual([LATE]);
        const session = await s.connectAs(user);
        try {
          await session.run(`INSERT INTO ${s.schema}.${LATE} (ID) VALUES (1)`);
        } finally {
          await session.close();
        }
        expect((await s.db.syncGrants({ username: user.username, kind: 'readwrite' })).added).toEqual([]);
      } finally {
        await s.dropLateTable();
      }
    });

    it('revoking a connected user ends its session, drops it, and keeps it out', async () => {
      const s = server();
      const user = await newUser('temporary');
      const held = await s.connectAs(user);
      try {
        // A query first, so the session is live on the server when the revoke looks for it.
        await held.run(`SELECT COUNT(*) FROM ${s.schema}.${ORDER}`);

        const report = await s.db.revokeUser({ username: user.username });

        expect(failures(report)).toEqual([]);
        expect(report.complete).toBe(true);
        expect(report.sessionsEnded).toBeGreaterThanOrEqual(1);
        expect(await s.db.userExists({ username: user.username })).toBe(false);
        await expect(held.run(`SELECT COUNT(*) FROM ${s.schema}.${ORDER}`)).rejects.toThrow();
        await expectLoginRefused(s, user);
      } finally {
        // The session was killed: closing it may fail, and that is expected.
        await held.close().catch(() => {});
      }
    });

    it('revoking a user that does not exist reports complete', async () => {
      const s = server();

      const report = await s.db.revokeUser({ username: s.newUsername() });

      expect(failures(report)).toEqual([]);
      expect(report.complete).toBe(true);
      expect(report.sessionsEnded).toBe(0);
    });

    it('after a password rotation only the new password logs in', async () => {
      const s = server();
      const user = await newUser('readonly');
      const rotated = { username: user.username, password: generatePassword() };

      // As for an active request: with unlock (nothing to unlock here; the statement must still be accepted).
      await s.db.rotatePassword({ ...rotated, unlock: true });

      await expectLoginRefused(s, user);
      const session = await s.connectAs(rotated);
      try {
        await session.run(`SELECT COUNT(*) FROM ${s.schema}.${ORDER}`);
      } finally {
        await session.close();
      }
      const report = await s.db.revokeUser({ username: user.username });
      expect(failures(report)).toEqual([]);
      expect(report.complete).toBe(true);
    });
  });
}

/** The failed steps of a revocation, readable in an assertion diff. */
function failures(report: RevokeReport): string[] {
  return report.steps.filter((step) => step.error).map((step) => `${step.label}: ${step.error?.message ?? ''}`);
}

/** Asserts how `attempt` ended; the server's own message is the assertion's message when it is not what was expected. */
async function expectOutcome(server: RealServer, attempt: Promise<unknown>, expected: Outcome): Promise<void> {
  let outcome: Outcome = 'accepted';
  let detail = 'the server accepted it';
  try {
    await attempt;
  } catch (err) {
    outcome = server.outcomeOf(err);
    detail = err instanceof Error ? err.message : String(err);
  }
  expect(outcome, detail).toBe(expected);
}

/** Asserts that `user` cannot log in, closing the session if it unexpectedly could. */
async function expectLoginRefused(server: RealServer, user: WithPassword): Promise<void> {
  const attempt = server.connectAs(user);
  await expectOutcome(server, attempt, 'login refused');
  await (await attempt.catch(() => undefined))?.close();
}

function randomSuffix(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 6 }, () => alphabet[randomInt(alphabet.length)]).join('');
}

// --- URLs -----------------------------------------------------------------------------------------

/** Parses `value` without ever echoing it: it holds the admin password. */
function parseUrl(value: string, variable: string, protocol: string, example: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${variable} is not a URL; expected the form ${example}`);
  }
  if (url.protocol !== protocol || !url.hostname || !url.username) throw new Error(`${variable} must have the form ${example}`);
  return url;
}

/** `[::1]` in a URL, `::1` for the drivers. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function booleanParam(url: URL, variable: string, name: string, fallback: boolean): boolean {
  const value = url.searchParams.get(name);
  if (value === null) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error(`${variable}: ${name} must be true or false`);
}

interface MssqlUrl {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  encrypt: boolean;
  trustServerCertificate: boolean;
}

function parseMssqlUrl(value: string): MssqlUrl {
  const example = 'mssql://sa:P%40ss@localhost:1433/dbaccess_it?encrypt=false';
  const url = parseUrl(value, 'MSSQL_URL', 'mssql:', example);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  // The name goes into CREATE DATABASE as text, so only a plain identifier is let through.
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(database)) {
    throw new Error(`MSSQL_URL must name the test database in its path, letters, digits and _ only: ${example}`);
  }
  return {
    host: hostOf(url),
    port: Number(url.port || 1433),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    encrypt: booleanParam(url, 'MSSQL_URL', 'encrypt', false),
    trustServerCertificate: booleanParam(url, 'MSSQL_URL', 'trustServerCertificate', true),
  };
}

interface OracleUrl {
  host: string;
  port: number;
  user: string;
  password: string;
  serviceName: string;
}

function parseOracleUrl(value: string): OracleUrl {
  const example = 'oracle://system:P%40ss@localhost:1521/FREEPDB1';
  const url = parseUrl(value, 'ORACLE_URL', 'oracle:', example);
  const serviceName = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z][A-Za-z0-9_.$#-]*$/.test(serviceName)) throw new Error(`ORACLE_URL must name the service in its path: ${example}`);
  return {
    host: hostOf(url),
    port: Number(url.port || 1521),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    serviceName,
  };
}

// --- SQL Server -----------------------------------------------------------------------------------

/** SQL Server error numbers a user's statement gets when it lacks a permission: 229 on an object, 230 on a column. */
const MSSQL_PERMISSION_DENIED = new Set([229, 230]);

async function mssqlPool(c: MssqlUrl, login: { user: string; password: string; database: string }): Promise<sql.ConnectionPool> {
  const pool = new sql.ConnectionPool({
    server: c.host,
    port: c.port,
    database: login.database,
    user: login.user,
    password: login.password,
    connectionTimeout: 30_000,
    requestTimeout: TIMEOUT,
    // One connection that stays open between queries: the revoke test needs a session that stays put.
    pool: { min: 0, max: 1, idleTimeoutMillis: 300_000 },
    options: { encrypt: c.encrypt, trustServerCertificate: c.trustServerCertificate, appName: 'dbaccess-integration-tests' },
  });
  // A killed session also surfaces as a pool error event; the failing query is what the test checks.
  pool.on('error', () => {});
  await pool.connect();
  return pool;
}

function sqlServerHarness(url: string): RealServer {
  const c = parseMssqlUrl(url);
  const admin = { user: c.user, password: c.password };
  const db = createDatabase({
    dialect: sqlServer,
    executor: mssqlExecutor({
      host: c.host,
      port: c.port,
      database: c.database,
      user: c.user,
      password: () => c.password,
      encrypt: c.encrypt,
      trustServerCertificate: c.trustServerCertificate,
      connectTimeoutMs: 30_000,
      requestTimeoutMs: TIMEOUT,
    }),
    target: { schema: 'dbo', database: c.database, rules: { maxBytes: 128, upperCaseUsernames: false } },
  });
  let adminPool: Promise<sql.ConnectionPool> | undefined;

  /** Runs a fixed batch as the admin in the test database (which prepare() creates first). */
  async function asAdmin(batch: string): Promise<void> {
    adminPool ??= mssqlPool(c, { ...admin, database: c.database });
    await (await adminPool).request().batch(batch);
  }

  return {
    db,
    schema: 'dbo',
    newUsername: () => `${PREFIX}${randomSuffix()}`,
    async prepare() {
      const master = await mssqlPool(c, { ...admin, database: 'master' });
      try {
        await master.request().batch(`IF DB_ID(N'${c.database}') IS NULL CREATE DATABASE [${c.database}];`);
      } finally {
        await master.close();
      }
      await asAdmin(
        [
          `IF OBJECT_ID(N'dbo.${ORDER}', N'U') IS NULL CREATE TABLE dbo.${ORDER} (ID int);`,
          `IF OBJECT_ID(N'dbo.${PARAM}', N'U') IS NULL CREATE TABLE dbo.${PARAM} (ID int);`,
          ...INTEROP_METAMODEL_TABLES.map((table) => `IF OBJECT_ID(N'dbo.${table}', N'U') IS NULL CREATE TABLE dbo.${table} (ID int);`),
          // CREATE VIEW must start its batch.
          `IF OBJECT_ID(N'dbo.${EXPOSED_VIEW}', N'V') IS NULL EXEC(N'CREATE VIEW dbo.${EXPOSED_VIEW} AS SELECT ID FROM dbo.${ORDER}');`,
          `DROP TABLE IF EXISTS dbo.${LATE};`,
        ].join('\n'),
      );
    },
    catalogQuery: "SELECT COUNT(*) FROM sys.columns AS c JOIN sys.tables AS t ON t.object_id = c.object_id WHERE t.name LIKE 'OSSYS%'",
    interopWrites: true,
    createLateTable: () => asAdmin(`CREATE TABLE dbo.${LATE} (ID int);`),
    dropLateTable: () => asAdmin(`DROP TABLE IF EXISTS dbo.${LATE};`),
    async connectAs(user) {
      const pool = await mssqlPool(c, { user: user.username, password: user.password, database: c.database });
      return {
        async run(statement) {
          await pool.request().query(statement);
        },
        close: () => pool.close(),
      };
    },
    outcomeOf(err) {
      const { code, number } = err as { code?: unknown; number?: unknown };
      // 18456 (login failed: wrong password, disabled or missing login) reaches us as ELOGIN.
      if (code === 'ELOGIN') return 'login refused';
      if (typeof number === 'number' && MSSQL_PERMISSION_DENIED.has(number)) return 'permission denied';
      return 'other error';
    },
    async close() {
      await db.close();
      const pool = adminPool;
      adminPool = undefined;
      await (await pool?.catch(() => undefined))?.close();
    },
  };
}

// --- Oracle ---------------------------------------------------------------------------------------

/** ORA-01920 user name conflicts; ORA-00955 name already used; ORA-00942 no such table (or no privilege to see it). */
const ORA_USER_EXISTS = 1920;
const ORA_NAME_IN_USE = 955;
const ORA_NO_TABLE = 942;
/** ORA-01017 invalid credentials (also a dropped user); ORA-28000 account locked. */
const ORA_LOGIN_REFUSED = new Set([1017, 28000]);
/**
 * ORA-01031 insufficient privileges: the user sees the table (SELECT ANY TABLE) but may not write it.
 * ORA-00942 is how Oracle refuses a user with no privilege at all on an object: it hides that it exists.
 */
const ORA_PERMISSION_DENIED = new Set([1031, ORA_NO_TABLE]);

function errorNumber(err: unknown): number | undefined {
  const n = (err as { errorNum?: unknown }).errorNum;
  return typeof n === 'number' ? n : undefined;
}

function oracleHarness(url: string): RealServer {
  const c = parseOracleUrl(url);
  const connectString = `${c.host}:${c.port}/${c.serviceName}`;
  const schema = 'OSIT';
  const db = createDatabase({
    dialect: oracle,
    executor: oracleExecutor(
      oraclePool({
        host: c.host,
        port: c.port,
        serviceName: c.serviceName,
        user: c.user,
        password: () => c.password,
        connectTimeoutMs: 30_000,
        requestTimeoutMs: TIMEOUT,
      }),
      { requestTimeoutMs: TIMEOUT },
    ),
    target: { schema, rules: { maxBytes: 128, upperCaseUsernames: true } },
  });
  let adminConnection: Promise<oracledb.Connection> | undefined;

  /** Runs one fixed statement as the admin; `tolerate` lists the ORA- numbers that mean it is already done. */
  async function asAdmin(statement: string, tolerate: number[] = []): Promise<void> {
    adminConnection ??= oracledb.getConnection({ user: c.user, password: c.password, connectString, connectTimeout: 30 });
    try {
      await (await adminConnection).execute(statement, [], { autoCommit: true });
    } catch (err) {
      const n = errorNumber(err);
      if (n === undefined || !tolerate.includes(n)) throw err;
    }
  }

  return {
    db,
    schema,
    newUsername: () => `${PREFIX}${randomSuffix()}`.toUpperCase(),
    async prepare() {
      // The schema owner never logs in: its password is generated here (never typed) and forgotten.
      await asAdmin(`CREATE USER ${schema} IDENTIFIED BY "${generatePassword()}"`, [ORA_USER_EXISTS]);
      await asAdmin(`GRANT UNLIMITED TABLESPACE TO ${schema}`);
      await asAdmin(`CREATE TABLE ${schema}.${ORDER} (ID NUMBER)`, [ORA_NAME_IN_USE]);
      await asAdmin(`CREATE TABLE ${schema}.${PARAM} (ID NUMBER)`, [ORA_NAME_IN_USE]);
      for (const table of INTEROP_METAMODEL_TABLES) await asAdmin(`CREATE TABLE ${schema}.${table} (ID NUMBER)`, [ORA_NAME_IN_USE]);
      await asAdmin(`CREATE OR REPLACE VIEW ${schema}.${EXPOSED_VIEW} AS SELECT ID FROM ${schema}.${ORDER}`);
      await asAdmin(`DROP TABLE ${schema}.${LATE} PURGE`, [ORA_NO_TABLE]);
    },
    catalogQuery: `SELECT COUNT(*) FROM ALL_TAB_COLUMNS WHERE OWNER = '${schema}'`,
    interopWrites: false,
    // READ ANY TABLE refuses it (ORA-01031); SELECT ANY TABLE would take the row locks.
    lockingRead: `SELECT ID FROM ${schema}.${ORDER} FOR UPDATE`,
    createLateTable: () => asAdmin(`CREATE TABLE ${schema}.${LATE} (ID NUMBER)`),
    dropLateTable: () => asAdmin(`DROP TABLE ${schema}.${LATE} PURGE`, [ORA_NO_TABLE]),
    async connectAs(user) {
      const connection = await oracledb.getConnection({ user: user.username, password: user.password, connectString, connectTimeout: 30 });
      // A killed session must fail its next call, not hang it.
      connection.callTimeout = 30_000;
      return {
        async run(statement) {
          await connection.execute(statement, [], { autoCommit: true });
        },
        close: () => connection.close(),
      };
    },
    outcomeOf(err) {
      const n = errorNumber(err);
      if (n !== undefined && ORA_LOGIN_REFUSED.has(n)) return 'login refused';
      if (n !== undefined && ORA_PERMISSION_DENIED.has(n)) return 'permission denied';
      return 'other error';
    },
    async close() {
      await db.close();
      const connection = adminConnection;
      adminConnection = undefined;
      await (await connection?.catch(() => undefined))?.close();
    },
  };
}
