// The /dbuser parser under generated input: it never fails any other way than with a usage sentence,
// and whatever it accepts has sensible fields and reads back the same when written out canonically.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDbuser, type DbuserCommand } from '../../src/commands/dbuser.js';
import { formatDuration, MAX_DURATION_MS } from '../../src/duration.js';
import { AppError } from '../../src/errors.js';

const VERBS = ['help', 'list', 'details', 'delete', 'revoke', 'request', 'permanent', 'rotate', 'sync', 'audit', 'REQUEST', 'Permanent', 'launch'];
const OPTIONS = ['--for', '--reason', '--break-glass', '--access', '--via', '--ip', '--since', '--bogus', '--', '-for'];
const VALUES = [
  'dev',
  'prod',
  'DEV',
  'dev,prod',
  ',',
  ',,dev,',
  '4h',
  '90m',
  '1h30m',
  '0m',
  '366d',
  '12000h',
  '4 hours',
  '7d',
  'read',
  'readwrite',
  'read-only',
  'rw',
  'RW',
  'everything',
  'vpn',
  'tgw',
  'allowlist',
  'ALLOWLIST',
  '52.95.110.1',
  '10.0.0.1,52.95.110.2',
  '::1',
  'dbx_maria_silva_ab12',
  '""',
  '" "',
  '"a b"',
  '"fix order 42"',
  '“curly quoted”',
  '‘single curly’',
  "'single straight'",
  '"',
  '“',
  '”',
  '’',
  "'",
  'a"b',
  "it's",
  `"${'r'.repeat(501)}"`,
  `"${'r'.repeat(500)}"`,
  '"--reason"',
  '"--x"',
  "x'); DROP TABLE OSSYS_USER;--",
  '<!channel>',
  '\u200b',
  'dev\u200b',
  '😀',
];
const SEPARATORS = [' ', ' ', ' ', '  ', '\t', '\n', '\u00a0', '\u3000'];

const QUOTES = ['"', '“', '”', '‘', '’', "'", ' ', 'a', '-', '-', 'x', '\\'];

/** Text made of the real verbs, options and values, joined by assorted white space. */
const tokenSoup = fc
  .tuple(
    fc.constantFrom(...VERBS),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...OPTIONS), fc.constantFrom(...VALUES), fc.string({ maxLength: 6 })), fc.constantFrom(...SEPARATORS)), { maxLength: 9 }),
  )
  .map(([verb, rest]) => verb + rest.map(([token, sep]) => sep + token).join(''));

/** A verb and then something quote-heavy. */
const quoteHeavy = fc.tuple(fc.constantFrom(...VERBS), fc.string({ unit: fc.constantFrom(...QUOTES), maxLength: 40 })).map(([verb, rest]) => `${verb} ${rest}`);

