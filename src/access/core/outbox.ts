// The outbox dispatcher: sends outbox rows through their topic's handler, each within a deadline, retried with back-off, apart from the work that enqueued them.
// A slow or failing Slack call delays nothing but its own row (and later rows of its key); a failing
// state database makes the dispatcher back off, never spin (issue 13, items 1, 5 and 7).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { within, type Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import { failpoint } from '../../failpoints.js';
import type { TimerApi } from '../../jobs/due-timer.js';
import type { Logger } from '../../log.js';
import type { NewOutboxItem, OutboxItem } from '../../store/outbox.js';
import type { Store } from '../../store/store.js';

/** Sends one row; resolves when it went out, throws when it did not. */
export type OutboxHandler = (item: OutboxItem) => Promise<void>;

export interface OutboxOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Topic → handler; more can be added with register() (before start(), or rows of the topic fail and retry). */
  handlers?: Record<string, OutboxHandler>;
  /** A handler not settled by then counts as failed and is abandoned. Default 10 s. Measured by within() (clock.ts). */
  timeoutMs?: number;
  /** Handlers in flight at once. Default 4. */
  concurrency?: number;
  /** Pause before each retry, jittered ±20%; after the last, the row is given up. Default 2 s, 10 s, 1 min, 5 min, 15 min. */
  retryDelaysMs?: readonly number[];
  /** In [0, 1): the jitter. Default Math.random. */
  random?: () => number;
  /** A failure retrying cannot fix: the row is given up at once. Default isPermanentSlackError. */
  isPermanent?: (err: unknown) => boolean;
  /** This dispatcher's name in leases. Default host:pid:random. */
  owner?: string;
  /** How long a leased row stays this dispatcher's. Default 3 × timeoutMs, so a row is settled long before another may take it. */
  leaseMs?: number;
  /** Longest sleep between passes, so another replica's rows and clock changes are picked up. Default 5 s. */
  maxSleepMs?: number;
  /** The sleeps between passes. Default setTimeout. */
  timers?: TimerApi;
  /** Applied to an error's text before it is stored or logged (the error sanitizer). Default: unchanged. */
  sanitize?: (message: string) => string;
}

export interface Outbox {
  /** Writes the row (joins a store.transaction when called inside one), then wakes the dispatcher. */
  enqueue(item: NewOutboxItem): number;
  /** Adds the handler of a topic. AppError('internal') when the topic has one already. */
  register(topic: string, handler: OutboxHandler): void;
  start(): void;
  /** Stops taking rows and waits for the handlers in flight (each bounded by timeoutMs). */
  stop(): Promise<void>;
  /** Something was enqueued or finished: look again soon. Ignored while backing off from store errors. */
  poke(): void;
  /** One pass: leases what is due at `now` and starts it, without waiting for the handlers (tests). */
  runDue(now: number): Promise<void>;
  /** Resolves when no handler is in flight (tests). */
  idle(): Promise<void>;
  /** Rows not yet sent nor given up (the metric). */
  pending(): number;
  /**
   * At start: rows leased by a process of this host that is gone (a crash between lease and send) are
   * released at once, instead of waiting for their lease to run out. Returns how many.
   */
  releaseAbandoned(): number;
}

const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [2_000, 10_000, 60_000, 300_000, 900_000];
const STORE_BACKOFF_FIRST_MS = 1_000;
const STORE_BACKOFF_MAX_MS = 60_000;
/** After a pass that took nothing although a row looked due (another replica took it first): a pause, never a spin. */
const EMPTY_PASS_PAUSE_MS = 250;
const MAX_ERROR = 300;

/**
 * Slack Web API errors that retrying cannot fix: the channel or user is gone or unreachable for the
 * bot, the bot's token is no longer valid, or the message itself is refused. Names from the error
 * lists of chat.postMessage and conversations.open (https://api.slack.com/methods/chat.postMessage).
 */
const PERMANENT_SLACK_ERRORS: ReadonlySet<string> = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'user_not_found',
  'user_disabled',
  'cannot_dm_bot',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'invalid_blocks',
  'msg_too_long',
]);

/** True for a Slack Web API platform error (the WebClient's `data.error`) that retrying cannot fix. */
export function isPermanentSlackError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null || !('data' in err)) return false;
  const data = err.data;
  return typeof data === 'object' && data !== null && 'error' in data && typeof data.error === 'string' && PERMANENT_SLACK_ERRORS.has(data.error);
}

