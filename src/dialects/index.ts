// Opens an environment's database: its dialect, identifier rules and executor, from the loaded config.
import type { Environment, LoadedEnvironment } from '../config.js';
import { createDatabase, type Database } from './database.js';
import type { Dialect, Target } from './dialect.js';
import type { Executor } from './executor.js';
import { mssqlExecutor } from './mssql-executor.js';
import { oracle } from './oracle.js';
import { oracleExecutor, oraclePool } from './oracle-executor.js';
import { azureSql, sqlServer } from './sqlserver.js';

export function dialectOf(env: Pick<Environment, 'dialect'>): Dialect {
  switch (env.dialect) {
    case 'sqlserver':
      return sqlServer;
    case 'azuresql':
      return azureSql;
    case 'oracle':
      return oracle;
  }
}

export function targetOf(env: Environment): Target {
  if (env.dialect === 'oracle') {
    return {
      schema: env.connection.schema,
      rules: { maxBytes: env.connection.identifierMaxBytes, upperCaseUsernames: true },
      platform: env.platform,
      ...(env.profiles ? { profiles: env.profiles } : {}),
      ...(env.schemaPrivileges ? { schemaPrivileges: true } : {}),
    };
  }
  return { schema: env.connection.schema, database: env.connection.database, rules: { maxBytes: 128, upperCaseUsernames: false }, platform: env.platform };
}

/** The driver-backed executor for an environment; nothing connects until the first statement. */
export function driverExecutor(env: LoadedEnvironment): Executor {
  if (env.dialect === 'oracle') {
    const c = env.connection;
    const source = oraclePool({
      host: c.host,
      port: c.port,
      serviceName: env.connection.serviceName,
      user: c.user,
      password: env.adminPassword,
      connectTimeoutMs: c.connectTimeout,
      requestTimeoutMs: c.requestTimeout,
    });
    return oracleExecutor(source, { requestTimeoutMs: c.requestTimeout });
  }
  const c = env.connection;
  return mssqlExecutor({
    host: c.host,
    port: c.port,
    instance: env.connection.instance,
    database: env.connection.database,
    user: c.user,
    password: env.adminPassword,
    encrypt: env.connection.encrypt,
    trustServerCertificate: env.connection.trustServerCertificate,
    connectTimeoutMs: c.connectTimeout,
    requestTimeoutMs: c.requestTimeout,
  });
}

/** The environment's Database; `executor` replaces the driver (the console and tests pass a dry run). */
export function openDatabase(env: LoadedEnvironment, executor: Executor = driverExecutor(env)): Database {
  return createDatabase({ dialect: dialectOf(env), executor, target: targetOf(env) });
}
