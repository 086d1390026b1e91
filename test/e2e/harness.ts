// The real bot in HTTP mode on a random port, talking to the fake Slack Web API, driven by signed requests.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startBot, type Bot } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import type { AuditStreamOverrides } from '../../src/access/audit/index.js';
import { parseEnvironmentsFile, type Config, type EnvVars, type LoadedEnvironment } from '../../src/config.js';
import { createSlackDriver, type SlackDriver } from '../fakes/slack-driver.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../fakes/fake-slack.js';
import { dryRunExecutor, type DryRunExecutor, type DryRunResponder } from '../../src/dialects/executor.js';
import type { RevocationSettings } from '../../src/access/core/revocation.js';
import { createLogger } from '../../src/log.js';

export const USERS = {
  requester: 'U0REQUESTER',
  approver: 'U0APPROVER',
  groupApprover: 'U0GROUPAPPR',
  other: 'U0OTHER',
  ltAdmin: 'U0LTADMIN',
  onCall: 'U0ONCALL',
} as const;
export const APPROVALS = 'C0APPROVALS';
export const SIGNING_SECRET = 'test-signing-secret-0123456789';

const ENVIRONMENTS = `
usernamePrefix: dbx_
environments:
  - name: dev
    dialect: sqlserver
    connection: { host: db-dev, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: dev-db.example.com, instance: OUTSYSTEMS }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}], groups: [S0DBAS] }
    selfService: [${USERS.ltAdmin}]
    breakGlass: [${USERS.onCall}]
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
  - name: prod
    dialect: oracle
    connection: { host: db-prod, serviceName: FREEPDB1, schema: OSADMIN, user: system, password: { env: E2E_PW } }
    details: { host: prod-db.example.com }
    lifetimeVersion: "11.19.0"
    network: tgw
    approvers: { users: [${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
    policy: { ttl: 4h, maxTtl: 8h }
  - name: legacy
    dialect: sqlserver
    connection: { host: db-legacy, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: legacy-db.example.com }
    lifetimeVersion: "11.7.2"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
  - name: allowlisted
    dialect: azuresql
    connection: { host: db-az.database.windows.net, database: outsystems, user: admin1, password: { env: E2E_PW } }
    details: { host: db-az.database.windows.net }
    lifetimeVersion: "11.19.0"
    network: allowlist
    approvers: { users: [${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
`;

export interface Harness {
  bot: Bot;
  fake: FakeSlack;
  slack: SlackDriver;
  /** Where Slack would send requests: the bot's /slack/events. */
  eventsUrl: string;
  dir: string;
  logs: string[];
  executors: Map<string, DryRunExecutor>;
  /** Sets how each environment's dry-run database answers. */
  respond: (env: string, responder: DryRunResponder) => void;
  clock: Clock & { advance(ms: number): void };
  /**
   * Waits until the outbox has sent every notice due now and no revocation runs: notices go out apart
   * from the work that queued them, so a test settles before it looks at what Slack was told.
   */
  settle(): Promise<void>;
  stop(): Promise<void>;
  /** Every file of the SQLite database (with WAL and journal), as bytes. */
  sqliteBytes(): Buffer;
}

/** An environment whose users live seconds, for watching expiry happen in real time. */
export const QUICK_ENVIRONMENT = `
  - name: quick
    dialect: sqlserver
    connection: { host: db-quick, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: quick-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    selfService: [${USERS.ltAdmin}]
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
    policy: { ttl: 3s, maxTtl: 3s, minTtl: 1s, reminders: [2s] }
`;

export function loadTestConfig(dbPath: string, extraEnvironments = ''): Config {
  const file = parseEnvironmentsFile(ENVIRONMENTS + extraEnvironments, 'e2e');
  const environments = file.environments.map((env) => Object.assign(env, { adminPassword: () => 'admin-pw-not-a-user-secret' })) as LoadedEnvironment[];
  return { vars: { DBACCESS_CONFIG: 'e2e', DBACCESS_DB: dbPath, LOG_LEVEL: 'debug', ORPHAN_CHECK_CRON: '17 6 * * *', GRANT_SYNC_CRON: '23 * * * *', INTEROP_CHECK_CRON: '41 * * * *', DBACCESS_FAILPOINTS: [], OPS_PORT: 9090, READINESS_CACHE: 30_000, READINESS_TIMEOUT: 5_000 }, usernamePrefix: file.usernamePrefix, environments };
}

