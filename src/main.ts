// Entry point: load configuration, start the bot, stop cleanly on SIGTERM / SIGINT.
import { startBot } from './app.js';
import { loadConfig, loadSlackSettings } from './config.js';
import { isAppError } from './errors.js';
import { createLogger } from './log.js';

async function main(): Promise<void> {
  let config;
  let slack;
  try {
    config = loadConfig();
    slack = loadSlackSettings();
  } catch (err) {
    // A configuration error is for a person to read, not a stack trace.
    console.error(isAppError(err) ? err.message : err);
    process.exitCode = 1;
    return;
  }
  const log = createLogger({ level: config.vars.LOG_LEVEL });
  const bot = await startBot({ config, slack, log, orphanCron: config.vars.ORPHAN_CHECK_CRON, grantSyncCron: config.vars.GRANT_SYNC_CRON, interopCheckCron: config.vars.INTEROP_CHECK_CRON });
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await bot.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

await main();
