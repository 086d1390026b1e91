// kill -9 while a user is due: the restarted bot revokes it at once, and the audit log tells the story.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { createSlackDriver } from '../fakes/slack-driver.js';
import { openStore } from '../../src/store/store.js';
import { callText, SIGNING_SECRET, USERS } from './harness.js';

let fake: FakeSlack;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dbaccess-crash-'));
  fake = await startFakeSlack();
  fake.users.set(USERS.ltAdmin, { id: USERS.ltAdmin, name: 'lt', displayName: 'Luis Admin' });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the bot in a child process and resolves with its port once it listens. */
function startChild(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child-bot.ts')], {
    env: { ...process.env, CHILD_DB: join(dir, 'dbaccess.sqlite'), FAKE_SLACK_API_URL: fake.apiUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const port = (JSON.parse(line) as { port?: number }).port;
      if (port) resolve({ child, port });
    });
    child.once('exit', (code) => reject(new Error(`bot exited with ${code}: ${stderr.slice(-2000)}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

it('a user that expires while the bot is down is revoked at once after the restart', async () => {
  const first = await startChild();
  const slack = createSlackDriver({ eventsUrl: `http://127.0.0.1:${first.port}/slack/events`, signingSecret: SIGNING_SECRET, fake });
  await slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request quick --reason "crash test"' });
  await fake.waitFor((c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'), 15_000);

  first.child.kill('SIGKILL');
  await exited(first.child);
  expect(first.child.signalCode).toBe('SIGKILL');
  const killedAt = Date.now();
  // Let the 3-second user expire while nothing runs.
  await new Promise((r) => setTimeout(r, 3_500));
  expect(fake.calls.some((c) => callText(c).includes('expired and was revoked'))).toBe(false);

  const second = await startChild();
  await fake.waitFor((c) => c.method === 'chat.postMessage' && callText(c).includes('expired and was revoked'), 15_000);
  second.child.kill('SIGTERM');
  await exited(second.child);

  const store = openStore(join(dir, 'dbaccess.sqlite'));
  try {
    const [request] = store.requests.listByRequester(USERS.ltAdmin);
    expect(request?.state).toBe('revoked');
    const story = store.audit.list({ requestId: request!.id });
    expect(story.map((e) => `${e.actor} ${e.action}`)).toEqual([
      `${USERS.ltAdmin} requested`,
      `${USERS.ltAdmin} state:approved`,
      'bot state:provisioning',
      'bot state:active',
      'scheduler state:revoking',
      'scheduler state:revoked',
    ]);
    const revoked = story.at(-1)!;
    expect(revoked.detail).toMatchObject({ reason: 'expired' });
    // Late by the downtime, and the log says so.
    expect(Number(revoked.detail?.['lateMs'])).toBeGreaterThan(0);
    expect(revoked.at).toBeGreaterThan(killedAt);
  } finally {
    store.close();
  }
}, 60_000);