/** What an accepted command must look like, whatever the input was. */
function expectSensible(command: DbuserCommand): void {
  const plainText = (value: string) => {
    expect(typeof value).toBe('string');
    expect(value.startsWith('--')).toBe(false);
  };
  switch (command.action) {
    case 'help':
    case 'list':
    case 'request-modal':
    case 'permanent-modal':
      expect(Object.keys(command)).toEqual(['action']);
      return;
    case 'request':
      plainText(command.env);
      expect(command.reason).toBe(command.reason.trim());
      expect(command.reason.length).toBeLessThanOrEqual(500);
      expect(typeof command.breakGlass).toBe('boolean');
      if (command.durationMs !== undefined) {
        expect(Number.isInteger(command.durationMs)).toBe(true);
        expect(command.durationMs).toBeGreaterThanOrEqual(1000);
        expect(command.durationMs).toBeLessThanOrEqual(MAX_DURATION_MS);
      }
      return;
    case 'details':
    case 'delete':
    case 'sync':
      plainText(command.env);
      return;
    case 'revoke':
      plainText(command.username);
      return;
    case 'audit':
      if (command.env !== undefined) plainText(command.env);
      expect(Number.isInteger(command.sinceMs)).toBe(true);
      expect(command.sinceMs).toBeGreaterThanOrEqual(1000);
      expect(command.sinceMs).toBeLessThanOrEqual(MAX_DURATION_MS);
      return;
    case 'rotate':
      plainText(command.env);
      expect(['readonly', 'readwrite']).toContain(command.access);
      return;
    case 'permanent':
      expect(command.envs.length).toBeGreaterThan(0);
      for (const env of command.envs) {
        expect(env.length).toBeGreaterThan(0);
        expect(env).toBe(env.trim());
        expect(env).not.toContain(',');
      }
      expect(['readonly', 'readwrite']).toContain(command.access);
      expect(['vpn', 'tgw', 'allowlist']).toContain(command.via);
      for (const ip of command.ips) {
        expect(ip.length).toBeGreaterThan(0);
        expect(ip).toBe(ip.trim());
        expect(ip).not.toContain(',');
      }
      expect(command.reason.length).toBeGreaterThan(0);
      expect(command.reason).toBe(command.reason.trim());
      expect(command.reason.length).toBeLessThanOrEqual(500);
      return;
    default:
      throw new Error(`an action this test does not know: ${JSON.stringify(command)}`);
  }
}

