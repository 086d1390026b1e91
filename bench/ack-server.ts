// Child process: the server under ack-latency load: the real bot in HTTP mode ("ours"), a bare Bolt app that only acks ("bare"), or a diagnostic variant.
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, monitorEventLoopDelay, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { startBot } from '../src/app.js';
import { dryRunExecutor } from '../src/dialects/executor.js';
import { createLogger } from '../src/log.js';
import { slackFetch } from '../src/slack/slack-fetch.js';
import { faultEnvironments, HUNG_ENVIRONMENT, simulatedDatabases } from './faults.js';
import { openStore } from '../src/store/store.js';
import { benchConfig, BOT_TOKEN, seedActiveUsers, SIGNING_SECRET, summarize, TEAM_ID, tell, type Summary } from './lib.js';

/**
 * ours: the real bot; bare: Bolt that only acks. Diagnosis (--diagnose): bare-respond acks, then posts a short reply to the
 * response_url with Bolt's respond() through Node's global fetch (Bolt's default); bare-respond-http does the same through
 * the bot's own fetch (src/slack/slack-fetch.ts: node:http, kept-alive connections).
 */
export type ServerKind = 'ours' | 'bare' | 'bare-respond' | 'bare-respond-http';

/**
 * The faults of the revocation-under-faults phase, inside the real bot under ack load: `users` more active users over
 * `environments` environments, expiring over `spreadMs` from `leadMs` after start, one environment's database never
 * answering, the others taking `statementMs` per statement (the Slack it is given answers each call after 10 s).
 */
export interface AckFaults {
  users: number;
  environments: number;
  spreadMs: number;
  leadMs: number;
  statementMs: number;
}

export interface AckServerReady {
  port: number;
}

/** What the server saw since the last ask: evidence for where latency comes from. */
export interface AckServerStats {
  /** ms from the request's headers being parsed to its response being handed to the kernel (inside the server). */
  inServer: Summary;
  /** Event-loop delay (ms): how long a timer, or a request, waited for the loop. */
  loopDelay: { p50: number; p99: number; max: number };
  /** Garbage-collection pauses (ms): all, and by kind (minor: scavenges of new objects; major: mark-compact; incremental: marking steps). */
  gc: { count: number; totalMs: number; maxMs: number; byKind: Record<string, { count: number; ms: number }> };
  /** CPU time of the process (user + system), ms. */
  cpuMs: number;
  /** V8 heap in use and the resident set at the ask, bytes. */
  heapUsed: number;
  rss: number;
}

const [kind, dir, dbPath, apiUrl, faultsArg] = process.argv.slice(2) as [ServerKind, string, string, string, string | undefined];
if (!kind || !dir || !dbPath || !apiUrl) throw new Error('usage: ack-server.ts <server kind> <dir> <db> <slack api url> [faults json]');
const faults = JSON.parse(faultsArg ?? 'null') as AckFaults | null;

async function startOurs(): Promise<{ port: number; stop: () => Promise<void> }> {
  const environments = faults ? faultEnvironments(faults.environments) : [];
  const databases = simulatedDatabases({ statementMs: faults?.statementMs ?? 0, hung: [HUNG_ENVIRONMENT] });
  if (faults) {
    const store = openStore(dbPath);
    const first = Date.now() + faults.leadMs;
    // Users 1,000,000 on: the actors of the ack load are the first ones.
    seedActiveUsers(store, { from: 1_000_000, count: faults.users, environments, expiresAt: (i) => first + ((i * 7919) % faults.users) * (faults.spreadMs / faults.users) });
    store.close();
  }
  const bot = await startBot({
    config: benchConfig(dir, dbPath, faults ? { reminders: [] } : {}, environments),
    slack: { port: 0, apiUrl, socketMode: false, teamId: TEAM_ID, secrets: () => ({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: undefined }) },
    // As in production (src/main.ts): info level, JSON lines on stdout (which the bench discards).
    log: createLogger({ level: 'info' }),
    executorFor: faults ? databases.executorFor : () => dryRunExecutor(),
    host: '127.0.0.1',
  });
  // The hung environment's revocations never finish, so the faulted bot is not stopped: its process ends.
  return { port: bot.port!, stop: () => (faults ? Promise.resolve() : bot.stop()) };
}

async function startBare(respond: boolean, httpRespond: boolean): Promise<{ port: number; stop: () => Promise<void> }> {
  const app = new App({
    token: BOT_TOKEN,
    logLevel: LogLevel.WARN,
    clientOptions: { slackApiUrl: apiUrl, ...(httpRespond ? { fetch: slackFetch(globalThis.fetch, { webApiUrl: apiUrl, timeoutMs: 10_000 }) } : {}) },
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
const noGc = { count: 0, totalMs: 0, maxMs: 0, byKind: {} as Record<string, { count: number; ms: number }> };
let gc = structuredClone(noGc);
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
    const sum = (gc.byKind[kind] ??= { count: 0, ms: 0 });
    sum.count++;
    sum.ms += entry.duration;
    gc.count++;
    gc.totalMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
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
  gc = structuredClone(noGc);
  cpu = process.cpuUsage();
});

const server = kind === 'ours' ? await startOurs() : await startBare(kind !== 'bare', kind === 'bare-respond-http');
tell({ port: server.port } satisfies AckServerReady);
process.once('SIGTERM', () => {
  void server.stop().then(() => process.exit(0));
});
process.once('disconnect', () => process.exit(0));
