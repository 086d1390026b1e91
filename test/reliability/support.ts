// The e2e harness's setup with the knobs reliability tests need: Web API retries, shortened revocation
// retries, more environments, and a driver signing for another workspace. Helpers to read what came back.
import type { Bot } from '../../src/app.js';
import type { RevocationSettings } from '../../src/access/core/revocation.js';
import { createSlackDriver, type SlackDriver } from '../fakes/slack-driver.js';
import type { FakeSlack, SlackCall } from '../fakes/fake-slack.js';
import type { DryRunExecutor, DryRunResponder } from '../../src/dialects/executor.js';
import type { Statement } from '../../src/dialects/statement.js';
import { APPROVALS, callText, SIGNING_SECRET, startHarness, USERS } from '../e2e/harness.js';

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
  /** See Harness.settle: every notice due now sent, no revocation running. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startReliabilityHarness(options: ReliabilityHarnessOptions = {}): Promise<ReliabilityHarness> {
  const h = await startHarness(options);
  // Bolt verifies the token at start; a stop while that call is in flight leaves an unhandled rejection.
  await h.fake.waitFor((c) => c.method === 'auth.test', 2000);
  await sleep(10);
  return {
    ...h,
    foreign: createSlackDriver({ eventsUrl: h.eventsUrl, signingSecret: SIGNING_SECRET, fake: h.fake, teamId: FOREIGN_TEAM }),
    statements: () => [...h.executors.entries()].flatMap(([env, e]) => e.statements.map((statement) => ({ env, statement }))),
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
