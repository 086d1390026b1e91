// Child process: the server under ack-latency load: the real bot in HTTP mode ("ours"), a bare Bolt app that only acks ("bare"), or a diagnostic variant.
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { subscribe } from 'node:diagnostics_channel';
import { Agent, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { startBot } from '../src/app.js';
import { dryRunExecutor } from '../src/dialects/executor.js';
import { createLogger } from '../src/log.js';
import { benchConfig, BOT_TOKEN, SIGNING_SECRET, summarize, tell, type Summary } from './lib.js';

/**
 * ours: the real bot; bare: Bolt that only acks. Diagnosis (--diagnose): bare-respond acks, then posts a short reply to the
 * response_url with Bolt's respond() (the global fetch); bare-respond-http does the same with respond() over node:http;
 * ours-http-respond is the real bot with respond() over node:http (the proposed fix, tried without changing src/).
 */
export type ServerKind = 'ours' | 'bare' | 'bare-respond' | 'bare-respond-http' | 'ours-http-respond';

export interface AckServerReady {
  port: number;
}

/** What the server saw since the last ask: evidence for where latency comes from. */
export interface AckServerStats {
  /** ms from the request's headers being parsed to its response being handed to the kernel (inside the server). */
  inServer: Summary;
  /** Event-loop delay (ms): how long a timer, or a request, waited for the loop. */
  loopDelay: { p50: number; p99: number; max: number };
  /** Garbage-collection pauses (ms): all, and the major (mark-compact) ones. */
  gc: { count: number; totalMs: number; maxMs: number; majorCount: number; majorMs: number };
  /** CPU time of the process (user + system), ms. */
  cpuMs: number;
  /** V8 heap in use and the resident set at the ask, bytes. */
  heapUsed: number;
  rss: number;
}

const [kind, dir, dbPath, apiUrl] = process.argv.slice(2) as [ServerKind, string, string, string];
if (!kind || !dir || !dbPath || !apiUrl) throw new Error('usage: ack-server.ts <server kind> <dir> <db> <slack api url>');

async function startOurs(httpRespond: boolean): Promise<{ port: number; stop: () => Promise<void> }> {
  // Bolt takes clientOptions.fetch ?? globalThis.fetch when the App is made; src/ passes none, so the global is swapped here.
  if (httpRespond) globalThis.fetch = respondOverHttp;
  const bot = await startBot({
    config: benchConfig(dir, dbPath),
    slack: { port: 0, apiUrl, socketMode: false, secrets: () => ({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: undefined }) },
    // As in production (src/main.ts): info level, JSON lines on stdout (which the bench discards).
    log: createLogger({ level: 'info' }),
    executorFor: () => dryRunExecutor(),
    host: '127.0.0.1',
  });
  return { port: bot.port!, stop: () => bot.stop() };
}

const keepAlive = new Agent({ keepAlive: true });
/** What Bolt's respond() reads of a fetch response (ok, status, statusText), from a POST over node:http with a keep-alive agent. */
function postOverHttp(url: string | URL, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ ok: boolean; status: number; statusText: string }> {
  return new Promise((resolve, reject) => {
    const body = init.body ?? '';
    const req = httpRequest(url, { method: init.method ?? 'POST', headers: { ...init.headers, 'content-length': Buffer.byteLength(body) }, agent: keepAlive }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300, status: res.statusCode ?? 0, statusText: res.statusMessage ?? '' }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A fetch for Bolt: Web API calls keep the global fetch; posts to a response_url go over node:http. */
const globalFetch = globalThis.fetch;
const respondOverHttp = ((url: string | URL, init?: { method?: string; headers?: Record<string, string>; body?: string }) =>
  String(url).startsWith(apiUrl) ? globalFetch(url, init) : postOverHttp(url, init)) as unknown as typeof fetch;

async function startBare(respond: boolean, httpRespond: boolean): Promise<{ port: number; stop: () => Promise<void> }> {
  const app = new App({
    token: BOT_TOKEN,
    logLevel: LogLevel.WARN,
    clientOptions: { slackApiUrl: apiUrl, ...(httpRespond ? { fetch: respondOverHttp } : {}) },
    receiver: new HTTPReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', processBeforeResponse: false }),
  });
  app.command(/.*/, async ({ ack, respond: reply }) => {
    await ack();
    if (respond) await reply({ response_type: 'ephemeral', text: 'ok' });
  });
  app.action(/.*/, async ({ ack, respond: reply }) => {
    await ack();
    if (respond) await reply({ response_type: 'ephemeral', replace_original: false, text: 'ok' });
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  return { port: (server.address() as AddressInfo).port, stop: async () => void (await app.stop()) };
}

// Measured the same way in both servers: Node's own HTTP diagnostics channels, and the event-loop delay monitor.
const arrived = new WeakMap<IncomingMessage, number>();
let inServer: number[] = [];
subscribe('http.server.request.start', (message) => void arrived.set((message as { request: IncomingMessage }).request, performance.now()));
subscribe('http.server.response.finish', (message) => {
  const start = arrived.get((message as { request: IncomingMessage }).request);
  if (start !== undefined) inServer.push(performance.now() - start);
});
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const noGc = { count: 0, totalMs: 0, maxMs: 0, majorCount: 0, majorMs: 0 };
let gc = { ...noGc };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const major = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
    gc = {
      count: gc.count + 1,
      totalMs: gc.totalMs + entry.duration,
      maxMs: Math.max(gc.maxMs, entry.duration),
      majorCount: gc.majorCount + (major ? 1 : 0),
      majorMs: gc.majorMs + (major ? entry.duration : 0),
    };
  }
}).observe({ entryTypes: ['gc'] });
let cpu = process.cpuUsage();
process.on('message', (message) => {
  if (message !== 'stats') return;
  const used = process.cpuUsage(cpu);
  tell({
    inServer: summarize(inServer),
    loopDelay: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    gc,
    cpuMs: (used.user + used.system) / 1000,
    heapUsed: process.memoryUsage().heapUsed,
    rss: process.memoryUsage().rss,
  } satisfies AckServerStats);
  inServer = [];
  loop.reset();
  gc = { ...noGc };
  cpu = process.cpuUsage();
});

const server = kind.startsWith('ours') ? await startOurs(kind === 'ours-http-respond') : await startBare(kind !== 'bare', kind === 'bare-respond-http');
tell({ port: server.port } satisfies AckServerReady);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
process.once('disconnect', () => process.exit(0));
