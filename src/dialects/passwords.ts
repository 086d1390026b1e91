// Database passwords: generated from a CSPRNG, or chosen by a user and checked against the same rules.
// Rules satisfy SQL Server CHECK_POLICY (length, three of four classes, not containing the login name)
// and Oracle's quoted-password syntax (no `"`, at most 30 bytes), and exclude the seed's `"` `'` `;`.
// Oracle's verify functions (Oracle Database Security Guide 19c, "Oracle-Supplied Password
// Verification Functions": ora12c_verify_function and ora12c_strong_verify_function requirements)
// are met too: generated passwords pass ORA12C_STRONG_VERIFY_FUNCTION (at least 9 characters with 2
// upper case, 2 lower case, 2 digits and 2 special characters), and chosen ones at least
// ORA12C_VERIFY_FUNCTION (at least 8 characters with a letter and a digit).
// seeds/outsystems-cloud-database-access.md#request-the-temporary-user
import { randomInt } from 'node:crypto';
import { AppError } from '../errors.js';

export const PASSWORD_MIN_LENGTH = 12;
/** Oracle accepts at most 30 bytes in a password on databases with pre-12.2 compatibility. */
export const PASSWORD_MAX_LENGTH = 30;
export const GENERATED_LENGTH = 24;

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
/** Symbols that survive SSMS, SQL Developer, ODBC/JDBC connection strings, URLs and shells unquoted. */
const GENERATED_SYMBOLS = '-_.~*+';
/** ORA12C_STRONG_VERIFY_FUNCTION wants at least this many of each class. */
const PER_CLASS = 2;

/**
 * Characters a chosen password may not contain, each with the reason shown to the user.
 * The first three are the seed's; the rest break connection strings or quoting.
 */
const FORBIDDEN: ReadonlyArray<[string, string]> = [
  ['"', 'double quote (")'],
  ["'", "single quote (')"],
  [';', 'semicolon (;)'],
  ['\\', 'backslash (\\)'],
  ['{', 'brace ({)'],
  ['}', 'brace (})'],
  ['=', 'equals sign (=)'],
  ['@', 'at sign (@)'],
  ['/', 'slash (/)'],
];

/** A strong password that passes `passwordProblems` for any username of the bot's. */
export function generatePassword(length = GENERATED_LENGTH): string {
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new RangeError(`password length must be ${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH}`);
  }
  const all = UPPER + LOWER + DIGITS + GENERATED_SYMBOLS;
  // Two of each class guarantee CHECK_POLICY and ORA12C_STRONG_VERIFY_FUNCTION (the letter in
  // front is a third); a letter first keeps tools that parse unquoted passwords happy.
  const chars = [UPPER, LOWER, DIGITS, GENERATED_SYMBOLS].flatMap((alphabet) => Array.from({ length: PER_CLASS }, () => pick(alphabet)));
  while (chars.length < length - 1) chars.push(pick(all));
  shuffle(chars);
  return pick(UPPER + LOWER) + chars.join('');
}

/**
 * Every rule `password` breaks, as sentences for the user; empty when it is acceptable.
 * `username` is the database user it is for: SQL Server refuses a password that contains it.
 * The messages never repeat the password.
 */
export function passwordProblems(password: string, username?: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`It must be at least ${PASSWORD_MIN_LENGTH} characters long.`);
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_LENGTH) {
    problems.push(`It must be at most ${PASSWORD_MAX_LENGTH} characters long (Oracle's limit).`);
  }
  if (/[^\x21-\x7e]/.test(password)) {
    problems.push('Use only printable ASCII characters: no spaces, accents, emoji or control characters.');
  }
  const found = FORBIDDEN.filter(([c]) => password.includes(c)).map(([, name]) => name);
  if (found.length > 0) problems.push(`It must not contain: ${found.join(', ')}.`);
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) {
    problems.push('Use at least three of: upper-case letters, lower-case letters, digits, symbols.');
  }
  // ORA12C_VERIFY_FUNCTION: at least one letter and one digit, whatever the other classes.
  if (!/[A-Za-z]/.test(password) || !/[0-9]/.test(password)) {
    problems.push('It must contain at least one letter and one digit.');
  }
  if (username && username.length > 0 && password.toLowerCase().includes(username.toLowerCase())) {
    problems.push('It must not contain the database username.');
  }
  return problems;
}

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)] as string;
}

/** Fisher-Yates with the CSPRNG, so the guaranteed characters land anywhere. */
function shuffle(items: string[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j] as string, items[i] as string];
  }
}

/**
 * The password of a request, after `passwordProblems` found nothing: builders call it so that no
 * statement is ever built with a password that breaks the rules, whoever the caller is.
 */
export function checkPassword(req: { username: string; password: string }): string {
  const problems = passwordProblems(req.password, req.username);
  if (problems.length > 0) throw new AppError('invalid_input', `That password cannot be used. ${problems.join(' ')}`);
  return req.password;
}
