// The governance rules of an environment's policy (issue 17 items 1 and 5): a ticket reference, rules on
// the reason, and a change window; zod schemas checked at load, so a bad regex or time zone stops start-up
// naming its field. Each rule has one shape: its fields apply to every kind, and an optional `temporary:`
// or `permanent:` map overrides some of them for that kind (docs/configuration.md "Tickets, reasons, windows").
import { z } from 'zod';

export type GovernedKind = 'temporary' | 'permanent';

function message(what: string, example: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? `missing: add ${what}, e.g. ${example}` : `expected ${what}, e.g. ${example}`) };
}

/** A regular expression as JavaScript reads it; refused at load when it does not compile. */
const Pattern = z
  .string(message('a regular expression, in single quotes', "'^CHG-\\d+$'"))
  .min(1)
  .max(200)
  .refine((text) => compiles(text), { error: (issue) => `is not a regular expression JavaScript can read (${compileError(String(issue.input))}): fix it, e.g. '^CHG-\\d+$'` });

function compiles(text: string): boolean {
  return compileError(text) === undefined;
}

function compileError(text: string): string | undefined {
  try {
    new RegExp(text);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message.slice(0, 120) : 'invalid';
  }
}

/** The link to the ticket: {ticket} is replaced by the ticket, URL-encoded. */
const TicketUrl = z
  .string(message('an https URL with {ticket} where the ticket goes', "'https://jira.example.com/browse/{ticket}'"))
  .refine((text) => text.includes('{ticket}') && URL.canParse(text.replace('{ticket}', 'X')) && /^https?:/.test(text), {
    error: "expected an http(s) URL with {ticket} where the ticket goes, e.g. 'https://jira.example.com/browse/{ticket}'",
  });

const Bool = z.boolean(message('true or false', 'true'));
const Example = z.string(message('an example that matches the pattern, shown in refusals', 'CHG-1234')).min(1).max(64);

const ticketFields = { required: Bool.optional(), pattern: Pattern.optional(), example: Example.optional(), url: TicketUrl.optional() };
const reasonFields = {
  minLength: z.int(message('a whole number of characters from 0 to 500', '20')).min(0).max(500).optional(),
  pattern: Pattern.optional(),
  example: z.string(message('an example reason that matches the pattern', "'INC-42: orders stuck'")).min(1).max(200).optional(),
};

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** 'mon-fri', 'mon,wed,fri', 'mon-fri,sun' → day numbers, 0 = Sunday; undefined when it cannot be read. */
export function parseDays(text: string): number[] | undefined {
  const days = new Set<number>();
  for (const part of text.toLowerCase().split(',').map((p) => p.trim())) {
    const names: readonly string[] = DAY_NAMES;
    const [from, to, extra] = part.split('-').map((d) => names.indexOf(d));
    if (from === undefined || from < 0 || extra !== undefined || (to !== undefined && to < 0)) return undefined;
    // mon-fri; fri-mon wraps over the week end.
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === (to ?? from)) break;
    }
  }
  return [...days].sort();
}

/** '08:00-18:00' → minutes after midnight [start, end); undefined when it cannot be read or ends before it starts. */
export function parseHours(text: string): { start: number; end: number } | undefined {
  const match = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const [h1 = 0, m1 = 0, h2 = 0, m2 = 0] = match.slice(1).map(Number);
  if (h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || (h2 === 24 && m2 !== 0)) return undefined;
  const start = h1 * 60 + m1;
  const end = h2 * 60 + m2;
  return start < end ? { start, end } : undefined;
}

/** True when Intl knows the IANA time zone ('Europe/Lisbon'): RangeError otherwise (ECMA-402 DateTimeFormat). */
function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const WINDOW_EXAMPLES = { days: 'mon-fri', hours: "'08:00-18:00'", timezone: 'Europe/Lisbon' } as const;

