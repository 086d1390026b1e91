// The e2e harness's setup with the knobs reliability tests need: Web API retries, shortened revocation
// retries, more environments, and a driver signing for another workspace. Helpers to read what came back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startBot, type Bot } from '../../src/app.js';
import type { RevocationSettings } from '../../src/access/revocation.js';
import { createSlackDriver, type SlackDriver } from '../../src/console/slack-driver.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../../src/console/fake-slack.js';
import { dryRunExecutor, type DryRunExecutor, type DryRunResponder } from '../../src/dialects/executor.js';
import type { Statement } from '../../src/dialects/statement.js';
import { createLogger } from '../../src/log.js';
import { APPROVALS, callText, loadTestConfig, SIGNING_SECRET, USERS } from '../e2e/harness.js';

export { APPROVALS, callText, USERS };
export const REMINDERS = 'C0REMINDERS';
export const HOME_TEAM = 'T0FAKE0001';
export const FOREIGN_TEAM = 'T0FOREIGN9';

/** An Azure SQL environment reached through a VPN, so temporary users exist on all three dialects. */
export const AZURE_ENVIRONMENT = `
  - name: azure
    dialect: azuresql
    connection: { host: db-az2.database.windows.net, database: outsystems, user: admin1, password: { env: E2E_PW } }
    details: { host: db-az2.database.windows.net }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: ${REMINDERS} }
`;

export interface ReliabilityHarnessOptions {
  /** Web API retries of the bot's WebClient (the e2e harness uses 0). */
  slackRetries?: number;
  extraEnvironments?: string;
  revocation?: Partial<RevocationSettings>;
}

export interface ReliabilityHarness {
  bot: Bot;
  fake: FakeSlack;
  /** Signs as Slack does for this workspace. */
  slack: SlackDriver;
  /** Signs with the same secret but another workspace's team id. */
  foreign: SlackDriver;
  logs: string[];
  executors: Map<string, DryRunExecutor>;
  respond(env: string, responder: DryRunResponder): void;
  /** Every statement any dry-run database received, with its environment. */
  statements(): { env: string; statement: Statement }[];
  clock: { now(): number; advance(ms: number): void };
  stop(): Promise<void>;
}

export async function startReliabilityHarness(options: ReliabilityHarnessOptions = {}): Promise<ReliabilityHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-reliability-'));
  const fake = await startFakeSlack({ teamId: HOME_TEAM });
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
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
  const config = loadTestConfig(join(dir, 'state', 'dbaccess.sqlite'), options.extraEnvironments);
  const bot = await startBot({
    config,
    slack: { port: 0, apiUrl: fake.apiUrl, socketMode: false, secrets: () => ({ botToken: 'xoxb-test', signingSecret: SIGNING_SECRET, appToken: undefined }) },
    log: createLogger({ level: 'debug', destination }),
    clock,
    host: '127.0.0.1',
    slackRetries: options.slackRetries ?? 0,
    ...(options.revocation ? { revocation: options.revocation } : {}),
    executorFor: (env) => {
      const executor = dryRunExecutor((statement) => (responders.get(env.name) ?? (() => []))(statement));
      executors.set(env.name, executor);
      return executor;
    },
  });
  // Bolt verifies the token at start; a stop while that call is in flight leaves an unhandled rejection.
  await fake.waitFor((c) => c.method === 'auth.test', 2000);
  await sleep(10);
  const eventsUrl = `http://127.0.0.1:${bot.port}/slack/events`;
  return {
    bot,
    fake,
    slack: createSlackDriver({ eventsUrl, signingSecret: SIGNING_SECRET, fake, teamId: HOME_TEAM }),
    foreign: createSlackDriver({ eventsUrl, signingSecret: SIGNING_SECRET, fake, teamId: FOREIGN_TEAM }),
    logs,
    executors,
    respond: (env, responder) => void responders.set(env, responder),
    statements: () => [...executors.entries()].flatMap(([env, e]) => e.statements.map((statement) => ({ env, statement }))),
    clock,
    async stop() {
      await bot.stop();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The first call at or after `mark` matching `predicate`. */
export function after(h: ReliabilityHarness, mark: number, predicate: (c: SlackCall) => boolean, timeoutMs = 5000): Promise<SlackCall> {
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && predicate(c), timeoutMs);
}

/** What the bot posted to a response_url. */
export async function replyTo(h: ReliabilityHarness, responseUrl: string, timeoutMs = 5000): Promise<string> {
  return callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === responseUrl, timeoutMs));
}

/** Runs `/dbuser <text>` as `user` and returns the ephemeral reply. */
export async function command(h: ReliabilityHarness, user: string, text: string, driver: SlackDriver = h.slack): Promise<string> {
  const sent = await driver.slashCommand({ user, command: '/dbuser', text });
  if (sent.status !== 200) throw new Error(`/dbuser ${text}: HTTP ${sent.status}`);
  return replyTo(h, sent.responseUrl);
}

/** Polls `check` until it is true or `timeoutMs` passes; returns its last value. */
export async function eventually(check: () => boolean, timeoutMs = 3000, stepMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The request id an approval message names. */
export function requestIdOf(call: SlackCall): string {
  const id = /`(r_[a-z0-9]+)`/i.exec(callText(call))?.[1];
  if (!id) throw new Error('no request id in the message');
  return id;
}

export function isApprovalPost(c: SlackCall): boolean {
  return c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('approval_approve');
}
