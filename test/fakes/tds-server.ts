// Test-only TDS endpoint (a small subset of MS-TDS 7.4) that lets tests drive the real `mssql`/tedious driver over loopback TCP with no SQL Server present.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export type TdsParamValue = string | number | boolean | null | Buffer;
export interface TdsParam { name: string; value: TdsParamValue }   // name without '@'
export interface TdsRequest {
  kind: 'batch' | 'rpc';
  /** For a SQL batch: its text. For an RPC call to sp_executesql: the statement text (first parameter). For other RPCs: the procedure name. */
  sql: string;
  /** RPC parameters after sp_executesql's @stmt and @params declaration, by name, decoded. Empty for a batch. */
  params: TdsParam[];
  /** The transaction descriptor from the ALL_HEADERS of the request (0n when no transaction is open). */
  transactionDescriptor: bigint;
}
export type TdsColumnType = 'int' | 'bigint' | 'nvarchar' | 'bit';
export interface TdsResultSet { columns: { name: string; type: TdsColumnType }[]; rows: (string | number | boolean | null)[][] }
export interface TdsReply {
  /** Result sets to return, in order (none for a statement that returns no rows). */
  resultSets?: TdsResultSet[];
  /** rows affected for DONE; optional */
  rowCount?: number;
  /** When set, the server answers with an ERROR token (and DONE with the error bit) instead. */
  error?: { number: number; message: string; state?: number; class?: number };
}
export interface TdsServerOptions {
  /** Decides the reply to each batch / RPC. Default: empty success. May be async. */
  handler?: (req: TdsRequest) => TdsReply | Promise<TdsReply>;
  /** When set, Login7 is refused with this error (e.g. number 18456 "Login failed for user 'x'."). */
  loginError?: { number: number; message: string };
}
export interface TdsServer {
  port: number;
  /** Every batch / RPC received, in order. */
  requests: TdsRequest[];
  /** The login names seen in Login7 packets. */
  logins: string[];
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Protocol constants (section numbers are those of [MS-TDS])

/** 2.2.3.1.1 packet types. */
const PACKET = {
  SQL_BATCH: 0x01,
  RPC: 0x03,
  TABULAR_RESULT: 0x04,
  ATTENTION: 0x06,
  TRANSACTION_MANAGER: 0x0e,
  LOGIN7: 0x10,
  PRELOGIN: 0x12,
} as const;
/** 2.2.3.1.2 packet status bits. */
const STATUS_EOM = 0x01;
const STATUS_IGNORE = 0x02;
/** 2.2.3.1 every packet starts with an 8-byte header. */
const HEADER_LENGTH = 8;

/** 2.2.7 token types. */
const TOKEN = {
  RETURNSTATUS: 0x79,
  COLMETADATA: 0x81,
  ERROR: 0xaa,
  LOGINACK: 0xad,
  ROW: 0xd1,
  ENVCHANGE: 0xe3,
  DONE: 0xfd,
  DONEPROC: 0xfe,
  DONEINPROC: 0xff,
} as const;
/** 2.2.7.6 DONE / DONEPROC / DONEINPROC status bits. */
const DONE = { FINAL: 0x00, MORE: 0x01, ERROR: 0x02, COUNT: 0x10, ATTN: 0x20 } as const;
/** 2.2.7.9 ENVCHANGE types. */
const ENV = {
  DATABASE: 1,
  LANGUAGE: 2,
  PACKET_SIZE: 4,
  SQL_COLLATION: 7,
  BEGIN_TXN: 8,
  COMMIT_TXN: 9,
  ROLLBACK_TXN: 10,
} as const;
/** 2.2.6.9 transaction manager request types (the ones tedious sends). */
const TM = { BEGIN: 5, COMMIT: 7, ROLLBACK: 8, SAVE: 9 } as const;

/** 2.2.5.4 data type ids this endpoint reads (parameters) or writes (columns). */
const TYPE = {
  NULL: 0x1f,
  INT1: 0x30,
  BIT: 0x32,
  INT2: 0x34,
  INT4: 0x38,
  FLT4: 0x3b,
  FLT8: 0x3e,
  INT8: 0x7f,
  GUID: 0x24,
  INTN: 0x26,
  DECIMALN: 0x6a,
  NUMERICN: 0x6c,
  BITN: 0x68,
  FLTN: 0x6d,
  IMAGE: 0x22,
  TEXT: 0x23,
  NTEXT: 0x63,
  BIGVARBINARY: 0xa5,
  BIGVARCHAR: 0xa7,
  BIGBINARY: 0xad,
  BIGCHAR: 0xaf,
  NVARCHAR: 0xe7,
  NCHAR: 0xef,
} as const;

/** 2.2.5.1.2 collation SQL_Latin1_General_CP1_CI_AS (LCID 0x0409, sort id 52 = code page 1252). */
const COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);
/** 2.2.7.14 LOGINACK TDSVersion for 7.4, the version tedious asks for by default. */
const TDS_7_4 = 0x74000004;
/** 2.2.6.6 ProcIDs of the special stored procedures; 10 is sp_executesql. */
const PROC_NAMES: Record<number, string> = {
  1: 'sp_cursor', 2: 'sp_cursoropen', 3: 'sp_cursorprepare', 4: 'sp_cursorexecute', 5: 'sp_cursorprepexec',
  6: 'sp_cursorunprepare', 7: 'sp_cursorfetch', 8: 'sp_cursoroption', 9: 'sp_cursorclose', 10: 'sp_executesql',
  11: 'sp_prepare', 12: 'sp_execute', 13: 'sp_prepexec', 14: 'sp_prepexecrpc', 15: 'sp_unprepare',
};
const SERVER_NAME = 'tds-test';
/** 2.2.5.2.3 PLP: an all-ones total length means NULL. */
const PLP_NULL = 0xffffffffffffffffn;
/** Error number for replies made up by this endpoint (50000 is the user-defined RAISERROR default). */
const ENDPOINT_ERROR = 50000;

