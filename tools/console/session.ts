// The local console: the real bot behind a fake Slack and dry-run databases, driven line by line from a terminal.
// This file starts and stops it; commands.ts reads the commands, printer.ts shows what the bot did, forms.ts
// asks for the fields of the forms it opens.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBot, type Bot } from '../../src/app.js';
import { loadConfig, type Config, type LoadedEnvironment } from '../../src/config.js';
import { dialectOf } from '../../src/dialects/index.js';
import { dryRunExecutor } from '../../src/dialects/executor.js';
import { ALL_MISSING_WRITE_LABEL } from '../../src/dialects/permissions.js';
import type { Row, Statement } from '../../src/dialects/statement.js';
import { createLogger } from '../../src/log.js';
import { startFakeSlack, type FakeSlack } from '../../test/fakes/fake-slack.js';
import { createSlackDriver } from '../../test/fakes/slack-driver.js';
import { createConsoleClock } from './clock.js';
import { createCommands } from './commands.js';
import { CONSOLE_USERS, USER_GROUPS } from './people.js';
import { createPrinter, type Printer, type Ran } from './printer.js';
import { createTerminal, type Terminal } from './terminal.js';

export interface ConsoleIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** The bot's clock (milliseconds) before any `wait`; default the system time. Request signing always uses the real time, as Bolt checks it. */
  now?: () => number;
  /** The environments file; default config/console.yml. main.ts passes DBACCESS_CONFIG. */
  configPath?: string;
  /** Variables the file's password references may name (main.ts: process.env). CONSOLE_DB_PASSWORD needs none: the console sets it. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface ConsoleSession {
  /** Resolves after `quit`, `exit` or the end of the input, once the bot and the fake Slack have stopped. */
  done: Promise<void>;
  /** The bot's log (JSON lines). It outlives the session; the SQLite database does not. */
  logPath: string;
  /** The session's temp folder (holds the log). */
  dir: string;
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEFAULT_CONFIG_PATH = join(REPO_ROOT, 'config', 'console.yml');
// config/console.yml names this variable for every admin password; nothing connects, so any value does.
const ADMIN_PASSWORD_VARIABLE = 'CONSOLE_DB_PASSWORD';
const ADMIN_PASSWORD_DUMMY = 'console-dry-run-not-a-password';

/** What the dry-run databases answer, so the flows look like a real server's: two tables to grant, one live session to end. */
const SAMPLE_TABLES = ['OSUSR_ABC_ORDER', 'OSUSR_ABC_ORDERLINE'];
const SAMPLE_SESSION = { id: 53, serial: 4711, instance: 1 };

/**
 * Starts the fake Slack and the bot (dry-run databases, the environments file, a fresh SQLite file), prints the
 * welcome, and reads commands from `io.input` until quit or end of input. Rejects if the bot cannot start.
 *
 * After every action the console waits for the bot to settle, then prints each new Slack call as the people
 * involved would see it, prompts for the fields of any modal the bot opened, and prints the SQL every dry-run
 * database received (passwords masked). A password appears only where the bot shows it: the ephemeral message.
 */
