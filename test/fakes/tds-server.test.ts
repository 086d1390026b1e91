// Proves the test TDS endpoint (tds-server.ts) against the real `mssql` driver (tedious) over loopback TCP.
import { connect as connectTcp } from 'node:net';
import sql from 'mssql';
import { afterEach, describe, expect, it } from 'vitest';
import { startTdsServer } from './tds-server.js';
import type { TdsReply, TdsRequest, TdsServer, TdsServerOptions } from './tds-server.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  // Pools before servers, last opened first.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options?: TdsServerOptions): Promise<TdsServer> {
  const server = await startTdsServer(options);
  cleanups.push(() => server.close());
  return server;
}

function newPool(server: TdsServer, overrides: Partial<sql.config> = {}): sql.ConnectionPool {
  const pool = new sql.ConnectionPool({
    server: '127.0.0.1',
    port: server.port,
    user: 'botadmin',
    password: 'x',
    database: 'osdb',
    options: { encrypt: false, trustServerCertificate: true },
    pool: { min: 0, max: 2 },
    connectionTimeout: 3000,
    requestTimeout: 3000,
    ...overrides,
  });
  cleanups.push(() => pool.close().then(() => undefined));
  return pool;
}

async function connected(options?: TdsServerOptions, overrides?: Partial<sql.config>): Promise<{ server: TdsServer; pool: sql.ConnectionPool }> {
  const server = await serve(options);
  const pool = newPool(server, overrides);
  await pool.connect();
  return { server, pool };
}

/** What tedious sends on every new connection, and what mssql sends on every pool acquire (validateConnection). */
function isDriverHousekeeping(req: TdsRequest): boolean {
  return (req.kind === 'batch' && req.sql.startsWith('set ansi_nulls on\n')) || (req.kind === 'rpc' && req.sql === 'SELECT 1;');
}

function appRequests(server: TdsServer): TdsRequest[] {
  return server.requests.filter((req) => !isDriverHousekeeping(req));
}

function only(sqlText: string, reply: TdsReply): (req: TdsRequest) => TdsReply {
  return (req) => (req.sql === sqlText ? reply : {});
}

describe('tds-server login', () => {
  it('accepts a login, records the user name and every request in order', async () => {
    const { server, pool } = await connected();
    await pool.request().query('SELECT 43 AS answer');

    // mssql's connect() logs in once to test the settings and drops that connection; the first
    // request then opens the pool's own connection.
    expect(server.logins).toEqual(['botadmin', 'botadmin']);
    expect(server.requests.map((req) => [req.kind, req.sql.split('\n')[0]])).toEqual([
      ['batch', 'set ansi_nulls on'], // tedious's session setup on the probe connection
      ['batch', 'set ansi_nulls on'], // ... and on the pool's connection
      ['rpc', 'SELECT 1;'], // mssql validating the connection it is about to hand out
      ['rpc', 'SELECT 43 AS answer'],
    ]);
  });

  it('refuses the login with loginError, and connect() rejects with its message', async () => {
    const server = await serve({ loginError: { number: 18456, message: "Login failed for user 'botadmin'." } });
    const pool = newPool(server);

    const failure = await pool.connect().then(() => undefined, (err: unknown) => err);

    expect(failure).toBeInstanceOf(sql.ConnectionError);
    expect((failure as sql.ConnectionError).message).toContain("Login failed for user 'botadmin'.");
    expect((failure as sql.ConnectionError).code).toBe('ELOGIN');
    expect(server.logins).toEqual(['botadmin']);
    expect(server.requests).toEqual([]);
  });
});

