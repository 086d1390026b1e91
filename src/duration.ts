// Durations as people write them (12h, 90m, 1h30m, 7d): parsed to milliseconds for the config and commands, formatted back for display.
import { z } from 'zod';
import { AppError } from './errors.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Longest duration accepted: anything longer is a typo (12000h), not a real TTL or timeout. */
export const MAX_DURATION_MS = 365 * DAY;

// Largest unit first, each unit at most once, whole numbers only: one spelling per duration keeps
// audit logs and Slack messages unambiguous.
const DURATION_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

const FORM = 'write a whole number and a unit (d, h, m or s), largest unit first, e.g. 12h, 90m or 1h30m';

// For a value that is not text at all (a bare number in YAML), so there is nothing to quote.
const DURATION_FORM = `a duration: ${FORM}`;

/** Milliseconds for `text`, or the sentence that says why it is not a duration. */
function readDuration(text: string): { ms: number } | { problem: string } {
  // Quote at most a short prefix: the text may be anything a user pasted.
  const quoted = text.length > 20 ? `'${text.slice(0, 20)}…'` : `'${text}'`;
  const match = DURATION_PATTERN.exec(text);
  if (text === '' || match === null) {
    return { problem: `${text === '' ? 'an empty text' : quoted} is not a duration: ${FORM}` };
  }
  const [, days, hours, minutes, seconds] = match;
  const ms =
    Number(days ?? 0) * DAY + Number(hours ?? 0) * HOUR + Number(minutes ?? 0) * MINUTE + Number(seconds ?? 0) * SECOND;
  if (ms === 0) {
    return { problem: `${quoted} is zero: a duration must be longer than that, e.g. 10m` };
  }
  if (ms > MAX_DURATION_MS) {
    return { problem: `${quoted} is longer than the maximum of 365d: ${FORM}` };
  }
  return { ms };
}

/**
 * Milliseconds in `text` (`12h`, `90m`, `20s`, `1h30m`, `7d`).
 * Throws AppError('invalid_input') for anything else, including zero and more than 365 days.
 */
export function parseDuration(text: string): number {
  const result = readDuration(text);
  if ('problem' in result) {
    throw new AppError('invalid_input', result.problem, { field: 'duration' });
  }
  return result.ms;
}

/** `ms` in the form parseDuration reads, rounded to whole seconds: 43200000 → `12h`, 5400000 → `1h30m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new AppError('internal', `formatDuration needs a finite, non-negative number of milliseconds, got ${ms}`);
  }
  let rest = Math.round(ms / SECOND) * SECOND;
  if (rest === 0) {
    return '0s';
  }
  let text = '';
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', SECOND],
  ] satisfies [string, number][]) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}

/** A duration written as text in a config file or command, parsed to milliseconds. */
export const Duration = z.string({ error: `expected ${DURATION_FORM}` }).transform((text, ctx) => {
  const result = readDuration(text);
  if ('problem' in result) {
    ctx.issues.push({ code: 'custom', message: result.problem, input: text });
    return z.NEVER;
  }
  return result.ms;
});
export type Duration = z.infer<typeof Duration>;
