// Password generation and the rules a chosen password must meet.
import { describe, expect, it } from 'vitest';
import { GENERATED_LENGTH, generatePassword, passwordProblems } from '../../src/dialects/passwords.js';

describe('generatePassword', () => {
  const samples = Array.from({ length: 2000 }, () => generatePassword());

  it('always passes the rules, for any of our usernames', () => {
    const failing = samples.filter((p) => passwordProblems(p, 'dbx_maria_k3x9').length > 0);
    expect(failing).toEqual([]);
  });

  it('has every character class, the fixed length, a letter first, and none of " \' ;', () => {
    for (const p of samples) {
      expect(p).toHaveLength(GENERATED_LENGTH);
      expect(p).toMatch(/^[A-Za-z]/);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[0-9]/);
      expect(p).toMatch(/[-_.~*+]/);
      expect(p).not.toMatch(/["';\s]/);
    }
  });

  it('does not repeat itself (2,000 draws, all distinct)', () => {
    expect(new Set(samples).size).toBe(samples.length);
  });

  it('uses the whole alphabet in every position but the first (no position stuck on one class)', () => {
    for (let i = 1; i < GENERATED_LENGTH; i++) {
      const classes = new Set(samples.map((p) => (/[A-Z]/.test(p[i]!) ? 'U' : /[a-z]/.test(p[i]!) ? 'l' : /[0-9]/.test(p[i]!) ? 'd' : 's')));
      expect(classes.size).toBe(4);
    }
  });

  it('refuses lengths outside what every database accepts', () => {
    expect(() => generatePassword(8)).toThrow(RangeError);
    expect(() => generatePassword(31)).toThrow(RangeError);
  });
});

describe('passwordProblems', () => {
  it.each([
    ['a good one', 'Harbour-Lights7x', 0, []],
    ['too short', 'Ab1-xyz', 1, ['at least 12 characters']],
    ['too long for Oracle', `Ab1-${'x'.repeat(30)}`, 1, ['at most 30 characters']],
    ['a double quote', 'Harbour"Lights7', 1, ['double quote']],
    ['a single quote', "Harbour'Lights7", 1, ['single quote']],
    ['a semicolon', 'Harbour;Lights7', 1, ['semicolon']],
    ['connection-string breakers', 'Harb{our}=Li@ght/s7\\', 1, ['brace ({)', 'brace (})', 'equals sign', 'at sign', 'slash', 'backslash']],
    ['a space', 'Harbour Lights7', 1, ['printable ASCII']],
    ['a tab', 'Harbour\tLights7', 1, ['printable ASCII']],
    ['an accent', 'Harbóur-Lights7', 1, ['printable ASCII']],
    ['a fullwidth look-alike', 'Ｈarbour-Lights7', 1, ['printable ASCII']],
    ['a zero-width space', 'Harbour\u200b-Lights7', 1, ['printable ASCII']],
    ['only two classes', 'harbourlights77', 1, ['three of']],
    ['the username inside', 'xDBX_MARIA_K3X9!', 1, ['username']],
    ['empty', '', 3, ['at least 12', 'three of', 'letter and one digit']],
  ])('%s', (_name, password, count, fragments) => {
    const problems = passwordProblems(password, 'dbx_maria_k3x9');
    expect(problems).toHaveLength(count);
    for (const fragment of fragments) expect(problems.join(' | ')).toContain(fragment);
  });

  it('lists every broken rule at once and never repeats the password', () => {
    const password = "x'y;";
    const problems = passwordProblems(password, 'dbx_a');
    expect(problems.length).toBeGreaterThanOrEqual(3);
    for (const p of problems) expect(p).not.toContain(password);
  });
});

/**
 * ORA12C_STRONG_VERIFY_FUNCTION's rules as Oracle states them (Security Guide 19c, "Oracle-Supplied
 * Password Verification Functions"): 9 to 30 characters, at least 2 upper case, 2 lower case, 2 digits
 * and 2 of its special characters, not containing "oracle".
 */
function oracleStrongProblems(password: string): string[] {
  const count = (re: RegExp) => (password.match(re) ?? []).length;
  const special = /[`~!@#$%^&*()_\-+={}[\]/\\<>,.;?':| ]/g;
  const problems: string[] = [];
  if (password.length < 9 || password.length > 30) problems.push('length');
  if (count(/[A-Z]/g) < 2) problems.push('upper');
  if (count(/[a-z]/g) < 2) problems.push('lower');
  if (count(/[0-9]/g) < 2) problems.push('digit');
  if (count(special) < 2) problems.push('special');
  if (/oracle/i.test(password)) problems.push('oracle');
  return problems;
}

describe("generatePassword vs Oracle's verify functions", () => {
  it('passes ORA12C_STRONG_VERIFY_FUNCTION every time (measured over 50,000 passwords)', () => {
    const draws = 50_000;
    let failing = 0;
    for (let i = 0; i < draws; i++) if (oracleStrongProblems(generatePassword()).length > 0) failing++;
    // Before the fix (one of each class) about 21.7% failed: 43,536 of 200,000.
    expect(failing / draws).toBe(0);
  });

  it('has at least 2 of each class at the shortest allowed length too', () => {
    for (let i = 0; i < 2000; i++) expect(oracleStrongProblems(generatePassword(12))).toEqual([]);
  });
});

describe('passwordProblems vs ORA12C_VERIFY_FUNCTION (a letter and a digit)', () => {
  it.each([
    ['no digit', 'Harbour-Lights-x'],
    ['no letter', '1234-5678-90!!'],
  ])('refuses a chosen password with %s', (_name, password) => {
    expect(passwordProblems(password, 'dbx_maria_k3x9').join(' ')).toContain('at least one letter and one digit');
  });
});
