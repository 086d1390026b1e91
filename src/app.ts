// Wiring only: the store, one Database per environment, the use cases, and Slack. Start and stop.
import { createTemporaryAccess, type TemporaryAccess } from './access/temporary.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { Config, LoadedEnvironment, SlackSettings } from './config.js';
import type { Database } from './dialects/database.js';
import type { Executor } from './dialects/executor.js';
import { openDatabase } from './dialects/index.js';
import type { Logger } from './log.js';
import { createSlackApp } from './slack/app.js';
import { slackDirectory, slackNotifier } from './slack/notifier.js';
import { openStore, type Store } from './store/store.js';

export interface BotOptions {
  config: Config;
  slack: SlackSettings;
  log: Logger;
  clock?: Clock;
  /** Replaces each environment's driver (the console and tests use dry runs). */
  executorFor?: (env: LoadedEnvironment) => Executor;
  /** Web API retries (tests: 0). */
  slackRetries?: number;
  host?: string;
}

export interface Bot {
  store: Store;
  access: TemporaryAccess;
  /** The HTTP port, in HTTP mode. */
  port: number | undefined;
  stop(): Promise<void>;
}

export async function startBot(options: BotOptions): Promise<Bot> {
  const { config, log } = options;
  const clock = options.clock ?? systemClock;
  const store = openStore(config.vars.DBACCESS_DB, { clock });
  const databases = new Map<string, Database>();
  const database = (env: LoadedEnvironment): Database => {
    let db = databases.get(env.name);
    if (!db) {
      db = openDatabase(env, options.executorFor?.(env));
      databases.set(env.name, db);
    }
    return db;
  };

  // The Slack app and the use cases need each other (the notifier renders plans); the getter breaks the cycle.
  const wired: { access?: TemporaryAccess } = {};
  const getAccess = () => {
    if (!wired.access) throw new Error('access used before wiring finished');
    return wired.access;
  };
  const slack = createSlackApp(
    { settings: options.slack, ...(options.slackRetries !== undefined ? { retries: options.slackRetries } : {}), ...(options.host ? { host: options.host } : {}) },
    {
      get access() {
        return getAccess();
      },
      config,
      log,
    },
  );
  const client = slack.app.client;
  const access = (wired.access = createTemporaryAccess({ config, store, database, notifier: slackNotifier(client, getAccess), directory: slackDirectory(client, clock), clock, log }));

  // Whatever a crash interrupted is settled before new work arrives.
  const reconciled = await access.reconcile();
  if (reconciled.provisioned + reconciled.failed + reconciled.revoked > 0) log.warn(reconciled, 'reconciled requests interrupted by a restart');
  const port = await slack.start();
  log.info({ port, socketMode: options.slack.socketMode, environments: config.environments.map((e) => e.name) }, 'bot started');

  return {
    store,
    access,
    port,
    async stop() {
      await slack.stop();
      await Promise.all([...databases.values()].map((db) => db.close()));
      store.close();
    },
  };
}
