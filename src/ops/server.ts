// The operations HTTP server, on its own port away from Slack's: /healthz (liveness), /readyz (readiness), /metrics (Prometheus).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Readiness } from './health.js';
import type { Metrics } from './metrics.js';

export interface OpsServerOptions {
  /** Default 9090; 0 picks a free port (tests). */
  port?: number;
  /** Default: every interface, so Prometheus and the orchestrator can reach it from outside the container. */
  host?: string;
  metrics: Pick<Metrics, 'text' | 'contentType'>;
  readiness: Readiness;
  log: Logger;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

const DEFAULT_PORT = 9090;
const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

type Route = (res: ServerResponse) => Promise<void>;

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { log } = options;
  const routes: Record<string, Route> = {
    // Liveness says only that the process answers: a database outage must not get the bot restarted
    // in a loop, since a restart cannot fix it and the expiry timer would stop each time.
    '/healthz': async (res) => send(res, 200, TEXT, 'ok\n'),
    '/readyz': async (res) => {
      const report = await options.readiness.check();
      send(res, report.ready ? 200 : 503, JSON_TYPE, `${JSON.stringify(report)}\n`);
    },
    '/metrics': async (res) => send(res, 200, options.metrics.contentType, await options.metrics.text()),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return send(res, 404, TEXT, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, TEXT, 'method not allowed\n');
    }
    try {
      await route(res);
    } catch (err) {
      log.error({ err, path }, 'ops endpoint failed');
      if (!res.headersSent) send(res, 500, TEXT, 'internal error (see the bot log)\n');
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  // A slow or stuck client must not hold a socket for long: these are tiny requests.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;

  const port = options.port ?? DEFAULT_PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? new AppError('config_invalid', `The ops port ${port} cannot be used (${err.code}): set OPS_PORT to a free port.`, { cause: err })
          : err,
      );
    });
    server.listen({ port, ...(options.host ? { host: options.host } : {}) }, resolve);
  });
  server.on('error', (err) => log.error({ err }, 'ops server error'));

  return {
    port: (server.address() as AddressInfo).port,
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Prometheus keeps its connection alive between scrapes: without this, close waits for it.
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
