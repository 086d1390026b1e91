// Wiring only: the store, one Database per environment, the use cases, and Slack. Start and stop.
import cron from 'node-cron';
import { auditStreamFromConfig, type AuditStream, type AuditStreamOverrides } from './access/audit/index.js';
import { withDeadline } from './access/core/deadline.js';
import { createNotices } from './access/core/notices.js';
import { createOutbox, type Outbox } from './access/core/outbox.js';
import { createEscalation, type Escalation } from './access/escalation/index.js';
import { createExpiry, type Expiry, type ExpirySettings } from './access/expiry.js';
import { createInterop, type Interop } from './access/interop.js';
import { createPermanentAccess, type PermanentAccessService } from './access/permanent.js';
import type { RevocationSettings } from './access/core/revocation.js';
import { createAccess, type Access } from './access/index.js';
import { createReviews, type Reviews } from './access/review/index.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { Config, LoadedEnvironment, SlackSettings } from './config.js';
import type { Database } from './dialects/database.js';
import type { Executor } from './dialects/executor.js';
import { openDatabase } from './dialects/index.js';
import { createDueTimer, type DueTimer } from './jobs/due-timer.js';
import { enableFailpoints } from './failpoints.js';
import type { Logger } from './log.js';
import { createReadiness } from './ops/health.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { startOpsServer, type OpsServer } from './ops/server.js';
import { createSlackApp } from './slack/app.js';
import { slackDirectory, slackNotifier } from './slack/notifier.js';
import { REQUEST_STATES } from './store/requests.js';
import { openStore, type Store } from './store/store.js';

export interface BotOptions {
  config: Config;
  slack: SlackSettings;
  log: Logger;
  clock?: Clock;
  /** Replaces each environment's driver (the console and tests use dry runs). */
  executorFor?: (env: LoadedEnvironment) => Executor | undefined;
  /** Web API retries (tests: 0). */
  slackRetries?: number;
  host?: string;
  revocation?: Partial<RevocationSettings>;
  expiry?: Partial<ExpirySettings>;
  /** When to look for orphaned database users (cron syntax). Default: daily at 06:17. */
  orphanCron?: string;
  /** When to grant read & write users the tables added by publishes (cron syntax). Default: hourly at :23. */
  grantSyncCron?: string;
  /** When to look for newly exposed views lacking grants (cron syntax). Default: hourly at :41. */
  interopCheckCron?: string;
  /** Outbox delivery settings (tests shorten the retries). */
  outbox?: { timeoutMs?: number; retryDelaysMs?: readonly number[]; concurrency?: number; maxSleepMs?: number };
  /** Audit stream settings beyond the variables (tests shorten the waits and capture stdout). */
  auditStream?: AuditStreamOverrides;
  /** Longest sleep of the expiry timer. */
  maxSleepMs?: number;
  /** Failpoints to enable (crash tests only; see src/failpoints.ts). */
  failpoints?: readonly string[];
  /** The operations server (/healthz, /readyz, /metrics); none when unset (tests, the console). */
  ops?: { port: number; host?: string; readinessCacheMs?: number; readinessTimeoutMs?: number };
}

export interface Bot {
  store: Store;
  outbox: Outbox;
  /** Every audit entry to the sinks the variables turn on (AUDIT_STREAM, AUDIT_WEBHOOK_URL). */
  auditStream: AuditStream;
  access: Access;
  expiry: Expiry;
  permanent: PermanentAccessService;
  interop: Interop;
  /** Issue 17 item 3: access reviews of permanent users. */
  reviews: Reviews;
  /** Issue 17 item 4: escalation of undecided requests. */
  escalation: Escalation;
  timer: DueTimer;
  /** The HTTP port, in HTTP mode. */
  port: number | undefined;
  /** The operations server's port, when it runs. */
  opsPort: number | undefined;
  stop(): Promise<void>;
}