const realTimers: TimerApi = { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) };

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { store, clock, log } = options;
  const handlers = new Map(Object.entries(options.handlers ?? {}));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const concurrency = options.concurrency ?? 4;
  const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const random = options.random ?? Math.random;
  const isPermanent = options.isPermanent ?? isPermanentSlackError;
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const leaseMs = options.leaseMs ?? timeoutMs * 3;
  const maxSleep = options.maxSleepMs ?? 5_000;
  const timers = options.timers ?? realTimers;
  const sanitize = options.sanitize ?? ((message: string) => message);

  const inFlight = new Map<number, Promise<void>>();
  let stopped = true;
  let handle: unknown;
  /** Store calls failed in a row: drives the back-off, and one warn per streak. */
  let storeFailures = 0;

  /** Runs one store call; undefined when it threw (the failure is counted, not thrown). */
  function guarded<T>(operation: string, fn: () => T): T | undefined {
    let result: T;
    try {
      result = fn();
    } catch (err) {
      if (storeFailures === 0) log.warn({ err, operation }, 'outbox store failed; backing off');
      storeFailures++;
      return undefined;
    }
    if (storeFailures > 0) {
      log.info({ failures: storeFailures }, 'outbox store recovered');
      storeFailures = 0;
    }
    return result;
  }

  function backoffMs(): number {
    return Math.min(STORE_BACKOFF_FIRST_MS * 2 ** Math.max(storeFailures - 1, 0), STORE_BACKOFF_MAX_MS);
  }

  function schedule(ms: number): void {
    if (stopped) return;
    if (handle !== undefined) timers.clear(handle);
    handle = timers.set(tick, ms);
  }

  function tick(): void {
    handle = undefined;
    if (stopped) return;
    schedule(pass(clock.now()));
  }

  function poke(): void {
    if (stopped || storeFailures > 0) return;
    schedule(0);
  }

  /** Leases what is due and starts it; returns how long to sleep before the next pass. Synchronous, so two passes never interleave. */
  function pass(now: number): number {
    let leased = 0;
    const free = concurrency - inFlight.size;
    if (free > 0) {
      const items = guarded('lease', () => store.outbox.lease(now, owner, leaseMs, free));
      if (items === undefined) return backoffMs();
      for (const item of items) begin(item);
      leased = items.length;
    }
    // Full: a finishing handler pokes.
    if (inFlight.size >= concurrency) return maxSleep;
    const next = guarded('nextDueAt', () => store.outbox.nextDueAt(now));
    if (next === undefined) return backoffMs();
    if (next === null) return maxSleep;
    const wait = Math.min(Math.max(next - now, 0), maxSleep);
    return wait === 0 && leased === 0 ? EMPTY_PASS_PAUSE_MS : wait;
  }

  function begin(item: OutboxItem): void {
    // A lease that ran out while its handler was still here: never two handlers for one row.
    if (inFlight.has(item.id)) return;
    const done = deliver(item)
      .catch((err: unknown) => log.error({ err, outboxId: item.id, topic: item.topic }, 'outbox delivery could not be recorded'))
      .finally(() => {
        inFlight.delete(item.id);
        poke();
      });
    inFlight.set(item.id, done);
  }

  async function deliver(item: OutboxItem): Promise<void> {
    failpoint('outbox:before-send');
    const handler = handlers.get(item.topic);
    if (handler === undefined) {
      settle(item, { message: `No handler is registered for the outbox topic ${item.topic}.`, permanent: false });
      return;
    }
    try {
      // The hung promise is abandoned, not awaited: within() resolves undefined at the deadline.
      const settled = await within(Promise.resolve(item).then(handler).then((): true => true), timeoutMs);
      settle(item, settled === undefined ? { message: `The handler did not finish within ${timeoutMs} ms.`, permanent: false } : undefined);
    } catch (err) {
      settle(item, { message: sanitize(errorText(err)), permanent: isPermanent(err) });
    }
  }

  /** Records the outcome: sent, failed with a retry, or given up (audited). */
  function settle(item: OutboxItem, failure: { message: string; permanent: boolean } | undefined): void {
    const meta = { outboxId: item.id, topic: item.topic, attempt: item.attempts };
    let held: boolean | undefined;
    if (failure === undefined) {
      held = guarded('markSent', () => store.outbox.markSent(item.id, owner));
      if (held) log.debug(meta, 'outbox delivered');
    } else {
      const error = failure.message.slice(0, MAX_ERROR);
      if (failure.permanent || item.attempts > retryDelays.length) {
        held = guarded('markDead', () => store.outbox.markDead(item.id, owner, error));
        if (held) log.error({ ...meta, error, permanent: failure.permanent }, 'outbox delivery given up');
      } else {
        const delay = retryDelays[item.attempts - 1] ?? 0;
        const nextAttemptAt = clock.now() + Math.round(delay * (0.8 + 0.4 * random()));
        held = guarded('markFailed', () => store.outbox.markFailed(item.id, owner, error, nextAttemptAt));
        if (held) log.warn({ ...meta, error, nextAttemptAt }, 'outbox delivery failed; will retry');
      }
    }
    // Not held: the lease ran out and another dispatcher took the row; it records the outcome of its own try.
    if (held === false) log.warn(meta, 'outbox lease lost before the outcome was recorded');
  }

  return {
    enqueue(item) {
      const id = store.outbox.enqueue(item);
      poke();
      return id;
    },
    register(topic, handler) {
      if (handlers.has(topic)) throw new AppError('internal', `The outbox topic ${topic} has a handler already.`);
      handlers.set(topic, handler);
    },
    start() {
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (handle !== undefined) timers.clear(handle);
      handle = undefined;
      await Promise.allSettled([...inFlight.values()]);
    },
    poke,
    async runDue(now) {
      pass(now);
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
    },
    pending() {
      return store.outbox.pending();
    },
    releaseAbandoned() {
      let released = 0;
      const host = hostname();
      for (const row of store.outbox.list({ state: 'pending' })) {
        if (!row.leaseOwner || row.leaseOwner === owner) continue;
        const [rowHost, pid] = row.leaseOwner.split(':');
        if (rowHost !== host || !pid || processAlive(Number(pid))) continue;
        // Its attempt is already counted; it is due again now.
        if (store.outbox.markFailed(row.id, row.leaseOwner, 'the bot stopped before sending it', clock.now())) released++;
      }
      return released;
    },
  };
}

/** Whether a process with this id runs on this host (signal 0 only checks). */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
