// The SQL Server / Azure SQL executor: one mssql connection pool per environment, created on first use.
// The driver itself is loaded on first use too: importing mssql costs about 30 MiB and 200 ms at start,
// which a bot whose environments are all Oracle should not pay (issue 18).
import type sql from 'mssql';
import { DatabaseError, type Executor } from './executor.js';
import { loadOnce } from './load-once.js';
import type { Row, Statement } from './statement.js';

export interface MssqlSettings {
  host: string;
  /** When given, the bot connects by port even if an instance is named too (1433 when neither is). */
  port?: number | undefined;
  /** Named instance, used only without a port: the SQL Browser service then resolves the port. */
  instance?: string | undefined;
  database: string;
  user: string;
  /** Read when the pool connects, so the secret is not copied into long-lived objects of ours. */
  password: () => string;
  encrypt: boolean;
  trustServerCertificate: boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** Permission errors: 229/230 permission denied, 262 not allowed in database, 297/300 permission, 916 cannot access database, 15151 cannot find or no permission, 15247 no permission. */
const PERMISSION_DENIED = new Set([229, 230, 262, 297, 300, 916, 15151, 15247]);

type Driver = typeof sql;
/** The mssql module, imported once, when the first SQL Server environment connects. */
const loadDriver = loadOnce(async (): Promise<Driver> => (await import('mssql')).default);

export function mssqlExecutor(settings: MssqlSettings): Executor {
  let pool: Promise<sql.ConnectionPool> | undefined;
  // SQL Browser (UDP 1434) maps an instance name to its port and is rarely reachable through a VPN or
  // tunnel, so a port, when known, wins ("SQL Server Browser service",
  // https://learn.microsoft.com/en-us/sql/tools/configuration-manager/sql-server-browser-service).
  const instance = settings.port === undefined ? settings.instance : undefined;
  const port = settings.port ?? 1433;
  const where = `${settings.host}${instance ? `\\${instance}` : `:${port}`}`;

  function connect(): Promise<sql.ConnectionPool> {
    pool ??= loadDriver()
      .then(open)
      .catch((err: unknown) => {
        pool = undefined;
        throw err instanceof DatabaseError ? err : connectionError(err, where);
      });
    return pool;
  }

  function open(sql: Driver): Promise<sql.ConnectionPool> {
    const created = new sql.ConnectionPool({
      server: settings.host,
      // tedious refuses a port together with an instance name.
      ...(instance ? {} : { port }),
      database: settings.database,
      user: settings.user,
      password: settings.password(),
      connectionTimeout: settings.connectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      pool: { min: 0, max: 4, idleTimeoutMillis: 60_000 },
      options: {
        encrypt: settings.encrypt,
        trustServerCertificate: settings.trustServerCertificate,
        ...(instance ? { instanceName: instance } : {}),
        appName: 'outsystems-dbaccess-bot',
      },
    });
    // A pool error after connect (a dropped socket) must not crash the process; the next request reconnects.
    created.on('error', () => {});
    return created.connect().catch((err: unknown) => {
      throw connectionError(err, where);
    });
  }

  return {
    async run(statement: Statement): Promise<Row[]> {
      const connection = await connect();
      const sql = await loadDriver();
      const request = connection.request();
      for (const param of statement.params) {
        // Declared wider than any valid value, so nothing is silently truncated before QUOTENAME sees it.
        request.input(param.name, param.type === 'int' ? sql.Int : sql.NVarChar(4000), param.value);
      }
      try {
        const result = await request.query(statement.sql);
        return (result.recordset ?? []).map(lowerKeys);
      } catch (err) {
        throw requestError(err, statement);
      }
    },
    async close() {
      const current = pool;
      pool = undefined;
      if (current) await (await current.catch(() => undefined))?.close();
    },
  };
}

function lowerKeys(row: Record<string, unknown>): Row {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v]));
}

function connectionError(err: unknown, where: string): DatabaseError {
  const code = (err as { code?: string }).code;
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'ELOGIN') {
    return new DatabaseError('db_login_failed', `SQL Server at ${where} refused the bot's admin login (${detail}). Check connection.user and the password it references.`, {
      serverCode: code,
    });
  }
  return new DatabaseError('db_unreachable', `Could not connect to SQL Server at ${where} (${detail}). Check connection.host, port or instance, and the network path from the bot.`, {
    ...(code ? { serverCode: code } : {}),
  });
}

function requestError(err: unknown, statement: Statement): DatabaseError {
  const { code, number } = err as { code?: string; number?: number };
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'ETIMEOUT') {
    return new DatabaseError('db_timeout', `SQL Server did not finish "${statement.label}" in time (${detail}). It may be busy or blocked; try again.`, { serverCode: code });
  }
  if (number !== undefined && PERMISSION_DENIED.has(number)) {
    return new DatabaseError('db_permission_denied', `The bot's admin login lacks a permission for "${statement.label}": ${detail} (error ${number}).`, {
      serverCode: number,
    });
  }
  if (code === 'ECONNCLOSED' || code === 'ESOCKET') {
    return new DatabaseError('db_unreachable', `The connection to SQL Server dropped during "${statement.label}" (${detail}).`, { serverCode: code });
  }
  return new DatabaseError('db_error', `SQL Server refused "${statement.label}": ${detail}${number !== undefined ? ` (error ${number})` : ''}.`, {
    ...(number !== undefined ? { serverCode: number } : code ? { serverCode: code } : {}),
  });
}
