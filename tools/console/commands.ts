// The console's own commands (slash commands, clicks, App Home, the clock, who you are) and the loop that
// reads them, printing what the bot does after each action and, at the prompt, whatever it does on its own.
import type { Bot } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { MASK } from '../../src/dialects/render.js';
import { formatDuration, parseDuration } from '../../src/duration.js';
import type { DriverResponse, SlackDriver } from '../../test/fakes/slack-driver.js';
import type { ConsoleClock } from './clock.js';
import { fillModal } from './forms.js';
import { CONSOLE_USERS, USER_GROUPS, userOf } from './people.js';
import { COMMAND_CHANNEL, type Printer } from './printer.js';
import type { Terminal } from './terminal.js';

/** How long to wait for the bot after an action: until quiet for `quietMs`, never longer than `maxMs`. */
const SETTLE = { quietMs: 150, maxMs: 3_000, pollMs: 20 };
/** How often the prompt looks for what the bot did on its own (reminders, expiry). */
const BACKGROUND_POLL_MS = 200;
/** The slash commands the bot registers (manifest.yml). */
const SLASH_COMMANDS = ['/dbuser', '/interop'];

export interface ConsoleParts {
  term: Terminal;
  printer: Printer;
  config: Config;
  bot: Bot;
  driver: SlackDriver;
  clock: ConsoleClock;
  logPath: string;
  /** Told who the current user becomes (the printer answers response_urls for them). */
  onUser(id: string): void;
}

