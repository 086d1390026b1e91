// Child process: the cost of one scheduler check (expiry.runDue, then nextDueAt as the timer does) with 1,000 / 10,000 / 100,000 active users and a fixed number due.
import { join } from 'node:path';
import type { Notices } from '../src/access/core/notices.js';
import type { Notifier } from '../src/access/core/ports.js';
import { createExpiry } from '../src/access/expiry.js';
import { createAccess } from '../src/access/index.js';
import type { LoadedEnvironment } from '../src/config.js';
import { systemClock } from '../src/clock.js';
import type { Database } from '../src/dialects/database.js';
import { dryRunExecutor } from '../src/dialects/executor.js';
import { openDatabase } from '../src/dialects/index.js';
import { createLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { benchConfig, HOUR, median, seedActiveUsers, tell } from './lib.js';

export interface SchedulerCostRow {
  active: number;
  /** runDue with `due` users expired: revokes them (dry run), then the other checks. Median ms. */
  runDueMs: number;
  /** runDue with nothing due: what the timer pays at each wake-up. Median ms. */
  idleRunDueMs: number;
  /** nextDueAt, which the timer asks after every run. Median ms. */
  nextDueAtMs: number;
  seedMs: number;
}

export interface SchedulerCostResult {
  due: number;
  iterations: number;
  rows: SchedulerCostRow[];
}

const [dir, sizesArg, dueArg, iterationsArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: scheduler-cost.ts <dir> [sizes,comma,separated] [due] [iterations]');
const sizes = (sizesArg ?? '1000,10000,100000').split(',').map(Number);
const due = Number(dueArg ?? 10);
const iterations = Number(iterationsArg ?? 15);

const dbPath = join(dir, 'state.sqlite');
// The default policy (reminders 60 and 10 minutes before expiry), as in production.
const config = benchConfig(dir, dbPath);
const store = openStore(dbPath);
// Slack is left out, so the figures are the scheduler's and the store's own: every notice resolves at once, whatever
// the Notifier interface grows to (a Proxy rather than a literal, so the bench does not break when it does).
const notifier = new Proxy({} as Notifier, { get: () => async () => undefined });
const databases = new Map<string, Database>();
const deps = {
  config,
  store,
  database: (env: LoadedEnvironment) => {
    let db = databases.get(env.name);
    if (!db) databases.set(env.name, (db = openDatabase(env, dryRunExecutor())));
    return db;
  },
  notifier,
  // Notices are queued to the outbox and sent apart from the scheduler: left out here like Slack.
  notices: { send: () => undefined, handlers: () => ({}) as ReturnType<Notices['handlers']>, registerWith: () => undefined },
  directory: { displayName: async (user: string) => user, groupMembers: async () => [], knownGroupMembers: () => [] },
  clock: systemClock,
  log: createLogger({ level: 'warn' }),
};
const temporary = createAccess(deps);
const expiry = createExpiry({ ...deps, access: temporary });

function timed<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const value = fn();
  return [value, performance.now() - start];
}

async function timedAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const rows: SchedulerCostRow[] = [];
let active = 0;
// Users made due for the measurement get indexes from here on, away from the standing population.
let dueIndex = 10_000_000;
for (const size of sizes) {
  const now = Date.now();
  // Expiries 2 h to 12 h away: beyond the reminder windows, so only the users made due below are work.
  const [, seedMs] = timed(() =>
    seedActiveUsers(store, { from: active, count: size - active, expiresAt: (i) => now + 2 * HOUR + ((i * 7919) % size) * ((10 * HOUR) / size) }),
  );
  active = size;
  // The first run after a start scans the reminder windows from zero; the timer's later runs do not.
  await expiry.runDue(Date.now());
  // Warm-up (JIT, SQLite page cache) before the first size is measured, so it is not charged to the smallest state.
  if (rows.length === 0) {
    for (let k = 0; k < iterations; k++) {
      const expired = Date.now() - 1000;
      seedActiveUsers(store, { from: dueIndex, count: due, expiresAt: () => expired });
      dueIndex += due;
      await expiry.runDue(Date.now());
      expiry.nextDueAt();
    }
  }

  const runDue: number[] = [];
  const idle: number[] = [];
  const next: number[] = [];
  for (let k = 0; k < iterations; k++) {
    const expired = Date.now() - 1000;
    const made = seedActiveUsers(store, { from: dueIndex, count: due, expiresAt: () => expired });
    dueIndex += due;
    runDue.push(await timedAsync(() => expiry.runDue(Date.now())));
    const missed = made.filter((u) => store.requests.get(u.id)?.state !== 'revoked');
    if (missed.length > 0) throw new Error(`runDue did not revoke ${missed.length} of ${due} due users at ${size} active`);
    next.push(timed(() => expiry.nextDueAt())[1]);
    idle.push(await timedAsync(() => expiry.runDue(Date.now())));
  }
  rows.push({ active: size, runDueMs: median(runDue), idleRunDueMs: median(idle), nextDueAtMs: median(next), seedMs });
}

tell({ due, iterations, rows } satisfies SchedulerCostResult);
store.close();
process.disconnect();
