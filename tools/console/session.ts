// The local console: the real bot behind a fake Slack and dry-run databases, driven line by line from a terminal.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startBot, type Bot } from '../../src/app.js';
import { loadConfig, type Config, type LoadedEnvironment } from '../../src/config.js';
import { dialectOf } from '../../src/dialects/index.js';
import { dryRunExecutor } from '../../src/dialects/executor.js';
import { MASK, renderStatement } from '../../src/dialects/render.js';
import type { Row, Statement } from '../../src/dialects/statement.js';
import { createLogger } from '../../src/log.js';
import { startFakeSlack, type FakeSlack, type SlackCall } from '../../test/fakes/fake-slack.js';
import { renderBlocks, renderModal, type RenderedButton, type RenderedInput, type RenderedModal } from './render.js';
import { createSlackDriver, type DriverResponse, type SlackDriver, type SubmittedValue } from '../../test/fakes/slack-driver.js';

export interface ConsoleIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** The bot's clock (milliseconds); default the system time. Request signing always uses the real time, as Bolt checks it. */
  now?: () => number;
}

export interface ConsoleSession {
  /** Resolves after `quit`, `exit` or the end of the input, once the bot and the fake Slack have stopped. */
  done: Promise<void>;
  /** The bot's log (JSON lines). It outlives the session; the SQLite database does not. */
  logPath: string;
  /** The session's temp folder (holds the log). */
  dir: string;
}

interface ConsoleUser {
  key: string;
  id: string;
  name: string;
  role: string;
}

/** The people of the sample workspace; ids match config/console.yml. Maria is first: the default current user. */
const CONSOLE_USERS: readonly ConsoleUser[] = [
  { key: 'maria', id: 'U0MARIA', name: 'Maria Silva', role: 'a developer' },
  { key: 'ana', id: 'U0APPROVER', name: 'Ana Approver', role: 'an approver' },
  { key: 'luis', id: 'U0LTADMIN', name: 'Luis Admin', role: 'a LifeTime administrator' },
];
const USER_GROUPS: Readonly<Record<string, string[]>> = { S0DBAS: ['U0APPROVER'] };

const CONFIG_PATH = fileURLToPath(new URL('../../config/console.yml', import.meta.url));
// config/console.yml names this variable for every admin password; nothing connects, so any value does.
const ADMIN_PASSWORD_VARIABLE = 'CONSOLE_DB_PASSWORD';
const ADMIN_PASSWORD_DUMMY = 'console-dry-run-not-a-password';

/** Where the driver sends slash commands from (the fake's default channel). */
const COMMAND_CHANNEL = 'C0CONSOLE1';

/** How long to wait for the bot after an action: until quiet for `quietMs`, never longer than `maxMs`. */
const SETTLE = { quietMs: 150, maxMs: 3_000, pollMs: 20 };

/** Calls a person in Slack never sees. */
const NOISE = new Set(['auth.test', 'users.info', 'usergroups.users.list', 'conversations.open']);

/** What the dry-run databases answer, so the flows look like a real server's: two tables to grant, one live session to end. */
const SAMPLE_TABLES = ['OSUSR_ABC_ORDER', 'OSUSR_ABC_ORDERLINE'];
const SAMPLE_SESSION = { id: 53, serial: 4711, instance: 1 };

/** A statement one dry-run database received, with what it answered. */
interface Ran {
  env: string;
  family: 'tsql' | 'plsql';
  statement: Statement;
  rows: Row[];
}

/** A message the console printed: where, for whom, and whether it is still there (its buttons clickable). */
interface Shown {
  channel: string;
  ts: string | undefined;
  /** Who sees it: a user for ephemeral messages and DMs; undefined for a channel, where everyone does. */
  visibleTo: string | undefined;
  isEphemeral: boolean;
  text: string;
  blocks: unknown[];
  /** As printed. */
  lines: string[];
  buttons: RenderedButton[];
  /** Replaced or deleted: Slack no longer shows it, so its buttons cannot be clicked. */
  gone: boolean;
}

