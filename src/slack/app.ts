// The Bolt app: HTTP receiver at /slack/events (or Socket Mode), the listeners, and one error handler.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { SlackSettings } from '../config.js';
import type { Logger } from '../log.js';
import { instrumentSlackFetch, type Metrics } from '../ops/metrics.js';
import type { SlackDeps } from './deps.js';
import { slackFetch } from './slack-fetch.js';
import { registerAppHome } from './listeners/app-home.js';
import { registerApprovalActions } from './listeners/approvals.js';
import { registerCredentialActions } from './listeners/credentials.js';
import { registerDbuserCommand } from './listeners/dbuser-command.js';
import { registerExpiryActions } from './listeners/expiry-actions.js';
import { registerInteropCommand } from './listeners/interop-command.js';
import { registerPermanentModal, registerRequestModal } from './listeners/request-modal.js';
import { registerRotationActions } from './listeners/rotation-actions.js';
import { routeListeners } from './router.js';

/** The WebClient's own default. */
const SLACK_API_URL = 'https://slack.com/api/';
/** A reply to a response_url that Slack has not answered by then is given up (and the failure logged). */
const RESPONSE_URL_TIMEOUT_MS = 10_000;

export interface SlackApp {
  app: App;
  /** Starts receiving; resolves with the HTTP port (undefined in Socket Mode). */
  start(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/**
 * Bolt's logger interface over ours, so its messages land in the same structured log. Debug output
 * is dropped: at that level the Web API client logs whole request bodies, and the body of the
 * ephemeral credentials message holds the password.
 */
function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: 'bolt' });
  return {
    debug: () => {},
    info: (...msg) => child.info(msg.map(String).join(' ')),
    warn: (...msg) => child.warn(msg.map(String).join(' ')),
    error: (...msg) => child.error(msg.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

export interface SlackAppOptions {
  settings: SlackSettings;
  /** Web API retries; Slack's client default keeps retrying for half an hour. */
  retries?: number;
  /** HTTP mode: host to listen on (default all interfaces). */
  host?: string;
  /** Counts failed Web API calls (src/ops/metrics.ts). */
  metrics?: Pick<Metrics, 'slackError'>;
}

/**
 * Listeners use no conversation context, so Bolt's conversation store is off (`convoStore: false`):
 * it would look every request up in a memory map before any listener runs.
 */
export function createSlackApp(options: SlackAppOptions, deps: SlackDeps): SlackApp {
  const { settings } = options;
  const secrets = settings.secrets();
  const logger = boltLogger(deps.log);
  const webApiUrl = settings.apiUrl ?? SLACK_API_URL;
  const fetch = slackFetch(globalThis.fetch, { webApiUrl, timeoutMs: RESPONSE_URL_TIMEOUT_MS });
  const clientOptions = {
    slackApiUrl: webApiUrl,
    retryConfig: { retries: options.retries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 5000 },
    fetch: options.metrics ? instrumentSlackFetch(fetch, options.metrics) : fetch,
  };
  const app = settings.socketMode
    ? new App({ token: secrets.botToken, appToken: secrets.appToken, socketMode: true, logger, clientOptions, convoStore: false })
    : new App({
        token: secrets.botToken,
        logger,
        clientOptions,
        convoStore: false,
        receiver: new HTTPReceiver({ signingSecret: secrets.signingSecret, endpoints: '/slack/events', logger, processBeforeResponse: false }),
      });

  // One workspace: the bot token's. A request signed with our secret but naming another team (an
  // org-wide app, a misrouted proxy) is acknowledged and dropped, never acted on.
  let ownTeam: Promise<string | undefined> | undefined;
  app.use(async ({ body, ack, next, client }) => {
    ownTeam ??= client.auth
      .test()
      .then((r) => r.team_id)
      .catch(() => {
        ownTeam = undefined;
        return undefined;
      });
    const expected = await ownTeam;
    const b = body as { team_id?: string; team?: { id?: string } | null; user?: { team_id?: string } };
    const team = b.team_id ?? b.team?.id ?? b.user?.team_id;
    if (expected && team && team !== expected) {
      deps.log.warn({ team, expected }, 'request from another workspace dropped');
      if (ack) await (ack as () => Promise<void>)();
      return;
    }
    await next();
  });

  const listeners = routeListeners(app, deps.log);
  registerDbuserCommand(listeners, deps);
  registerApprovalActions(listeners, deps);
  registerCredentialActions(listeners, deps);
  registerRequestModal(listeners, deps);
  registerPermanentModal(listeners, deps);
  registerInteropCommand(listeners, deps);
  registerExpiryActions(listeners, deps);
  registerRotationActions(listeners, deps);
  registerAppHome(listeners, deps);
  app.error(async (error) => {
    deps.log.error({ err: error }, 'unhandled error in a Slack listener');
  });

  return {
    app,
    async start() {
      if (settings.socketMode) {
        await app.start();
        return undefined;
      }
      const server = (await app.start({ port: settings.port, ...(options.host ? { host: options.host } : {}) })) as Server;
      return (server.address() as AddressInfo).port;
    },
    async stop() {
      await app.stop();
    },
  };
}
