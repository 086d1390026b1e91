// The audit stream on a real SQLite file against a local HTTP receiver that fails, hangs and recovers: nothing lost, nothing out of order, every signature valid.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { streamedEntry, type StreamedEntry } from '../../src/access/audit/entry.js';
import { signAuditRequest, verifyAuditRequest } from '../../src/access/audit/signature.js';
import { stdoutSink, webhookSink, type AuditSink } from '../../src/access/audit/sinks.js';
import { createAuditStream, type AuditStream, type AuditStreamOptions } from '../../src/access/audit/stream.js';
import { createLogger } from '../../src/log.js';
import type { Store } from '../../src/store/store.js';
import { startAuditReceiver, type AuditReceiver } from '../fakes/audit-receiver.js';
import { until } from '../e2e/harness.js';
import { useTempStores } from '../store/fixtures.js';

const temp = useTempStores();
const SECRET = 'audit-webhook-secret-for-tests-0123456789';
const clock = { now: () => Date.now() };
const running: { stream?: AuditStream; receiver?: AuditReceiver }[] = [];

afterEach(async () => {
  for (const { stream, receiver } of running.splice(0)) {
    await stream?.stop();
    await receiver?.close();
  }
});

function logLines(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ level: 'info', destination }), lines };
}

function append(store: Store, count: number): number[] {
  return Array.from({ length: count }, (_, i) => store.audit.append({ actor: 'U0REQUESTER', action: 'requested', env: 'dev', detail: { n: i } }).id);
}

function webhook(store: Store, receiverUrl: string): AuditSink {
  return webhookSink({ url: new URL(receiverUrl), secret: () => SECRET, source: store.auditStream.source(), clock });
}

/** Short waits so a test sees several failures and the recovery in well under a second of work. */
function stream(store: Store, sinks: AuditSink[], extra: Partial<AuditStreamOptions> = {}): AuditStream {
  const created = createAuditStream({
    store,
    sinks,
    clock,
    log: extra.log ?? logLines().log,
    batchSize: 7,
    timeoutMs: 300,
    backoff: { firstMs: 10, maxMs: 40 },
    pollMs: 10,
    ...extra,
  });
  running.push({ stream: created });
  return created;
}

/** Every batch is a run of consecutive ids that starts no further than one past the highest id seen before it. */
function expectNoGapsNorDisorder(batches: StreamedEntry[][]): void {
  let highest = 0;
  for (const batch of batches) {
    const seqs = batch.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(seqs[0]).toBeLessThanOrEqual(highest + 1);
    highest = Math.max(highest, seqs.at(-1)!);
  }
}