export interface HarnessOptions {
  /** The wall clock instead of a fixed one (expiry in real time). */
  realClock?: boolean;
  extraEnvironments?: string;
  /** Start the operations server on a free port (bot.opsPort). */
  ops?: boolean;
  /** Web API retries of the bot's WebClient; 0 by default, so faults show at once. */
  slackRetries?: number;
  revocation?: Partial<RevocationSettings>;
  /** Environments that use the real database driver (their connection points at a test server) instead of a dry run. */
  realDrivers?: readonly string[];
  /** Outbox delivery settings (e.g. a shorter deadline per Slack call). */
  outbox?: { timeoutMs?: number; retryDelaysMs?: readonly number[] };
  /**
   * SLACK_TEAM_ID: the fake's workspace by default; null leaves it unset, so the bot learns its
   * workspace from auth.test in the background.
   */
  teamId?: string | null;
  /** SLACK_API_TIMEOUT_MS. */
  slackApiTimeoutMs?: number;
  /** Socket Mode with this app-level token (no HTTP receiver: eventsUrl and the driver are unusable). */
  appToken?: string;
  /** Variables beyond the test defaults (e.g. the audit stream's). */
  vars?: Partial<EnvVars>;
  /** Audit stream waits and stdout (BotOptions.auditStream). */
  auditStream?: AuditStreamOverrides;
  /** Runs before the bot starts (e.g. take the fake Web API down). */
  beforeStart?: (fake: FakeSlack) => Promise<void> | void;
}

/** The fake's workspace (startFakeSlack's default team). */
export const TEAM_ID = 'T0FAKE0001';
/** Short waits between attempts to reach Slack, so recovery shows within a test. */
export const TEST_BACKOFF = { firstMs: 50, maxMs: 400 };

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-e2e-'));
  const fake = await startFakeSlack();
  fake.users.set(USERS.requester, { id: USERS.requester, name: 'maria', realName: 'Maria Silva', displayName: 'Maria Silva' });
  fake.users.set(USERS.approver, { id: USERS.approver, name: 'ana', displayName: 'Ana Approver' });
  fake.users.set(USERS.groupApprover, { id: USERS.groupApprover, name: 'gil', displayName: 'Gil Group' });
  fake.users.set(USERS.ltAdmin, { id: USERS.ltAdmin, name: 'lt', displayName: 'Luis Admin' });
  fake.users.set(USERS.onCall, { id: USERS.onCall, name: 'oc', displayName: 'Olga OnCall' });
  fake.users.set(USERS.other, { id: USERS.other, name: 'otto', displayName: 'Otto Other' });
  fake.usergroups.set('S0DBAS', [USERS.groupApprover]);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const executors = new Map<string, DryRunExecutor>();
  const responders = new Map<string, DryRunResponder>();
  let now = Date.UTC(2026, 10, 22, 9, 0, 0);
  const clock = options.realClock
    ? { now: () => Date.now(), advance: () => {} }
    : { now: () => now, advance: (ms: number) => void (now += ms) };
  const loaded = loadTestConfig(join(dir, 'state', 'dbaccess.sqlite'), options.extraEnvironments);
  const config = options.vars ? { ...loaded, vars: { ...loaded.vars, ...options.vars } } : loaded;
  await options.beforeStart?.(fake);
  const bot = await startBot({
    config,
    slack: {
      port: 0,
      apiUrl: fake.apiUrl,
      socketMode: options.appToken !== undefined,
      teamId: options.teamId === null ? undefined : (options.teamId ?? TEAM_ID),
      backoff: TEST_BACKOFF,
      ...(options.slackApiTimeoutMs !== undefined ? { apiTimeoutMs: options.slackApiTimeoutMs } : {}),
      secrets: () => ({ botToken: 'xoxb-test', signingSecret: SIGNING_SECRET, appToken: options.appToken }),
    },
    log: createLogger({ level: 'debug', destination }),
    clock,
    host: '127.0.0.1',
    slackRetries: options.slackRetries ?? 0,
    ...(options.revocation ? { revocation: options.revocation } : {}),
    ...(options.outbox ? { outbox: options.outbox } : {}),
    ...(options.auditStream ? { auditStream: options.auditStream } : {}),
    ...(options.ops ? { ops: { port: 0, host: '127.0.0.1' } } : {}),
    executorFor: (env) => {
      // These environments talk to their (test) server through the real driver.
      if (options.realDrivers?.includes(env.name)) return undefined;
      const executor = dryRunExecutor((statement) => (responders.get(env.name) ?? (() => []))(statement));
      executors.set(env.name, executor);
      return executor;
    },
  });
  // The bot learns Slack's state in the background; a test that reads /readyz first waits for that.
  if (bot.opsPort !== undefined && !options.beforeStart) await slackReady(bot.opsPort);
  const eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  const slack = createSlackDriver({ eventsUrl, signingSecret: SIGNING_SECRET, fake });
  return {
    bot,
    fake,
    slack,
    eventsUrl,
    dir,
    logs,
    executors,
    respond: (env, responder) => void responders.set(env, responder),
    clock,
    async settle() {
      for (let round = 0; round < 200; round++) {
        await bot.expiry.idle();
        await bot.outbox.runDue(clock.now());
        await bot.outbox.idle();
        const next = bot.store.outbox.nextDueAt(clock.now());
        if (next === null || next > clock.now()) return;
      }
      throw new Error('the outbox did not settle');
    },
    async stop() {
      await bot.stop();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
    sqliteBytes() {
      const folder = join(dir, 'state');
      return Buffer.concat(readdirSync(folder).map((f) => readFileSync(join(folder, f))));
    },
  };
}

