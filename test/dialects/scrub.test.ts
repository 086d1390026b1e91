// The sanitizer's scrub: no secret, and no run of 6+ consecutive characters of one, survives in an error.
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/dialects/database.js';
import { DatabaseError, SECRET_FRAGMENT_LENGTH, dryRunExecutor, scrub } from '../../src/dialects/executor.js';
import { MASK } from '../../src/dialects/render.js';
import { dialects, targets } from './targets.js';

const password = 'Kq7-mT2.vx9_Rb4~Ln8*Wz3+';

describe('scrub', () => {
  it('removes a password a server quoted cut short (the first 16 of 24 characters)', () => {
    const message = `Password validation failed for '${password.slice(0, 16)}': too similar`;
    const out = scrub(message, [password]);
    expect(out).toBe(`Password validation failed for '${MASK}': too similar`);
  });

  it.each([
    ['the whole password', password],
    ['a run from the middle', password.slice(5, 5 + SECRET_FRAGMENT_LENGTH)],
    ['a run at the end', password.slice(-SECRET_FRAGMENT_LENGTH)],
    ['two runs back to back', password.slice(0, 7) + password.slice(12, 19)],
  ])('removes %s', (_name, fragment) => {
    const out = scrub(`error near "${fragment}" at line 1`, [password]);
    for (let i = 0; i + SECRET_FRAGMENT_LENGTH <= out.length; i++) {
      expect(password).not.toContain(out.slice(i, i + SECRET_FRAGMENT_LENGTH));
    }
    expect(out).toContain(MASK);
  });

  it('keeps runs shorter than 6 characters, and text that shares no run with the secret', () => {
    const five = password.slice(0, 5);
    expect(scrub(`got ${five} here`, [password])).toBe(`got ${five} here`);
    expect(scrub('Login failed for user dbx_maria_k3x9.', [password])).toBe('Login failed for user dbx_maria_k3x9.');
  });

  it('scrubs every secret of the operation', () => {
    const other = 'Zp5-Qw8.Er2_Ty6~Ui9*Op4+';
    const out = scrub(`old ${password.slice(3, 13)} new ${other.slice(8, 20)}`, [password, other]);
    expect(out).toBe(`old ${MASK} new ${MASK}`);
  });
});

describe('the sanitizer around every executor', () => {
  it('keeps a partial password quoted by the server out of the error, for every dialect', async () => {
    for (const name of ['sqlserver', 'azuresql', 'oracle'] as const) {
      const username = name === 'oracle' ? 'DBX_MARIA_K3X9' : 'dbx_maria_k3x9';
      const executor = dryRunExecutor((statement) => {
        if (statement.kind === 'set password') throw new DatabaseError('db_error', `The password '${password.slice(0, 16)}' does not meet policy.`, { serverCode: 15118 });
        return [];
      });
      const db = createDatabase({ dialect: dialects[name], executor, target: targets[name] });
      const error = (await db.rotatePassword({ username, password }).catch((e: unknown) => e)) as DatabaseError;
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error.message).not.toContain(password.slice(0, SECRET_FRAGMENT_LENGTH));
      expect(error.message).toContain(MASK);
      expect(error.serverCode).toBe(15118);
    }
  });
});