describe('the webhook sink', () => {
  it('delivers every entry once by id, in order, through failures, a hang and the recovery', async () => {
    const { store } = temp.open(undefined, clock);
    const receiver = await startAuditReceiver(SECRET, 'fail');
    running.push({ receiver });
    const first = append(store, 30);
    const { log, lines } = logLines();
    const audit = stream(store, [webhook(store, receiver.url)], { log });

    audit.start();
    await until(() => receiver.batches.length >= 3, 'three refused deliveries');
    expect(store.auditStream.cursor('webhook')).toMatchObject({ lastId: 0, lastError: 'the webhook answered HTTP 500' });
    expect(audit.problem()).toMatch(/the webhook audit sink has failed \d+ time\(s\) in a row since .*HTTP 500.*; 30 entries wait/);
    expect(audit.waiting()).toEqual({ webhook: 30 });

    receiver.mode = 'hang';
    await until(() => store.auditStream.cursor('webhook')?.lastError === 'no answer within 0.3s', 'a delivery that timed out');
    const second = append(store, 10);
    receiver.mode = 'ok';
    await until(() => store.auditStream.waiting('webhook') === 0, 'the backlog delivered');

    const all = [...first, ...second];
    expect(receiver.unique().map((e) => e.seq)).toEqual(all);
    expectNoGapsNorDisorder(receiver.batches);
    expect(receiver.badSignatures).toBe(0);
    expect(audit.problem()).toBeUndefined();
    // One warning for the whole run of failures, one line when it recovers.
    expect(lines.filter((l) => l.includes('audit stream delivery failed'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('audit stream delivers again'))).toHaveLength(1);
  });

  it('sends each entry with its idempotency id, its place in the log and what it says', async () => {
    const { store } = temp.open(undefined, clock);
    const receiver = await startAuditReceiver(SECRET);
    running.push({ receiver });
    const entry = store.audit.append({ actor: 'U0APPROVER', action: 'state:approved', env: 'prod', detail: { ticket: 'CHG-1' } });

    stream(store, [webhook(store, receiver.url)]).start();
    await until(() => receiver.batches.length === 1, 'one delivery');

    expect(JSON.parse(receiver.bodies[0]!)).toEqual({
      source: store.auditStream.source(),
      entries: [
        {
          type: 'audit',
          id: `${store.auditStream.source()}:${entry.id}`,
          seq: entry.id,
          at: new Date(entry.at).toISOString(),
          actor: 'U0APPROVER',
          action: 'state:approved',
          requestId: null,
          env: 'prod',
          detail: { ticket: 'CHG-1' },
        },
      ],
    });
  });

  it('starts after the newest entry when told to start from now', async () => {
    const { store } = temp.open(undefined, clock);
    const receiver = await startAuditReceiver(SECRET);
    running.push({ receiver });
    append(store, 5);
    stream(store, [webhook(store, receiver.url)], { from: 'now' }).start();
    await until(() => store.auditStream.cursor('webhook') !== undefined, 'the cursor opened');

    const later = append(store, 2);
    await until(() => receiver.unique().length === 2, 'the new entries');
    expect(receiver.unique().map((e) => e.seq)).toEqual(later);
  });

  it('picks up where the last run stopped: a restart repeats at most the batch in flight', async () => {
    const { store } = temp.open(undefined, clock);
    const receiver = await startAuditReceiver(SECRET);
    running.push({ receiver });
    const ids = append(store, 20);
    const before = stream(store, [webhook(store, receiver.url)]);
    before.start();
    await until(() => receiver.unique().length >= 7, 'a first batch');
    await before.stop();
    const delivered = receiver.batches.flat().length;

    ids.push(...append(store, 3));
    stream(store, [webhook(store, receiver.url)]).start();
    await until(() => receiver.unique().length === 23, 'the rest');

    expect(receiver.unique().map((e) => e.seq)).toEqual(ids);
    expect(receiver.batches.flat().length - 23).toBeLessThanOrEqual(7);
    expect(delivered).toBeGreaterThanOrEqual(7);
  });

  it('says why it cannot reach a receiver without naming the URL (it may hold a token)', async () => {
    const { store } = temp.open(undefined, clock);
    const receiver = await startAuditReceiver(SECRET);
    const url = `${receiver.url}?token=s3cr3t-in-url`;
    await receiver.close();
    append(store, 1);

    stream(store, [webhook(store, url)]).start();
    await until(() => (store.auditStream.cursor('webhook')?.failures ?? 0) >= 1, 'a failed delivery');

    const error = store.auditStream.cursor('webhook')?.lastError ?? '';
    expect(error).toBe('the webhook could not be reached (ECONNREFUSED)');
  });
});

describe('the stdout sink', () => {
  it('writes one JSON object per line, marked as audit, each batch in one write', async () => {
    const { store } = temp.open(undefined, clock);
    const writes: string[] = [];
    const out = { write: (chunk: string, callback: (err?: Error | null) => void) => (writes.push(chunk), callback(), true) };
    const ids = append(store, 10);

    stream(store, [stdoutSink(out)]).start();
    await until(() => store.auditStream.waiting('stdout') === 0, 'everything written');

    expect(writes).toHaveLength(2);
    const lines = writes.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as StreamedEntry);
    expect(lines.map((e) => e.seq)).toEqual(ids);
    expect(lines.every((e) => e.type === 'audit')).toBe(true);
  });

  it('runs apart from the webhook: one failing sink does not hold up the other', async () => {
    const { store } = temp.open(undefined, clock);
    const receiver = await startAuditReceiver(SECRET, 'fail');
    running.push({ receiver });
    const written: string[] = [];
    const out = { write: (chunk: string, callback: (err?: Error | null) => void) => (written.push(chunk), callback(), true) };
    append(store, 3);

    const audit = stream(store, [stdoutSink(out), webhook(store, receiver.url)]);
    audit.start();
    await until(() => store.auditStream.waiting('stdout') === 0, 'stdout done');

    expect(audit.waiting()).toEqual({ stdout: 0, webhook: 3 });
  });
});

describe('signatures', () => {
  const body = JSON.stringify({ source: 'abc', entries: [] });
  const at = 1_760_000_000;
  const signed = signAuditRequest(SECRET, at, body);

  it.each([
    { what: 'the request as sent', secret: SECRET, timestamp: String(at), signature: signed, text: body, now: at, ok: true },
    { what: 'a changed body', secret: SECRET, timestamp: String(at), signature: signed, text: `${body} `, now: at, ok: false },
    { what: 'another secret', secret: `${SECRET}x`, timestamp: String(at), signature: signed, text: body, now: at, ok: false },
    { what: 'a replayed timestamp', secret: SECRET, timestamp: String(at + 1), signature: signed, text: body, now: at, ok: false },
    { what: 'a request six minutes old', secret: SECRET, timestamp: String(at), signature: signed, text: body, now: at + 360, ok: false },
    { what: 'no signature', secret: SECRET, timestamp: String(at), signature: undefined, text: body, now: at, ok: false },
  ])('$what: $ok', ({ secret, timestamp, signature, text, now, ok }) => {
    expect(verifyAuditRequest({ secret, timestamp, signature, body: text, nowSeconds: now })).toBe(ok);
  });

  it('is v1= and 64 hex digits', () => {
    expect(signed).toMatch(/^v1=[0-9a-f]{64}$/);
  });
});

describe('the wire format', () => {
  it('names the database in the id, so two bots never share one', () => {
    const entry = { id: 7, at: Date.UTC(2026, 0, 2, 3, 4, 5), actor: 'bot', action: 'x', requestId: null, env: null, detail: null };
    expect(streamedEntry(entry, '00ff00ff00ff00ff')).toMatchObject({ type: 'audit', id: '00ff00ff00ff00ff:7', seq: 7, at: '2026-01-02T03:04:05.000Z' });
  });
});

describe('stop', () => {
  it('ends a delivery the receiver holds, without counting it as the sink\'s failure', async () => {
    const { store } = temp.open(undefined, clock);
    const receiver = await startAuditReceiver(SECRET, 'hang');
    running.push({ receiver });
    append(store, 3);
    const audit = stream(store, [webhook(store, receiver.url)], { timeoutMs: 600_000 });
    audit.start();
    await until(() => receiver.batches.length === 1, 'a delivery held');

    await audit.stop();

    expect(store.auditStream.cursor('webhook')).toMatchObject({ lastId: 0, failures: 0 });
  });
});
