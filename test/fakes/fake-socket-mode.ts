// A local fake of Slack's Socket Mode endpoint: the WebSocket that apps.connections.open points to,
// speaking just enough of RFC 6455 (text, ping/pong, close) to say hello, send envelopes and read
// the app's acks, and to drop connections on demand.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** The path under the fake's origin that apps.connections.open answers with. */
export const SOCKET_PATH = '/socket-mode/';

export interface FakeSocketMode {
  /** Live connections (after the handshake). */
  connections(): number;
  /** How many connections have been opened since the fake started. */
  opened(): number;
  /**
   * Sends an envelope (as Slack does for a slash command, an interaction or an event) on the newest
   * connection; resolves with the app's ack (its `payload`, if any) or rejects after timeoutMs.
   */
  send(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>, timeoutMs?: number): Promise<{ payload?: unknown }>;
  /** Cuts every connection without a close frame, as a network failure would. */
  drop(): void;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

interface Connection {
  socket: Duplex;
  buffer: Buffer;
}

export function attachFakeSocketMode(server: Server): FakeSocketMode {
  const live = new Set<Connection>();
  const waiting = new Map<string, (ack: { payload?: unknown }) => void>();
  let opened = 0;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const key = req.headers['sec-websocket-key'];
    if (!(req.url ?? '').startsWith(SOCKET_PATH) || typeof key !== 'string') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const connection: Connection = { socket, buffer: Buffer.alloc(0) };
    live.add(connection);
    opened += 1;
    socket.on('data', (chunk: Buffer) => {
      connection.buffer = Buffer.concat([connection.buffer, chunk]);
      readFrames(connection);
    });
    socket.on('close', () => live.delete(connection));
    socket.on('error', () => live.delete(connection));
    sendText(socket, JSON.stringify({ type: 'hello', num_connections: live.size, debug_info: { host: 'fake' }, connection_info: { app_id: 'A0FAKEAPP1' } }));
  });

  function readFrames(connection: Connection): void {
    for (;;) {
      const frame = parseFrame(connection.buffer);
      if (!frame) return;
      connection.buffer = connection.buffer.subarray(frame.length);
      if (frame.opcode === 0x9) writeFrame(connection.socket, 0xa, frame.payload);
      else if (frame.opcode === 0x8) {
        writeFrame(connection.socket, 0x8, frame.payload.subarray(0, 2));
        connection.socket.end();
        live.delete(connection);
        return;
      } else if (frame.opcode === 0x1) onText(frame.payload.toString('utf8'));
    }
  }

  function onText(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null || !('envelope_id' in message) || typeof message.envelope_id !== 'string') return;
    const resolve = waiting.get(message.envelope_id);
    waiting.delete(message.envelope_id);
    resolve?.('payload' in message ? { payload: message.payload } : {});
  }

  return {
    connections: () => live.size,
    opened: () => opened,
    send(type, payload, timeoutMs = 3_000) {
      const newest = [...live].at(-1);
      if (!newest) return Promise.reject(new Error('no Socket Mode connection'));
      const envelopeId = randomUUID();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(envelopeId);
          reject(new Error(`no ack for the ${type} envelope within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(envelopeId, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
        sendText(newest.socket, JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
      });
    },
    drop() {
      for (const connection of live) connection.socket.destroy();
      live.clear();
    },
  };
}

function sendText(socket: Duplex, text: string): void {
  writeFrame(socket, 0x1, Buffer.from(text, 'utf8'));
}

/** A server frame: final, unmasked. */
function writeFrame(socket: Duplex, opcode: number, payload: Buffer): void {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x80 | opcode, length]) : length < 65_536 ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff]) : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(length)]);
  if (!socket.destroyed) socket.write(Buffer.concat([header, payload]));
}

function bigLength(length: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(length));
  return buffer;
}

/** One client frame (always masked) from the start of `buffer`, or undefined if it is not all there yet. */
function parseFrame(buffer: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskLength = masked ? 4 : 0;
  if (buffer.length < offset + maskLength + length) return undefined;
  const mask = buffer.subarray(offset, offset + maskLength);
  const payload = Buffer.from(buffer.subarray(offset + maskLength, offset + maskLength + length));
  if (masked) for (let i = 0; i < payload.length; i += 1) payload[i] = payload[i]! ^ mask[i % 4]!;
  return { opcode, payload, length: offset + maskLength + length };
}