/** Text of a call's blocks and text, flattened, for searching. */
export function callText(call: SlackCall): string {
  return JSON.stringify(call.args);
}

/** Calls that anyone but the one recipient could see, or that Slack keeps: everything but ephemeral posts. */
export function nonEphemeral(calls: SlackCall[]): SlackCall[] {
  return calls.filter((c) => {
    if (c.method === 'chat.postEphemeral') return false;
    if (c.method === 'response_url') return c.args['response_type'] === 'in_channel';
    return true;
  });
}

/** The password shown in a credentials message. */
export function passwordIn(call: SlackCall): string {
  const match = /\*Password\*\\n`([^`]+)`/.exec(JSON.stringify(call.args['blocks']));
  if (!match) throw new Error(`no password in ${call.method}`);
  return match[1]!;
}

/** The `slack` check of /readyz. */
export async function slackCheck(opsPort: number): Promise<string | undefined> {
  const report = (await (await fetch(`http://127.0.0.1:${opsPort}/readyz`)).json()) as { checks: Record<string, string> };
  return report.checks['slack'];
}

/** Resolves once /readyz says Slack is ok; rejects after `timeoutMs`. */
export async function slackReady(opsPort: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < until) {
    last = await slackCheck(opsPort);
    if (last === 'ok') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`Slack not ready within ${timeoutMs} ms: ${last}`);
}

/** The id of a self-service temporary user the LifeTime administrator gets in `env`, once the password reached them. */
export async function selfServiceUser(h: Harness, env: string): Promise<string> {
  const mark = h.fake.calls.length;
  await h.slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: `request ${env} --reason "self-service"` });
  const credentials = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postEphemeral' && callText(c).includes(env), 20_000);
  if (!passwordIn(credentials)) throw new Error(`no password for ${env}`);
  return h.bot.store.requests.findOpen(env, USERS.ltAdmin, 'temporary')!.id;
}

/** Polls until `check` holds, for at most `ms` of real time (generous, so a busy machine still passes). */
export async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
