// kill -9 while audit entries wait for a webhook that has not answered: the restarted bot delivers them, each id at least once, in order, none lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { createSlackDriver } from '../fakes/slack-driver.js';
import { startAuditReceiver, type AuditReceiver } from '../fakes/audit-receiver.js';
import { callText, SIGNING_SECRET, until, USERS } from '../e2e/harness.js';

const SECRET = 'crash-audit-webhook-secret-0123456789abcdef';
let fake: FakeSlack;
let receiver: AuditReceiver;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-audit-crash-'));
  fake = await startFakeSlack();
  fake.users.set(USERS.ltAdmin, { id: USERS.ltAdmin, name: 'lt', displayName: 'Luis Admin' });
  receiver = await startAuditReceiver(SECRET, 'hang');
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await fake?.close();
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

const dbPath = () => join(dir, 'dbaccess.sqlite');

/** Starts the bot in a child process, streaming to the receiver, and resolves with its port once it listens. */
function startChild(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'e2e', 'child-bot.ts')], {
    env: { ...process.env, CHILD_DB: dbPath(), FAKE_SLACK_API_URL: fake.apiUrl, CHILD_AUDIT_WEBHOOK_URL: receiver.url, CHILD_AUDIT_WEBHOOK_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const port = (JSON.parse(line) as { port?: number }).port;
      if (port) resolve({ child, port });
    });
    child.once('exit', (code) => reject(new Error(`bot exited with ${code}: ${stderr.slice(-2000)}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** The audit ids in the file, read through a connection of its own (the bot may be writing). */
function auditIds(): number[] {
  const db = new Database(dbPath(), { readonly: true });
  try {
    return db.prepare<[], number>('SELECT id FROM audit_log ORDER BY id').pluck().all();
  } finally {
    db.close();
  }
}

it('entries waiting when the bot is killed are delivered after the restart, once each by id', async () => {
  const first = await startChild();
  const slack = createSlackDriver({ eventsUrl: `http://127.0.0.1:${first.port}/slack/events`, signingSecret: SIGNING_SECRET, fake });
  await slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request quick --reason "audit crash test"' });
  await fake.waitFor((c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'), 30_000);
  // A batch is in flight (the receiver holds it unanswered) and the entries after it wait behind it.
  await until(() => receiver.batches.length >= 1, 'a delivery in flight');
  const inFlight = receiver.batches[0]!.map((e) => e.seq);
  await until(() => auditIds().length > inFlight.length, 'entries waiting behind it');

  first.child.kill('SIGKILL');
  await exited(first.child);
  expect(first.child.signalCode).toBe('SIGKILL');
  receiver.mode = 'ok';

  const second = await startChild();
  // The 3-second user expires meanwhile: its revocation adds entries, and those are streamed too.
  await fake.waitFor((c) => c.method === 'chat.postMessage' && callText(c).includes('expired and was revoked'), 30_000);
  await until(() => receiver.unique().some((e) => e.action === 'state:revoked') && receiver.unique().length === auditIds().length, 'every entry delivered');
  const caughtUp = receiver.unique().length;
  second.child.kill('SIGTERM');
  await exited(second.child);

  // Entries written after the moment it caught up (before SIGTERM) may still wait: they are the next run's.
  const ids = auditIds();
  const delivered = receiver.unique().map((e) => e.seq);
  expect(delivered.length).toBeGreaterThanOrEqual(caughtUp);
  expect(delivered).toEqual(ids.slice(0, delivered.length));
  // The batch the kill interrupted went out again: at least once, and the receiver's dedup shows it once.
  const sent = receiver.batches.flat().map((e) => e.seq);
  for (const seq of inFlight) expect(sent.filter((s) => s === seq).length).toBe(2);
  expect(new Set(receiver.unique().map((e) => e.id)).size).toBe(delivered.length);
  let highest = 0;
  for (const batch of receiver.batches) {
    expect(batch[0]!.seq).toBeLessThanOrEqual(highest + 1);
    highest = Math.max(highest, batch.at(-1)!.seq);
  }
  expect(receiver.badSignatures).toBe(0);
}, 120_000);
