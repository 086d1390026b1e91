// Ack latency: the real bot and a bare Bolt app, in turn, under the same signed /dbuser commands and clicks at a fixed rate (bench/load.ts).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AckFaults, AckServerReady, AckServerStats, ServerKind } from './ack-server.js';
import type { FakeSlackCounts } from './fake-slack-server.js';
import { paced, type LoadResult } from './load.js';
import { BENCH_DIR, forkTs, nextMessage, rotateClickBody, signed, slashCommandBody, sleep, stopChild, summarize, type SeededUser, type SignedRequest, type Summary } from './lib.js';

export interface AckOptions {
  dir: string;
  /** The bot's state: a copy of a seeded state with `activeUsers` active users. */
  dbPath: string;
  fake: ChildProcess;
  apiUrl: string;
  responseUrls: readonly string[];
  /** Requests per second, every server. */
  rate: number;
  /** Seconds of load per server per round, in `chunks` pieces taking the servers in turn, so all meet the same machine noise. */
  seconds: number;
  chunks: number;
  warmupSeconds: number;
  rounds: number;
  /** Servers loaded in turn; 'bare-respond' adds the cost of one response_url post to bare (diagnosis). */
  servers: readonly AckServerSpec[];
  /** Active users in the real bot's state (for the report). */
  activeUsers: number;
  /** Those of them who send the commands and clicks. */
  actors: readonly SeededUser[];
  /** The request kinds, taken in turn (all three unless --mix says otherwise). */
  kinds: readonly RequestKind[];
}

/** A server under load: its name in the report, what it runs, and Node flags for it (to try a fix: --max-semi-space-size=…). */
export interface AckServerSpec {
  name: string;
  kind: ServerKind;
  nodeFlags?: readonly string[];
  /** Its own folder, state and Slack (the faulted bot: a slow fake Slack, and users of its own expiring meanwhile). */
  dir?: string;
  dbPath?: string;
  apiUrl?: string;
  faults?: AckFaults;
}

export interface AckRun {
  server: string;
  round: number;
  latency: Summary;
  /** The same by request kind (details, list, click). */
  byKind: Record<string, Summary>;
  /** Responses other than 200, and socket errors. */
  failed: number;
  /** Achieved rate (responses per second). */
  rate: number;
  /** p99 of how late the generator sent against its schedule (ms): its own health. */
  sendLagP99: number;
  /** Calls the fake Slack received during the run: the work after ack. */
  slackCalls: FakeSlackCounts;
  /** What the server itself saw. */
  stats: AckServerStats;
}

export interface AckResult {
  runs: AckRun[];
  /** Each server's latencies over all rounds together. */
  pooled: Record<string, Summary>;
  mix: string;
}

export type RequestKind = 'details' | 'list' | 'click';
export const REQUEST_KINDS: readonly RequestKind[] = ['details', 'list', 'click'];

/** Each request is, in turn, one of `kinds` (`/dbuser details <env>`, `/dbuser list`, a click on *New password*), from a rotating set of users who each have an active user. */
function requestMix(actors: readonly SeededUser[], responseUrls: readonly string[], kinds: readonly RequestKind[]): () => SignedRequest {
  let k = 0;
  return () => {
    const i = k++;
    const actor = actors[i % actors.length]!;
    const url = responseUrls[i % responseUrls.length]!;
    const label = kinds[i % kinds.length]!;
    switch (label) {
      case 'details':
        return { ...signed(slashCommandBody(actor.requester, `details ${actor.env}`, url)), label };
      case 'list':
        return { ...signed(slashCommandBody(actor.requester, 'list', url)), label };
      case 'click':
        return { ...signed(rotateClickBody(actor.requester, actor.id, url)), label };
    }
  };
}

function load(port: number, options: { seconds: number; rate: number; next: () => SignedRequest }): Promise<LoadResult> {
  return paced({ url: `http://127.0.0.1:${port}/slack/events`, ...options });
}

