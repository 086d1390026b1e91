// A local HTTP receiver for the audit webhook: verifies each signature, keeps every batch as received, dedups by idempotency id, and answers as scripted (ok, fail, hang).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamedEntry } from '../../src/access/audit/entry.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyAuditRequest } from '../../src/access/audit/signature.js';

/** ok: 200; fail: 500 (after reading the body); hang: never answers (the sender times out). */
export type ReceiverMode = 'ok' | 'fail' | 'hang';

export interface AuditReceiver {
  url: string;
  /** Answers from now on. */
  mode: ReceiverMode;
  /** Every batch as received, in arrival order, whatever the answer was. */
  batches: StreamedEntry[][];
  /** Entries kept once each by id, in first-arrival order: what a deduplicating receiver stores. */
  unique(): StreamedEntry[];
  /** Requests whose signature did not verify. */
  badSignatures: number;
  /** Raw bodies, for searching. */
  bodies: string[];
  close(): Promise<void>;
}

export async function startAuditReceiver(secret: string, mode: ReceiverMode = 'ok'): Promise<AuditReceiver> {
  const hung: ServerResponse[] = [];
  const receiver: AuditReceiver = {
    url: '',
    mode,
    batches: [],
    badSignatures: 0,
    bodies: [],
    unique() {
      const seen = new Map<string, StreamedEntry>();
      for (const entry of receiver.batches.flat()) if (!seen.has(entry.id)) seen.set(entry.id, entry);
      return [...seen.values()];
    },
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verifyAuditRequest({
        secret,
        timestamp: header(req, TIMESTAMP_HEADER),
        signature: header(req, SIGNATURE_HEADER),
        body,
        // The sender may run on a test clock: the signature matters here, not the freshness.
        nowSeconds: Number(header(req, TIMESTAMP_HEADER) ?? 0),
      });
      if (!verified) {
        receiver.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      receiver.bodies.push(body);
      receiver.batches.push((JSON.parse(body) as { entries: StreamedEntry[] }).entries);
      if (receiver.mode === 'hang') {
        hung.push(res);
        return;
      }
      res.writeHead(receiver.mode === 'ok' ? 200 : 500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit`;
  return receiver;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
