// What the Slack listeners share.
import type { Expiry } from '../access/expiry.js';
import type { Interop } from '../access/interop.js';
import type { PermanentAccessService } from '../access/permanent.js';
import type { Access } from '../access/index.js';
import type { Reviews } from '../access/review/index.js';
import type { Config } from '../config.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';

/** `access` is read on each event, not at registration: it is wired after the Slack app exists. */
export interface SlackDeps {
  access: Access;
  expiry: Expiry;
  permanent: PermanentAccessService;
  interop: Interop;
  /** Issue 17 item 3: access reviews of permanent users. */
  reviews: Reviews;
  config: Config;
  log: Logger;
  store: Store;
  clock: Clock;
}