// ---------------------------------------------------------------------------
// Server

interface ServerContext {
  options: TdsServerOptions;
  requests: TdsRequest[];
  logins: string[];
  nextTransaction: bigint;
  nextSpid: number;
}

interface Connection {
  socket: Socket;
  ctx: ServerContext;
  spid: number;
  /** Size of the packets we send; the client's Login7 PacketSize once logged in. */
  packetSize: number;
  packetId: number;
  /** 'setup' is the moment after LOGINACK, when tedious sends its session-setup batch. */
  phase: 'prelogin' | 'login' | 'setup' | 'ready';
  /** Descriptor of the transaction this connection has open through TM requests, 0n when none. */
  transaction: bigint;
  /** Received bytes not yet framed into whole packets. */
  inbox: Buffer;
  /** Payloads of the packets of the message being assembled, and its type. */
  parts: Buffer[];
  messageType: number | undefined;
  /** Messages are answered one at a time, in order, so replies never interleave. */
  queue: Promise<void>;
  /** Set while a handler runs; resolves its wait early when an attention arrives or the socket closes. */
  cancelInFlight: (() => void) | undefined;
  attentionPending: boolean;
}

const CANCELLED = Symbol('cancelled');

/** Starts the endpoint on 127.0.0.1 at a random port. */
export function startTdsServer(options: TdsServerOptions = {}): Promise<TdsServer> {
  const ctx: ServerContext = { options, requests: [], logins: [], nextTransaction: 1n, nextSpid: 51 };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, ctx);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('tds-server: no TCP address'));
        return;
      }
      resolve({
        port: address.port,
        requests: ctx.requests,
        logins: ctx.logins,
        close: () => closeServer(server, sockets),
      });
    });
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    // The callback gets an error when already closed; closing twice is fine for a test helper.
    server.close(() => resolve());
  });
}

function serveConnection(socket: Socket, ctx: ServerContext): void {
  const conn: Connection = {
    socket,
    ctx,
    spid: ctx.nextSpid++,
    packetSize: 4096,
    packetId: 1,
    phase: 'prelogin',
    transaction: 0n,
    inbox: Buffer.alloc(0),
    parts: [],
    messageType: undefined,
    queue: Promise.resolve(),
    cancelInFlight: undefined,
    attentionPending: false,
  };
  socket.setNoDelay(true);
  // The driver may drop the connection at any moment (pool close, timeouts); that is not an error here.
  socket.on('error', () => undefined);
  socket.on('close', () => conn.cancelInFlight?.());
  socket.on('data', (chunk: Buffer) => receive(conn, chunk));
}

/** 2.2.3.1: frames packets out of the byte stream and joins them into messages (last packet has EOM). */
function receive(conn: Connection, chunk: Buffer): void {
  conn.inbox = conn.inbox.length === 0 ? chunk : Buffer.concat([conn.inbox, chunk]);
  while (conn.inbox.length >= HEADER_LENGTH) {
    const length = conn.inbox.readUInt16BE(2);
    if (length < HEADER_LENGTH) {
      conn.socket.destroy();
      return;
    }
    if (conn.inbox.length < length) return;
    const type = conn.inbox.readUInt8(0);
    const status = conn.inbox.readUInt8(1);
    conn.parts.push(conn.inbox.subarray(HEADER_LENGTH, length));
    conn.messageType ??= type;
    conn.inbox = conn.inbox.subarray(length);
    if ((status & STATUS_EOM) !== 0) {
      const payload = Buffer.concat(conn.parts);
      const messageType = conn.messageType;
      conn.parts = [];
      conn.messageType = undefined;
      dispatch(conn, messageType, payload, (status & STATUS_IGNORE) !== 0);
    }
  }
}