async function serverStats(child: ChildProcess): Promise<AckServerStats> {
  child.send('stats');
  return nextMessage<AckServerStats>(child, 10_000);
}

async function slackCounts(fake: ChildProcess): Promise<FakeSlackCounts> {
  fake.send('counts');
  return nextMessage<FakeSlackCounts>(fake, 10_000);
}

export async function runAckBench(options: AckOptions): Promise<AckResult> {
  const { dir, dbPath, actors } = options;
  const servers = new Map<string, { child: ChildProcess; port: number }>();
  try {
    for (const spec of options.servers) {
      const args = [spec.kind, spec.dir ?? dir, spec.dbPath ?? dbPath, spec.apiUrl ?? options.apiUrl, JSON.stringify(spec.faults ?? null)];
      const child = forkTs(join(BENCH_DIR, 'ack-server.ts'), args, { execArgv: spec.nodeFlags ?? [] });
      const { port } = await nextMessage<AckServerReady>(child, 120_000);
      servers.set(spec.name, { child, port });
    }
    for (const [, { port }] of servers) {
      await load(port, { seconds: options.warmupSeconds, rate: options.rate, next: requestMix(actors, options.responseUrls, options.kinds) });
    }
    await sleep(1000);
    await slackCounts(options.fake);

    const runs: AckRun[] = [];
    const pooled = new Map<string, number[]>();
    const chunkSeconds = options.seconds / options.chunks;
    for (let round = 1; round <= options.rounds; round++) {
      const taken = new Map<string, { latencies: number[]; byKind: Record<string, number[]>; lags: number[]; failed: number; elapsedMs: number; calls: FakeSlackCounts }>();
      for (const { child } of servers.values()) await serverStats(child);
      for (let chunk = 0; chunk < options.chunks; chunk++) {
        // Forwards, then backwards: no server always follows the same one.
        const order = chunk % 2 === 0 ? options.servers : [...options.servers].reverse();
        for (const { name: kind } of order) {
          const { port } = servers.get(kind)!;
          const result = await load(port, { seconds: chunkSeconds, rate: options.rate, next: requestMix(actors, options.responseUrls, options.kinds) });
          // The work after ack finishes within the pause; its Slack calls are counted with the run.
          await sleep(300);
          const calls = await slackCounts(options.fake);
          const sum = taken.get(kind) ?? { latencies: [], byKind: {}, lags: [], failed: 0, elapsedMs: 0, calls: {} };
          sum.latencies.push(...result.latencies);
          for (const [label, values] of Object.entries(result.byLabel)) (sum.byKind[label] ??= []).push(...values);
          sum.lags.push(...result.sendLagMs);
          sum.failed += result.failed;
          sum.elapsedMs += result.elapsedMs;
          for (const [method, n] of Object.entries(calls)) sum.calls[method] = (sum.calls[method] ?? 0) + n;
          taken.set(kind, sum);
        }
      }
      for (const { name: kind } of options.servers) {
        const sum = taken.get(kind)!;
        pooled.set(kind, [...(pooled.get(kind) ?? []), ...sum.latencies]);
        runs.push({
          server: kind,
          round,
          latency: summarize(sum.latencies),
          byKind: Object.fromEntries(Object.entries(sum.byKind).map(([label, values]) => [label, summarize(values)])),
          failed: sum.failed,
          rate: sum.latencies.length / (sum.elapsedMs / 1000),
          sendLagP99: summarize(sum.lags).p99,
          slackCalls: sum.calls,
          stats: await serverStats(servers.get(kind)!.child),
        });
      }
    }
    return {
      runs,
      pooled: Object.fromEntries([...pooled].map(([kind, latencies]) => [kind, summarize(latencies)])),
      mix: options.kinds.map((kind) => `1/${options.kinds.length} ${{ details: '`/dbuser details <env>`', list: '`/dbuser list`', click: '*New password* clicks' }[kind]}`).join(', '),
    };
  } finally {
    for (const { child } of servers.values()) await stopChild(child);
  }
}
