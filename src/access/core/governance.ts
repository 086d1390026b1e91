// Governance rules checked on a request (issue 17 items 1 and 5): the ticket reference and the reason
// (policy.ticket, policy.reason), and the change window (policy.window) that decides, at request time,
// how many approvals a request needs. Pure: the caller passes the environment, the kind and the time.
import type { LoadedEnvironment } from '../../config.js';
import { forKind, parseDays, parseHours, type GovernedKind } from '../../config-governance.js';
import { escapeText } from '../../text.js';
import type { Refusal } from './refusal.js';

/** Longest ticket reference kept: ticket keys are short (CHG-1234, INC0012345). */
export const MAX_TICKET = 64;

/**
 * Checks the ticket against the environment's rule for `kind`, adding every problem to `refusal` (form
 * field 'ticket'); returns the ticket to record (trimmed), or null when none was given.
 */
export function checkTicket(env: LoadedEnvironment, kind: GovernedKind, ticket: string | undefined, refusal: Refusal): string | null {
  const rule = forKind(env.policy.ticket, kind);
  const given = ticket?.trim() ?? '';
  const example = rule?.example ? `, e.g. ${escapeText(rule.example)}` : '';
  if (given === '') {
    if (rule?.required) {
      refusal.add('invalid_input', `${env.name} needs a ticket reference for ${kind} users${rule.pattern ? ` (\`${escapeText(rule.pattern)}\`${example})` : example}: add --ticket, or fill in Ticket.`, 'ticket');
    }
    return null;
  }
  if (given.length > MAX_TICKET || !/^[\x21-\x7e]+$/.test(given)) {
    refusal.add('invalid_input', `A ticket reference is one word of at most ${MAX_TICKET} printable characters${example}.`, 'ticket');
    return null;
  }
  if (rule?.pattern !== undefined && !new RegExp(rule.pattern).test(given)) {
    refusal.add('invalid_input', `The ticket ${escapeText(given)} is not what ${env.name} expects: it must match \`${escapeText(rule.pattern)}\`${example}.`, 'ticket');
    return null;
  }
  return given;
}

/** Checks the reason against the environment's rule for `kind` (form field 'reason'). */
export function checkReason(env: LoadedEnvironment, kind: GovernedKind, reason: string, refusal: Refusal): void {
  const rule = forKind(env.policy.reason, kind);
  if (rule === undefined) return;
  const text = reason.trim();
  const example = rule.example ? `, e.g. "${escapeText(rule.example)}"` : '';
  if (rule.minLength !== undefined && text.length < rule.minLength) {
    refusal.add('invalid_input', `${env.name} needs a reason of at least ${rule.minLength} characters for ${kind} users (yours has ${text.length})${example}.`, 'reason');
  } else if (rule.pattern !== undefined && !new RegExp(rule.pattern).test(text)) {
    refusal.add('invalid_input', `The reason does not follow ${env.name}'s rule for ${kind} users: it must match \`${escapeText(rule.pattern)}\`${example}.`, 'reason');
  }
}

/** The mrkdwn link to the ticket (url with {ticket} URL-encoded), or the escaped ticket when there is no url. */
export function ticketLink(env: LoadedEnvironment, kind: GovernedKind, ticket: string): string {
  const url = forKind(env.policy.ticket, kind)?.url;
  const label = escapeText(ticket);
  if (url === undefined) return label;
  // encodeURIComponent leaves no | or > that would end Slack's <url|label> early (api.slack.com/reference/surfaces/formatting#linking-urls).
  const href = url.replace('{ticket}', encodeURIComponent(ticket)).replaceAll('|', '%7C').replaceAll('>', '%3E').replaceAll('<', '%3C');
  return `<${href}|${label}>`;
}

export interface ChangeWindow {
  days: number[];
  start: number;
  end: number;
  timezone: string;
  outside: 'extra-approval' | 'break-glass';
  /** "Mon–Fri 08:00–18:00 Europe/Lisbon" */
  label: string;
}

const DAY_LABELS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The window that applies to `kind` in `env`, or undefined when there is none. */
export function windowOf(env: LoadedEnvironment, kind: GovernedKind): ChangeWindow | undefined {
  const rule = forKind(env.policy.window, kind);
  if (rule?.days === undefined || rule.hours === undefined || rule.timezone === undefined) return undefined;
  const days = parseDays(rule.days);
  const hours = parseHours(rule.hours);
  // Checked at load: only a file edited around the schema could get here.
  if (days === undefined || hours === undefined) return undefined;
  return { days, ...hours, timezone: rule.timezone, outside: rule.outside ?? 'extra-approval', label: `${daysLabel(days)} ${rule.hours.replace('-', '–')} ${rule.timezone}` };
}

function daysLabel(days: number[]): string {
  // Monday first, as a work week reads; consecutive days as a range.
  const order = [1, 2, 3, 4, 5, 6, 0].filter((d) => days.includes(d));
  const runs: number[][] = [];
  for (const d of order) {
    const last = runs.at(-1);
    if (last && (last.at(-1)! + 1) % 7 === d) last.push(d);
    else runs.push([d]);
  }
  return runs.map((r) => (r.length > 2 ? `${DAY_LABELS[r[0]!]}–${DAY_LABELS[r.at(-1)!]}` : r.map((d) => DAY_LABELS[d]).join(', '))).join(', ');
}

/** True when `at` (ms since the epoch) falls inside the window, read in its time zone. */
export function insideWindow(window: ChangeWindow, at: number): boolean {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: window.timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = DAY_LABELS.indexOf(part('weekday'));
  const minute = Number(part('hour')) * 60 + Number(part('minute'));
  return window.days.includes(day) && minute >= window.start && minute < window.end;
}

/** The most approvals a quorum can ask for (policy.approvals allows 1 to 5): one more never goes past it. */
export const MAX_APPROVALS = 5;

export interface WindowRequirement {
  /** The window the request falls outside of, or undefined when it is inside (or there is none). */
  outside?: ChangeWindow;
  /** Approvals the request needs, fixed when it is made. */
  required: number;
}

/**
 * What the change window asks of a request made at `at`: inside (or without a window), the policy's
 * quorum; outside with `extra-approval`, one more (at most MAX_APPROVALS); with `break-glass`, the quorum,
 * and the caller refuses anyone not breaking glass.
 */
export function windowRequirement(env: LoadedEnvironment, kind: GovernedKind, at: number): WindowRequirement {
  const base = env.policy.approvals[kind];
  const window = windowOf(env, kind);
  if (window === undefined || insideWindow(window, at)) return { required: base };
  return { outside: window, required: window.outside === 'extra-approval' ? Math.min(base + 1, MAX_APPROVALS) : base };
}

/** For the approval message: "Outside the change window (Mon–Fri 08:00–18:00 Europe/Lisbon): needs 2 approvals." */
export function outsideWindowLine(label: string, required: number): string {
  return `:clock3: Outside the change window (${label}): needs ${required} approval${required === 1 ? '' : 's'}.`;
}
