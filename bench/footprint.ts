// Footprint: the built bot (node dist/main.js, as `npm start` runs it) started on a state of 10,000 active users; time from spawn to 'bot started', and resident memory once idle.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { benchConfig, benchEnv, BENCH_DIR, BOT_TOKEN, rssOf, SIGNING_SECRET, sleep, stopChild } from './lib.js';

export interface FootprintRun {
  /** ms from spawn() to the 'bot started' log line (the HTTP server is listening). */
  readyMs: number;
  /** RSS after `idleMs` of idling, bytes. */
  rss: number;
  /** Peak RSS up to then (VmHWM), bytes. */
  peakRss: number;
}

export interface FootprintOptions {
  dir: string;
  /** A state database to start from (copied for each run). */
  template: string;
  apiUrl: string;
  runs: number;
  idleMs: number;
  /** The same on an empty state, for context: what the active users themselves cost. */
  empty: { template: string; runs: number };
  /** The same with both drivers imported at start (`--import mssql --import oracledb`), as before they loaded on first use: what that saves. */
  preloadedRuns: number;
}

export interface FootprintResult {
  runs: FootprintRun[];
  emptyRuns: FootprintRun[];
  preloadedRuns: FootprintRun[];
}

export const MAIN_JS = resolve(BENCH_DIR, '..', 'dist', 'main.js');

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function oneRun(options: FootprintOptions, template: string, name: string, nodeArgs: readonly string[] = []): Promise<FootprintRun> {
  const dir = join(options.dir, name);
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, 'state.sqlite');
  copyFileSync(template, dbPath);
  benchConfig(dir, dbPath);
  const env = benchEnv(dir, dbPath, {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: options.apiUrl,
    PORT: String(await freePort()),
  });
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, MAIN_JS], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const lines = createInterface({ input: child.stdout });
    let readyMs: number | undefined;
    for await (const line of lines) {
      if (line.includes('"bot started"')) {
        readyMs = performance.now() - started;
        break;
      }
    }
    if (readyMs === undefined) throw new Error(`dist/main.js exited (${child.exitCode}) before 'bot started'`);
    child.stdout.resume();
    await sleep(options.idleMs);
    return { readyMs, rss: rssOf(child.pid!), peakRss: rssOf(child.pid!, 'VmHWM') };
  } finally {
    await stopChild(child);
  }
}

export async function runFootprint(options: FootprintOptions): Promise<FootprintResult> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run npm run build first (npm run bench does)`);
  const runs: FootprintRun[] = [];
  const emptyRuns: FootprintRun[] = [];
  const preloadedRuns: FootprintRun[] = [];
  // Alternated, so all meet the same machine.
  for (let run = 1; run <= Math.max(options.runs, options.empty.runs, options.preloadedRuns); run++) {
    if (run <= options.runs) runs.push(await oneRun(options, options.template, `run-${run}`));
    if (run <= options.empty.runs) emptyRuns.push(await oneRun(options, options.empty.template, `empty-${run}`));
    if (run <= options.preloadedRuns) preloadedRuns.push(await oneRun(options, options.template, `preloaded-${run}`, ['--import', 'mssql', '--import', 'oracledb']));
  }
  return { runs, emptyRuns, preloadedRuns };
}
