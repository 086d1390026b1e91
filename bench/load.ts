// An open-loop load generator: one request every 1/rate seconds, on schedule whatever the server does, each timed from its send to the end of its response.
// Not autocannon: its overallRate lets each connection send its per-second quota back to back, so "200 per second" arrives as
// a burst of 200 in the first few milliseconds of each second (measured: every request of a second inside its first 100 ms).
import { Agent, request } from 'node:http';
import type { SignedRequest } from './lib.js';

export interface LoadOptions {
  url: string;
  /** Requests per second. */
  rate: number;
  seconds: number;
  next: () => SignedRequest;
  /** Sockets kept open to the server; a request waits for one when all are busy (and that wait counts). */
  maxSockets?: number;
}

export interface LoadResult {
  /** Milliseconds from send to the last byte of each 200 response. */
  latencies: number[];
  /** The same, by the label of the request. */
  byLabel: Record<string, number[]>;
  /** How late each request left against its schedule (the generator's own health). */
  sendLagMs: number[];
  /** Non-200 responses and socket errors. */
  failed: number;
  elapsedMs: number;
}

export async function paced(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  const byLabel: Record<string, number[]> = {};
  const sendLagMs: number[] = [];
  let failed = 0;
  let settled = 0;
  const start = performance.now();

  return new Promise<LoadResult>((resolve) => {
    function settle(): void {
      settled++;
      if (settled === total) {
        agent.destroy();
        resolve({ latencies, byLabel, sendLagMs, failed, elapsedMs: performance.now() - start });
      }
    }

    function send(due: number): void {
      const { body, headers, label = '' } = options.next();
      const sentAt = performance.now();
      sendLagMs.push(sentAt - due);
      const req = request(
        { agent, method: 'POST', hostname: target.hostname, port: target.port, path: target.pathname, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) {
              const latency = performance.now() - sentAt;
              latencies.push(latency);
              (byLabel[label] ??= []).push(latency);
            } else failed++;
            settle();
          });
        },
      );
      req.on('error', () => {
        failed++;
        settle();
      });
      req.end(body);
    }

    let sent = 0;
    function tick(): void {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        send(start + sent * interval);
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    }
    tick();
  });
}
