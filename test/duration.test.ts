// Durations: the forms parseDuration accepts and refuses, formatDuration's display, and the zod schema.
import { describe, expect, it } from 'vitest';
import { Duration, MAX_DURATION_MS, formatDuration, parseDuration } from '../src/duration.js';
import { AppError } from '../src/errors.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  it.each([
    ['12h', 12 * HOUR],
    ['90m', 90 * MINUTE],
    ['20s', 20 * SECOND],
    ['1h30m', HOUR + 30 * MINUTE],
    ['7d', 7 * DAY],
    ['1d2h3m4s', DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND],
    ['365d', 365 * DAY],
    ['0h5m', 5 * MINUTE],
  ])('reads %s', (text, expected) => {
    // Act
    const ms = parseDuration(text);

    // Assert
    expect(ms).toBe(expected);
  });

  it.each([
    ['', 'an empty text is not a duration'],
    ['12', "'12' is not a duration"],
    ['12x', "'12x' is not a duration"],
    ['-5m', "'-5m' is not a duration"],
    ['1.5h', "'1.5h' is not a duration"],
    ['1h 30m', "'1h 30m' is not a duration"],
    [' 12h', "' 12h' is not a duration"],
    ['12H', "'12H' is not a duration"],
    ['30m1h', "'30m1h' is not a duration"],
    ['1h1h', "'1h1h' is not a duration"],
    ['h', "'h' is not a duration"],
    ['0s', "'0s' is zero"],
    ['366d', "'366d' is longer than the maximum of 365d"],
    ['9000h', "'9000h' is longer than the maximum of 365d"],
    ['99999999999999999999999d', 'is longer than the maximum of 365d'],
  ])('refuses %j with a message that says why', (text, reason) => {
    // Act
    const act = () => parseDuration(text);

    // Assert
    expect(act).toThrowError(AppError);
    expect(act).toThrowError(
      expect.objectContaining({ code: 'invalid_input', message: expect.stringContaining(reason) }),
    );
  });

  it('says the accepted form with an example', () => {
    // Act
    const act = () => parseDuration('12x');

    // Assert
    expect(act).toThrowError(/a whole number and a unit \(d, h, m or s\).*e\.g\. 12h, 90m or 1h30m/);
  });

  it('quotes only the start of a long input', () => {
    // Act
    const act = () => parseDuration('x'.repeat(500));

    // Assert
    expect(act).toThrowError(`'${'x'.repeat(20)}…' is not a duration`);
  });
});

describe('formatDuration', () => {
  it.each([
    [12 * HOUR, '12h'],
    [90 * MINUTE, '1h30m'],
    [45 * SECOND, '45s'],
    [7 * DAY, '7d'],
    [36 * HOUR, '1d12h'],
    [HOUR + 5 * SECOND, '1h5s'],
    [0, '0s'],
    [1499, '1s'],
    [59_600, '1m'],
  ])('shows %d ms as %s', (ms, expected) => {
    // Act
    const text = formatDuration(ms);

    // Assert
    expect(text).toBe(expected);
  });

  it.each(['12h', '90m', '20s', '1h30m', '7d', '1d2h3m4s'])('reads back what it wrote for %s', (text) => {
    // Arrange
    const ms = parseDuration(text);

    // Act
    const again = parseDuration(formatDuration(ms));

    // Assert
    expect(again).toBe(ms);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses %d, a bug in the caller', (ms) => {
    // Act
    const act = () => formatDuration(ms);

    // Assert
    expect(act).toThrowError(expect.objectContaining({ code: 'internal' }));
  });
});

describe('Duration schema', () => {
  it('turns text into milliseconds', () => {
    // Act
    const result = Duration.safeParse('1h30m');

    // Assert
    expect(result).toEqual({ success: true, data: HOUR + 30 * MINUTE });
  });

  it.each([
    ['12x', "'12x' is not a duration: write a whole number and a unit"],
    [12, 'expected a duration: write a whole number and a unit (d, h, m or s)'],
    [undefined, 'expected a duration'],
  ])('refuses %j naming the form', (input, message) => {
    // Act
    const result = Duration.safeParse(input);

    // Assert
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain(message);
  });

  it('caps at 365 days', () => {
    // Assert
    expect(MAX_DURATION_MS).toBe(365 * DAY);
  });
});