export async function startBot(options: BotOptions): Promise<Bot> {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  enableFailpoints(options.failpoints ?? []);
  const store = openStore(config.vars.DBACCESS_DB, { clock });
  // Reads the audit log from each sink's cursor; nothing waits for it (a receiver that is down delays nothing).
  const auditStream = auditStreamFromConfig({ vars: config.vars, store, clock, log, ...(options.auditStream ? { overrides: options.auditStream } : {}) });
  const metrics: Metrics | undefined = options.ops
    ? createMetrics({
        countByState: () => store.requests.countByState(),
        states: REQUEST_STATES,
        outboxPending: () => store.outbox.pending(),
        auditStreamWaiting: () => auditStream.waiting(),
      })
    : undefined;
  const databases = new Map<string, Database>();
  const database = (env: LoadedEnvironment): Database => {
    let db = databases.get(env.name);
    if (!db) {
      db = withDeadline(openDatabase(env, options.executorFor?.(env)), env.policy.dbTimeout, env.name);
      databases.set(env.name, db);
    }
    return db;
  };

  // The Slack app and the use cases need each other (the notifier renders plans); the getter breaks the cycle.
  const wired: { access?: Access; expiry?: Expiry; timer?: DueTimer; permanent?: PermanentAccessService; interop?: Interop; reviews?: Reviews } = {};
  const getAccess = () => {
    if (!wired.access) throw new Error('access used before wiring finished');
    return wired.access;
  };
  const getExpiry = () => {
    if (!wired.expiry) throw new Error('expiry used before wiring finished');
    return wired.expiry;
  };
  const slack = createSlackApp(
    {
      settings: options.slack,
      ...(options.slackRetries !== undefined ? { retries: options.slackRetries } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(metrics ? { metrics } : {}),
    },
    {
      get access() {
        return getAccess();
      },
      get expiry() {
        return getExpiry();
      },
      get permanent() {
        if (!wired.permanent) throw new Error('permanent used before wiring finished');
        return wired.permanent;
      },
      get interop() {
        if (!wired.interop) throw new Error('interop used before wiring finished');
        return wired.interop;
      },
      get reviews() {
        if (!wired.reviews) throw new Error('reviews used before wiring finished');
        return wired.reviews;
      },
      config,
      log,
      store,
      clock,
    },
  );
  const client = slack.app.client;
  const notifier = slackNotifier(client);
  const knownEnvironment = (name: string) => config.environments.find((e) => e.name === name);
  // Every notice goes through the outbox, delivered apart from the work that wrote it: Slack being slow
  // or down delays no revocation and loses no notice.
  const outbox: Outbox = createOutbox({ store, clock, log, ...(options.outbox ?? {}) });
  const notices = createNotices({ queue: outbox, store, notifier, knownEnvironment, log });
  notices.registerWith(outbox);
  const deps = {
    config,
    store,
    database,
    notifier,
    notices,
    directory: slackDirectory(client, clock),
    clock,
    log,
    onChange: () => wired.timer?.poke(),
    ...(options.revocation ? { revocation: options.revocation } : {}),
    ...(metrics ? { metrics } : {}),
  };
  const access = (wired.access = createAccess(deps));
  const permanent = (wired.permanent = createPermanentAccess({ ...deps, access }));
  const interop = (wired.interop = createInterop({ ...deps, access }));
  const expiry = (wired.expiry = createExpiry({ ...deps, access, ...(options.expiry ? { settings: options.expiry } : {}) }));
  // Issue 17 items 3 and 4: access reviews and escalation, driven by the same timer as expiry.
  const reviews = (wired.reviews = createReviews({ ...deps, policy: access, attemptRevoke: access.revoker.attempt }));
  const escalation = createEscalation({ ...deps, policy: access });
  const governance: [string, { tick(now: number): unknown; nextDueAt(): number | null }][] = [
    ['access reviews', reviews],
    ['escalation', escalation],
  ];
  const timer = (wired.timer = createDueTimer({
    clock,
    log,
    nextDueAt: () => {
      const due = [expiry.nextDueAt(), ...governance.map(([, part]) => part.nextDueAt())].filter((t): t is number => t !== null);
      return due.length ? Math.min(...due) : null;
    },
    // Starts what is due and returns: revocations run in their environments' lanes and poke the timer when done.
    // Expiry first: nothing else delays a revocation. Reviews and escalation fail alone (logged), as
    // expiry's own parts do; expiry's failure still backs the timer off.
    run: async (now) => {
      void expiry.tick(now);
      for (const [part, run] of governance) {
        try {
          run.tick(now);
        } catch (err) {
          log.error({ err, part }, 'scheduled work failed');
        }
      }
    },
    ...(options.maxSleepMs ? { maxSleepMs: options.maxSleepMs } : {}),
  }));

  // Notices left by the last run go out first (those a crash took mid-send at once); then whatever a
  // crash interrupted is settled before new work arrives.
  const released = outbox.releaseAbandoned();
  if (released > 0) log.warn({ released }, 'notices a stopped process had taken are sent again');
  outbox.start();
  auditStream.start();
  // Reconciliation runs beside everything else rather than before it: an environment whose database
  // hangs must not hold up the start (nor the others' revocations). Requests it works on are marked in
  // flight, so a click meanwhile cannot act on them twice.
  const reconciling = Promise.all([access.reconcile(), interop.reconcile()]).then(
    ([counts, interopCount]) => {
      const reconciled = { ...counts, interop: interopCount };
      if (counts.provisioned + counts.failed + counts.revoked + counts.cleaning + interopCount > 0) log.warn(reconciled, 'reconciled requests interrupted by a restart');
    },
    (err: unknown) => log.error({ err }, 'reconciliation after the restart failed; the scheduler comes back to what it left'),
  );
  // Overdue users are revoked at once: the timer's first run is immediate.
  timer.start();
  const orphanJob = cron.schedule(options.orphanCron ?? '17 6 * * *', () => void expiry.reportOrphans());
  const syncJob = cron.schedule(options.grantSyncCron ?? '23 * * * *', () => void permanent.syncAll());
  const interopJob = cron.schedule(options.interopCheckCron ?? '41 * * * *', () => void interop.check());
  // Sent notices are kept a week (to see what went out), then pruned; pending and given-up ones stay.
  const pruneJob = cron.schedule('7 4 * * *', () => {
    try {
      store.outbox.prune(clock.now() - 7 * 24 * 3600_000);
    } catch (err) {
      log.warn({ err }, 'pruning sent notices failed');
    }
  });
  let ops: OpsServer | undefined;
  if (options.ops && metrics) {
    const readiness = createReadiness({
      sqlite: () => store.checkWritable(),
      scheduler: () => timer.isRunning(),
      config: () => {
        const missing = access.unknownEnvironments();
        return missing.length ? `open requests of environments no longer configured: ${missing.join(', ')}; the bot leaves them alone` : undefined;
      },
      // Issue 14: Slack's reachability and the workspace, as the background check last found them.
      slack: () => slack.problem(),
      auditStream: () => auditStream.problem(),
      // userExists is a cheap catalogue query every dialect has; the name is valid everywhere (upper case for Oracle).
      databases: Object.fromEntries(config.environments.map((env) => [env.name, async () => void (await database(env).userExists({ username: 'DBACCESS_READINESS_PROBE' }))])),
      secrets: () => config.environments.map((env) => env.adminPassword()),
      clock,
      ...(options.ops.readinessCacheMs !== undefined ? { cacheMs: options.ops.readinessCacheMs } : {}),
      ...(options.ops.readinessTimeoutMs !== undefined ? { timeoutMs: options.ops.readinessTimeoutMs } : {}),
      onError: (check, err) => log.warn({ err, check }, 'readiness check failed'),
    });
    ops = await startOpsServer({ port: options.ops.port, ...(options.ops.host ? { host: options.ops.host } : {}), metrics, readiness, log });
  }
  const port = await slack.start();
  log.info({ port, socketMode: options.slack.socketMode, environments: config.environments.map((e) => e.name) }, 'bot started');

  return {
    store,
    outbox,
    auditStream,
    access,
    expiry,
    permanent,
    interop,
    reviews,
    escalation,
    timer,
    port,
    opsPort: ops?.port,
    async stop() {
      await orphanJob.stop();
      await syncJob.stop();
      await interopJob.stop();
      await pruneJob.stop();
      await timer.stop();
      await reconciling;
      await expiry.idle();
      await outbox.stop();
      await auditStream.stop();
      await slack.stop();
      await ops?.close();
      await Promise.all([...databases.values()].map((db) => db.close()));
      store.close();
    },
  };
}
