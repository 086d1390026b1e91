// Child process: revocation precision. 10,000 active users expiring over a few minutes, the real bot (startBot, real clock, dry-run databases, the fake Slack); lateness from each state:revoked audit entry.
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startBot } from '../src/app.js';
import { dryRunExecutor } from '../src/dialects/executor.js';
import { createLogger } from '../src/log.js';
import { openStore } from '../src/store/store.js';
import { benchConfig, BOT_TOKEN, seedActiveUsers, SIGNING_SECRET, sleep, summarize, TEAM_ID, tell, type Summary } from './lib.js';

export interface RevocationResult {
  users: number;
  spreadMs: number;
  /** From the bot being ready to the first expiry (negative: users were already overdue at start). */
  marginMs: number;
  seedMs: number;
  /** lateMs of every state:revoked audit entry (revocation time − expiresAt). */
  lateness: Summary;
  revoked: number;
  /** Users still active, revoking or revoke-failed when the run ended. */
  left: number;
  /** Event-loop delay while revoking (ms). */
  loopDelay: { p50: number; p99: number; max: number };
  /** CPU time of the bot's process while revoking, as a share of one core. */
  cpuShare: number;
}

const [dir, apiUrl, countArg, spreadArg, leadArg] = process.argv.slice(2);
if (!dir || !apiUrl) throw new Error('usage: revocation.ts <dir> <slack api url> [users] [spread ms] [lead ms]');
const users = Number(countArg ?? 10_000);
const spreadMs = Number(spreadArg ?? 120_000);
const leadMs = Number(leadArg ?? 8_000);

const dbPath = join(dir, 'state.sqlite');
// No reminders, so only revocation runs: the policy is otherwise the default.
const config = benchConfig(dir, dbPath, { reminders: [] });

const seedStart = Date.now();
const firstExpiry = seedStart + leadMs;
const store = openStore(dbPath);
// A permutation of the expiry order (7919 is prime), so insertion order is not expiry order.
seedActiveUsers(store, { count: users, expiresAt: (i) => firstExpiry + ((i * 7919) % users) * (spreadMs / users) });
store.close();
const seedMs = Date.now() - seedStart;

const bot = await startBot({
  config,
  slack: { port: 0, apiUrl, socketMode: false, teamId: TEAM_ID, secrets: () => ({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, appToken: undefined }) },
  log: createLogger({ level: 'info' }),
  executorFor: () => dryRunExecutor(),
  host: '127.0.0.1',
});
const marginMs = firstExpiry - Date.now();

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const cpuBefore = process.cpuUsage();
const wallBefore = performance.now();

const lastExpiry = firstExpiry + spreadMs;
await sleep(Math.max(0, lastExpiry - Date.now()) + 2000);
const open = () => bot.store.requests.listInStates(['active', 'revoking', 'revoke_failed']).length;
for (let waited = 0; open() > 0 && waited < 60_000; waited += 500) await sleep(500);

loop.disable();
const cpu = process.cpuUsage(cpuBefore);
const wallMs = performance.now() - wallBefore;
const entries = bot.store.audit.list({ since: seedStart }).filter((e) => e.action === 'state:revoked');
const late = entries.map((e) => Number(e.detail?.['lateMs'])).filter((n) => Number.isFinite(n));

tell({
  users,
  spreadMs,
  marginMs,
  seedMs,
  lateness: summarize(late),
  revoked: entries.length,
  left: open(),
  loopDelay: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
  cpuShare: (cpu.user + cpu.system) / 1000 / wallMs,
} satisfies RevocationResult);
await bot.stop();
process.disconnect();
