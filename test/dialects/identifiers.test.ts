// Identifier rules and nominal usernames.
import { describe, expect, it } from 'vitest';
import { checkIdentifier, identifierProblem } from '../../src/dialects/identifiers.js';
import { USERNAME_MAX_LENGTH, nominalUsername } from '../../src/dialects/usernames.js';

const sqlServerRules = { maxBytes: 128, upperCaseUsernames: false };
const oracleRules = { maxBytes: 128, upperCaseUsernames: true };
const legacyOracle = { maxBytes: 30, upperCaseUsernames: true };

describe('identifierProblem', () => {
  it.each([
    ['OSUSR_ABC_ORDER', sqlServerRules, undefined],
    ['dbo', sqlServerRules, undefined],
    ['A'.repeat(128), sqlServerRules, undefined],
    ['A'.repeat(129), sqlServerRules, '129 bytes long and the limit here is 128'],
    ['A'.repeat(31), legacyOracle, '31 bytes long and the limit here is 30'],
    ['dbx_maria', oracleRules, 'upper case on Oracle'],
    ['1abc', sqlServerRules, 'must start with a letter'],
    ['_abc', sqlServerRules, 'must start with a letter'],
    ['', sqlServerRules, 'empty'],
    ['a-b', sqlServerRules, 'only the letters A-Z'],
  ])('%s', (value, rules, expected) => {
    const problem = identifierProblem(value, 'username', rules);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(expected);
  });

  it('counts bytes, so a look-alike letter cannot slip under the limit', () => {
    expect(identifierProblem('Ａ'.repeat(11), 'schema', legacyOracle)).toContain('33 bytes');
  });

  it('names the role and shows a bounded, quoted preview of the value', () => {
    expect(() => checkIdentifier(`x\n${'y'.repeat(100)}`, 'entity', sqlServerRules)).toThrowError(/^The entity name "x\\ny{38}…" is not allowed: use only/);
  });
});

describe('nominalUsername', () => {
  it.each([
    ['Maria Silva', sqlServerRules, /^dbx_maria_silva_[a-z2-9]{4}$/],
    ['Zoë Ångström', sqlServerRules, /^dbx_zoe_angstrom_[a-z2-9]{4}$/],
    ['Maria Silva', oracleRules, /^DBX_MARIA_SILVA_[A-Z2-9]{4}$/],
    ['U024BE7LH', sqlServerRules, /^dbx_u024be7lh_[a-z2-9]{4}$/],
    ['李小龙', sqlServerRules, /^dbx_user_[a-z2-9]{4}$/],
    ["Robert'); DROP TABLE Students;--", sqlServerRules, /^dbx_robert_drop_table_stu_[a-z2-9]{4}$/],
    ['a'.repeat(200), legacyOracle, /^DBX_A{21}_[A-Z2-9]{4}$/],
  ])('%s', (requester, rules, pattern) => {
    const name = nominalUsername({ prefix: 'dbx_', requester, rules });
    expect(name).toMatch(pattern);
    expect(name.length).toBeLessThanOrEqual(USERNAME_MAX_LENGTH);
  });

  it('gives two requests by the same person different names', () => {
    const names = new Set(Array.from({ length: 50 }, () => nominalUsername({ prefix: 'dbx_', requester: 'maria', rules: sqlServerRules })));
    expect(names.size).toBeGreaterThan(45);
  });
});
