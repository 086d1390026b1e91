// What the access engine needs from the composition root (src/app.ts): the state, each environment's
// database, Slack behind two ports (direct for what must not be written down, the outbox for the rest).
import type { Clock } from '../../clock.js';
import type { Config, LoadedEnvironment } from '../../config.js';
import type { Database } from '../../dialects/database.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/store.js';
import type { Notices } from './notices.js';
import type { AccessMetrics, Directory, Notifier } from './ports.js';
import type { RevocationSettings } from './revocation.js';

export interface AccessDeps {
  /** Retry pauses of failed revocations; tests shorten them. */
  revocation?: Partial<RevocationSettings>;
  /** Told when something may now be due sooner (an activation, a scheduled retry): wakes the expiry timer. */
  onChange?: () => void;
  /** Jitter source for retries, in [0, 1). */
  random?: () => number;
  /** Pauses between tries of a state write that must land (tests shorten them); see core/store-retry.ts. */
  storeRetryDelaysMs?: readonly number[];
  config: Config;
  store: Store;
  /** The Database of an environment (opened once per environment by the caller). */
  database: (env: LoadedEnvironment) => Database;
  /** Only what must not be written down goes here directly: approval posts (their ts is needed) and credentials. */
  notifier: Notifier;
  /** Every other Slack notice, through the outbox. */
  notices: Notices;
  directory: Directory;
  clock: Clock;
  log: Logger;
  metrics?: AccessMetrics;
}
