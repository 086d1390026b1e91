// /interop: the command text parsed into what the DBA asked for, or a sentence saying what was wrong and the right form.
import { AppError } from '../errors.js';
import { tokenize } from './dbuser.js';

export type InteropCommand =
  | { action: 'help' }
  | { action: 'setup'; env: string }
  | { action: 'expose'; env: string; entity: string; view?: string; module?: string }
  | { action: 'promote'; entity: string; from: string; to: string; view?: string; module?: string }
  | { action: 'status'; env: string }
  | { action: 'sync'; env: string };

// `&lt;` and `&gt;`: Slack reads a bare <env> in mrkdwn as a link or mention and hides it.
export const INTEROP_USAGE = {
  setup: '`/interop setup &lt;env&gt;`: create the interoperability user and its read grants (approved first)',
  expose: '`/interop expose &lt;env&gt; &lt;entity&gt; [--view OSUSR_VIEW_NAME] [--module &lt;module&gt;]`: grant the exposed entity\'s view and table',
  promote: '`/interop promote &lt;entity&gt; --from &lt;env&gt; --to &lt;env&gt;`: the same grants in another environment',
  status: '`/interop status &lt;env&gt;`: the user, granted views, views lacking grants, grants for views gone',
  sync: '`/interop sync &lt;env&gt;`: grant every exposed view lacking grants (approved first)',
  help: '`/interop help`: this list',
} as const;

export function interopUsage(): string {
  return ['Usage:', ...Object.values(INTEROP_USAGE).map((line) => `• ${line}`)].join('\n');
}

function usage(problem: string, action?: keyof typeof INTEROP_USAGE): AppError {
  return new AppError('invalid_input', `${problem}\n${action ? `Use: ${INTEROP_USAGE[action]}` : interopUsage()}`);
}

/** Options after the positional words: each `--name value` at most once. */
function options(args: string[], allowed: string[], action: keyof typeof INTEROP_USAGE): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i]!;
    if (!allowed.includes(name)) throw usage(name.startsWith('--') ? `Unknown option \`${name.slice(0, 30)}\`.` : `Unexpected \`${name.slice(0, 30)}\`.`, action);
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw usage(`\`${name}\` needs a value.`, action);
    if (name in out) throw usage(`\`${name}\` is given twice.`, action);
    out[name] = value;
  }
  return out;
}

export function parseInterop(text: string): InteropCommand {
  if (text.length > 1000) throw usage('That command is too long.');
  const [verb, ...args] = tokenize(text);
  const positional = (n: number, action: keyof typeof INTEROP_USAGE, what: string) => {
    const words = args.slice(0, n);
    if (words.length < n || words.some((w) => w.startsWith('--'))) throw usage(`\`${action}\` needs ${what}.`, action);
    return words;
  };
  switch ((verb ?? 'help').toLowerCase()) {
    case 'help':
      return { action: 'help' };
    case 'setup':
    case 'status':
    case 'sync': {
      const action = verb!.toLowerCase() as 'setup' | 'status' | 'sync';
      if (args.length !== 1) throw usage(`\`${action}\` needs exactly one environment name.`, action);
      return { action, env: positional(1, action, 'an environment name')[0]! };
    }
    case 'expose': {
      const [env, entity] = positional(2, 'expose', 'an environment and an entity name');
      const o = options(args.slice(2), ['--view', '--module'], 'expose');
      return { action: 'expose', env: env!, entity: entity!, ...(o['--view'] ? { view: o['--view'] } : {}), ...(o['--module'] ? { module: o['--module'] } : {}) };
    }
    case 'promote': {
      const [entity] = positional(1, 'promote', 'an entity name');
      const o = options(args.slice(1), ['--from', '--to', '--view', '--module'], 'promote');
      if (!o['--from'] || !o['--to']) throw usage('`promote` needs both --from and --to.', 'promote');
      return {
        action: 'promote',
        entity: entity!,
        from: o['--from'],
        to: o['--to'],
        ...(o['--view'] ? { view: o['--view'] } : {}),
        ...(o['--module'] ? { module: o['--module'] } : {}),
      };
    }
    default:
      throw usage(`I don't know \`${String(verb).slice(0, 30)}\`.`);
  }
}