function dispatch(conn: Connection, type: number, payload: Buffer, ignored: boolean): void {
  if (type === PACKET.ATTENTION) {
    // 2.2.1.7 / 3.2.5.7: stop waiting for the current handler; the acknowledgement (DONE with
    // DONE_ATTN) must come after the reply to the cancelled request, so it goes through the queue.
    conn.attentionPending = true;
    conn.cancelInFlight?.();
    conn.queue = conn.queue.then(() => {
      if (!conn.attentionPending) return;
      conn.attentionPending = false;
      sendTokens(conn, [doneToken(TOKEN.DONE, DONE.ATTN)]);
    });
    return;
  }
  conn.queue = conn.queue
    .then(() => handleMessage(conn, type, payload, ignored))
    .catch((err: unknown) => {
      // A bug in this endpoint: tell the driver rather than leave it waiting.
      sendTokens(conn, errorReply({ number: ENDPOINT_ERROR, message: `tds-server: ${describe(err)}` }, 'batch'));
    });
}

async function handleMessage(conn: Connection, type: number, payload: Buffer, ignored: boolean): Promise<void> {
  if (ignored) {
    // 2.2.3.1.2: the client abandoned this message part-way; it still expects a reply to it.
    sendTokens(conn, [doneToken(TOKEN.DONE, DONE.FINAL)]);
    return;
  }
  if (type === PACKET.PRELOGIN && conn.phase === 'prelogin') {
    sendMessage(conn, PACKET.TABULAR_RESULT, preloginResponse());
    conn.phase = 'login';
    return;
  }
  if (type === PACKET.LOGIN7 && conn.phase === 'login') {
    answerLogin(conn, payload);
    return;
  }
  if (conn.phase === 'prelogin' || conn.phase === 'login') {
    conn.socket.destroy();
    return;
  }
  if (conn.phase === 'setup') {
    conn.phase = 'ready';
    if (type === PACKET.SQL_BATCH) {
      answerSessionSetup(conn, payload);
      return;
    }
  }
  switch (type) {
    case PACKET.SQL_BATCH:
      return answerBatch(conn, payload);
    case PACKET.RPC:
      return answerRpc(conn, payload);
    case PACKET.TRANSACTION_MANAGER:
      return answerTransactionManager(conn, payload);
    default:
      sendTokens(conn, errorReply({ number: ENDPOINT_ERROR, message: `tds-server: unsupported packet type 0x${type.toString(16)}` }, 'batch'));
  }
}

// ---------------------------------------------------------------------------
// PRELOGIN and LOGIN7

/** 2.2.6.5: option table (token, offset, length) then the option data; ENCRYPT_NOT_SUP means no TLS at all. */
function preloginResponse(): Buffer {
  const options: [number, Buffer][] = [
    [0x00, Buffer.from([16, 0, 0x07, 0xd0, 0x00, 0x00])], // VERSION 16.0.2000.0
    [0x01, Buffer.from([0x02])], // ENCRYPTION: ENCRYPT_NOT_SUP
    [0x02, Buffer.from([0x00])], // INSTOPT
    [0x03, Buffer.alloc(0)], // THREADID (empty is allowed in a server response)
    [0x04, Buffer.from([0x00])], // MARS off
  ];
  const table = Buffer.alloc(options.length * 5 + 1);
  let dataOffset = table.length;
  options.forEach(([token, data], i) => {
    table.writeUInt8(token, i * 5);
    table.writeUInt16BE(dataOffset, i * 5 + 1);
    table.writeUInt16BE(data.length, i * 5 + 3);
    dataOffset += data.length;
  });
  table.writeUInt8(0xff, options.length * 5); // TERMINATOR
  return Buffer.concat([table, ...options.map(([, data]) => data)]);
}

function answerLogin(conn: Connection, payload: Buffer): void {
  const login = parseLogin7(payload);
  conn.ctx.logins.push(login.user);
  const refusal = conn.ctx.options.loginError;
  if (refusal) {
    // 3.3.5.2: a refused login is an ERROR token and a DONE with DONE_ERROR, and no LOGINACK.
    // The client closes the socket itself; closing it here could race its parsing of the error.
    sendTokens(conn, [errorToken({ ...refusal, state: 1, class: 14 }), doneToken(TOKEN.DONE, DONE.ERROR)]);
    return;
  }
  conn.packetSize = login.packetSize;
  // 2.2.7.9 / 2.2.7.14: what tedious looks at is LOGINACK (version, interface) and the ENVCHANGEs
  // for database, collation (used to encode varchar parameters) and packet size. No FEATUREEXTACK is
  // sent: tedious accepts its absence (the UTF-8 feature it asks for is then simply not in use).
  sendTokens(conn, [
    envChangeToken(ENV.DATABASE, bVarchar(login.database || 'master'), bVarchar('master')),
    envChangeToken(ENV.SQL_COLLATION, bVarbyte(COLLATION), bVarbyte(Buffer.alloc(0))),
    envChangeToken(ENV.LANGUAGE, bVarchar('us_english'), bVarchar('')),
    loginAckToken(),
    envChangeToken(ENV.PACKET_SIZE, bVarchar(String(login.packetSize)), bVarchar(String(login.packetSize))),
    doneToken(TOKEN.DONE, DONE.FINAL),
  ]);
  conn.phase = 'setup';
}

