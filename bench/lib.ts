// Shared helpers of the benchmark: machine facts, percentiles, the results table, a bench config, seeding the state, signed Slack bodies, child processes.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../src/config.js';
import { signature } from '../test/fakes/slack-driver.js';
import { ACTIONS } from '../src/slack/blocks.js';
import type { Store } from '../src/store/store.js';

/** This folder: the bench's child scripts live here. */
export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

export const SIGNING_SECRET = 'bench-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-bench';
export const APPROVER = 'U0APPROVER';
export const APPROVER_GROUP = 'S0DBAS';
export const GROUP_MEMBER = 'U0GROUPAPPR';
export const APPROVALS = 'C0APPROVALS';
export const REMINDERS = 'C0REMINDERS';
export const HOUR = 3_600_000;
export const TEAM_ID = 'T0FAKE0001';

/** A bench environment: its name and dialect (SQL Server, Azure SQL or Oracle). */
export interface BenchEnvironment {
  name: string;
  dialect: 'sqlserver' | 'azuresql' | 'oracle';
}

/** The two environments every phase has: dev (SQL Server) and prod (Oracle). */
export const BASE_ENVIRONMENTS: readonly BenchEnvironment[] = [
  { name: 'dev', dialect: 'sqlserver' },
  { name: 'prod', dialect: 'oracle' },
];

/** Usernames as the bot makes them: Oracle's are upper case (src/dialects/identifiers.ts refuses others). */
export function benchUsername(env: BenchEnvironment, i: number): string {
  return env.dialect === 'oracle' ? `DBX_BENCH_${i}` : `dbx_bench_${i}`;
}

function environmentYaml(env: BenchEnvironment, policy: string): string {
  const connection =
    env.dialect === 'oracle'
      ? `{ host: db-${env.name}.invalid, serviceName: FREEPDB1, schema: OSADMIN, user: dbaccess_admin, password: { env: BENCH_DB_ADMIN_PASSWORD } }`
      : `{ host: db-${env.name}.invalid, database: outsystems, user: dbaccess_admin, password: { env: BENCH_DB_ADMIN_PASSWORD } }`;
  return `  - name: ${env.name}
    dialect: ${env.dialect}
    connection: ${connection}
    details: { host: ${env.name}-db.example.com }
    lifetimeVersion: "11.19.0"
    network: ${env.dialect === 'oracle' ? 'tgw' : 'vpn'}
    approvers: { users: [${APPROVER}]${env.name === 'dev' ? `, groups: [${APPROVER_GROUP}]` : ''} }
    channels: { approvals: ${APPROVALS}, reminders: ${REMINDERS} }
    policy: { ${policy} }
`;
}

/** The environments file of the benchmark: dev and prod (and `extra` environments), the policy's defaults unless told. */
export function environmentsYaml(policy: { reminders?: readonly string[] } = {}, extra: readonly BenchEnvironment[] = []): string {
  const reminders = policy.reminders === undefined ? '' : `, reminders: [${policy.reminders.join(', ')}]`;
  return `usernamePrefix: dbx_
environments:
${[...BASE_ENVIRONMENTS, ...extra].map((env) => environmentYaml(env, `ttl: 12h, maxTtl: 12h${reminders}`)).join('')}`;
}

/** The variables the bot reads, for a bench state database and environments file in `dir`. */
export function benchEnv(dir: string, dbPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DBACCESS_CONFIG: join(dir, 'environments.yml'),
    DBACCESS_DB: dbPath,
    BENCH_DB_ADMIN_PASSWORD: 'bench-admin-password',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Writes the environments file into `dir` and loads it the way the bot does (loadConfig). */
export function benchConfig(dir: string, dbPath: string, policy: { reminders?: readonly string[] } = {}, extra: readonly BenchEnvironment[] = []): Config {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'environments.yml'), environmentsYaml(policy, extra));
  return loadConfig({ env: benchEnv(dir, dbPath) });
}

/** The Slack user id of the i-th bench user; each has at most one open request per environment. */
export function benchUser(i: number): string {
  return `UB${String(i).padStart(8, '0')}`;
}

export interface SeededUser {
  id: string;
  requester: string;
  env: string;
  expiresAt: number;
}

export interface SeedOptions {
  /** Index of the first user (users are benchUser(from) … benchUser(from + count - 1)). */
  from?: number;
  count: number;
  /** The expiry of the i-th user (ms epoch). */
  expiresAt: (i: number) => number;
  /** Rows per transaction. */
  batch?: number;
  /** The environments users are spread over, in turn (dev and prod unless told). */
  environments?: readonly BenchEnvironment[];
  /** Stop at pending, with the approval message recorded (for approving in the bench). */
  pending?: boolean;
}

/**
 * Active temporary users, made the way the bot makes them, through the store API: created (with the
 * username chosen up front), the approval message recorded, then approved, provisioning, active; each
 * step with its audit entry. Environments alternate. Batches share a transaction, for speed only.
 */