export async function startConsoleSession(io: ConsoleIo): Promise<ConsoleSession> {
  const dir = mkdtempSync(join(tmpdir(), 'dbaccess-console-'));
  const logPath = join(dir, 'bot.log');
  const logFd = openSync(logPath, 'a');
  let logOpen = true;
  const closeLog = () => {
    if (logOpen) closeSync(logFd);
    logOpen = false;
  };
  let fake: FakeSlack | undefined;
  let bot: Bot | undefined;
  try {
    const configPath = resolve(io.configPath || DEFAULT_CONFIG_PATH);
    const config = loadConfig({
      env: {
        ...io.env,
        DBACCESS_CONFIG: configPath,
        DBACCESS_DB: join(dir, 'dbaccess.sqlite'),
        LOG_LEVEL: 'debug',
        [ADMIN_PASSWORD_VARIABLE]: io.env?.[ADMIN_PASSWORD_VARIABLE] || ADMIN_PASSWORD_DUMMY,
      },
    });
    fake = await startFakeSlack();
    for (const user of CONSOLE_USERS) fake.users.set(user.id, { id: user.id, name: user.key, realName: user.name, displayName: user.name });
    for (const group of USER_GROUPS) fake.usergroups.set(group.id, [...group.members]);

    const ran: Ran[] = [];
    // AUDIT_STREAM=stdout: the stream's JSON lines are printed as they come, marked, instead of on stdout
    // under the prompt (a webhook, AUDIT_WEBHOOK_URL, is sent as in production).
    const streamed: string[] = [];
    const auditLines = {
      write(chunk: string, callback: (err?: Error | null) => void): boolean {
        streamed.push(...chunk.split('\n').filter((line) => line !== ''));
        callback();
        return true;
      },
    };
    const signingSecret = randomBytes(16).toString('hex');
    const clock = createConsoleClock(io.now);
    // Synchronous writes: the log is complete even if the process ends abruptly.
    const log = createLogger({ level: config.vars.LOG_LEVEL, destination: { write: (line: string) => void (logOpen && writeSync(logFd, line)) } });
    bot = await startBot({
      config,
      slack: { port: 0, apiUrl: fake.apiUrl, socketMode: false, teamId: 'T0FAKE0001', secrets: () => ({ botToken: 'xoxb-console', signingSecret, appToken: undefined }) },
      log,
      clock,
      host: '127.0.0.1',
      slackRetries: 0,
      executorFor: (env) => consoleExecutor(env, ran),
      // The console's clock jumps (`wait`, or a test's clock): the timer looks again every second rather than every 15.
      maxSleepMs: 1_000,
      auditStream: { stdout: auditLines },
    });
    const driver = createSlackDriver({ eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret, fake });
    const term = createTerminal(io);
    let current = CONSOLE_USERS[0]!.id;
    const printer = createPrinter({ term, fake, bot, ran, streamed, current: () => current });
    const commands = createCommands({ term, printer, config, bot, driver, clock, logPath, onUser: (id) => (current = id) });
    const started = { bot, fake };
    const done = (async () => {
      welcome({ term, printer, config, configPath, logPath });
      await commands.run();
      term.write(`Bye. The bot's log stays at ${logPath}`);
    })().finally(async () => {
      await started.bot.stop();
      await started.fake.close();
      closeLog();
      // The requests die with the session; the log stays for reading afterwards.
      for (const file of readdirSync(dir)) if (file !== 'bot.log') rmSync(join(dir, file), { force: true, recursive: true });
    });
    return { done, logPath, dir };
  } catch (err) {
    await bot?.stop().catch(() => undefined);
    await fake?.close().catch(() => undefined);
    closeLog();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function welcome(parts: { term: Terminal; printer: Printer; config: Config; configPath: string; logPath: string }): void {
  const { term, config, configPath, logPath } = parts;
  const envs = config.environments.map((e) => `${e.name} (${e.dialect})`).join(', ');
  const file = configPath === DEFAULT_CONFIG_PATH ? '' : ` Environments from ${relative(process.cwd(), configPath) || configPath} (DBACCESS_CONFIG).`;
  term.write(
    wrap(
      `OutSystems 11 database access bot, local console: the real bot with a fake Slack and dry-run databases ` +
        `(${envs}), so nothing connects anywhere and the SQL is only printed.${file} You are Maria Silva, a developer. ` +
        'Try `/dbuser request dev --reason test` first, then `as ana` and `click` the number next to Approve: ' +
        'Maria gets her password in a message only she sees. `wait 65m` moves the clock to see reminders and expiry, ' +
        '`home` opens App Home, `/interop help` shows the DBA steps, `users` shows who approves what; `help` lists the commands.' +
        // Governance (issue 17 items 1, 5): config/console.yml gives test these rules.
        (config.environments.some((e) => e.policy.ticket !== undefined || e.policy.window !== undefined)
          ? ` Governance: ${config.environments.filter((e) => e.policy.ticket !== undefined || e.policy.window !== undefined).map((e) => e.name).join(', ')} asks for a ticket or has a change window, e.g. \`/dbuser request test --ticket CHG-1234 --reason "reading the order logs"\`.`
          : ''),
    ),
  );
  term.write(`The bot's log: ${logPath}`);
}

/** A dry run that answers the few queries the flows read from, and records what it ran for the SQL listing. */
function consoleExecutor(env: LoadedEnvironment, ran: Ran[]) {
  const family = dialectOf(env).family;
  return dryRunExecutor((statement) => {
    const rows = dryRunRows(env, statement);
    ran.push({ env: env.name, family, statement, rows });
    return rows;
  });
}

function dryRunRows(env: LoadedEnvironment, statement: Statement): Row[] {
  // The tables lacking write grants, and the same tables granted in one batch.
  if (statement.label.startsWith('list OSUSR_ tables') || statement.label === ALL_MISSING_WRITE_LABEL) return SAMPLE_TABLES.map((table) => ({ table_name: table }));
  if (statement.label.startsWith("list the user's live sessions")) {
    return [env.dialect === 'oracle' ? { ...SAMPLE_SESSION } : { id: SAMPLE_SESSION.id }];
  }
  return [];
}

/** Breaks a paragraph into lines of at most `width` characters, at spaces, never inside a `command`. */
function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.match(/`[^`]*`\S*|\S+/g) ?? []) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}