/** 2.2.6.4: fixed part, then (offset, length in characters) pairs pointing at UCS-2 strings. */
function parseLogin7(payload: Buffer): { user: string; database: string; packetSize: number } {
  if (payload.length < 94) throw new TdsDecodeError('LOGIN7 too short');
  const requested = payload.readUInt32LE(8);
  return {
    user: ucs2Field(payload, 40), // ibUserName / cchUserName
    database: ucs2Field(payload, 68), // ibDatabase / cchDatabase
    // 2.2.6.4 allows 512..32767; anything else we answer with the usual 4096.
    packetSize: requested >= 512 && requested <= 32767 ? requested : 4096,
  };
}

function ucs2Field(payload: Buffer, at: number): string {
  const offset = payload.readUInt16LE(at);
  const chars = payload.readUInt16LE(at + 2);
  if (offset + chars * 2 > payload.length) throw new TdsDecodeError('LOGIN7 field out of range');
  return payload.toString('utf16le', offset, offset + chars * 2);
}

// ---------------------------------------------------------------------------
// Requests

/**
 * The first batch after login is tedious's session setup ("set ansi_nulls on ... set xact_abort off").
 * It is recorded but always answered with a bare DONE: tedious throws an uncaught exception if that
 * reply holds a result set, and ignores errors in it, so a handler could only do harm here.
 */
function answerSessionSetup(conn: Connection, payload: Buffer): void {
  const reader = new Reader(payload);
  const transactionDescriptor = readAllHeaders(reader);
  conn.ctx.requests.push({ kind: 'batch', sql: reader.rest().toString('utf16le'), params: [], transactionDescriptor });
  sendTokens(conn, [doneToken(TOKEN.DONE, DONE.FINAL)]);
}

async function answerBatch(conn: Connection, payload: Buffer): Promise<void> {
  // 2.2.6.7: ALL_HEADERS, then the UCS-2 text.
  const reader = new Reader(payload);
  const transactionDescriptor = readAllHeaders(reader);
  const sql = reader.rest().toString('utf16le');
  await answer(conn, { kind: 'batch', sql, params: [], transactionDescriptor }, 'batch');
}

async function answerRpc(conn: Connection, payload: Buffer): Promise<void> {
  let request: TdsRequest;
  try {
    request = parseRpc(payload);
  } catch (err) {
    if (!(err instanceof TdsDecodeError)) throw err;
    sendTokens(conn, errorReply({ number: ENDPOINT_ERROR, message: `tds-server: ${err.message}` }, 'rpc'));
    return;
  }
  await answer(conn, request, 'rpc');
}

async function answerTransactionManager(conn: Connection, payload: Buffer): Promise<void> {
  // 2.2.6.9: ALL_HEADERS, RequestType, then request-specific data we do not need.
  const reader = new Reader(payload);
  const transactionDescriptor = readAllHeaders(reader);
  const requestType = reader.u16();
  const sql = {
    [TM.BEGIN]: 'BEGIN TRANSACTION',
    [TM.COMMIT]: 'COMMIT TRANSACTION',
    [TM.ROLLBACK]: 'ROLLBACK TRANSACTION',
    [TM.SAVE]: 'SAVE TRANSACTION',
  }[requestType];
  if (sql === undefined) {
    sendTokens(conn, errorReply({ number: ENDPOINT_ERROR, message: `tds-server: unsupported transaction manager request ${requestType}` }, 'batch'));
    return;
  }
  const reply = await consult(conn, { kind: 'batch', sql, params: [], transactionDescriptor });
  if (reply === CANCELLED) {
    sendTokens(conn, [doneToken(TOKEN.DONE, DONE.FINAL)]);
    return;
  }
  if (reply.error) {
    sendTokens(conn, errorReply(reply.error, 'batch'));
    return;
  }
  const done = doneToken(TOKEN.DONE, DONE.FINAL);
  const empty = Buffer.alloc(0);
  if (requestType === TM.BEGIN) {
    // 2.2.7.9 type 8: the new descriptor, which the client then sends in every ALL_HEADERS.
    conn.transaction = conn.ctx.nextTransaction++;
    sendTokens(conn, [envChangeToken(ENV.BEGIN_TXN, bVarbyte(u64(conn.transaction)), bVarbyte(empty)), done]);
    return;
  }
  if (requestType === TM.SAVE) {
    sendTokens(conn, [done]);
    return;
  }
  const committing = requestType === TM.COMMIT;
  if (conn.transaction === 0n) {
    // What SQL Server says for COMMIT / ROLLBACK with no transaction open.
    const message = `The ${committing ? 'COMMIT' : 'ROLLBACK'} TRANSACTION request has no corresponding BEGIN TRANSACTION.`;
    sendTokens(conn, errorReply({ number: committing ? 3902 : 3903, message }, 'batch'));
    return;
  }
  // 2.2.7.9 types 9 / 10: new value empty, old value the descriptor that ended.
  const ended = bVarbyte(u64(conn.transaction));
  conn.transaction = 0n;
  sendTokens(conn, [envChangeToken(committing ? ENV.COMMIT_TXN : ENV.ROLLBACK_TXN, bVarbyte(empty), ended), done]);
}

