// What the bot did, as the people involved see it in Slack: each new Web API call printed (messages with
// numbered buttons, App Home, updates, files as tables), and the SQL each dry-run database received.
import type { Bot } from '../../src/app.js';
import { MASK, renderStatement } from '../../src/dialects/render.js';
import type { Row, Statement } from '../../src/dialects/statement.js';
import type { FakeSlack, SlackCall } from '../../test/fakes/fake-slack.js';
import { groupOf } from './people.js';
import { renderBlocks, type RenderedButton } from './render.js';
import type { Terminal } from './terminal.js';

/** Where the driver sends slash commands from (the fake's default channel). */
export const COMMAND_CHANNEL = 'C0CONSOLE1';

/** Calls a person in Slack never sees (a file's upload steps are shown once, as the file). */
const NOISE = new Set(['auth.test', 'users.info', 'usergroups.users.list', 'conversations.open', 'files.getUploadURLExternal', 'file_upload']);

/** A statement one dry-run database received, with what it answered. */
export interface Ran {
  env: string;
  family: 'tsql' | 'plsql';
  statement: Statement;
  rows: Row[];
}

/** A message (or App Home) the console printed: where, for whom, and whether it is still there (its buttons clickable). */
export interface Shown {
  channel: string;
  ts: string | undefined;
  /** Who sees it: a user for ephemeral messages, DMs and App Home; undefined for a channel, where everyone does. */
  visibleTo: string | undefined;
  isEphemeral: boolean;
  /** Set for App Home: its buttons are clicked from a view, not a message. */
  view?: { id: string; type: 'home' };
  text: string;
  blocks: unknown[];
  /** As printed. */
  lines: string[];
  buttons: RenderedButton[];
  /** Replaced or deleted: Slack no longer shows it, so its buttons cannot be clicked. */
  gone: boolean;
}

/** What a response_url belongs to: who triggered it and the message clicked (none for a slash command). */
export interface ResponseTarget {
  user: string;
  channel: string;
  from: Shown | undefined;
}

export interface Printer {
  /** Clickable buttons by number. */
  buttons: Map<number, { button: RenderedButton; message: Shown }>;
  /** The number the next button will get (numbers below it were given out). */
  nextButton(): number;
  responseTargets: Map<string, ResponseTarget>;
  /** Slack calls plus statements so far: grows whenever the bot does something. */
  activity(): number;
  somethingUnseen(): boolean;
  /** Prints the calls since the last print, stopping after a views.open, which it returns for prompting. */
  printNewCalls(): { modal: SlackCall | undefined; count: number };
  /** Prints the statements each dry-run database received since the last listing; true if there were any. */
  printSql(): boolean;
  /** Prints the audit stream's lines since the last print (AUDIT_STREAM=stdout); true if there were any. */
  printStreamed(): boolean;
  nameOf(id: string): string;
  /** Mentions as Slack shows them: `<@U0MARIA>` reads "@Maria Silva", `<!subteam^S0DBAS>` reads "@dbas". */
  withNames(value: unknown): unknown;
  tag(label: string): string;
  tsOf(message: Shown): string | undefined;
}

