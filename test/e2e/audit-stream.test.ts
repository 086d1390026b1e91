// The audit stream end to end: signed Slack requests drive real flows while a webhook receiver is down, then recovers; stdout as the other sink.
import { afterEach, expect, it } from 'vitest';
import type { StreamedEntry } from '../../src/access/audit/entry.js';
import { startAuditReceiver, type AuditReceiver } from '../fakes/audit-receiver.js';
import { APPROVALS, callText, passwordIn, selfServiceUser, startHarness, until, USERS, type Harness } from './harness.js';

const SECRET = 'e2e-audit-webhook-secret-0123456789abcdef';
const FAST = { backoff: { firstMs: 20, maxMs: 100 }, pollMs: 20, timeoutMs: 5_000, batchSize: 5 };
const open: { h?: Harness; receiver?: AuditReceiver }[] = [];

afterEach(async () => {
  for (const { h, receiver } of open.splice(0)) {
    await h?.stop();
    await receiver?.close();
  }
});

async function readyz(h: Harness): Promise<Record<string, string>> {
  return ((await (await fetch(`http://127.0.0.1:${h.bot.opsPort}/readyz`)).json()) as { checks: Record<string, string> }).checks;
}

async function waitingMetric(h: Harness): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${h.bot.opsPort}/metrics`)).text();
  const match = /^dbaccess_audit_stream_waiting\{sink="webhook"\} (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

it('delivers every entry of a request with a chosen password, once by id and in order, after the receiver recovers; no password in any', async () => {
  const receiver = await startAuditReceiver(SECRET, 'fail');
  const h = await startHarness({ ops: true, vars: { AUDIT_WEBHOOK_URL: receiver.url, AUDIT_WEBHOOK_SECRET: () => SECRET }, auditStream: FAST });
  open.push({ h, receiver });

  // The whole flow runs while the receiver refuses everything: nothing waits for it.
  const chosen = 'Quiet-Harbour-Lamp-42';
  const mark = h.fake.calls.length;
  const submitted = await h.slack.viewSubmission({
    user: USERS.requester,
    view: {
      callbackId: 'dbuser_request',
      values: {
        env: { value: { type: 'static_select', selected_option: { value: 'dev' } } },
        duration: { value: { type: 'plain_text_input', value: '2h' } },
        reason: { value: { type: 'plain_text_input', value: 'check a payment' } },
        password: { value: { type: 'plain_text_input', value: chosen } },
      },
    },
  });
  expect(submitted.status).toBe(200);
  const approval = await h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS, 10_000);
  const requestId = /`(r_[a-z0-9]+)`/i.exec(callText(approval))![1]!;
  const ts = h.bot.store.requests.get(requestId)!.approvalTs!;
  await h.slack.blockAction({ user: USERS.approver, actionId: 'approval_approve', container: { channel: APPROVALS, messageTs: ts }, message: { ts, blocks: approval.args['blocks'] as unknown[] } });
  const credentials = await h.fake.waitFor((c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('Password'), 10_000);
  expect(passwordIn(credentials)).toBe(chosen);
  const generatedMark = h.fake.calls.length;
  await selfServiceUser(h, 'dev');
  const generated = passwordIn(h.fake.calls.slice(generatedMark).find((c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'))!);
  await h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: 'delete dev' });
  await until(() => h.bot.store.requests.get(requestId)?.state === 'revoked', 'the user deleted');
  await h.settle();

  await until(() => receiver.batches.length >= 2, 'refused deliveries');
  // Nothing accepted yet: every entry written so far waits (more may come, e.g. a notice given up).
  const written = h.bot.store.audit.list().length;
  expect(await waitingMetric(h)).toBeGreaterThanOrEqual(written);
  expect((await readyz(h))['audit_stream']).toMatch(/^warning: the webhook audit sink has failed \d+ time\(s\) in a row .*HTTP 500/);

  receiver.mode = 'ok';
  await until(() => h.bot.store.auditStream.waiting('webhook') === 0, 'the backlog delivered');

  const entries = h.bot.store.audit.list();
  expect(receiver.unique().map((e) => e.seq)).toEqual(entries.map((e) => e.id));
  expect(receiver.unique().map((e) => e.action)).toEqual(entries.map((e) => e.action));
  expect(entries.some((e) => e.requestId === requestId && e.action === 'state:revoked')).toBe(true);
  let highest = 0;
  for (const batch of receiver.batches) {
    expect(batch[0]!.seq).toBeLessThanOrEqual(highest + 1);
    highest = Math.max(highest, batch.at(-1)!.seq);
  }
  expect(receiver.badSignatures).toBe(0);
  const everything = receiver.bodies.join('\n');
  for (const secret of [chosen, generated, SECRET, 'admin-pw-not-a-user-secret']) expect(everything).not.toContain(secret);
  expect(await waitingMetric(h)).toBe(0);
  expect((await readyz(h))['audit_stream']).toBeUndefined();
}, 120_000);

it('writes every entry to stdout as one JSON line marked audit', async () => {
  const chunks: string[] = [];
  const stdout = { write: (chunk: string, callback: (err?: Error | null) => void) => (chunks.push(chunk), callback(), true) };
  const h = await startHarness({ vars: { AUDIT_STREAM: 'stdout' }, auditStream: { ...FAST, stdout } });
  open.push({ h });

  await selfServiceUser(h, 'dev');
  await h.settle();
  await until(() => h.bot.store.auditStream.waiting('stdout') === 0, 'everything written');

  const lines = chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as StreamedEntry);
  expect(lines.every((line) => line.type === 'audit' && line.id === `${h.bot.store.auditStream.source()}:${line.seq}`)).toBe(true);
  expect(lines.map((line) => line.seq)).toEqual(h.bot.store.audit.list().map((e) => e.id));
}, 60_000);