export function createCommands(parts: ConsoleParts) {
  const { term, printer, config, bot, driver, clock, logPath, onUser } = parts;
  const { write, paint } = term;
  let current: string = CONSOLE_USERS[0]!.id;
  let syntheticTs = 0;
  const nameOf = printer.nameOf;

  /** Waits for the bot's first reaction (when one is due), then until nothing new happened for a moment. */
  async function settle(baseline: number, expectActivity: boolean): Promise<void> {
    const deadline = Date.now() + SETTLE.maxMs;
    while (expectActivity && printer.activity() === baseline && Date.now() < deadline) await sleep(SETTLE.pollMs);
    let last = printer.activity();
    let quietSince = Date.now();
    while (Date.now() < deadline && Date.now() - quietSince < SETTLE.quietMs) {
      await sleep(SETTLE.pollMs);
      if (printer.activity() !== last) {
        last = printer.activity();
        quietSince = Date.now();
      }
    }
  }

  /** After an action: prints what happened, fills in any modal the bot opened (which is an action too), and so on. */
  async function afterAction(baseline: number, expectActivity = true, sayWhenNothing = true): Promise<void> {
    await settle(baseline, expectActivity);
    let printed = false;
    for (;;) {
      const { modal, count } = printer.printNewCalls();
      printed ||= count > 0;
      if (modal === undefined) break;
      printed = true;
      const mark = printer.activity();
      const submitted = await fillModal({ term, printer, driver, user: current }, modal);
      await settle(mark, submitted);
    }
    printed = printer.printSql() || printed;
    printed = printer.printStreamed() || printed;
    if (!printed && sayWhenNothing) write(paint('2', '(nothing visible happened)'));
  }

  /** Says so when the bot refused a request outright; false then. */
  function reportHttpProblem(response: DriverResponse): boolean {
    if (response.status === 200) return true;
    write(paint('31', `The bot answered HTTP ${response.status}: ${response.body.slice(0, 200) || '(no body)'}. Its log says more: ${logPath}`));
    return false;
  }

  async function slashCommand(command: string, text: string): Promise<void> {
    const baseline = printer.activity();
    const sent = await driver.slashCommand({ user: current, command, text });
    printer.responseTargets.set(sent.responseUrl, { user: current, channel: COMMAND_CHANNEL, from: undefined });
    reportHttpProblem(sent);
    await afterAction(baseline);
  }

  async function click(arg: string): Promise<void> {
    const n = Number(arg);
    const found = Number.isInteger(n) ? printer.buttons.get(n) : undefined;
    if (found === undefined) {
      const visible = [...printer.buttons.values()].filter((b) => b.message.visibleTo === undefined || b.message.visibleTo === current).map((b) => b.button.index);
      const gone = Number.isInteger(n) && n > 0 && n < printer.nextButton();
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
      write(`Only ${nameOf(message.visibleTo)} sees that ${message.view ? 'App Home' : 'message'}: type \`as ${owner?.key ?? message.visibleTo}\` first.`);
      return;
    }
    const baseline = printer.activity();
    const clicked = { user: current, actionId: button.actionId, ...(button.value === undefined ? {} : { value: button.value }), ...(button.blockId === undefined ? {} : { blockId: button.blockId }) };
    if (message.view) {
      // A click in App Home comes from a view: no message, no response_url (the bot answers in the DM).
      reportHttpProblem(await driver.blockAction({ ...clicked, view: { ...message.view, blocks: message.blocks } }));
    } else {
      const ts = printer.tsOf(message) ?? `${Math.floor(Date.now() / 1000)}.${String(++syntheticTs).padStart(6, '0')}`;
      const sent = await driver.blockAction({
        ...clicked,
        container: { channel: message.channel || COMMAND_CHANNEL, messageTs: ts, isEphemeral: message.isEphemeral },
        message: { type: 'message', ts, text: message.text, blocks: message.blocks },
      });
      printer.responseTargets.set(sent.responseUrl, { user: current, channel: message.channel, from: message });
      reportHttpProblem(sent);
    }
    write(paint('2', `(${nameOf(current)} clicked ${button.text})`));
    await afterAction(baseline);
  }

  /** Opens the bot's Home tab as the current user: Slack sends app_home_opened, the bot publishes the view. */
  async function home(): Promise<void> {
    const baseline = printer.activity();
    reportHttpProblem(await driver.event({ type: 'app_home_opened', user: current, channel: `D${current.slice(1)}`, tab: 'home' }));
    await afterAction(baseline);
  }

  /** Moves the bot's clock forward and lets it do what became due (reminders, expiry, revocations). */
  async function wait(arg: string): Promise<void> {
    if (arg === '') {
      write(`The bot's clock says ${new Date(clock.now()).toISOString()}${clock.offsetMs() > 0 ? ` (${formatDuration(clock.offsetMs())} ahead of this computer's)` : ''}. \`wait 65m\` moves it forward.`);
      return;
    }
    let ms: number;
    try {
      ms = parseDuration(arg);
    } catch (err) {
      write(`${err instanceof Error ? err.message : String(err)} For example: wait 65m, wait 2h, wait 1d.`);
      return;
    }
    const baseline = printer.activity();
    clock.advance(ms);
    write(paint('2', `(${formatDuration(ms)} later: the bot's clock says ${new Date(clock.now()).toISOString()})`));
    const now = clock.now();
    const due = (at: number | null) => at !== null && at <= now;
    const expectActivity = due(bot.expiry.nextDueAt()) || due(bot.store.outbox.nextDueAt(now));
    bot.timer.poke();
    bot.outbox.poke();
    await afterAction(baseline, expectActivity);
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
    onUser(current);
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
    write(paint('2', `(* = you. Groups: ${USER_GROUPS.map((g) => `@${g.handle} (${g.id}) = ${g.members.map(nameOf).join(', ')}`).join('; ')}.)`));
  }

  function rightsOf(id: string): string {
    const groups = USER_GROUPS.filter((g) => g.members.includes(id)).map((g) => g.id);
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
        '  /interop <text>  the DBA steps of data interoperability (`/interop help`); approvers decide with buttons',
        '  as <user>        act as maria, ana or luis, or any Slack user id (U…)',
        '  users            who is who, and who approves what',
        '  click <n>        click button [n] of a message (or App Home) you can see',
        '  home             open the bot\'s App Home tab as the current user',
        '  wait <duration>  move the bot\'s clock forward (`wait 65m`, `wait 1d`) and show what became due:',
        '                   reminders, expiry, revocations; `wait` alone shows the bot\'s time',
        '  help             this list',
        '  quit             stop (also `exit`, Ctrl-D or Ctrl-C)',
        'After each action the console prints what each person sees in Slack, asks for the fields of any form',
        'the bot opens, and prints the SQL each dry-run database received, under `SQL (<env>, dry run):`.',
        'What the bot does on its own (reminders, expiry) is printed as it happens.',
        `Passwords are masked there (${MASK}); a password shows only in the message its owner alone sees.`,
      ].join('\n'),
    );
  }

  async function handle(line: string): Promise<'quit' | undefined> {
    const trimmed = line.trim();
    if (trimmed === '') {
      // Shows at once what the bot did meanwhile, should the prompt not have printed it yet.
      if (printer.somethingUnseen()) await afterAction(printer.activity(), false);
      return undefined;
    }
    const [word = '', ...rest] = trimmed.split(/\s+/);
    const arg = rest.join(' ');
    if (SLASH_COMMANDS.includes(word)) {
      await slashCommand(word, trimmed.slice(word.length).trim());
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
      case 'home':
        await home();
        return undefined;
      case 'wait':
        await wait(arg);
        return undefined;
      case 'help':
        help();
        return undefined;
      case 'quit':
      case 'exit':
        return 'quit';
      default:
        write(word.startsWith('/') ? `The bot has no ${word.slice(0, 30)} command: it answers ${SLASH_COMMANDS.join(' and ')}.` : `I don't know "${word.slice(0, 30)}".`);
        help();
        return undefined;
    }
  }

  /** Reads and runs commands until quit or the end of the input. */
  async function run(): Promise<void> {
    // At the prompt, what the bot does on its own is printed above it as it happens; never during an
    // action or a form, whose own printing shows it.
    let reading = false;
    let busy = false;
    let background: Promise<void> = Promise.resolve();
    const watcher = setInterval(() => {
      if (!reading || busy || !printer.somethingUnseen()) return;
      busy = true;
      background = term.aside(() => afterAction(printer.activity(), false, false)).finally(() => void (busy = false));
    }, BACKGROUND_POLL_MS);
    try {
      for (;;) {
        reading = true;
        const line = await term.read(`${userOf(current)?.key ?? current.toLowerCase()}> `);
        reading = false;
        await background;
        if (line === undefined) break;
        try {
          if ((await handle(line)) === 'quit') break;
        } catch (err) {
          // A failed command (the bot unreachable, a malformed reply) should not end the session: say it and go on.
          write(paint('31', `That failed: ${err instanceof Error ? err.message : String(err)}`));
        }
      }
    } finally {
      clearInterval(watcher);
      term.close();
    }
  }

  return { run, help };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
