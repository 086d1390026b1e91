// The audit stream: delivers every audit entry, in id order and at least once, to each configured sink, from a cursor kept in SQLite.
// The audit log is append-only with increasing ids, so it is its own durable outbox: a sink's cursor
// moves only after the sink accepted a batch, so a crash or a failure means the batch is sent again,
// never skipped. Each sink runs on its own, and nothing else waits for any of them: a receiver that is
// down delays no revocation and no use case, only its own backlog (and /readyz says so).
import { within, type Clock } from '../../clock.js';
import type { Logger } from '../../log.js';
import type { AuditCursor, AuditSinkName } from '../../store/audit-stream.js';
import type { Store } from '../../store/store.js';
import { streamedEntry } from './entry.js';
import type { AuditSink } from './sinks.js';

export interface AuditStreamOptions {
  store: Store;
  sinks: readonly AuditSink[];
  clock: Clock;
  log: Logger;
  /** Where a sink starts the first time it is enabled (AUDIT_STREAM_FROM). Default 'beginning'. */
  from?: 'beginning' | 'now';
  /** Entries per delivery. Default 100. */
  batchSize?: number;
  /** A delivery not accepted by then has failed (AUDIT_WEBHOOK_TIMEOUT). Default 10 s. */
  timeoutMs?: number;
  /** Wait after the first failure in a row, doubled after each next one up to maxMs. Default 1 s to 5 min. */
  backoff?: { firstMs: number; maxMs: number };
  /** How often a sink with nothing to send looks for new entries. Default 1 s. */
  pollMs?: number;
}

export interface AuditStream {
  start(): void;
  /** Stops every sink; waits for a delivery in progress, at most timeoutMs. */
  stop(): Promise<void>;
  /** Entries not yet accepted, per sink (the metric). */
  waiting(): Partial<Record<AuditSinkName, number>>;
  /** A sentence for /readyz when a sink is failing, else undefined. */
  problem(): string | undefined;
}

const DEFAULTS = { batchSize: 100, timeoutMs: 10_000, backoff: { firstMs: 1_000, maxMs: 300_000 }, pollMs: 1_000 };

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createAuditStream(options: AuditStreamOptions): AuditStream {
  const { store, clock, log } = options;
  const from = options.from ?? 'beginning';
  const batchSize = options.batchSize ?? DEFAULTS.batchSize;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const backoff = options.backoff ?? DEFAULTS.backoff;
  const pollMs = options.pollMs ?? DEFAULTS.pollMs;
  const stopping = new AbortController();
  const loops: Promise<void>[] = [];
  let started = false;

  function backoffMs(failures: number): number {
    return Math.min(backoff.firstMs * 2 ** Math.max(failures - 1, 0), backoff.maxMs);
  }

  /** Resolves after `ms`, or at once when the stream stops. */
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (stopping.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      stopping.signal.addEventListener('abort', done);
    });
  }

  /** Delivers the next batch; returns how long to wait before the next pass. */
  async function pass(sink: AuditSink, source: string, cursor: AuditCursor): Promise<{ wait: number; cursor: AuditCursor }> {
    const entries = store.auditStream.after(cursor.lastId, batchSize);
    const last = entries.at(-1);
    if (last === undefined) return { wait: pollMs, cursor };
    // Aborted when the attempt ends (a timeout) or the stream stops: a hung request is never left open.
    const attempt = new AbortController();
    const abort = () => attempt.abort();
    stopping.signal.addEventListener('abort', abort);
    let failure: string | undefined;
    try {
      const accepted = await within(sink.deliver(entries.map((entry) => streamedEntry(entry, source)), attempt.signal).then(() => true), timeoutMs);
      if (accepted === undefined) failure = `no answer within ${timeoutMs / 1000}s`;
    } catch (err) {
      failure = errorText(err);
    } finally {
      stopping.signal.removeEventListener('abort', abort);
      attempt.abort();
    }
    // Cut short by stop(): not the sink's failure; the next start sends the batch again.
    if (failure !== undefined && stopping.signal.aborted) return { wait: 0, cursor };
    if (failure === undefined) {
      store.auditStream.advance(sink.name, last.id);
      if (cursor.failures > 0) log.info({ sink: sink.name, failures: cursor.failures }, 'audit stream delivers again');
      // More may be waiting: look again at once.
      return { wait: 0, cursor: { ...cursor, lastId: last.id, failures: 0, failingSince: null, lastError: null, nextAttemptAt: 0 } };
    }
    const wait = backoffMs(cursor.failures + 1);
    const failed = store.auditStream.failed(sink.name, failure, clock.now() + wait);
    // One warning per run of failures; the cursor (and /readyz) keeps the latest error.
    if (failed.failures === 1) log.warn({ sink: sink.name, error: failure, firstEntry: entries[0]?.id }, 'audit stream delivery failed; retrying with back-off');
    return { wait, cursor: failed };
  }

  async function run(sink: AuditSink): Promise<void> {
    let cursor: AuditCursor | undefined;
    let source: string | undefined;
    let wait = 0;
    let storeFailures = 0;
    while (!stopping.signal.aborted) {
      await sleep(wait);
      if (stopping.signal.aborted) return;
      try {
        if (cursor === undefined || source === undefined) {
          source = store.auditStream.source();
          cursor = store.auditStream.open(sink.name, from);
          // Back-off survives a restart, so a bot that crashes in a loop does not hammer the receiver.
          const remaining = Math.min(Math.max(cursor.nextAttemptAt - clock.now(), 0), backoff.maxMs);
          if (remaining > 0) {
            wait = remaining;
            continue;
          }
        }
        ({ wait, cursor } = await pass(sink, source, cursor));
        storeFailures = 0;
      } catch (err) {
        // The state database failed (locked, full): read the cursor again once it answers.
        storeFailures++;
        if (storeFailures === 1) log.warn({ err, sink: sink.name }, 'audit stream cannot read its state; backing off');
        cursor = undefined;
        wait = backoffMs(storeFailures);
      }
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      for (const sink of options.sinks) {
        // Opened here rather than in the loop, so the metric counts the backlog from the first scrape.
        try {
          store.auditStream.open(sink.name, from);
        } catch (err) {
          log.warn({ err, sink: sink.name }, 'audit stream cannot open its cursor yet; it tries again');
        }
        loops.push(run(sink));
      }
      if (options.sinks.length > 0) log.info({ sinks: options.sinks.map((s) => s.name), from }, 'audit stream started');
    },
    async stop() {
      stopping.abort();
      await Promise.all(loops);
    },
    waiting() {
      return Object.fromEntries(options.sinks.map((sink) => [sink.name, store.auditStream.waiting(sink.name)]));
    },
    problem() {
      const problems: string[] = [];
      for (const sink of options.sinks) {
        const cursor = store.auditStream.cursor(sink.name);
        if (cursor === undefined || cursor.failures === 0) continue;
        const since = cursor.failingSince === null ? '' : ` since ${new Date(cursor.failingSince).toISOString()}`;
        problems.push(
          `the ${sink.name} audit sink has failed ${cursor.failures} time(s) in a row${since} (${cursor.lastError ?? 'no error text'}); ` +
            `${store.auditStream.waiting(sink.name)} entries wait and are retried`,
        );
      }
      return problems.length > 0 ? problems.join('; ') : undefined;
    },
  };
}