async function answer(conn: Connection, request: TdsRequest, style: 'batch' | 'rpc'): Promise<void> {
  const reply = await consult(conn, request);
  if (reply === CANCELLED) {
    // The reply to a cancelled request may be cut short; tedious discards it and waits for the ack.
    sendTokens(conn, [doneToken(style === 'rpc' ? TOKEN.DONEPROC : TOKEN.DONE, DONE.FINAL)]);
    return;
  }
  let tokens: Buffer[];
  try {
    tokens = reply.error ? errorReply(reply.error, style) : resultReply(reply, style);
  } catch (err) {
    tokens = errorReply({ number: ENDPOINT_ERROR, message: `tds-server: bad reply from handler: ${describe(err)}` }, style);
  }
  sendTokens(conn, tokens);
}

/** Records the request and asks the handler, unless an attention or a closed socket makes the answer moot. */
async function consult(conn: Connection, request: TdsRequest): Promise<TdsReply | typeof CANCELLED> {
  conn.ctx.requests.push(request);
  const handler = conn.ctx.options.handler;
  if (!handler) return {};
  let cancel: () => void = () => undefined;
  const cancelled = new Promise<typeof CANCELLED>((resolve) => {
    cancel = () => resolve(CANCELLED);
  });
  conn.cancelInFlight = cancel;
  try {
    return await Promise.race([Promise.resolve().then(() => handler(request)), cancelled]);
  } catch (err) {
    return { error: { number: ENDPOINT_ERROR, message: `tds-server: handler threw: ${describe(err)}` } };
  } finally {
    conn.cancelInFlight = undefined;
  }
}

/** 2.2.5.3: ALL_HEADERS; returns the transaction descriptor of the transaction-descriptor header (type 2). */
function readAllHeaders(reader: Reader): bigint {
  const total = reader.u32();
  if (total < 4) throw new TdsDecodeError('bad ALL_HEADERS length');
  const headers = new Reader(reader.take(total - 4));
  let descriptor = 0n;
  while (headers.remaining > 0) {
    const length = headers.u32();
    if (length < 6) throw new TdsDecodeError('bad header length');
    const body = new Reader(headers.take(length - 4));
    if (body.u16() === 2) descriptor = body.u64();
  }
  return descriptor;
}

/** 2.2.6.6: ALL_HEADERS, procedure (name or id), option flags, then parameters to the end of the message. */
function parseRpc(payload: Buffer): TdsRequest {
  const reader = new Reader(payload);
  const transactionDescriptor = readAllHeaders(reader);
  const nameLength = reader.u16();
  const procedure = nameLength === 0xffff
    ? PROC_NAMES[reader.u16()] ?? 'unknown special procedure'
    : reader.take(nameLength * 2).toString('utf16le');
  reader.u16(); // OptionFlags
  const all: TdsParam[] = [];
  // tedious sends one RPC per message, so no BatchFlag separators are expected.
  while (reader.remaining > 0) {
    const name = reader.take(reader.u8() * 2).toString('utf16le');
    reader.u8(); // StatusFlags (output / default value)
    all.push({ name: name.replace(/^@/, ''), value: readParamValue(reader, name) });
  }
  if (!/^(sys\.)?sp_executesql$/i.test(procedure)) {
    return { kind: 'rpc', sql: procedure, params: all, transactionDescriptor };
  }
  // sp_executesql takes @stmt, then (only when there are parameters) the @params declaration.
  const statement = all[0]?.value;
  if (typeof statement !== 'string') throw new TdsDecodeError('sp_executesql without a statement');
  return { kind: 'rpc', sql: statement, params: all.slice(2), transactionDescriptor };
}