export function seedActiveUsers(store: Store, options: SeedOptions): SeededUser[] {
  const from = options.from ?? 0;
  const batch = options.batch ?? 1000;
  const environments = options.environments ?? BASE_ENVIRONMENTS;
  const seeded: SeededUser[] = [];
  for (let start = from; start < from + options.count; start += batch) {
    const end = Math.min(start + batch, from + options.count);
    store.transaction(() => {
      for (let i = start; i < end; i++) {
        const requester = benchUser(i);
        const environment = environments[i % environments.length]!;
        const env = environment.name;
        const now = Date.now();
        const created = store.requests.create(
          {
            kind: 'temporary',
            env,
            requester,
            requesterName: `Bench User ${i}`,
            access: 'readwrite',
            durationMs: 12 * HOUR,
            reason: 'benchmark: fix a stuck timer in OSUSR_ABC_ORDER',
            ownPassword: false,
            breakGlass: false,
            username: benchUsername(environment, i),
          },
          requester,
        );
        store.requests.setApprovalMessage(created.id, APPROVALS, `1700000000.${String(i).padStart(6, '0')}`);
        if (options.pending) {
          seeded.push({ id: created.id, requester, env, expiresAt: Number.NaN });
          continue;
        }
        store.requests.transition(created.id, { from: ['pending'], to: 'approved', actor: APPROVER, set: { decidedBy: APPROVER, decidedAt: now } });
        store.requests.transition(created.id, { from: ['approved'], to: 'provisioning', actor: 'bot' });
        const expiresAt = options.expiresAt(i);
        store.requests.transition(created.id, { from: ['provisioning'], to: 'active', actor: 'bot', set: { activatedAt: now, expiresAt, error: null } });
        seeded.push({ id: created.id, requester, env, expiresAt });
      }
    });
  }
  return seeded;
}

/** Nearest-rank percentile of ascending `sorted` (q in [0, 1]). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return { count: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN, mean: sorted.length ? sum / sorted.length : Number.NaN };
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/** A number with a sensible number of digits for a table. */
export function fmt(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit}`;
}

/** A markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** What the numbers ran on. */
export function machine(): Record<string, string> {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: String(list.length),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`,
    node: process.version,
    os: `${type()} ${release()}`,
    'load average at start': loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
}

/** Resident set size of a process, in bytes (Linux /proc; `ps` elsewhere). */
export function rssOf(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]) * 1024;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a TypeScript file of bench/ in a child Node process (tsx), with an IPC channel. */
export function forkTs(script: string, args: readonly string[] = [], options: { env?: Record<string, string>; execArgv?: readonly string[] } = {}): ChildProcess {
  const child = fork(script, [...args], {
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  // A send to a child that died is reported by nextMessage (the exit), not as an unhandled 'error' event.
  child.on('error', () => {});
  return child;
}

/** The next IPC message from `child`; rejects when it exits first. */
export async function nextMessage<T>(child: ChildProcess, timeoutMs = 600_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no message from child ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: unknown) => done(undefined, message as T);
    const onExit = (code: number | null, signal: string | null) => done(new Error(`child ${child.pid} exited (${code ?? signal}) before answering`));
    function done(err: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Stops a child we started (SIGTERM) and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Sends `message` to the parent over IPC (children of bench/main.ts). */
export function tell(message: unknown): void {
  if (!process.send) throw new Error('this script runs as a child of bench/main.ts (no IPC channel)');
  process.send(message);
}

export interface SignedRequest {
  body: string;
  headers: Record<string, string>;
  /** What the request is, for latencies by kind. */
  label?: string;
}

/** Headers Slack sends with a body: a fresh timestamp and its signature. */
export function signed(body: string, now = Date.now()): SignedRequest {
  const timestamp = Math.floor(now / 1000);
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature(SIGNING_SECRET, timestamp, body),
    },
  };
}

let sequence = 0;

function triggerId(): string {
  sequence += 1;
  return `${Math.floor(Date.now() / 1000)}${sequence}.${TEAM_ID.slice(1)}.bench${String(sequence).padStart(10, '0')}`;
}

/** The form body of `/dbuser <text>` typed by `user`, as Slack posts it. */
export function slashCommandBody(user: string, text: string, responseUrl: string): string {
  return new URLSearchParams({
    token: 'fake-verification-token',
    team_id: TEAM_ID,
    team_domain: 'fake-workspace',
    channel_id: `D${user.slice(1)}`,
    channel_name: 'directmessage',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/dbuser',
    text,
    api_app_id: 'A0FAKEAPP1',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: triggerId(),
  }).toString();
}

/** The form body of a click on *New password* on the requester's own ephemeral credentials message. */
export function rotateClickBody(user: string, requestId: string, responseUrl: string): string {
  return clickBody({ user, actionId: ACTIONS.rotate, label: 'New password', value: requestId, responseUrl, channel: `D${user.slice(1)}`, ephemeral: true });
}

/** The form body of an approver's click on *Approve* on the approval message of `requestId`. */
export function approveClickBody(approver: string, requestId: string, responseUrl: string): string {
  return clickBody({ user: approver, actionId: ACTIONS.approve, label: 'Approve', value: requestId, responseUrl, channel: APPROVALS, ephemeral: false });
}

function clickBody(click: { user: string; actionId: string; label: string; value: string; responseUrl: string; channel: string; ephemeral: boolean }): string {
  const now = Date.now() / 1000;
  const { user, channel } = click;
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: TEAM_ID },
    api_app_id: 'A0FAKEAPP1',
    token: 'fake-verification-token',
    trigger_id: triggerId(),
    team: { id: TEAM_ID, domain: 'fake-workspace' },
    enterprise: null,
    is_enterprise_install: false,
    container: { type: 'message', message_ts: `${Math.floor(now)}.000100`, channel_id: channel, is_ephemeral: click.ephemeral },
    channel: { id: channel, name: channel.startsWith('D') ? 'directmessage' : 'approvals' },
    response_url: click.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: click.actionId,
        block_id: click.ephemeral ? 'cred' : `decide:${click.value}`,
        text: { type: 'plain_text', text: click.label, emoji: true },
        value: click.value,
        action_ts: `${Math.floor(now)}.${String(Math.floor((now % 1) * 1e6)).padStart(6, '0')}`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
