// The process killed (SIGKILL) at each failpoint of provisioning, revocation, rotation and interop grants,
// then restarted: no orphan database user, no lost or duplicated request, and the audit log tells it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { createSlackDriver, type SlackDriver } from '../fakes/slack-driver.js';
import type { FailpointName } from '../../src/failpoints.js';
import { openStore, type Store } from '../../src/store/store.js';
import { callText, SIGNING_SECRET, USERS } from './harness.js';

let fake: FakeSlack;
const children: ChildProcess[] = [];

beforeAll(async () => {
  fake = await startFakeSlack();
  for (const [id, name] of [
    [USERS.ltAdmin, 'Luis Admin'],
    [USERS.requester, 'Maria Silva'],
    [USERS.approver, 'Ana Approver'],
  ] as const) {
    fake.users.set(id, { id, name: name.split(' ')[0]!.toLowerCase(), displayName: name });
  }
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fake?.close();
});

interface Run {
  dir: string;
  start(failpoints?: FailpointName[]): Promise<{ child: ChildProcess; slack: SlackDriver }>;
  statements(): { pid: number; kind: string; label: string; username?: string }[];
}

function run(): Run {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-failpoint-'));
  const statementsFile = join(dir, 'statements.jsonl');
  return {
    dir,
    start(failpoints = []) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child-bot.ts')], {
        env: { ...process.env, CHILD_DB: join(dir, 'db.sqlite'), FAKE_SLACK_API_URL: fake.apiUrl, CHILD_FAILPOINTS: failpoints.join(','), CHILD_STATEMENTS: statementsFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += String(d)));
      return new Promise((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const port = (JSON.parse(line) as { port?: number }).port;
          if (port) resolve({ child, slack: createSlackDriver({ eventsUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, fake }) });
        });
        child.once('exit', (code, signal) => reject(new Error(`bot exited (${code ?? signal}) before listening: ${stderr.slice(-1500)}`)));
      });
    },
    statements() {
      if (!existsSync(statementsFile)) return [];
      return readFileSync(statementsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { pid: number; kind: string; label: string; username?: string });
    },
  };
}

function killed(child: ChildProcess): Promise<string | null> {
  return new Promise((resolve) => (child.signalCode !== null || child.exitCode !== null ? resolve(child.signalCode) : child.once('exit', (_c, s) => resolve(s))));
}

async function stopChild(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await killed(child);
}

async function clickLatest(slack: SlackDriver, user: string, actionId: string, mark: number): Promise<void> {
  const message = await fake.waitFor((c) => fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && callText(c).includes(actionId), 15_000);
  await slack.blockAction({ user, actionId, container: { channel: String(message.args['channel']), messageTs: '1' }, message: { ts: '1', blocks: message.args['blocks'] as unknown[] } });
}

/** A self-service temporary user: in `quick` (it lives 3 s) by default, in `dev` (12 h) when the check must find it still active after a restart. */
async function activeTemporary(slack: SlackDriver, env: 'quick' | 'dev' = 'quick'): Promise<void> {
  const mark = fake.calls.length;
  await slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: `request ${env} --reason "failpoint"` });
  await fake.waitFor((c) => fake.calls.indexOf(c) >= mark && c.method === 'chat.postEphemeral' && callText(c).includes('Password'), 15_000);
}