const windowFields = {
  days: z.string(message('days of the week: a range, a list, or both', 'mon-fri')).refine((t) => parseDays(t) !== undefined, {
    error: 'expected days of the week as mon, tue, wed, thu, fri, sat, sun: a range (mon-fri), a list (mon,wed,fri) or both (mon-thu,sat)',
  }).optional(),
  hours: z.string(message('a start and end time, 24-hour', "'08:00-18:00'")).refine((t) => parseHours(t) !== undefined, {
    error: "expected HH:MM-HH:MM with the start before the end (24-hour, up to 24:00), e.g. '08:00-18:00'",
  }).optional(),
  timezone: z.string(message('an IANA time zone', 'Europe/Lisbon')).refine(knownTimeZone, {
    error: 'is not a time zone this Node.js knows: use an IANA name such as Europe/Lisbon, America/New_York or UTC',
  }).optional(),
  outside: z.enum(['extra-approval', 'break-glass'], message('extra-approval or break-glass', 'extra-approval')).optional(),
};

/** A rule's fields, then optional per-kind overrides of the same fields. */
function perKind<const Shape extends z.core.$ZodLooseShape>(shape: Shape, what: string) {
  const override = z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}: ${what}` : `expected a map of ${what}`) });
  return z.strictObject(
    { ...shape, temporary: override.optional(), permanent: override.optional() },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}: ${what}, and optionally temporary: {…} and permanent: {…}` : `expected a map of ${what}`) },
  );
}

/**
 * The example each kind is shown must match that kind's pattern, once merged: an override's pattern is
 * checked against the shared example too. Named where the example (or the pattern refusing it) is written.
 */
function examplesMatch(rule: { pattern?: string | undefined; example?: string | undefined; temporary?: { pattern?: string | undefined; example?: string | undefined } | undefined; permanent?: { pattern?: string | undefined; example?: string | undefined } | undefined }, ctx: z.RefinementCtx): void {
  for (const kind of ['temporary', 'permanent'] as const) {
    const { pattern, example } = forKind(rule, kind) ?? {};
    if (example === undefined || pattern === undefined || !compiles(pattern) || new RegExp(pattern).test(example)) continue;
    const override = rule[kind];
    const path = override?.example !== undefined || override?.pattern !== undefined ? [kind, 'example'] : ['example'];
    ctx.addIssue({ code: 'custom', path, message: `'${example}' does not match the pattern ${pattern}: give an example that does` });
  }
}

export const TicketPolicy = perKind(ticketFields, 'required, pattern, example, url').superRefine(examplesMatch);
export type TicketPolicy = z.infer<typeof TicketPolicy>;

export const ReasonPolicy = perKind(reasonFields, 'minLength, pattern, example').superRefine(examplesMatch);
export type ReasonPolicy = z.infer<typeof ReasonPolicy>;

export const WindowPolicy = perKind(windowFields, 'days, hours, timezone, outside').superRefine((rule, ctx) => {
  // A kind has a window when its merged fields name days, hours and timezone; some but not all is a mistake,
  // named where the missing part would go. None at all: that kind has no window (e.g. only temporary: {…}).
  for (const kind of ['temporary', 'permanent'] as const) {
    const merged = forKind(rule, kind) ?? {};
    const missing = (['days', 'hours', 'timezone'] as const).filter((field) => merged[field] === undefined);
    if (missing.length === 0 || missing.length === 3) continue;
    const path = rule[kind] !== undefined ? [kind] : [];
    for (const field of missing) {
      ctx.addIssue({ code: 'custom', path: [...path, field], message: `missing: a window needs days, hours and timezone; add ${field}, e.g. ${WINDOW_EXAMPLES[field]}` });
    }
  }
});
export type WindowPolicy = z.infer<typeof WindowPolicy>;

/** The fields that apply to `kind`: the rule's, with the kind's override on top. */
export function forKind<R extends { temporary?: object | undefined; permanent?: object | undefined }>(
  rule: R | undefined,
  kind: GovernedKind,
): Omit<R, 'temporary' | 'permanent'> | undefined {
  if (rule === undefined) return undefined;
  const { temporary, permanent, ...base } = rule;
  const override = kind === 'temporary' ? temporary : permanent;
  return { ...base, ...(override ?? {}) } as Omit<R, 'temporary' | 'permanent'>;
}

/** The governance fields of Policy, spread into its schema in src/config.ts. */
export const governancePolicyFields = {
  ticket: TicketPolicy.optional(),
  reason: ReasonPolicy.optional(),
  window: WindowPolicy.optional(),
};