export function createPrinter(parts: { term: Terminal; fake: FakeSlack; bot: Bot; ran: Ran[]; streamed?: readonly string[]; current: () => string }): Printer {
  const { term, fake, bot, ran, current } = parts;
  const streamed = parts.streamed ?? [];
  let streamCursor = 0;
  const { write, paint } = term;
  let callCursor = 0;
  let sqlCursor = 0;
  let nextButton = 1;
  const buttons = new Map<number, { button: RenderedButton; message: Shown }>();
  const shown: Shown[] = [];
  const responseTargets = new Map<string, ResponseTarget>();
  /** The file being uploaded (files.uploadV2 takes three calls): its name, then its content. */
  let upload: { filename: string; content?: string } | undefined;

  function nameOf(id: string): string {
    return fake.users.get(id)?.displayName ?? id;
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

  function withNames(value: unknown): unknown {
    if (typeof value === 'string') {
      return value
        .replace(/<@([UW][A-Z0-9]+)>/g, (_, id: string) => `<@${id}|${nameOf(id)}>`)
        .replace(/<!subteam\^([A-Z0-9]+)>/g, (whole, id: string) => {
          const group = groupOf(id);
          return group === undefined ? whole : `<!subteam^${id}|@${group.handle}>`;
        });
    }
    if (Array.isArray(value)) return value.map(withNames);
    if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withNames(v)]));
    return value;
  }

  function tag(label: string): string {
    return paint('1;36', `[${label}]`);
  }

  function activity(): number {
    return fake.calls.length + ran.length;
  }

  function somethingUnseen(): boolean {
    return sqlCursor < ran.length || streamCursor < streamed.length || fake.calls.slice(callCursor).some((call) => !NOISE.has(call.method));
  }

  function printStreamed(): boolean {
    const lines = streamed.slice(streamCursor);
    streamCursor = streamed.length;
    for (const line of lines) write(`${paint('2', '[audit stream]')} ${line}`);
    return lines.length > 0;
  }

  function printNewCalls(): { modal: SlackCall | undefined; count: number } {
    let count = 0;
    while (callCursor < fake.calls.length) {
      const call = fake.calls[callCursor]!;
      callCursor += 1;
      remember(call);
      if (NOISE.has(call.method)) continue;
      if (call.method === 'views.open' || call.method === 'views.push') return { modal: call, count };
      printCall(call);
      count += 1;
    }
    return { modal: undefined, count };
  }

  /** What a later call needs from an earlier one: the name and the content of a file being uploaded. */
  function remember(call: SlackCall): void {
    if (call.method === 'files.getUploadURLExternal') upload = { filename: stringOf(call.args['filename']) ?? 'file' };
    if (call.method === 'file_upload' && upload) upload.content = uploadedFile(stringOf(call.args['content']) ?? '');
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
      case 'views.publish': {
        // App Home: one view per person; publishing again replaces the last one (and its buttons).
        const user = stringOf(args['user_id']) ?? '';
        const view = isRecord(args['view']) ? args['view'] : {};
        for (const message of shown.filter((m) => m.view !== undefined && m.visibleTo === user && !m.gone)) markGone(message);
        const blocks = Array.isArray(view['blocks']) ? view['blocks'] : [];
        printMessage(`App Home of ${nameOf(user)}`, { channel: '', ts: undefined, visibleTo: user, isEphemeral: false, view: { id: `VHOME${user}`, type: 'home' } }, { blocks });
        return;
      }
      case 'files.completeUploadExternal':
        printFile(stringOf(args['channel_id']));
        return;
      case 'response_url': {
        const target = responseTargets.get(stringOf(args['responseUrl']) ?? '');
        const user = target?.user ?? current();
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

  /** A file as a person opens it: a CSV as a table of its rows. */
  function printFile(channel: string | undefined): void {
    const file = upload ?? { filename: 'file' };
    upload = undefined;
    write(`${tag(`file in ${channel ? channelLabel(channel) : 'Slack'}`)} ${file.filename}`);
    const content = file.content ?? '';
    if (!file.filename.endsWith('.csv')) {
      for (const line of content.split('\n').slice(0, 40)) write(`  ${line}`);
      return;
    }
    const [header = [], ...rows] = parseCsv(content);
    const actor = header.indexOf('actor');
    const at = header.indexOf('at');
    const named = rows.map((row) =>
      row.map((cell, i) => (i === actor && /^[UW][A-Z0-9]+$/.test(cell) ? nameOf(cell) : i === at ? cell.replace('T', ' ').slice(0, 19) : cell)),
    );
    for (const line of table(header, named)) write(`  ${line}`);
    write(paint('2', `  (${rows.length} ${rows.length === 1 ? 'entry' : 'entries'})`));
  }

  /** Prints a message and makes its buttons clickable. An update of a message shown before prints only what changed. */
  function printMessage(label: string, where: Pick<Shown, 'channel' | 'ts' | 'visibleTo' | 'isEphemeral' | 'view'>, args: Record<string, unknown>, previous?: Shown): void {
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

  return { buttons, nextButton: () => nextButton, responseTargets, activity, somethingUnseen, printNewCalls, printSql, printStreamed, nameOf, withNames, tag, tsOf };
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
  // Queries, and statements that answer with rows (the write grants in one batch list the tables granted).
  if (statement.kind === 'query' || r.rows.length > 0) {
    const rows = r.rows.map((row) => Object.values(row).map(String).join(','));
    lines.push(`--   dry run answered ${rows.length === 0 ? 'no rows' : rows.join(' | ')}`);
  }
  return lines;
}

/** The file in an upload's body: the body itself, or its first part when it is multipart/form-data (RFC 7578). */
export function uploadedFile(body: string): string {
  const boundary = /^(--[^\r\n]+)\r?\n/.exec(body)?.[1];
  if (boundary === undefined) return body;
  const part = body.slice(boundary.length).split(boundary)[0] ?? '';
  const start = part.search(/\r?\n\r?\n/);
  return start === -1 ? '' : part.slice(start).replace(/^\r?\n\r?\n/, '').replace(/\r?\n$/, '');
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** Rows as aligned columns under a header; long cells are cut with … so a row stays one line. */
export function table(header: string[], rows: string[][], maxCell = 48): string[] {
  const cut = (cell: string) => (cell.length > maxCell ? `${cell.slice(0, maxCell - 1)}…` : cell);
  const all = [header, ...rows].map((row) => row.map(cut));
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(all[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...all.slice(1).map(line)];
}

export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