/** What each failpoint's scenario does to reach it, and what must hold after the restart. */
const SCENARIOS: Array<{
  failpoint: FailpointName;
  act: (slack: SlackDriver) => Promise<void>;
  /** After the restart, before the restarted bot is stopped: what it must do on its own. */
  afterRestart?: (mark: number) => Promise<void>;
  check: (store: Store, r: Run) => void;
}> = [
  {
    failpoint: 'provision:before-create',
    act: (slack) => slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request quick --reason x' }).then(() => undefined),
    check: (store, r) => {
      const [request] = store.requests.listByRequester(USERS.ltAdmin);
      expect(request).toMatchObject({ state: 'failed', error: expect.stringContaining('interrupted by a restart') });
      expect(r.statements().filter((s) => s.username === request!.username).map((s) => s.kind)).toEqual(['block login', 'query', 'drop user', 'drop login']);
    },
  },
  {
    failpoint: 'provision:after-create',
    act: (slack) => slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'request quick --reason x' }).then(() => undefined),
    check: (store, r) => {
      const [request] = store.requests.listByRequester(USERS.ltAdmin);
      expect(request?.state).toBe('failed');
      const kinds = r.statements().filter((s) => s.username === request!.username).map((s) => s.kind);
      expect(kinds.slice(0, 2)).toEqual(['create login', 'create user']);
      expect(kinds.slice(-2)).toEqual(['drop user', 'drop login']); // the half-made user is gone again
    },
  },
  {
    failpoint: 'revoke:before-drop',
    act: async (slack) => {
      await activeTemporary(slack);
      await slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'delete quick' });
    },
    check: (store, r) => {
      const [request] = store.requests.listByRequester(USERS.ltAdmin);
      expect(request?.state).toBe('revoked');
      expect(r.statements().filter((s) => s.username === request!.username && s.kind === 'drop login')).toHaveLength(1);
    },
  },
  {
    failpoint: 'revoke:after-drop',
    act: async (slack) => {
      await activeTemporary(slack);
      await slack.slashCommand({ user: USERS.ltAdmin, command: '/dbuser', text: 'delete quick' });
    },
    check: (store, r) => {
      const [request] = store.requests.listByRequester(USERS.ltAdmin);
      expect(request?.state).toBe('revoked');
      // Dropped before the kill, dropped again (a no-op) after: revocation is idempotent.
      expect(r.statements().filter((s) => s.username === request!.username && s.kind === 'drop login').length).toBe(2);
    },
  },
  {
    failpoint: 'rotate:after-set-password',
    act: async (slack) => {
      // Not `quick`: on a busy machine the restart alone can outlast its 3 s users, and the check
      // would find the user revoked at expiry instead of still active.
      await activeTemporary(slack, 'dev');
      const credentials = fake.calls.filter((c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password')).at(-1)!;
      const id = /credentials_rotate","value":"(r_[a-z0-9]+)"/.exec(callText(credentials))?.[1] ?? '';
      await slack.blockAction({ user: USERS.ltAdmin, actionId: 'credentials_rotate', value: id, container: { channel: 'D0LTADMIN', messageTs: '1', isEphemeral: true } });
    },
    check: (store, r) => {
      const open = store.requests.listByRequester(USERS.ltAdmin);
      expect(open.filter((q) => q.state === 'active')).toHaveLength(1); // still exactly one user, still active
      expect(r.statements().filter((s) => s.kind === 'set password')).toHaveLength(1);
    },
  },
  {
    failpoint: 'permanent-rotation:before-set-password',
    act: async (slack) => {
      let mark = fake.calls.length;
      await slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'permanent quick --access read --via vpn --reason "reports"' });
      await clickLatest(slack, USERS.approver, 'approval_approve', mark);
      await fake.waitFor((c) => fake.calls.indexOf(c) >= mark && c.method === 'chat.postEphemeral' && callText(c).includes('Password'), 15_000);
      mark = fake.calls.length;
      await slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'rotate quick --access read' });
      await clickLatest(slack, USERS.approver, 'rotation_approve', mark);
    },
    check: (store, r) => {
      const user = store.requests.findPermanent('quick', 'readonly');
      expect(user).toMatchObject({ state: 'active', rotationRequestedBy: null });
      expect(r.statements().filter((s) => s.kind === 'set password')).toHaveLength(0); // the old password still works; the owner asks again
      expect(store.audit.list({ requestId: user!.id }).map((e) => e.action)).toContain('rotation_approved');
    },
  },
  {
    failpoint: 'interop:before-grant',
    act: async (slack) => {
      const mark = fake.calls.length;
      await slack.slashCommand({ user: USERS.requester, command: '/interop', text: 'setup quick' });
      await clickLatest(slack, USERS.approver, 'interop_approve', mark);
    },
    check: (store, r) => {
      const [action] = store.interop.listInStates(['failed']);
      expect(action?.error).toContain('interrupted by a restart');
      expect(store.interop.listInStates(['running'])).toEqual([]);
      expect(r.statements().filter((s) => s.kind === 'create login')).toHaveLength(0);
    },
  },
  {
    failpoint: 'interop:after-grant',
    act: async (slack) => {
      const mark = fake.calls.length;
      await slack.slashCommand({ user: USERS.requester, command: '/interop', text: 'setup quick' });
      await clickLatest(slack, USERS.approver, 'interop_approve', mark);
    },
    check: (store, r) => {
      expect(store.interop.listInStates(['running'])).toEqual([]);
      expect(store.interop.listInStates(['failed'])[0]?.error).toContain('interrupted by a restart');
      expect(r.statements().filter((s) => s.kind === 'create login')).toHaveLength(1);
    },
  },
  {
    // Killed as the first notice of an approval was about to go to Slack: after the restart every notice is
    // sent (the dead process's lease is released at once), and the user is created exactly once.
    failpoint: 'outbox:before-send',
    act: async (slack) => {
      const mark = fake.calls.length;
      await slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'request dev --reason "outbox"' });
      await clickLatest(slack, USERS.approver, 'approval_approve', mark);
    },
    afterRestart: async (mark) => {
      await fake.waitFor((c) => fake.calls.indexOf(c) >= mark && c.method === 'chat.update' && callText(c).includes('Approved by'), 20_000);
      await fake.waitFor((c) => fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && callText(c).includes('was approved by'), 20_000);
    },
    check: (store, r) => {
      const [request] = store.requests.listByRequester(USERS.requester);
      expect(['active', 'failed']).toContain(request?.state);
      expect(store.outbox.list({ state: 'pending' })).toEqual([]);
      expect(store.outbox.list({ requestId: request!.id, topic: 'requester.notice' }).map((row) => row.state)).toContain('sent');
      expect(r.statements().filter((s) => s.kind === 'create login').length).toBeLessThanOrEqual(2);
    },
  },
];

describe.each(SCENARIOS)('killed at $failpoint', ({ failpoint, act, afterRestart, check }) => {
  it('restarts and reconciles', async () => {
    const r = run();
    try {
      const first = await r.start([failpoint]);
      await act(first.slack);
      expect(await killed(first.child)).toBe('SIGKILL');
      const mark = fake.calls.length;
      const second = await r.start();
      await afterRestart?.(mark);
      await stopChild(second.child);
      const store = openStore(join(r.dir, 'db.sqlite'));
      try {
        check(store, r);
        // Nothing is left half-way, and the audit log holds the whole story.
        expect(store.requests.listInStates(['approved', 'provisioning', 'revoking'])).toEqual([]);
        expect(store.audit.list({}).length).toBeGreaterThan(0);
      } finally {
        store.close();
      }
    } finally {
      rmSync(r.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