describe('tds-server requests', () => {
  it('receives batch() as a SQL batch and query() without inputs as an sp_executesql RPC', async () => {
    const { server, pool } = await connected();

    await pool.request().batch('SELECT 42 AS answer');
    await pool.request().query('SELECT 43 AS answer');

    expect(appRequests(server)).toEqual([
      { kind: 'batch', sql: 'SELECT 42 AS answer', params: [], transactionDescriptor: 0n },
      { kind: 'rpc', sql: 'SELECT 43 AS answer', params: [], transactionDescriptor: 0n },
    ]);
  });

  it('decodes typed inputs of a parameterised query', async () => {
    const { server, pool } = await connected();

    await pool.request()
      .input('login', sql.NVarChar(128), 'a]b')
      .input('n', sql.Int, 42)
      .query('SELECT 1 WHERE x = @login');

    expect(appRequests(server)).toEqual([{
      kind: 'rpc',
      sql: 'SELECT 1 WHERE x = @login',
      params: [{ name: 'login', value: 'a]b' }, { name: 'n', value: 42 }],
      transactionDescriptor: 0n,
    }]);
  });

  it('decodes the other parameter types mssql sends, typed and untyped', async () => {
    const { server, pool } = await connected();

    await pool.request()
      .input('nv', sql.NVarChar, 'plain')
      .input('max', sql.NVarChar(sql.MAX), 'in PLP chunks')
      .input('big', sql.BigInt, 2 ** 40)
      .input('huge', sql.BigInt, '9223372036854775807')
      .input('yes', sql.Bit, true)
      .input('no', sql.Bit, false)
      .input('vc', sql.VarChar(20), 'café')
      .input('bin', sql.VarBinary(10), Buffer.from([0, 1, 254, 255]))
      .input('nul', sql.Int, null)
      .input('s', 'untyped')
      .input('i', -7)
      .input('l', 2 ** 33)
      .input('f', 1.5)
      .input('b', true)
      .input('z', null)
      .query('SELECT @nv');

    expect(appRequests(server)[0]?.params).toEqual([
      { name: 'nv', value: 'plain' },
      { name: 'max', value: 'in PLP chunks' },
      { name: 'big', value: 2 ** 40 },
      { name: 'huge', value: '9223372036854775807' },
      { name: 'yes', value: true },
      { name: 'no', value: false },
      { name: 'vc', value: 'café' },
      { name: 'bin', value: Buffer.from([0, 1, 254, 255]) },
      { name: 'nul', value: null },
      { name: 's', value: 'untyped' },
      { name: 'i', value: -7 },
      { name: 'l', value: 2 ** 33 },
      { name: 'f', value: 1.5 },
      { name: 'b', value: true },
      { name: 'z', value: null },
    ]);
  });

  it('reports a stored procedure call by its name with all its parameters', async () => {
    const { server, pool } = await connected();

    await pool.request().input('who', sql.NVarChar(50), 'ann').execute('dbo.grant_access');

    expect(appRequests(server)).toEqual([
      { kind: 'rpc', sql: 'dbo.grant_access', params: [{ name: 'who', value: 'ann' }], transactionDescriptor: 0n },
    ]);
  });

  it('round-trips non-ASCII text and a statement too long for one packet', async () => {
    const { server, pool } = await connected();
    const text = 'Zoë ✓ 😀';
    // > 4000 characters, so tedious sends @stmt as nvarchar(max) (PLP), spread over several 4 KiB packets.
    const longStatement = `SELECT '${'x'.repeat(6000)}' AS long, N'${text}' AS t -- end`;
    const longValue = 'ü'.repeat(9000);

    await pool.request().input('who', sql.NVarChar(50), text).input('long', sql.NVarChar(sql.MAX), longValue).query(longStatement);
    await pool.request().batch(`${longStatement} ✓`);

    const [rpc, batch] = appRequests(server);
    expect(rpc?.sql).toBe(longStatement);
    expect(Buffer.byteLength(longStatement, 'utf16le')).toBeGreaterThan(8000);
    expect(rpc?.params).toEqual([{ name: 'who', value: text }, { name: 'long', value: longValue }]);
    expect(batch?.sql).toBe(`${longStatement} ✓`);
  });

  it('keeps answering several connections at once', async () => {
    const { server, pool } = await connected({
      handler: async (req) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return { resultSets: [{ columns: [{ name: 'echo', type: 'nvarchar' }], rows: [[req.sql]] }] };
      },
    });

    const [a, b] = await Promise.all([pool.request().query('SELECT a'), pool.request().query('SELECT b')]);

    expect(a.recordset).toEqual([{ echo: 'SELECT a' }]);
    expect(b.recordset).toEqual([{ echo: 'SELECT b' }]);
    expect(server.logins).toHaveLength(3); // the probe, then one per concurrent request
  });
});

