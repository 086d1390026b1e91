// The Bolt app: HTTP receiver at /slack/events (or Socket Mode), the listeners, and one error handler.
// Nothing between a request and its acknowledgement waits on the Web API: the bot's identity comes
// from a background check (slack-status.ts), the signature check is ours (request-gate.ts), and the
// workspace check reads memory (workspace.ts).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, webApi, type Authorize, type Logger as BoltLogger } from '@slack/bolt';
import type { SlackSettings } from '../config.js';
import type { Logger } from '../log.js';
import { instrumentSlackFetch, type Metrics } from '../ops/metrics.js';
import type { SlackDeps } from './deps.js';
import { observeWebApi, slackFetch } from './slack-fetch.js';
import { registerAppHome } from './listeners/app-home.js';
import { registerApprovalActions } from './listeners/approvals.js';
import { registerCredentialActions } from './listeners/credentials.js';
import { registerDbuserCommand } from './listeners/dbuser-command.js';
import { registerExpiryActions } from './listeners/expiry-actions.js';
import { registerInteropCommand } from './listeners/interop-command.js';
import { registerPermanentModal, registerRequestModal } from './listeners/request-modal.js';
import { registerReviewActions } from './listeners/review-actions.js';
import { registerRotationActions } from './listeners/rotation-actions.js';
import { gateSlackRequests } from './request-gate.js';
import { routeListeners } from './router.js';
import { keepSocketConnected, withoutAttemptNoise, type SocketConnection } from './socket-connection.js';
import { watchSlackStatus, type SlackStatus } from './slack-status.js';
import { workspaceGuard } from './workspace.js';

/** The WebClient's own default. */
const SLACK_API_URL = 'https://slack.com/api/';
/** A reply to a response_url that Slack has not answered by then is given up (and the failure logged). */
const RESPONSE_URL_TIMEOUT_MS = 10_000;
/** A Web API call Slack has not answered by then fails (and may be retried); SLACK_API_TIMEOUT_MS. */
const DEFAULT_API_TIMEOUT_MS = 10_000;
const EVENTS_PATH = '/slack/events';

export interface SlackApp {
  app: App;
  /** Whether Slack answers and which workspace the bot serves (learned in the background). */
  status: SlackStatus;
  /** For /readyz: undefined when Slack is usable, else why not (no secret in it). */
  problem(): string | undefined;
  /** Starts receiving; resolves with the HTTP port (undefined in Socket Mode). Never waits on Slack. */
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

/** For the background checks: their failures are reported once per change by slack-status.ts, not per attempt. */
function quietLogger(): BoltLogger {
  return { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, setLevel: () => {}, getLevel: () => LogLevel.ERROR, setName: () => {} };
}

export interface SlackAppOptions {
  settings: SlackSettings;
  /** Web API retries; Slack's client default keeps retrying for half an hour. No listener awaits them before acknowledging. */
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
  const timeout = settings.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS;
  const fetch = slackFetch(globalThis.fetch, { webApiUrl, timeoutMs: RESPONSE_URL_TIMEOUT_MS });

  // The bot's identity, checked in the background with its own client: no retries of its own (the
  // status loop retries with backoff) and nothing logged per attempt.
  const probe = new webApi.WebClient(secrets.botToken, { slackApiUrl: webApiUrl, retryConfig: { retries: 0 }, timeout, fetch, logger: quietLogger() });
  const status = watchSlackStatus({
    authTest: () => probe.auth.test(),
    teamId: settings.teamId,
    apiUrl: webApiUrl,
    log: deps.log,
    backoff: settings.backoff,
  });
  const observed = observeWebApi(options.metrics ? instrumentSlackFetch(fetch, options.metrics) : fetch, webApiUrl, (failure) => status.observe(failure));
  const clientOptions = {
    slackApiUrl: webApiUrl,
    retryConfig: { retries: options.retries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 5000 },
    timeout,
    fetch: observed,
  };

  // Instead of Bolt's token check (an auth.test awaited by the first request and cached even when it
  // failed): the token as it is, and the bot's ids once the background check has them.
  const authorize: Authorize<boolean> = async () => ({ botToken: secrets.botToken, ...ids(status.bot()) });

  let socket: SocketConnection | undefined;
  let app: App;
  if (settings.socketMode) {
    if (!secrets.appToken) throw new Error('Socket Mode needs SLACK_APP_TOKEN');
    const receiver = new SocketModeReceiver({
      appToken: secrets.appToken,
      logger: withoutAttemptNoise(logger),
      // Reconnection is socket-connection.ts's, with its own retry policy: not the Web API client's.
      autoReconnectEnabled: false,
      installerOptions: { clientOptions: { slackApiUrl: webApiUrl, retryConfig: { retries: 0 }, timeout, fetch: observed } },
    });
    socket = keepSocketConnected({ client: receiver.client, log: deps.log, backoff: settings.backoff });
    app = new App({ authorize, receiver, logger, clientOptions, convoStore: false });
  } else {
    const receiver = new HTTPReceiver({
      signingSecret: secrets.signingSecret,
      endpoints: EVENTS_PATH,
      logger,
      processBeforeResponse: false,
      // request-gate.ts checks signatures (both ways in time) and rejects malformed bodies first.
      signatureVerification: false,
    });
    receiver.requestListener = gateSlackRequests(receiver.requestListener, { signingSecret: secrets.signingSecret, path: EVENTS_PATH, log: deps.log });
    app = new App({ authorize, receiver, logger, clientOptions, convoStore: false });
  }
  // With `authorize` Bolt's own client has no token; the notifier and jobs use it, so it gets the bot's.
  app.client = new webApi.WebClient(secrets.botToken, app.webClientOptions);

  app.use(workspaceGuard(status, deps.log));

  const listeners = routeListeners(app, deps.log);
  registerDbuserCommand(listeners, deps);
  registerApprovalActions(listeners, deps);
  registerCredentialActions(listeners, deps);
  registerRequestModal(listeners, deps);
  registerPermanentModal(listeners, deps);
  registerInteropCommand(listeners, deps);
  registerExpiryActions(listeners, deps);
  registerRotationActions(listeners, deps);
  registerReviewActions(listeners, deps);
  registerAppHome(listeners, deps);
  app.error(async (error) => {
    deps.log.error({ err: error }, 'unhandled error in a Slack listener');
  });

  return {
    app,
    status,
    problem: () => status.problem() ?? socket?.problem(),
    async start() {
      status.start();
      if (socket) {
        socket.start();
        return undefined;
      }
      const server = (await app.start({ port: settings.port, ...(options.host ? { host: options.host } : {}) })) as Server;
      return (server.address() as AddressInfo).port;
    },
    async stop() {
      status.stop();
      if (socket) {
        await socket.stop();
        return;
      }
      await app.stop();
    },
  };
}

function ids(bot: { userId?: string; botId?: string }): { botUserId?: string; botId?: string } {
  return { ...(bot.userId ? { botUserId: bot.userId } : {}), ...(bot.botId ? { botId: bot.botId } : {}) };
}
