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
    ['empty', '', 2, ['at least 12', 'three of']],
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