/** 2.2.5.5 TYPE_INFO followed by 2.2.5.2 the value, for the types tedious sends as parameters. */
function readParamValue(reader: Reader, name: string): TdsParamValue {
  const type = reader.u8();
  switch (type) {
    case TYPE.NULL:
      return null;
    case TYPE.INT1:
      return reader.u8();
    case TYPE.INT2:
      return reader.take(2).readInt16LE(0);
    case TYPE.INT4:
      return reader.take(4).readInt32LE(0);
    case TYPE.INT8:
      return int64Value(reader.take(8).readBigInt64LE(0));
    case TYPE.BIT:
      return reader.u8() !== 0;
    case TYPE.FLT4:
      return reader.take(4).readFloatLE(0);
    case TYPE.FLT8:
      return reader.take(8).readDoubleLE(0);
    case TYPE.INTN: {
      reader.u8(); // max length
      const value = reader.take(reader.u8());
      if (value.length === 0) return null;
      if (value.length === 1) return value.readUInt8(0);
      if (value.length === 2) return value.readInt16LE(0);
      if (value.length === 4) return value.readInt32LE(0);
      if (value.length === 8) return int64Value(value.readBigInt64LE(0));
      throw new TdsDecodeError(`bad INTN length for @${name}`);
    }
    case TYPE.BITN: {
      reader.u8();
      const value = reader.take(reader.u8());
      return value.length === 0 ? null : value.readUInt8(0) !== 0;
    }
    case TYPE.FLTN: {
      reader.u8();
      const value = reader.take(reader.u8());
      if (value.length === 0) return null;
      return value.length === 4 ? value.readFloatLE(0) : value.readDoubleLE(0);
    }
    case TYPE.DECIMALN:
    case TYPE.NUMERICN: {
      reader.u8(); // max length
      reader.u8(); // precision
      const scale = reader.u8();
      const value = reader.take(reader.u8());
      if (value.length === 0) return null;
      // 2.2.5.5.1.6: sign byte (1 = positive), then the magnitude as a little-endian integer.
      let magnitude = 0n;
      for (let i = value.length - 1; i >= 1; i--) magnitude = (magnitude << 8n) | BigInt(value.readUInt8(i));
      return (value.readUInt8(0) === 1 ? 1 : -1) * Number(magnitude) / 10 ** scale;
    }
    case TYPE.GUID: {
      reader.u8();
      const value = reader.take(reader.u8());
      return value.length === 0 ? null : guidText(value);
    }
    case TYPE.NVARCHAR:
    case TYPE.NCHAR: {
      const bytes = readShortOrPlp(reader, true);
      return bytes === null ? null : bytes.toString('utf16le');
    }
    case TYPE.BIGVARCHAR:
    case TYPE.BIGCHAR: {
      // Code page 1252, from the collation we announced at login.
      const bytes = readShortOrPlp(reader, true);
      return bytes === null ? null : new TextDecoder('windows-1252').decode(bytes);
    }
    case TYPE.BIGVARBINARY:
    case TYPE.BIGBINARY: {
      const bytes = readShortOrPlp(reader, false);
      return bytes === null ? null : Buffer.from(bytes);
    }
    case TYPE.NTEXT:
    case TYPE.TEXT:
    case TYPE.IMAGE: {
      // 2.2.5.4.3 LONGLEN types: LONG max length (+ collation for text), then LONG length + data.
      reader.u32();
      if (type !== TYPE.IMAGE) reader.take(5);
      const length = reader.u32();
      if (length === 0xffffffff) return null;
      const bytes = reader.take(length);
      if (type === TYPE.NTEXT) return bytes.toString('utf16le');
      return type === TYPE.TEXT ? new TextDecoder('windows-1252').decode(bytes) : Buffer.from(bytes);
    }
    default:
      throw new TdsDecodeError(`unsupported parameter type 0x${type.toString(16)} for @${name}`);
  }
}

/** USHORTLEN types (2.2.5.4.3): USHORT max length (0xFFFF = max, sent as PLP), collation for text, then the value. */
function readShortOrPlp(reader: Reader, hasCollation: boolean): Buffer | null {
  const maxLength = reader.u16();
  if (hasCollation) reader.take(5);
  if (maxLength !== 0xffff) {
    const length = reader.u16();
    return length === 0xffff ? null : reader.take(length);
  }
  // 2.2.5.2.3 PLP: ULONGLONG total (or "unknown", as tedious sends), then chunks ending with a zero length.
  if (reader.u64() === PLP_NULL) return null;
  const chunks: Buffer[] = [];
  for (let length = reader.u32(); length !== 0; length = reader.u32()) chunks.push(reader.take(length));
  return Buffer.concat(chunks);
}

/** bigint values come back as numbers when exact, otherwise as decimal strings (as tedious returns bigint columns). */
function int64Value(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** 2.2.5.5.1.7: the first three groups are little-endian. Upper case, as SQL Server prints it. */
function guidText(bytes: Buffer): string {
  const order = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15];
  return order.map((i) => (i < 0 ? '-' : bytes.readUInt8(i).toString(16).padStart(2, '0'))).join('').toUpperCase();
}

// ---------------------------------------------------------------------------
// Replies

/**
 * 2.2.4 / 3.3.5: each result set is COLMETADATA, ROWs and a DONE carrying its row count.
 * A batch uses DONE; an RPC uses DONEINPROC per statement and ends with RETURNSTATUS + DONEPROC
 * (mssql collects a recordset on DONE / DONEINPROC, never on DONEPROC).
 */
