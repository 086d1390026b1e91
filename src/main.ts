// Entry point: load configuration, start the bot, stop cleanly on SIGTERM / SIGINT, and outlive any
// promise rejection nobody handled.
import { startBot, type Bot } from './app.js';
import { loadStartup } from './config.js';
import { isAppError } from './errors.js';
import { createLogger } from './log.js';
import { guardProcess } from './ops/process-guard.js';

async function main(): Promise<void> {
  let config;
  let slack;
  try {
    ({ config, slack } = loadStartup());
  } catch (err) {
    // A configuration error is for a person to read, not a stack trace.
    console.error(isAppError(err) ? err.message : err);
    process.exitCode = 1;
    return;
  }
  const log = createLogger({ level: config.vars.LOG_LEVEL });
  const { botToken, signingSecret, appToken } = slack.secrets();
  guardProcess({ log, secrets: [botToken, signingSecret, ...(appToken ? [appToken] : []), ...config.environments.map((env) => env.adminPassword()), ...(config.vars.AUDIT_WEBHOOK_SECRET ? [config.vars.AUDIT_WEBHOOK_SECRET()] : [])] });
  // Installed before starting, so a signal during start-up still stops cleanly once started.
  let bot: Bot | undefined;
  let stopRequested = false;
  const stop = async (signal: string) => {
    if (stopRequested) return;
    stopRequested = true;
    log.info({ signal }, 'stopping');
    await bot?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  try {
    bot = await startBot({
      config,
      slack,
      log,
      orphanCron: config.vars.ORPHAN_CHECK_CRON,
      grantSyncCron: config.vars.GRANT_SYNC_CRON,
      interopCheckCron: config.vars.INTEROP_CHECK_CRON,
      failpoints: config.vars.DBACCESS_FAILPOINTS,
      ops: {
        port: config.vars.OPS_PORT,
        ...(config.vars.OPS_HOST ? { host: config.vars.OPS_HOST } : {}),
        readinessCacheMs: config.vars.READINESS_CACHE,
        readinessTimeoutMs: config.vars.READINESS_TIMEOUT,
      },
    });
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    console.error(isAppError(err) ? err.message : `The bot could not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  if (stopRequested) await stop('SIGTERM');
}

await main();