describe('tds-server replies', () => {
  const people: TdsReply = {
    resultSets: [{
      columns: [
        { name: 'id', type: 'int' },
        { name: 'name', type: 'nvarchar' },
        { name: 'active', type: 'bit' },
        { name: 'big', type: 'bigint' },
      ],
      rows: [
        [1, 'Zoë ✓', true, 5],
        [-2, '', false, '9223372036854775807'],
        [null, null, null, null],
      ],
    }],
  };
  const expectedPeople = [
    { id: 1, name: 'Zoë ✓', active: true, big: '5' }, // tedious returns bigint columns as strings
    { id: -2, name: '', active: false, big: '9223372036854775807' },
    { id: null, name: null, active: null, big: null },
  ];

  it('returns rows to query() (RPC) and batch() alike', async () => {
    const { pool } = await connected({ handler: only('SELECT people', people) });

    const viaRpc = await pool.request().query('SELECT people');
    const viaBatch = await pool.request().batch('SELECT people');

    expect(viaRpc.recordset).toEqual(expectedPeople);
    expect(viaRpc.rowsAffected).toEqual([3]);
    expect(viaBatch.recordset).toEqual(expectedPeople);
    expect(viaBatch.rowsAffected).toEqual([3]);
  });

  it('returns several result sets, a row count, and an nvarchar(max) value', async () => {
    const long = 'ü'.repeat(5000);
    const reply: TdsReply = {
      resultSets: [
        { columns: [{ name: 'a', type: 'int' }], rows: [[1], [2]] },
        { columns: [{ name: 'long', type: 'nvarchar' }, { name: 'n', type: 'nvarchar' }], rows: [[long, null]] },
      ],
      rowCount: 7,
    };
    const { pool } = await connected({ handler: only('SELECT many', reply) });

    for (const result of [await pool.request().query('SELECT many'), await pool.request().batch('SELECT many')]) {
      expect(result.recordsets).toEqual([[{ a: 1 }, { a: 2 }], [{ long, n: null }]]);
      expect(result.rowsAffected).toEqual([2, 1, 7]);
    }
  });

  it('reports rows affected by a statement without result sets', async () => {
    const { pool } = await connected({ handler: only('UPDATE t SET x = 1', { rowCount: 3 }) });

    expect((await pool.request().query('UPDATE t SET x = 1')).rowsAffected).toEqual([3]);
    expect((await pool.request().batch('UPDATE t SET x = 1')).rowsAffected).toEqual([3]);
  });

  it('fails the request with the error it is given and keeps the connection usable', async () => {
    const denied = { number: 229, message: "The SELECT permission was denied on the object 'secrets'.", state: 5, class: 14 };
    const { server, pool } = await connected({
      handler: (req) => (req.sql.includes('secrets') ? { error: denied } : people),
    });
    const loginsBefore = server.logins.length;

    for (const run of [() => pool.request().query('SELECT * FROM secrets'), () => pool.request().batch('SELECT * FROM secrets')]) {
      const failure = await run().then(() => undefined, (err: unknown) => err);
      expect(failure).toBeInstanceOf(sql.RequestError);
      expect(failure).toMatchObject({ number: 229, message: denied.message, state: 5, class: 14, serverName: 'tds-test' });

      expect((await pool.request().query('SELECT people')).recordset).toEqual(expectedPeople);
    }
    expect(server.logins).toHaveLength(loginsBefore + 1); // one pool connection served everything
  });

  it('defaults an error to class 16 and reports a throwing handler as an error', async () => {
    const { pool } = await connected({
      handler: (req) => {
        if (req.sql === 'boom') throw new Error('handler exploded');
        return req.sql === 'fail' ? { error: { number: 50001, message: 'nope' } } : {};
      },
    });

    await expect(pool.request().query('fail')).rejects.toMatchObject({ number: 50001, message: 'nope', class: 16, state: 1 });
    await expect(pool.request().query('boom')).rejects.toMatchObject({ number: 50000, message: 'tds-server: handler threw: handler exploded' });
    await expect(pool.request().query('SELECT 1 AS fine')).resolves.toMatchObject({ rowsAffected: [] });
  });

  it('acknowledges the attention tedious sends on a request timeout, and the connection stays usable', async () => {
    const { server, pool } = await connected(
      { handler: (req) => (req.sql === 'WAITFOR DELAY' ? new Promise<TdsReply>(() => undefined) : people) },
      { requestTimeout: 200 },
    );
    const loginsBefore = server.logins.length;

    await expect(pool.request().query('WAITFOR DELAY')).rejects.toMatchObject({ code: 'ETIMEOUT' });

    expect((await pool.request().query('SELECT people')).recordset).toEqual(expectedPeople);
    expect(server.logins).toHaveLength(loginsBefore + 1);
  });
});