/** What a response_url belongs to: who triggered it and the message clicked (none for a slash command). */
interface ResponseTarget {
  user: string;
  channel: string;
  from: Shown | undefined;
}

type Answer = { value: string | undefined } | 'cancel';

/**
 * Starts the fake Slack and the bot (dry-run databases, config/console.yml, a fresh SQLite file), prints the
 * welcome, and reads commands from `io.input` until quit or end of input. Rejects if the bot cannot start.
 *
 * Commands (see `help`): `/dbuser …` as the current user, `as <user>`, `users`, `click <n>`, `help`, `quit`.
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
    const config = loadConfig({
      env: {
        DBACCESS_CONFIG: CONFIG_PATH,
        DBACCESS_DB: join(dir, 'dbaccess.sqlite'),
        LOG_LEVEL: 'debug',
        [ADMIN_PASSWORD_VARIABLE]: ADMIN_PASSWORD_DUMMY,
      },
    });
    fake = await startFakeSlack();
    for (const user of CONSOLE_USERS) fake.users.set(user.id, { id: user.id, name: user.key, realName: user.name, displayName: user.name });
    for (const [group, members] of Object.entries(USER_GROUPS)) fake.usergroups.set(group, [...members]);

    const ran: Ran[] = [];
    const signingSecret = randomBytes(16).toString('hex');
    // Synchronous writes: the log is complete even if the process ends abruptly.
    const log = createLogger({ level: config.vars.LOG_LEVEL, destination: { write: (line: string) => void (logOpen && writeSync(logFd, line)) } });
    bot = await startBot({
      config,
      slack: { port: 0, apiUrl: fake.apiUrl, socketMode: false, teamId: 'T0FAKE0001', secrets: () => ({ botToken: 'xoxb-console', signingSecret, appToken: undefined }) },
      log,
      clock: { now: io.now ?? (() => Date.now()) },
      host: '127.0.0.1',
      slackRetries: 0,
      executorFor: (env) => consoleExecutor(env, ran),
    });
    const driver = createSlackDriver({ eventsUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret, fake });
    const session = createSession({ io, config, bot, fake, driver, ran, logPath });
    const started = { bot, fake };
    const done = session.run().finally(async () => {
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
  if (statement.label.startsWith('list OSUSR_ tables')) return SAMPLE_TABLES.map((table) => ({ table_name: table }));
  if (statement.label.startsWith("list the user's live sessions")) {
    return [env.dialect === 'oracle' ? { ...SAMPLE_SESSION } : { id: SAMPLE_SESSION.id }];
  }
  return [];
}

interface SessionParts {
  io: ConsoleIo;
  config: Config;
  bot: Bot;
  fake: FakeSlack;
  driver: SlackDriver;
  ran: Ran[];
  logPath: string;
}

function createSession(parts: SessionParts) {
  const { io, config, bot, fake, driver, ran, logPath } = parts;
  const isTty = (stream: unknown) => typeof stream === 'object' && stream !== null && 'isTTY' in stream && stream.isTTY === true;
  const colour = isTty(io.output);
  // Line editing only when a person types into a terminal; otherwise the console echoes what it read, so a
  // transcript (a test, a pipe) shows each command next to its output.
  const terminal = isTty(io.input) && colour;
  const rl = createInterface({ input: io.input, ...(terminal ? { output: io.output } : {}), terminal });

  const queued: string[] = [];
  let ended = false;
  let waiting: ((line: string | undefined) => void) | undefined;
  rl.on('line', (line) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve(line);
    } else queued.push(line);
  });
  rl.on('close', () => {
    ended = true;
    waiting?.(undefined);
    waiting = undefined;
  });
  // Ctrl-C quits like Ctrl-D, so the bot stops and the temp files go.
  rl.on('SIGINT', () => rl.close());

  let current: string = CONSOLE_USERS[0]!.id;
  let callCursor = 0;
  let sqlCursor = 0;
  let nextButton = 1;
  const buttons = new Map<number, { button: RenderedButton; message: Shown }>();
  const shown: Shown[] = [];
  const responseTargets = new Map<string, ResponseTarget>();
  let syntheticTs = 0;

  function write(text = ''): void {
    io.output.write(`${text}\n`);
  }

  function paint(code: string, text: string): string {
    return colour ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  async function read(prompt: string, secret = false): Promise<string | undefined> {
    if (terminal) {
      rl.setPrompt(prompt);
      rl.prompt();
    } else {
      io.output.write(prompt);
    }
    const line = await nextLine();
    if (line === undefined) {
      if (!terminal) write();
      return undefined;
    }
    const masked = secret && line !== '' && line.trim().toLowerCase() !== 'cancel';
    if (!terminal) write(masked ? MASK : line);
    // A typed password is visible while typing (as in a Slack form); once entered, the line is masked.
    else if (masked) io.output.write(`\x1b[1A\x1b[2K${prompt}${MASK}\n`);
    return line;
  }

  function nextLine(): Promise<string | undefined> {
    const line = queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      waiting = resolve;
    });
  }

  function userOf(id: string): ConsoleUser | undefined {
    return CONSOLE_USERS.find((u) => u.id === id);
  }

  function nameOf(id: string): string {
    return fake.users.get(id)?.displayName ?? id;
  }

  function promptName(): string {
    return userOf(current)?.key ?? current.toLowerCase();
  }

  /** The user whose DM with the bot `channel` is (the fake names a DM D + the user id without its first letter). */
  function dmUser(channel: string): string | undefined {
    if (!channel.startsWith('D')) return undefined;
    return [...fake.users.keys()].find((id) => `D${id.slice(1)}` === channel) ?? `U${channel.slice(1)}`;
  }

  function channelLabel(channel: string): string {
    const user = dmUser(channel);
    return user === undefined ? `#${channel}` : `the DM of ${nameOf(user)}`;
  }

  /** Mentions as Slack shows them: `<@U0MARIA>` reads "@Maria Silva". */
  function withNames(value: unknown): unknown {
    if (typeof value === 'string') return value.replace(/<@([UW][A-Z0-9]+)>/g, (_, id: string) => `<@${id}|${nameOf(id)}>`);
    if (Array.isArray(value)) return value.map(withNames);
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withNames(v)]));
    return value;
  }

  // ----------------------------------------------------------------------------------------------
  // Waiting for the bot and showing what it did

  function activity(): number {
    return fake.calls.length + ran.length;
  }

  /** Waits for the bot's first reaction (when one is due), then until nothing new happened for a moment. */
  async function settle(baseline: number, expectActivity: boolean): Promise<void> {
    const deadline = Date.now() + SETTLE.maxMs;
    while (expectActivity && activity() === baseline && Date.now() < deadline) await sleep(SETTLE.pollMs);
    let last = activity();
    let quietSince = Date.now();
    while (Date.now() < deadline && Date.now() - quietSince < SETTLE.quietMs) {
      await sleep(SETTLE.pollMs);
      if (activity() !== last) {
        last = activity();
        quietSince = Date.now();
      }
    }
  }

  /** After an action: prints what happened, fills in any modal the bot opened (which is an action too), and so on. */
  async function afterAction(baseline: number, expectActivity = true): Promise<void> {
    await settle(baseline, expectActivity);
    let printed = false;
    for (;;) {
      const { modal, count } = printNewCalls();
      printed ||= count > 0;
      if (modal === undefined) break;
      printed = true;
      const mark = activity();
      const submitted = await fillModal(modal);
      await settle(mark, submitted);
    }
    printed = printSql() || printed;
    if (!printed) write(paint('2', '(nothing visible happened)'));
  }

  function somethingUnseen(): boolean {
    return sqlCursor < ran.length || fake.calls.slice(callCursor).some((call) => !NOISE.has(call.method));
  }

  /** Prints the calls since the last print, stopping after a views.open, which it returns for prompting. */
  function printNewCalls(): { modal: SlackCall | undefined; count: number } {
    let count = 0;
    while (callCursor < fake.calls.length) {
      const call = fake.calls[callCursor]!;
      callCursor += 1;
      if (NOISE.has(call.method)) continue;
      if (call.method === 'views.open' || call.method === 'views.push') return { modal: call, count };
      printCall(call);
      count += 1;
    }
    return { modal: undefined, count };
  }

  function printCall(call: SlackCall): void {
    const args = call.args;
    const channel = stringOf(args['channel']) ?? '';
    switch (call.method) {
      case 'chat.postMessage': {
        const user = dmUser(channel);
        const thread = args['thread_ts'] === undefined ? '' : ', in a thread';
        printMessage(user === undefined ? `#${channel}${thread}` : `DM to ${nameOf(user)}${thread}`, { channel, ts: undefined, visibleTo: user, isEphemeral: false }, args);
        return;
      }
      case 'chat.postEphemeral': {
        const user = stringOf(args['user']) ?? '';
        printMessage(`only ${nameOf(user)} sees`, { channel, ts: undefined, visibleTo: user, isEphemeral: true }, args);
        return;
      }
      case 'chat.update': {
        const ts = stringOf(args['ts']);
        const replaced = shown.filter((message) => message.channel === channel && !message.gone && tsOf(message) === ts);
        for (const message of replaced) markGone(message);
        printMessage(`message updated in ${channelLabel(channel)}`, { channel, ts, visibleTo: dmUser(channel), isEphemeral: false }, args, replaced.at(-1));
        return;
      }
      case 'response_url': {
        const target = responseTargets.get(stringOf(args['responseUrl']) ?? '');
        const user = target?.user ?? current;
        const replace = args['replace_original'] === true || args['replace_original'] === 'true';
        if (target?.from && (replace || args['delete_original'] === true || args['delete_original'] === 'true')) markGone(target.from);
        if (args['delete_original'] === true || args['delete_original'] === 'true') {
          write(tag(`message deleted for ${nameOf(user)}`));
          return;
        }
        const inChannel = args['response_type'] === 'in_channel';
        const where = target?.from?.channel ?? target?.channel ?? COMMAND_CHANNEL;
        const label = inChannel ? `#${where}` : `only ${nameOf(user)} sees${replace && target?.from ? ', replacing the message' : ''}`;
        printMessage(label, { channel: where, ts: undefined, visibleTo: inChannel ? undefined : user, isEphemeral: !inChannel }, args);
        return;
      }
      default:
        write(`${tag(call.method)} ${JSON.stringify(args).slice(0, 300)}`);
    }
  }

  function tag(label: string): string {
    return paint('1;36', `[${label}]`);
  }

  /** Prints a message and makes its buttons clickable. An update of a message shown before prints only what changed. */
  function printMessage(label: string, where: Pick<Shown, 'channel' | 'ts' | 'visibleTo' | 'isEphemeral'>, args: Record<string, unknown>, previous?: Shown): void {
    const blocks = Array.isArray(args['blocks']) ? args['blocks'] : [];
    const text = stringOf(args['text']) ?? '';
    const named = withNames(blocks);
    const rendered = renderBlocks(Array.isArray(named) ? named : [], stringOf(withNames(text)), nextButton);
    nextButton += rendered.buttons.length;
    const lines = rendered.text.split('\n');
    const message: Shown = { ...where, text, blocks, lines, buttons: rendered.buttons, gone: false };
    shown.push(message);
    for (const button of rendered.buttons) buttons.set(button.index, { button, message });
    const [first = '', ...rest] = lines;
    if (previous === undefined) {
      write(`${tag(label)} ${first}`);
      for (const line of rest) write(`  ${line}`);
      return;
    }
    // Approval messages are long and an update changes a line or two: repeating the rest would bury the news.
    const before = new Set(previous.lines);
    const changed = rest.filter((line) => !before.has(line));
    write(`${tag(label)} ${first} ${paint('2', '(unchanged lines left out)')}`);
    for (const line of changed) write(`  ${line}`);
    if (previous.buttons.length > 0 && rendered.buttons.length === 0) write(paint('2', `  (its buttons ${previous.buttons.map((b) => `[${b.index}]`).join(' ')} are gone)`));
  }

  function markGone(message: Shown): void {
    message.gone = true;
    for (const button of message.buttons) buttons.delete(button.index);
  }

  /**
   * The ts Slack gave a posted message. The fake records what the bot sent, not what it answered, so for the
   * one kind of message the bot later updates (an approval request) the ts is read where the bot keeps it.
   */
  function tsOf(message: Shown): string | undefined {
    if (message.ts !== undefined) return message.ts;
    for (const button of message.buttons) {
      const request = button.value === undefined ? undefined : bot.store.requests.get(button.value);
      if (request?.approvalChannel === message.channel && request.approvalTs !== null) {
        message.ts = request.approvalTs;
        return message.ts;
      }
    }
    return undefined;
  }

  /** Prints the statements each dry-run database received since the last listing; true if there were any. */
  function printSql(): boolean {
    const fresh = ran.slice(sqlCursor);
    sqlCursor = ran.length;
    const envs = [...new Set(fresh.map((r) => r.env))];
    for (const env of envs) {
      write(paint('33', `SQL (${env}, dry run):`));
      for (const r of fresh.filter((x) => x.env === env)) for (const line of statementLines(r)) write(paint('2', `  ${line}`));
    }
    return fresh.length > 0;
  }

  // ----------------------------------------------------------------------------------------------
  // Modals

  /** Prompts for each input of the modal the bot opened and submits it; false when cancelled. */
  async function fillModal(call: SlackCall): Promise<boolean> {
    const modal = renderModal(withNames(call.args['view']));
    write(`${tag(`form for ${nameOf(current)}`)} ${modal.title}`);
    if (modal.text !== '') for (const line of modal.text.split('\n')) write(`  ${line}`);
    write(paint('2', `  Answer each field (Enter keeps the value in brackets or skips an optional field; \`cancel\` closes the form unsent).`));
    const answers = new Map<string, string | undefined>();
    let toAsk = modal.inputs;
    for (;;) {
      for (const input of toAsk) {
        const answered = await ask(input, answers.has(input.blockId) ? answers.get(input.blockId) : input.initial);
        if (answered === 'cancel') {
          write('Form closed without submitting.');
          return false;
        }
        answers.set(input.blockId, answered.value);
      }
      const response = await driver.viewSubmission({
        user: current,
        view: { callbackId: modal.callbackId, ...(modal.privateMetadata === undefined ? {} : { privateMetadata: modal.privateMetadata }), values: submittedValues(modal, answers) },
      });
      if (!reportHttpProblem(response)) return true;
      const errors = fieldErrors(response.json);
      if (errors === undefined) return true;
      write(`  The form was not accepted:`);
      for (const [blockId, message] of Object.entries(errors)) {
        const label = modal.inputs.find((i) => i.blockId === blockId)?.label ?? blockId;
        write(paint('31', `  ${label}: ${message}`));
      }
      const named = modal.inputs.filter((i) => i.blockId in errors);
      toAsk = named.length > 0 ? named : modal.inputs;
    }
  }

  /** One input: a number (or the value) for choices, a line of text otherwise. */
  async function ask(input: RenderedInput, previous: string | undefined): Promise<Answer> {
    const secret = /password/i.test(input.label) || input.blockId === 'password';
    const choices = input.options ?? [];
    const notes: string[] = [];
    if (input.hint) notes.push(input.hint);
    if (input.placeholder) notes.push(`e.g. ${input.placeholder}`);
    if (input.multiline) notes.push('one line here');
    write(`  ${input.label}${input.optional && !/optional/i.test(input.label) ? ' (optional)' : ''}${notes.length > 0 ? paint('2', ` — ${notes.join('; ')}`) : ''}`);
    choices.forEach((option, i) => write(`    ${i + 1}. ${option.text}`));
    const shownDefault = previous === undefined || previous === '' ? '' : ` [${secret ? MASK : (choices.find((o) => o.value === previous)?.text ?? previous)}]`;
    for (;;) {
      const line = await read(`  ${input.label}${shownDefault}> `, secret && choices.length === 0);
      if (line === undefined || line.trim().toLowerCase() === 'cancel') return 'cancel';
      const typed = line.trim();
      if (typed === '') {
        if (previous !== undefined && previous !== '') return { value: previous };
        if (input.optional) return { value: undefined };
        write(`  ${input.label} is required${choices.length > 0 ? `: type a number from 1 to ${choices.length}` : ''}.`);
        continue;
      }
      if (choices.length === 0) return { value: secret ? line : typed };
      const picked = input.type === 'checkboxes' ? typed.split(',').map((t) => choiceOf(choices, t.trim())) : [choiceOf(choices, typed)];
      if (picked.every((p) => p !== undefined)) return { value: picked.join(',') };
      write(`  Type a number from 1 to ${choices.length}${input.type === 'checkboxes' ? ' (several: separate them with commas)' : ''}.`);
    }
  }

  // ----------------------------------------------------------------------------------------------
  // Commands

  async function slashCommand(text: string): Promise<void> {
    const baseline = activity();
    const sent = await driver.slashCommand({ user: current, command: '/dbuser', text });
    responseTargets.set(sent.responseUrl, { user: current, channel: COMMAND_CHANNEL, from: undefined });
    reportHttpProblem(sent);
    await afterAction(baseline);
  }

  async function click(arg: string): Promise<void> {
    const n = Number(arg);
    const found = Number.isInteger(n) ? buttons.get(n) : undefined;
    if (found === undefined) {
      const visible = [...buttons.values()].filter((b) => b.message.visibleTo === undefined || b.message.visibleTo === current).map((b) => b.button.index);
      const gone = Number.isInteger(n) && n > 0 && n < nextButton;
      write(
        `${gone ? `Button [${n}] is gone: its message was replaced.` : `There is no button [${arg}].`} ${
          visible.length > 0 ? `Buttons you can click: ${visible.map((i) => `[${i}]`).join(' ')}.` : 'No button is showing.'
        }`,
      );
      return;
    }
    const { button, message } = found;
    if (message.visibleTo !== undefined && message.visibleTo !== current) {
      const owner = userOf(message.visibleTo);
      write(`Only ${nameOf(message.visibleTo)} sees that message: type \`as ${owner?.key ?? message.visibleTo}\` first.`);
      return;
    }
    const ts = tsOf(message) ?? `${Math.floor(Date.now() / 1000)}.${String(++syntheticTs).padStart(6, '0')}`;
    const baseline = activity();
    const sent = await driver.blockAction({
      user: current,
      actionId: button.actionId,
      ...(button.value === undefined ? {} : { value: button.value }),
      ...(button.blockId === undefined ? {} : { blockId: button.blockId }),
      container: { channel: message.channel || COMMAND_CHANNEL, messageTs: ts, isEphemeral: message.isEphemeral },
      message: { type: 'message', ts, text: message.text, blocks: message.blocks },
    });
    responseTargets.set(sent.responseUrl, { user: current, channel: message.channel, from: message });
    reportHttpProblem(sent);
    write(paint('2', `(${nameOf(current)} clicked ${button.text})`));
    await afterAction(baseline);
  }

  function switchUser(arg: string): void {
    if (arg === '') {
      write(`You are ${nameOf(current)} (${current}).`);
      return;
    }
    const wanted = arg.toLowerCase();
    const known = CONSOLE_USERS.find((u) => u.key === wanted || u.id.toLowerCase() === wanted || u.name.toLowerCase().split(' ')[0] === wanted);
    if (known) current = known.id;
    else if (/^[UW][A-Z0-9]{2,}$/.test(arg)) current = arg;
    else {
      write(`I don't know "${arg}". Try ${CONSOLE_USERS.map((u) => u.key).join(', ')}, or a Slack user id such as U0SOMEONE.`);
      return;
    }
    const user = userOf(current);
    write(user ? `You are now ${user.name} (${user.id}), ${user.role}.` : `You are now ${current}, whom this workspace does not know (the bot will use the id as the name).`);
  }

  function listUsers(): void {
    write('Users:');
    for (const user of CONSOLE_USERS) {
      const marker = user.id === current ? '*' : ' ';
      write(`${marker} ${user.key.padEnd(6)} ${user.id.padEnd(11)} ${user.name}, ${user.role}: ${rightsOf(user.id)}`);
    }
    if (!userOf(current)) write(`* ${current}: ${rightsOf(current)}`);
    write(paint('2', `(* = you. Groups: ${Object.entries(USER_GROUPS).map(([g, m]) => `${g} = ${m.map(nameOf).join(', ')}`).join('; ')}.)`));
  }

  function rightsOf(id: string): string {
    const groups = Object.entries(USER_GROUPS).filter(([, members]) => members.includes(id)).map(([group]) => group);
    const approves = config.environments.filter((e) => e.approvers.users.includes(id) || e.approvers.groups.some((g) => groups.includes(g))).map((e) => e.name);
    const selfService = config.environments.filter((e) => e.selfService.includes(id)).map((e) => e.name);
    const breakGlass = config.environments.filter((e) => e.breakGlass.includes(id)).map((e) => e.name);
    const rights = [
      ...(approves.length > 0 ? [`approves ${approves.join(', ')}`] : []),
      ...(selfService.length > 0 ? [`gets users without approval in ${selfService.join(', ')}`] : []),
      ...(breakGlass.length > 0 ? [`may break glass in ${breakGlass.join(', ')}`] : []),
    ];
    return rights.length > 0 ? `${rights.join('; ')}; may also request users` : 'requests users; approves nothing';
  }

  function help(): void {
    write(
      [
        'Commands:',
        '  /dbuser <text>   the slash command, as the current user (`/dbuser help` shows its forms)',
        '  as <user>        act as maria, ana or luis, or any Slack user id (U…)',
        '  users            who is who, and who approves what',
        '  click <n>        click button [n] of a message you can see',
        '  (empty line)     show what the bot did meanwhile on its own (reminders, expiry)',
        '  help             this list',
        '  quit             stop (also `exit`, Ctrl-D or Ctrl-C)',
        'After each action the console prints what each person sees in Slack, asks for the fields of any form',
        'the bot opens, and prints the SQL each dry-run database received, under `SQL (<env>, dry run):`.',
        `Passwords are masked there (${MASK}); a password shows only in the message its owner alone sees.`,
      ].join('\n'),
    );
  }

  function welcome(): void {
    const envs = config.environments.map((e) => `${e.name} (${e.dialect})`).join(', ');
    write(
      wrap(
        `OutSystems 11 database access bot, local console: the real /dbuser bot with a fake Slack and dry-run databases ` +
          `(${envs}), so nothing connects anywhere and the SQL is only printed. You are Maria Silva, a developer. ` +
          'Try `/dbuser request dev --reason test` first, then `as ana` and `click` the number next to Approve: ' +
          'Maria gets her password in a message only she sees. `users` shows who approves what; `help` lists the commands.',
      ),
    );
    write(`The bot's log: ${logPath}`);
  }

  /** Says so when the bot refused a request outright; false then. */
  function reportHttpProblem(response: DriverResponse): boolean {
    if (response.status === 200) return true;
    write(paint('31', `The bot answered HTTP ${response.status}: ${response.body.slice(0, 200) || '(no body)'}. Its log says more: ${logPath}`));
    return false;
  }

  async function handle(line: string): Promise<'quit' | undefined> {
    const trimmed = line.trim();
    if (trimmed === '') {
      // The bot also acts on its own (reminders, expiry): an empty line shows whatever happened meanwhile.
      if (somethingUnseen()) await afterAction(activity(), false);
      return undefined;
    }
    const [word = '', ...rest] = trimmed.split(/\s+/);
    const arg = rest.join(' ');
    if (word === '/dbuser') {
      await slashCommand(trimmed.slice('/dbuser'.length).trim());
      return undefined;
    }
    switch (word.toLowerCase()) {
      case 'as':
        switchUser(arg);
        return undefined;
      case 'users':
        listUsers();
        return undefined;
      case 'click':
        await click(arg);
        return undefined;
      case 'help':
        help();
        return undefined;
      case 'quit':
      case 'exit':
        return 'quit';
      default:
        write(word.startsWith('/') ? `The console only knows /dbuser.` : `I don't know "${word.slice(0, 30)}".`);
        help();
        return undefined;
    }
  }

  return {
    async run(): Promise<void> {
      welcome();
      try {
        for (;;) {
          const line = await read(`${promptName()}> `);
          if (line === undefined) break;
          try {
            if ((await handle(line)) === 'quit') break;
          } catch (err) {
            // A failed command (the bot unreachable, a malformed reply) should not end the session: say it and go on.
            write(paint('31', `That failed: ${err instanceof Error ? err.message : String(err)}`));
          }
        }
      } finally {
        rl.close();
      }
      write(`Bye. The bot's log stays at ${logPath}`);
    },
  };
}