/** A value as one token: bare when it can be, else in a pair of quotes it does not contain. */
function quote(value: string): string | undefined {
  if (value !== '' && !/\s/.test(value) && !/^["“”‘’']/.test(value)) return value;
  for (const [open, close] of [['"', '"'], ['“', '”'], ['‘', '’'], ["'", "'"]] as const) {
    if (!value.includes(close)) return `${open}${value}${close}`;
  }
  return undefined;
}

/** The canonical text of a command; undefined when a value cannot be written as one token. */
function render(command: DbuserCommand): string | undefined {
  const q = (v: string) => quote(v);
  const parts = (items: Array<string | undefined>) => (items.some((i) => i === undefined) ? undefined : items.join(' '));
  switch (command.action) {
    case 'help':
    case 'list':
      return command.action;
    case 'request-modal':
      return 'request';
    case 'permanent-modal':
      return 'permanent';
    case 'request':
      return parts([
        'request',
        q(command.env),
        ...(command.durationMs !== undefined ? ['--for', formatDuration(command.durationMs)] : []),
        ...(command.reason ? ['--reason', q(command.reason)] : []),
        ...(command.breakGlass ? ['--break-glass'] : []),
      ]);
    case 'details':
    case 'delete':
    case 'sync':
      return parts([command.action, q(command.env)]);
    case 'revoke':
      return parts(['revoke', q(command.username)]);
    case 'audit':
      return parts(['audit', ...(command.env !== undefined ? [q(command.env)] : []), '--since', formatDuration(command.sinceMs)]);
    case 'rotate':
      return parts(['rotate', q(command.env), '--access', command.access]);
    case 'permanent':
      return parts([
        'permanent',
        q(command.envs.join(',')),
        '--access',
        command.access,
        '--via',
        command.via,
        ...(command.ips.length ? ['--ip', q(command.ips.join(','))] : []),
        '--reason',
        q(command.reason),
      ]);
  }
}

let accepted = 0;
let refused = 0;
let roundTrips = 0;

/** The contract, for any text: a command, or an invalid_input AppError whose message shows the right form. */
function checkContract(text: string): void {
  let command: DbuserCommand;
  try {
    command = parseDbuser(text);
  } catch (err) {
    refused++;
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('invalid_input');
    expect((err as AppError).message).toMatch(/Use:|Usage:/);
    return;
  }
  accepted++;
  expectSensible(command);
  const canonical = render(command);
  if (canonical === undefined || canonical.length > 2000) return;
  expect(parseDbuser(canonical)).toEqual(command);
  roundTrips++;
}

const RUNS = 2_600;

describe('parseDbuser under generated input', () => {
  it.each([
    ['arbitrary strings', fc.string({ maxLength: 120 })],
    ['full unicode (lone surrogates included)', fc.string({ unit: 'binary', maxLength: 80 })],
    ['quote-heavy strings', quoteHeavy],
    ['token soup of real verbs, options and values', tokenSoup],
  ] as const)('%s: a command or a usage error, never anything else', (_label, arbitrary) => {
    fc.assert(fc.property(arbitrary, checkContract), { numRuns: RUNS, seed: 20261122 });
  });

  it('ran at least 10,000 inputs; both outcomes happened many times, and nearly every accepted command was read back', () => {
    expect(accepted + refused).toBeGreaterThanOrEqual(10_000);
    expect(accepted).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
    expect(roundTrips).toBeGreaterThan(accepted * 0.9);
  });

  it('the round trip is checked for real: an accepted command with quoted values reads back equal', () => {
    const command = parseDbuser('permanent dev,prod --access rw --via allowlist --ip "52.95.110.1, 52.95.110.2" --reason “nightly export”');
    expect(render(command)).toBe('permanent dev,prod --access readwrite --via allowlist --ip 52.95.110.1,52.95.110.2 --reason "nightly export"');
    expect(parseDbuser(render(command)!)).toEqual(command);
  });

  it('pathological inputs of the maximum length are answered at once (no catastrophic backtracking)', () => {
    const inputs = ['"'.repeat(2000), '“'.repeat(2000), `request ${'"a '.repeat(666)}`, `permanent ${','.repeat(1990)}`, `request dev --reason "${'x'.repeat(1975)}"`, ' '.repeat(2000)];
    for (const text of inputs) {
      const started = performance.now();
      checkContract(text);
      expect(performance.now() - started).toBeLessThan(50);
    }
  });

  // PRODUCT FINDING (parser accepts empty or spaced names): src/commands/dbuser.ts, parseDbuser / parsePermanent
  // take a quoted token as an environment name or username without checking it, so `details ""`,
  // `sync "  "`, `revoke "a b"` and `permanent "a b" …` are accepted and only fail later as
  // not_found. Expected: refused by the parser with the usage line, like any other malformed
  // argument (names follow config's EnvironmentName /^[a-z][a-z0-9-]{0,31}$/ and usernames
  // /^[A-Za-z][A-Za-z0-9_]*$/). Remove `.fails` once fixed: the property then runs over all input.
  it('names the parser accepts are non-empty and hold no white space', () => {
    const names = (command: DbuserCommand): string[] =>
      'env' in command && command.env !== undefined ? [command.env] : 'envs' in command ? command.envs : 'username' in command ? [command.username] : [];
    fc.assert(
      fc.property(fc.oneof(tokenSoup, quoteHeavy), (text) => {
        let command: DbuserCommand;
        try {
          command = parseDbuser(text);
        } catch {
          return;
        }
        for (const name of names(command)) expect(name).toMatch(/^\S+$/);
      }),
      { numRuns: 2_000, seed: 20261122, examples: [['details ""'], ['sync "  "'], ['revoke "a b"'], ['permanent "a b" --access read --via vpn --reason x']] },
    );
  });

  // PRODUCT FINDING (an option swallowed as a value): src/commands/dbuser.ts, parseRequest reads the
  // token after `--reason` as the reason even when it is an option, so `request dev --reason
  // --break-glass` becomes an ordinary request whose reason is "--break-glass" (break-glass is
  // silently dropped); and `--for 1h --for 2h` silently keeps the last. parseOptions (permanent,
  // rotate) refuses both ("`--reason` needs a value.", "is given twice."). Expected: the same
  // refusals in parseRequest, e.g. by parsing its options with parseOptions.
  it('request refuses an option where a value belongs, and an option given twice', () => {
    for (const text of ['request dev --reason --break-glass', 'request dev --for 1h --for 2h']) {
      expect(() => parseDbuser(text), text).toThrow(/Use:/);
    }
  });
});
