// A bot in its own process, for crash tests: dry-run databases, the fake Slack named by FAKE_SLACK_API_URL,
// state in CHILD_DB. Prints {"port": n} on stdout once it listens.
import { appendFileSync } from 'node:fs';
import { startBot } from '../../src/app.js';
import { dryRunExecutor } from '../../src/dialects/executor.js';
import { createLogger } from '../../src/log.js';
import { loadTestConfig, QUICK_ENVIRONMENT, SIGNING_SECRET } from './harness.js';

const db = process.env['CHILD_DB'];
const apiUrl = process.env['FAKE_SLACK_API_URL'];
if (!db || !apiUrl) throw new Error('CHILD_DB and FAKE_SLACK_API_URL are required');

// The audit stream's webhook, when a test gives one (quick retries, so recovery shows within the test).
const auditUrl = process.env['CHILD_AUDIT_WEBHOOK_URL'];
const auditSecret = process.env['CHILD_AUDIT_WEBHOOK_SECRET'] ?? '';
const config = loadTestConfig(db, QUICK_ENVIRONMENT);
if (auditUrl) Object.assign(config.vars, { AUDIT_WEBHOOK_URL: auditUrl, AUDIT_WEBHOOK_SECRET: () => auditSecret, AUDIT_WEBHOOK_TIMEOUT: 120_000 });

const bot = await startBot({
  config,
  ...(auditUrl ? { auditStream: { backoff: { firstMs: 50, maxMs: 200 }, pollMs: 50 } } : {}),
  slack: { port: 0, apiUrl, socketMode: false, teamId: 'T0FAKE0001', secrets: () => ({ botToken: 'xoxb-test', signingSecret: SIGNING_SECRET, appToken: undefined }) },
  log: createLogger({ level: 'info', destination: process.stderr }),
  // Each statement is written down before it runs, so a test can see what reached the database across a kill.
  executorFor: (env) =>
    dryRunExecutor((statement) => {
      const file = process.env['CHILD_STATEMENTS'];
      const username = statement.params.find((p) => p.name === 'username')?.value;
      if (file) appendFileSync(file, `${JSON.stringify({ pid: process.pid, env: env.name, kind: statement.kind, label: statement.label, username })}\n`);
      return [];
    }),
  failpoints: (process.env['CHILD_FAILPOINTS'] ?? '').split(',').filter(Boolean),
  host: '127.0.0.1',
  slackRetries: 0,
});
process.stdout.write(`${JSON.stringify({ port: bot.port })}\n`);
process.once('SIGTERM', () => {
  void bot.stop().then(() => process.exit(0));
});