describe('tds-server transactions', () => {
  it('gives a transaction a descriptor that requests inside it carry, and clears it on commit', async () => {
    const { server, pool } = await connected();

    const tx = new sql.Transaction(pool);
    await tx.begin();
    await new sql.Request(tx).input('n', sql.Int, 1).query('UPDATE t SET x = @n');
    await new sql.Request(tx).batch('DELETE FROM t');
    await tx.commit();
    await pool.request().query('SELECT after');

    const seen = appRequests(server);
    const descriptor = seen[1]?.transactionDescriptor;
    expect(descriptor).not.toBe(0n);
    expect(seen).toEqual([
      { kind: 'batch', sql: 'BEGIN TRANSACTION', params: [], transactionDescriptor: 0n },
      { kind: 'rpc', sql: 'UPDATE t SET x = @n', params: [{ name: 'n', value: 1 }], transactionDescriptor: descriptor },
      { kind: 'batch', sql: 'DELETE FROM t', params: [], transactionDescriptor: descriptor },
      { kind: 'batch', sql: 'COMMIT TRANSACTION', params: [], transactionDescriptor: descriptor },
      { kind: 'rpc', sql: 'SELECT after', params: [], transactionDescriptor: 0n },
    ]);
  });

  it('rolls back, and a handler error on COMMIT fails the commit', async () => {
    const { server, pool } = await connected({
      handler: only('COMMIT TRANSACTION', { error: { number: 3998, message: 'Uncommittable transaction.' } }),
    });

    const first = new sql.Transaction(pool);
    await first.begin();
    await first.rollback();
    const second = new sql.Transaction(pool);
    await second.begin();
    await expect(second.commit()).rejects.toMatchObject({ message: 'Uncommittable transaction.' });

    const seen = appRequests(server).map((req) => [req.sql, req.transactionDescriptor !== 0n]);
    expect(seen).toEqual([
      ['BEGIN TRANSACTION', false],
      ['ROLLBACK TRANSACTION', true],
      ['BEGIN TRANSACTION', false],
      ['COMMIT TRANSACTION', true],
    ]);
  });
});

describe('tds-server robustness', () => {
  it('shrugs off clients that hang up mid-message or send garbage', async () => {
    const server = await serve();

    await new Promise<void>((resolve) => {
      const half = connectTcp(server.port, '127.0.0.1', () => {
        half.write(Buffer.from([0x12, 0x01, 0x00])); // a third of a packet header
        half.destroy();
        resolve();
      });
    });
    const closedByServer = await new Promise<boolean>((resolve) => {
      const bad = connectTcp(server.port, '127.0.0.1', () => bad.write(Buffer.from([0x12, 0x01, 0x00, 0x03, 0, 0, 1, 0])));
      bad.on('error', () => undefined);
      bad.on('close', () => resolve(true));
    });
    expect(closedByServer).toBe(true); // a packet shorter than its own header ends the connection

    const pool = newPool(server);
    await pool.connect();
    await expect(pool.request().query('SELECT still alive')).resolves.toBeDefined();
    expect(appRequests(server).map((req) => req.sql)).toEqual(['SELECT still alive']);
  });
});
