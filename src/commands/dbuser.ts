// /dbuser: the command text parsed into what the user asked for, or a sentence saying what was wrong and the right form.
import { parseDuration } from '../duration.js';
import { AppError } from '../errors.js';

export type DbuserCommand =
  | { action: 'help' }
  | { action: 'request-modal' }
  | { action: 'permanent-modal' }
  | { action: 'request'; env: string; durationMs?: number; reason: string; breakGlass: boolean; ticket?: string }
  | { action: 'details'; env: string }
  | { action: 'delete'; env: string }
  | { action: 'revoke'; username: string }
  | { action: 'permanent'; envs: string[]; access: 'readonly' | 'readwrite'; via: 'vpn' | 'tgw' | 'allowlist'; ips: string[]; reason: string; ticket?: string }
  | { action: 'rotate'; env: string; access: 'readonly' | 'readwrite' }
  | { action: 'sync'; env: string }
  | { action: 'audit'; env?: string; sinceMs: number }
  | { action: 'list' }
  // Issue 17 item 3: access reviews of permanent users.
  | { action: 'reviews' };

// `&lt;` and `&gt;`: Slack reads a bare <env> in mrkdwn as a link or mention and hides it.
export const USAGE: Record<Exclude<DbuserCommand['action'], 'request-modal' | 'permanent-modal'>, string> = {
  help: '`/dbuser help`: this list',
  request: '`/dbuser request &lt;env&gt; [--for 4h] [--reason "why"] [--ticket CHG-1234] [--break-glass]`: a temporary database user (bare `/dbuser request` opens a form)',
  details: '`/dbuser details &lt;env&gt;`: server, port, database, username, access and expiry of your users there (temporary and permanent)',
  delete: '`/dbuser delete &lt;env&gt;`: revoke your temporary user now, or withdraw your request waiting there (temporary or permanent)',
  list: '`/dbuser list`: your users and requests (approvers: also those they approve)',
  revoke: '`/dbuser revoke &lt;username&gt;`: revoke your own user now (a permanent one after you confirm); approvers revoke anyone\'s',
  permanent:
    '`/dbuser permanent &lt;env&gt;[,&lt;env&gt;…] --access read|readwrite --via vpn|tgw|allowlist [--ip 52.95.110.1,…] --reason "why" [--ticket CHG-1234]`: a permanent user (always approved)',
  rotate: '`/dbuser rotate &lt;env&gt; --access read|readwrite`: a new password for your permanent user (approved)',
  sync: '`/dbuser sync &lt;env&gt;`: grant read & write users the tables added since (new OSUSR_ tables after a publish)',
  audit: '`/dbuser audit [&lt;env&gt;] [--since 7d]`: approvers see the audit log, and get it as CSV in their DM',
  // Issue 17 item 3.
  reviews: '`/dbuser reviews`: approvers see the access reviews of permanent users that are open or due soon',
};

export function usageText(): string {
  return ['Usage:', ...Object.values(USAGE).map((line) => `• ${line}`)].join('\n');
}

/** Thrown for malformed command text; the message says what was wrong and shows the right form. */
export function usageError(problem: string, action?: keyof typeof USAGE): AppError {
  const form = action ? `\nUse: ${USAGE[action]}` : `\n${usageText()}`;
  return new AppError('invalid_input', `${problem}${form}`);
}

