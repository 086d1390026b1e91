// Child process: time to access. The real bot (startBot, HTTP mode) with databases taking a fixed time per statement; an approver's
// signed Approve click, one request at a time, timed from its send to Slack's answer to the ephemeral credentials message
// (the bot's `credentials_shown` audit entry, written when Slack accepted it); round trips counted at the executor seam, per dialect.
import { join } from 'node:path';
import { startBot } from '../src/app.js';
import { createLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { simulatedDatabases } from './faults.js';
import { approveClickBody, APPROVER, BASE_ENVIRONMENTS, benchConfig, BOT_TOKEN, seedActiveUsers, signed, SIGNING_SECRET, sleep, summarize, TEAM_ID, tell, type BenchEnvironment, type Summary } from './lib.js';

export interface AccessOptions {
  provisionings: number;
  statementMs: number;
  /** OSUSR_ tables each new read & write user is granted (in one batch where the dialect can). */
  tables: number;
}

export interface AccessResult {
  options: AccessOptions;
  /** Click sent → chat.postEphemeral answered, ms. */
  latency: Summary;
  byDialect: Record<string, { latency: Summary; roundTrips: number[] }>;
  /** Provisionings whose credentials never came within 10 s. */
  missing: number;
}

const [dir, apiUrl, responseUrl, optionsArg] = process.argv.slice(2);
if (!dir || !apiUrl || !responseUrl || !optionsArg) throw new Error('usage: access.ts <dir> <slack api url> <response url> <options json>');
const options = JSON.parse(optionsArg) as AccessOptions;
const environments: BenchEnvironment[] = [...BASE_ENVIRONMENTS, { name: 'az', dialect: 'azuresql' }];

const dbPath = join(dir, 'state.sqlite');
const config = benchConfig(dir, dbPath, {}, environments.slice(BASE_ENVIRONMENTS.length));
const store = openStore(dbPath);
const pending = seedActiveUsers(store, { count: options.provisionings, environments, pending: true, expiresAt: () => Number.NaN });
store.close();

const databases = simulatedDatabases({ statementMs: options.statementMs, tables: options.tables });
const bot = await startBot({
  config,
  slack: { port: 0, apiUrl, socketMode: false, teamId: TEAM_ID, secrets: () => ({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: undefined }) },
  log: createLogger({ level: 'info' }),
  executorFor: databases.executorFor,
  host: '127.0.0.1',
});

// The bot records `credentials_shown` as soon as Slack accepted the ephemeral message (src/access/core/provisioning.ts).
let credentialsShown: ((requestId: string | undefined) => void) | undefined;
const audit = bot.store.audit;
const append = audit.append.bind(audit);
audit.append = (entry) => {
  if (entry.action === 'credentials_shown') credentialsShown?.(entry.requestId);
  return append(entry);
};

const all: number[] = [];
const byDialect: Record<string, { latencies: number[]; roundTrips: number[] }> = {};
let missing = 0;
for (const request of pending) {
  const dialect = environments.find((e) => e.name === request.env)!.dialect;
  const callsBefore = databases.calls.get(request.env) ?? 0;
  const shown = new Promise<boolean>((resolve) => {
    credentialsShown = (id) => id === request.id && resolve(true);
    setTimeout(() => resolve(false), 10_000);
  });
  const { body, headers } = signed(approveClickBody(APPROVER, request.id, responseUrl));
  const start = performance.now();
  const response = await fetch(`http://127.0.0.1:${bot.port}/slack/events`, { method: 'POST', body, headers });
  await response.arrayBuffer();
  if (!(await shown)) {
    missing++;
    continue;
  }
  const ms = performance.now() - start;
  credentialsShown = undefined;
  // Let the notices of this one (approval message update, audit) go out before the next click.
  await sleep(50);
  const entry = (byDialect[dialect] ??= { latencies: [], roundTrips: [] });
  entry.latencies.push(ms);
  entry.roundTrips.push((databases.calls.get(request.env) ?? 0) - callsBefore);
  all.push(ms);
}

tell({
  options,
  latency: summarize(all),
  byDialect: Object.fromEntries(Object.entries(byDialect).map(([dialect, d]) => [dialect, { latency: summarize(d.latencies), roundTrips: [...new Set(d.roundTrips)].sort((a, b) => a - b) }])),
  missing,
} satisfies AccessResult);
await bot.stop();
process.disconnect();
