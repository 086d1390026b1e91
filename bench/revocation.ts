// Child process: revocation on the real bot (startBot, real clock, its due timer, dry-run databases, notices to a fake Slack).
// precision: 10,000 users of dev and prod expiring over a few minutes. faults: the same over ten environments while one's
// database never answers and Slack answers each call after 10 s. catchup: 10,000 users already expired when the bot starts.
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startBot } from '../src/app.js';
import { dryRunExecutor } from '../src/dialects/executor.js';
import { createLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { faultEnvironments, HUNG_ENVIRONMENT, simulatedDatabases } from './faults.js';
import { benchConfig, BOT_TOKEN, seedActiveUsers, SIGNING_SECRET, sleep, summarize, TEAM_ID, tell, type Summary } from './lib.js';

export type RevocationMode = 'precision' | 'faults' | 'catchup';

export interface RevocationOptions {
  mode: RevocationMode;
  users: number;
  /** Expiries are spread evenly over this long. */
  spreadMs: number;
  /** From seeding to the first expiry; negative: already expired when the bot starts (catchup). */
  leadMs: number;
  /** faults and catchup: environments (f0…), and ms per statement of their dry-run databases. */
  environments?: number;
  statementMs?: number;
}

export interface RevocationResult {
  options: RevocationOptions;
  /** From the bot being ready to the first expiry (negative: users were already overdue at start). */
  marginMs: number;
  seedMs: number;
  /** lateMs of every state:revoked audit entry of the measured environments (revocation time − expiresAt). */
  lateness: Summary;
  /** Users that expired before the bot was ready: not in `lateness` (precision, faults). */
  overdueAtStart: number;
  /** Users of the measured environments: all but the hung one. */
  measured: number;
  revoked: number;
  /** Users of the measured environments still active, revoking or revoke-failed when the run ended. */
  left: number;
  /** Users of the hung environment still open at the end (faults), and revoked (should be none). */
  hung: { open: number; revoked: number };
  /** From ready to the last revocation (ms). */
  readyToLastMs: number;
  /** Event-loop delay while revoking (ms). */
  loopDelay: { p50: number; p99: number; max: number };
  /** CPU time of the bot's process while revoking, as a share of one core. */
  cpuShare: number;
}

const [dir, apiUrl, optionsArg] = process.argv.slice(2);
if (!dir || !apiUrl || !optionsArg) throw new Error('usage: revocation.ts <dir> <slack api url> <options json>');
const options = JSON.parse(optionsArg) as RevocationOptions;
const { users, spreadMs, leadMs, mode } = options;
const environments = mode === 'precision' ? [] : faultEnvironments(options.environments ?? 10);
const hungEnvs = mode === 'faults' ? [HUNG_ENVIRONMENT] : [];
const databases = simulatedDatabases({ statementMs: options.statementMs ?? 0, hung: hungEnvs });

const dbPath = join(dir, 'state.sqlite');
// No reminders, so only revocation runs: the policy is otherwise the default (dbTimeout 30 s).
const config = benchConfig(dir, dbPath, { reminders: [] }, environments);

const seedStart = Date.now();
const firstExpiry = seedStart + leadMs;
const store = openStore(dbPath);
// A permutation of the expiry order (7919 is prime), so insertion order is not expiry order.
seedActiveUsers(store, {
  count: users,
  expiresAt: (i) => firstExpiry + ((i * 7919) % users) * (spreadMs / users),
  ...(environments.length > 0 ? { environments } : {}),
});
store.close();
const seedMs = Date.now() - seedStart;

const bot = await startBot({
  config,
  slack: { port: 0, apiUrl, socketMode: false, teamId: TEAM_ID, secrets: () => ({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: undefined }) },
  log: createLogger({ level: 'info' }),
  executorFor: mode === 'precision' ? () => dryRunExecutor() : databases.executorFor,
  host: '127.0.0.1',
});
const readyAt = Date.now();
const marginMs = firstExpiry - readyAt;

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();

const openStates = ['active', 'revoking', 'revoke_failed'] as const;
const isHung = (env: string | null) => env !== null && hungEnvs.includes(env);
const openMeasured = () => bot.store.requests.listInStates([...openStates]).filter((r) => !isHung(r.env)).length;
const perEnv = Math.ceil(users / Math.max(1, environments.length));
// While waiting, a count (listing 10,000 requests every 200 ms cost the bot 6% of its CPU): the hung environment's users all stay open.
const counts = bot.store.requests.countByState.bind(bot.store.requests);
const openCount = () => ((c) => openStates.reduce((sum, state) => sum + (c[state] ?? 0), 0))(counts()) - (hungEnvs.length > 0 ? perEnv : 0);
const lastExpiry = firstExpiry + spreadMs;
await sleep(Math.max(0, lastExpiry - Date.now()) + (mode === 'catchup' ? 0 : 2000));
for (let waited = 0; openCount() > 0 && waited < 120_000; waited += 200) await sleep(200);

loop.disable();
const cpu = process.cpuUsage(cpuBefore);
const wallMs = performance.now() - wallBefore;
const revokedEntries = bot.store.audit.list({ since: seedStart }).filter((e) => e.action === 'state:revoked');
const entries = revokedEntries.filter((e) => !isHung(e.env));
const lateOf = (e: (typeof entries)[number]) => Number(e.detail?.['lateMs']);
// Users that expired before the bot was ready (seeding ran longer than the lead on a busy machine) are late by the
// start itself, not by the scheduler: left out of the lateness, and counted (catch-up measures them on purpose).
const overdueAtStart = mode === 'catchup' ? [] : entries.filter((e) => e.at - lateOf(e) < readyAt);
const late = entries
  .filter((e) => mode === 'catchup' || e.at - lateOf(e) >= readyAt)
  .map(lateOf)
  .filter((n) => Number.isFinite(n));

tell({
  options,
  marginMs,
  seedMs,
  lateness: summarize(late),
  overdueAtStart: overdueAtStart.length,
  measured: users - (hungEnvs.length > 0 ? perEnv : 0),
  revoked: entries.length,
  left: openMeasured(),
  hung: {
    open: bot.store.requests.listInStates([...openStates]).filter((r) => isHung(r.env)).length,
    revoked: revokedEntries.length - entries.length,
  },
  readyToLastMs: Math.max(...entries.map((e) => e.at)) - readyAt,
  loopDelay: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
  cpuShare: (cpu.user + cpu.system) / 1000 / wallMs,
} satisfies RevocationResult);
// The hung environment's revocations never finish; the parent ends this process.
if (hungEnvs.length === 0) await bot.stop();
process.disconnect();