/**
 * Splits on white space, keeping "quoted text" together. Slack clients often turn straight quotes
 * into curly ones, so “…” and ‘…’ count as quotes too.
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /"([^"]*)"|“([^”]*)”|‘([^’]*)’|'([^']*)'|(\S+)/g;
  const trimmed = text.trim();
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = re.exec(trimmed)) !== null) {
    consumed = re.lastIndex;
    tokens.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? match[5] ?? '');
  }
  const rest = trimmed.slice(consumed).trim();
  if (rest.length > 0) throw usageError('A quote is not closed.');
  for (const token of tokens) if (/^["“”‘’]/.test(token)) throw usageError('A quote is not closed.');
  return tokens;
}

const MAX_REASON = 500;

export function parseDbuser(text: string): DbuserCommand {
  if (text.length > 2000) throw usageError('That command is too long.');
  const [verb, ...args] = tokenize(text);
  switch ((verb ?? 'help').toLowerCase()) {
    case 'help':
      if (args.length > 0) throw usageError('`help` takes nothing after it.', 'help');
      return { action: 'help' };
    case 'list':
      if (args.length > 0) throw usageError('`list` takes nothing after it.', 'list');
      return { action: 'list' };
    // Issue 17 item 3.
    case 'reviews':
      if (args.length > 0) throw usageError('`reviews` takes nothing after it.', 'reviews');
      return { action: 'reviews' };
    case 'details':
    case 'delete': {
      const action = verb!.toLowerCase() as 'details' | 'delete';
      if (args.length !== 1 || args[0]!.startsWith('--')) throw usageError(`\`${action}\` needs exactly one environment name.`, action);
      return { action, env: envName(args[0]!, action) };
    }
    case 'revoke':
      if (args.length !== 1 || args[0]!.startsWith('--')) throw usageError('`revoke` needs exactly one database username.', 'revoke');
      if (!/^[A-Za-z][A-Za-z0-9_]{0,127}$/.test(args[0]!)) throw usageError(`\`${args[0]!.slice(0, 40)}\` is not a database username.`, 'revoke');
      return { action: 'revoke', username: args[0]! };
    case 'request':
      return parseRequest(args);
    case 'permanent':
      return parsePermanent(args);
    case 'rotate': {
      const [env, ...rest] = args;
      if (!env || env.startsWith('--')) throw usageError('`rotate` needs the environment first.', 'rotate');
      const options = parseOptions(rest, { '--access': 'value' }, 'rotate');
      return { action: 'rotate', env: envName(env, 'rotate'), access: accessOf(options['--access'], 'rotate') };
    }
    case 'audit': {
      const env = args[0] && !args[0].startsWith('--') ? args[0] : undefined;
      const options = parseOptions(env ? args.slice(1) : args, { '--since': 'value' }, 'audit');
      let sinceMs = 7 * 24 * 3600_000;
      if (options['--since'] !== undefined) {
        try {
          sinceMs = parseDuration(options['--since']);
        } catch (err) {
          throw usageError((err as Error).message, 'audit');
        }
      }
      return { action: 'audit', ...(env ? { env: envName(env, 'audit') } : {}), sinceMs };
    }
    case 'sync':
      if (args.length !== 1 || args[0]!.startsWith('--')) throw usageError('`sync` needs exactly one environment name.', 'sync');
      return { action: 'sync', env: envName(args[0]!, 'sync') };
    default:
      throw usageError(`I don't know \`${String(verb).slice(0, 30)}\`.`);
  }
}

function parseRequest(args: string[]): DbuserCommand {
  if (args.length === 0) return { action: 'request-modal' };
  const [env, ...rest] = args;
  if (env!.startsWith('--')) throw usageError('Name the environment first.', 'request');
  const options = parseOptions(rest, { '--for': 'value', '--reason': 'value', '--break-glass': 'flag', '--ticket': 'value' }, 'request');
  let durationMs: number | undefined;
  if (options['--for'] !== undefined) {
    try {
      durationMs = parseDuration(options['--for']);
    } catch (err) {
      throw usageError((err as Error).message, 'request');
    }
  }
  const reason = options['--reason']?.trim() ?? '';
  if (options['--reason'] !== undefined && reason.length === 0) throw usageError('`--reason` needs text, in quotes when it has spaces.', 'request');
  if (reason.length > MAX_REASON) throw usageError(`The reason is too long: at most ${MAX_REASON} characters.`, 'request');
  const ticket = options['--ticket'];
  return {
    action: 'request',
    env: envName(env!, 'request'),
    ...(durationMs !== undefined ? { durationMs } : {}),
    reason,
    breakGlass: options['--break-glass'] === 'true',
    // The environment's rule (policy.ticket) checks it: the parser only carries it.
    ...(ticket !== undefined ? { ticket } : {}),
  };
}

/** An environment name as the configuration allows them, so a typo is told as such, not as "not found". */
function envName(value: string, action: keyof typeof USAGE): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/i.test(value)) throw usageError(`\`${value.slice(0, 32)}\` is not an environment name (letters, digits and -, starting with a letter).`, action);
  return value;
}

type OptionKinds = Record<string, 'value' | 'flag'>;

/** `--name value` and `--flag` options, each at most once; anything else is a usage error naming it. */
function parseOptions(args: string[], kinds: OptionKinds, action: keyof typeof USAGE): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (let i = 0; i < args.length; i++) {
    const option = args[i]!;
    const kind = kinds[option];
    if (!kind) {
      throw usageError(option.startsWith('--') ? `Unknown option \`${option.slice(0, 30)}\`.` : `Unexpected \`${option.slice(0, 30)}\` (put text with spaces in quotes).`, action);
    }
    if (option in out) throw usageError(`\`${option}\` is given twice.`, action);
    if (kind === 'flag') {
      out[option] = 'true';
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw usageError(`\`${option}\` needs a value.`, action);
    out[option] = value;
    i++;
  }
  return out;
}

function accessOf(value: string | undefined, action: keyof typeof USAGE): 'readonly' | 'readwrite' {
  const v = value?.toLowerCase();
  if (v === 'read' || v === 'readonly' || v === 'read-only') return 'readonly';
  if (v === 'readwrite' || v === 'read-write' || v === 'rw') return 'readwrite';
  throw usageError(value === undefined ? '`--access` is missing: read or readwrite.' : `\`--access ${value.slice(0, 20)}\`: use read or readwrite.`, action);
}

function parsePermanent(args: string[]): DbuserCommand {
  // Bare, it opens a form that asks for every field.
  if (args.length === 0) return { action: 'permanent-modal' };
  const first = args.findIndex((a) => a.startsWith('--'));
  const names = (first === -1 ? args : args.slice(0, first)).flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean);
  if (names.length === 0) throw usageError('Name the environment(s) first.', 'permanent');
  for (const name of names) envName(name, 'permanent');
  const options = parseOptions(first === -1 ? [] : args.slice(first), { '--access': 'value', '--via': 'value', '--ip': 'value', '--reason': 'value', '--ticket': 'value' }, 'permanent');
  const via = options['--via']?.toLowerCase();
  if (via !== 'vpn' && via !== 'tgw' && via !== 'allowlist') {
    throw usageError(via === undefined ? '`--via` is missing: vpn, tgw or allowlist.' : `\`--via ${via.slice(0, 20)}\`: use vpn, tgw or allowlist.`, 'permanent');
  }
  const reason = options['--reason']?.trim() ?? '';
  if (reason.length === 0) throw usageError('`--reason` is missing: say what the user is for.', 'permanent');
  if (reason.length > MAX_REASON) throw usageError(`The reason is too long: at most ${MAX_REASON} characters.`, 'permanent');
  const ips = (options['--ip'] ?? '').split(',').map((ip) => ip.trim()).filter(Boolean);
  const ticket = options['--ticket'];
  return { action: 'permanent', envs: names, access: accessOf(options['--access'], 'permanent'), via, ips, reason, ...(ticket !== undefined ? { ticket } : {}) };
}