function resultReply(reply: TdsReply, style: 'batch' | 'rpc'): Buffer[] {
  const statementDone = style === 'rpc' ? TOKEN.DONEINPROC : TOKEN.DONE;
  const sets = reply.resultSets ?? [];
  const statements = sets.length + (reply.rowCount === undefined ? 0 : 1);
  const tokens: Buffer[] = [];
  let index = 0;
  const more = (): number => (style === 'rpc' || ++index < statements ? DONE.MORE : DONE.FINAL);
  for (const set of sets) {
    tokens.push(...resultSetTokens(set), doneToken(statementDone, DONE.COUNT | more(), set.rows.length));
  }
  if (reply.rowCount !== undefined) tokens.push(doneToken(statementDone, DONE.COUNT | more(), reply.rowCount));
  if (style === 'rpc') return [...tokens, returnStatusToken(0), doneToken(TOKEN.DONEPROC, DONE.FINAL)];
  return tokens.length > 0 ? tokens : [doneToken(TOKEN.DONE, DONE.FINAL)];
}

function errorReply(error: NonNullable<TdsReply['error']>, style: 'batch' | 'rpc'): Buffer[] {
  if (style === 'rpc') return [errorToken(error), returnStatusToken(0), doneToken(TOKEN.DONEPROC, DONE.ERROR)];
  return [errorToken(error), doneToken(TOKEN.DONE, DONE.ERROR)];
}

function resultSetTokens(set: TdsResultSet): Buffer[] {
  // nvarchar columns are declared nvarchar(4000) unless a value needs nvarchar(max) (PLP).
  const plp = set.columns.map((column, c) => column.type === 'nvarchar'
    && set.rows.some((row) => typeof row[c] === 'string' && Buffer.byteLength(row[c], 'utf16le') > 8000));
  const tokens = [colMetadataToken(set.columns, plp)];
  for (const row of set.rows) {
    if (row.length !== set.columns.length) throw new Error(`row has ${row.length} values for ${set.columns.length} columns`);
    tokens.push(Buffer.concat([u8(TOKEN.ROW), ...set.columns.map((column, c) => columnValue(column, row[c] ?? null, plp[c] === true))]));
  }
  return tokens;
}

/** 2.2.7.4: count, then per column UserType, Flags (nullable), TYPE_INFO, column name. */
function colMetadataToken(columns: TdsResultSet['columns'], plp: boolean[]): Buffer {
  const parts = [u8(TOKEN.COLMETADATA), u16(columns.length)];
  columns.forEach((column, c) => {
    parts.push(u32(0), u16(0x0001), columnTypeInfo(column.type, plp[c] === true), bVarchar(column.name));
  });
  return Buffer.concat(parts);
}

function columnTypeInfo(type: TdsColumnType, plp: boolean): Buffer {
  switch (type) {
    case 'int':
      return Buffer.from([TYPE.INTN, 4]);
    case 'bigint':
      return Buffer.from([TYPE.INTN, 8]);
    case 'bit':
      return Buffer.from([TYPE.BITN, 1]);
    case 'nvarchar':
      return Buffer.concat([u8(TYPE.NVARCHAR), u16(plp ? 0xffff : 8000), COLLATION]);
  }
}

/** 2.2.7.19 ROW values: BYTELEN for INTN / BITN, USHORTLEN or PLP for nvarchar. */
function columnValue(column: TdsResultSet['columns'][number], value: string | number | boolean | null, plp: boolean): Buffer {
  const mismatch = (): Error => new Error(`column ${column.name} (${column.type}) cannot hold ${JSON.stringify(value)}`);
  switch (column.type) {
    case 'int': {
      if (value === null) return u8(0);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) throw mismatch();
      const b = Buffer.alloc(5);
      b.writeUInt8(4, 0);
      b.writeInt32LE(value, 1);
      return b;
    }
    case 'bigint': {
      if (value === null) return u8(0);
      const ok = (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && /^-?\d+$/.test(value));
      if (!ok) throw mismatch();
      const b = Buffer.alloc(9);
      b.writeUInt8(8, 0);
      b.writeBigInt64LE(BigInt(value), 1);
      return b;
    }
    case 'bit': {
      if (value === null) return u8(0);
      if (typeof value !== 'boolean' && value !== 0 && value !== 1) throw mismatch();
      return Buffer.from([1, value ? 1 : 0]);
    }
    case 'nvarchar': {
      if (value !== null && typeof value !== 'string') throw mismatch();
      if (!plp) return value === null ? u16(0xffff) : Buffer.concat([u16(Buffer.byteLength(value, 'utf16le')), Buffer.from(value, 'utf16le')]);
      if (value === null) return u64(PLP_NULL);
      const data = Buffer.from(value, 'utf16le');
      const chunk = data.length > 0 ? [u32(data.length), data] : [];
      return Buffer.concat([u64(BigInt(data.length)), ...chunk, u32(0)]);
    }
  }
}