/** The statement as the server runs it (passwords masked), what it is for, and, for a query, what the dry run answered. */
function statementLines(r: Ran): string[] {
  const { statement } = r;
  const sql = renderStatement(statement, r.family, true) ?? `(refused: a value is longer than the server allows) ${statement.label}`;
  const lines = [`-- ${statement.label}`, ...sql.split('\n')];
  if (!statement.dynamic && statement.params.length > 0) {
    const marker = r.family === 'tsql' ? '@' : ':';
    const params = statement.params.map((p) => `${marker}${p.name} = ${p.secret ? MASK : typeof p.value === 'number' ? p.value : `'${p.value}'`}`);
    lines.push(`--   with ${params.join(', ')}`);
  }
  if (statement.kind === 'query') {
    const rows = r.rows.map((row) => Object.values(row).map(String).join(','));
    lines.push(`--   dry run answered ${rows.length === 0 ? 'no rows' : rows.join(' | ')}`);
  }
  return lines;
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

function submittedValues(modal: RenderedModal, answers: Map<string, string | undefined>): Record<string, Record<string, SubmittedValue>> {
  const values: Record<string, Record<string, SubmittedValue>> = {};
  for (const input of modal.inputs) {
    const answer = answers.get(input.blockId);
    let value: SubmittedValue;
    switch (input.type) {
      case 'plain_text_input':
        value = { type: input.type, value: answer ?? null };
        break;
      case 'checkboxes':
        value = { type: input.type, selected_options: (answer ?? '').split(',').filter((v) => v !== '').map((v) => ({ value: v })) };
        break;
      default:
        value = { type: input.type, selected_option: answer === undefined ? null : { value: answer } };
    }
    values[input.blockId] = { [input.actionId]: value };
  }
  return values;
}

function choiceOf(options: { text: string; value: string }[], typed: string): string | undefined {
  const n = Number(typed);
  if (Number.isInteger(n) && n >= 1 && n <= options.length) return options[n - 1]!.value;
  const wanted = typed.toLowerCase();
  return options.find((o) => o.value.toLowerCase() === wanted || o.text.toLowerCase() === wanted)?.value;
}

/** The field errors of a `response_action: errors` answer, if that is what it is. */
function fieldErrors(json: unknown): Record<string, string> | undefined {
  if (!isRecord(json) || json['response_action'] !== 'errors' || !isRecord(json['errors'])) return undefined;
  return Object.fromEntries(Object.entries(json['errors']).map(([k, v]) => [k, String(v)]));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
