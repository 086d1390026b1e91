// The Oracle executor: node-oracledb in thin mode (pure JavaScript, no Oracle client), one pool per environment.
// The connection is a seam (`getConnection`) so tests can stub it without a database. The driver is
// loaded on first use, so a bot with no Oracle environment never pays for importing it (issue 18).
import type oracledb from 'oracledb';
import { DatabaseError, type Executor } from './executor.js';
import { loadOnce } from './load-once.js';
import type { Row, Statement } from './statement.js';

/** The part of an oracledb Connection we use. */
export interface OracleConnectionLike {
  callTimeout?: number;
  execute(sql: string, binds: Record<string, unknown>, options: Record<string, unknown>): Promise<{ rows?: unknown[]; outBinds?: unknown }>;
  close(): Promise<void>;
}

export interface OracleSource {
  getConnection(): Promise<OracleConnectionLike>;
  close(): Promise<void>;
}

export interface OracleSettings {
  host: string;
  port: number;
  serviceName: string;
  user: string;
  password: () => string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** ORA-01017 invalid credentials; ORA-01031 insufficient privileges; ORA-01013 cancelled (call timeout). */
const LOGIN_FAILED = 1017;
const INSUFFICIENT_PRIVILEGES = new Set([1031, 1749, 1927]);
const UNREACHABLE = /^(NJS-50[0-9]|NJS-51[0-9]|ORA-125\d\d|ORA-12170|ORA-12154)/;

type Driver = typeof oracledb;
/** The oracledb module, imported once, when the first Oracle statement runs. */
const loadDriver = loadOnce(async (): Promise<Driver> => (await import('oracledb')).default);

/** A pool created on first use, in thin mode. */
export function oraclePool(settings: OracleSettings): OracleSource {
  let pool: Promise<oracledb.Pool> | undefined;
  const where = `${settings.host}:${settings.port}/${settings.serviceName}`;
  return {
    async getConnection() {
      if (!pool) {
        pool = loadDriver()
          .then((driver) =>
            driver.createPool({
              user: settings.user,
              password: settings.password(),
              connectString: where,
              connectTimeout: Math.ceil(settings.connectTimeoutMs / 1000),
              poolMin: 0,
              poolMax: 4,
              poolTimeout: 60,
            }),
          )
          .catch((err: unknown) => {
            pool = undefined;
            throw err;
          });
      }
      try {
        return await (await pool).getConnection();
      } catch (err) {
        throw connectionError(err, where);
      }
    },
    async close() {
      const current = pool;
      pool = undefined;
      if (current) await (await current.catch(() => undefined))?.close(10);
    },
  };
}

export function oracleExecutor(source: OracleSource, options: { requestTimeoutMs: number }): Executor {
  return {
    async run(statement: Statement): Promise<Row[]> {
      const connection = await source.getConnection();
      try {
        const oracledb = await loadDriver();
        connection.callTimeout = options.requestTimeoutMs;
        const binds: Record<string, unknown> = {};
        for (const param of statement.params) {
          binds[param.name] = { val: param.value, dir: oracledb.BIND_IN, type: param.type === 'int' ? oracledb.NUMBER : oracledb.STRING };
        }
        if (statement.cursor) binds[statement.cursor] = { dir: oracledb.BIND_OUT, type: oracledb.CURSOR };
        const result = await connection.execute(statement.sql, binds, { outFormat: oracledb.OUT_FORMAT_OBJECT, autoCommit: true });
        if (statement.cursor) {
          const cursor = (result.outBinds as Record<string, { getRows(): Promise<unknown[]>; close(): Promise<void> }>)[statement.cursor];
          if (!cursor) return [];
          try {
            return (await cursor.getRows()).map(lowerKeys);
          } finally {
            await cursor.close();
          }
        }
        return (result.rows ?? []).map(lowerKeys);
      } catch (err) {
        throw requestError(err, statement);
      } finally {
        await connection.close().catch(() => {});
      }
    },
    close: () => source.close(),
  };
}

function lowerKeys(row: unknown): Row {
  return Object.fromEntries(Object.entries(row as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
}

function errorCode(err: unknown): { code: string | undefined; errorNum: number | undefined; detail: string } {
  const { code, errorNum } = err as { code?: string; errorNum?: number };
  return { code, errorNum, detail: err instanceof Error ? err.message : String(err) };
}

function connectionError(err: unknown, where: string): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const { code, errorNum, detail } = errorCode(err);
  if (errorNum === LOGIN_FAILED) {
    return new DatabaseError('db_login_failed', `Oracle at ${where} refused the bot's admin login (${detail}). Check connection.user and the password it references.`, {
      serverCode: errorNum,
    });
  }
  return new DatabaseError('db_unreachable', `Could not connect to Oracle at ${where} (${detail}). Check connection.host, port and serviceName, and the network path from the bot.`, {
    ...(code ? { serverCode: code } : {}),
  });
}

function requestError(err: unknown, statement: Statement): DatabaseError {
  const { code, errorNum, detail } = errorCode(err);
  if (errorNum === 1013 || /timeout|DPI-1067|NJS-123/i.test(detail)) {
    return new DatabaseError('db_timeout', `Oracle did not finish "${statement.label}" in time (${detail}). It may be busy or blocked; try again.`, {
      ...(code ? { serverCode: code } : {}),
    });
  }
  if (errorNum !== undefined && INSUFFICIENT_PRIVILEGES.has(errorNum)) {
    return new DatabaseError('db_permission_denied', `The bot's admin user lacks a privilege for "${statement.label}": ${detail}.`, { serverCode: errorNum });
  }
  if (code && UNREACHABLE.test(code)) {
    return new DatabaseError('db_unreachable', `The connection to Oracle dropped during "${statement.label}" (${detail}).`, { serverCode: code });
  }
  return new DatabaseError('db_error', `Oracle refused "${statement.label}": ${detail}.`, { ...(errorNum !== undefined ? { serverCode: errorNum } : code ? { serverCode: code } : {}) });
}