/** 2.2.7.6 / 7 / 8: DONE, DONEPROC, DONEINPROC share Status, CurCmd and a 64-bit row count (TDS 7.2+). */
function doneToken(token: number, status: number, rowCount = 0): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt8(token, 0);
  b.writeUInt16LE(status, 1);
  b.writeUInt16LE(0, 3);
  b.writeBigUInt64LE(BigInt(rowCount), 5);
  return b;
}

/** 2.2.7.10: Number, State, Class, MsgText, ServerName, ProcName, LineNumber. */
function errorToken(error: NonNullable<TdsReply['error']>): Buffer {
  const body = Buffer.concat([
    i32(error.number),
    u8(error.state ?? 1),
    u8(error.class ?? 16),
    usVarchar(error.message),
    bVarchar(SERVER_NAME),
    bVarchar(''),
    u32(1),
  ]);
  return Buffer.concat([u8(TOKEN.ERROR), u16(body.length), body]);
}

/** 2.2.7.16 */
function returnStatusToken(value: number): Buffer {
  return Buffer.concat([u8(TOKEN.RETURNSTATUS), i32(value)]);
}

/** 2.2.7.9: Length, Type, NewValue, OldValue. */
function envChangeToken(type: number, newValue: Buffer, oldValue: Buffer): Buffer {
  const body = Buffer.concat([u8(type), newValue, oldValue]);
  return Buffer.concat([u8(TOKEN.ENVCHANGE), u16(body.length), body]);
}

/** 2.2.7.14: Interface (1 = SQL_TSQL), TDSVersion (big-endian, as tedious reads it), ProgName, ProgVersion. */
function loginAckToken(): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(TDS_7_4, 0);
  const body = Buffer.concat([u8(1), version, bVarchar('Microsoft SQL Server'), Buffer.from([16, 0, 0x07, 0xd0])]);
  return Buffer.concat([u8(TOKEN.LOGINACK), u16(body.length), body]);
}

function sendTokens(conn: Connection, tokens: Buffer[]): void {
  sendMessage(conn, PACKET.TABULAR_RESULT, Buffer.concat(tokens));
}

/** 2.2.3.1: splits a message into packets of the negotiated size, EOM on the last. */
function sendMessage(conn: Connection, type: number, payload: Buffer): void {
  if (conn.socket.destroyed || !conn.socket.writable) return;
  const room = conn.packetSize - HEADER_LENGTH;
  const packets: Buffer[] = [];
  let offset = 0;
  do {
    const chunk = payload.subarray(offset, offset + room);
    offset += chunk.length;
    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt8(type, 0);
    header.writeUInt8(offset >= payload.length ? STATUS_EOM : 0, 1);
    header.writeUInt16BE(chunk.length + HEADER_LENGTH, 2);
    header.writeUInt16BE(conn.spid, 4);
    header.writeUInt8(conn.packetId, 6);
    conn.packetId = (conn.packetId + 1) % 256;
    packets.push(header, chunk);
  } while (offset < payload.length);
  conn.socket.write(Buffer.concat(packets));
}

// ---------------------------------------------------------------------------
// Byte helpers (TDS integers are little-endian unless noted, 2.2.5.1)

class TdsDecodeError extends Error {}

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}
  get remaining(): number {
    return this.buffer.length - this.offset;
  }
  take(length: number): Buffer {
    if (length > this.remaining) throw new TdsDecodeError('message ends early');
    const slice = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }
  rest(): Buffer {
    return this.take(this.remaining);
  }
  u8(): number {
    return this.take(1).readUInt8(0);
  }
  u16(): number {
    return this.take(2).readUInt16LE(0);
  }
  u32(): number {
    return this.take(4).readUInt32LE(0);
  }
  u64(): bigint {
    return this.take(8).readBigUInt64LE(0);
  }
}

function u8(value: number): Buffer {
  return Buffer.from([value]);
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value, 0);
  return b;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value, 0);
  return b;
}

function i32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  return b;
}

function u64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value, 0);
  return b;
}

/** 2.2.5.1.3 B_VARCHAR: length in characters as one byte, then UCS-2. */
function bVarchar(text: string): Buffer {
  if (text.length > 255) throw new Error(`"${text.slice(0, 20)}…" is too long for a B_VARCHAR`);
  return Buffer.concat([u8(text.length), Buffer.from(text, 'utf16le')]);
}

/** US_VARCHAR: length in characters as USHORT, then UCS-2. */
function usVarchar(text: string): Buffer {
  return Buffer.concat([u16(text.length), Buffer.from(text, 'utf16le')]);
}

/** B_VARBYTE: length in bytes as one byte. */
function bVarbyte(bytes: Buffer): Buffer {
  return Buffer.concat([u8(bytes.length), bytes]);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
