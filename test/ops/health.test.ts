// Readiness: each failing check is named, database answers are cached and time-limited, and no secret reaches the report.
import { describe, expect, it } from 'vitest';
import { DatabaseError } from '../../src/dialects/executor.js';
import { createReadiness, redactSecrets, type ReadinessOptions } from '../../src/ops/health.js';

const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);
const ADMIN_PASSWORD = 'Adm1n-S3cret!pw';

function fakeClock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function healthy(overrides: Partial<ReadinessOptions> = {}): ReadinessOptions {
  return {
    sqlite: () => {},
    scheduler: () => true,
    databases: { dev: async () => {}, prod: async () => {} },
    clock: fakeClock(),
    ...overrides,
  };
}

describe('createReadiness', () => {
  it('is ready when every check passes, and names each one', async () => {
    const readiness = createReadiness(healthy());

    const report = await readiness.check();

    expect(report).toEqual({ ready: true, checks: { sqlite: 'ok', scheduler: 'ok', 'db:dev': 'ok', 'db:prod': 'ok' } });
  });

  it.each([
    {
      failing: 'sqlite',
      options: {
        sqlite: () => {
          throw Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' });
        },
      },
      expected: 'error: SQLITE_READONLY (see the bot log)',
    },
    { failing: 'scheduler', options: { scheduler: () => false }, expected: 'error: the expiry timer is not running: expired users are not being revoked' },
    {
      failing: 'db:prod',
      options: {
        databases: {
          dev: async () => {},
          prod: async () => {
            throw new DatabaseError('db_unreachable', 'Cannot reach sql-prod.internal:1433.');
          },
        },
      },
      expected: 'error: Cannot reach sql-prod.internal:1433.',
    },
  ] satisfies { failing: string; options: Partial<ReadinessOptions>; expected: string }[])('is not ready when $failing fails, and says so under that name', async ({ failing, options, expected }) => {
    const readiness = createReadiness(healthy(options));

    const report = await readiness.check();

    expect(report.ready).toBe(false);
    expect(report.checks[failing]).toBe(expected);
    const others = Object.entries(report.checks).filter(([name]) => name !== failing);
    expect(others.every(([, status]) => status === 'ok')).toBe(true);
  });

  it('queries a database once per cache window, and again once the window has passed', async () => {
    const clock = fakeClock();
    let calls = 0;
    const readiness = createReadiness(healthy({ clock, databases: { dev: async () => void calls++ } }));

    await readiness.check();
    clock.advance(29_999);
    await readiness.check();
    const withinWindow = calls;
    clock.advance(1);
    await readiness.check();

    expect(withinWindow).toBe(1);
    expect(calls).toBe(2);
  });

  it('caches a failure too, so a database that is down is not asked at every probe', async () => {
    const clock = fakeClock();
    let calls = 0;
    const readiness = createReadiness(
      healthy({
        clock,
        cacheMs: 10_000,
        databases: {
          dev: async () => {
            calls++;
            throw new DatabaseError('db_unreachable', 'Cannot reach sql-dev.internal.');
          },
        },
      }),
    );

    const first = await readiness.check();
    clock.advance(5_000);
    const second = await readiness.check();

    expect(calls).toBe(1);
    expect(second).toEqual(first);
  });

  it('asks a database once when probes arrive together', async () => {
    let calls = 0;
    const readiness = createReadiness(healthy({ databases: { dev: async () => void calls++ } }));

    await Promise.all([readiness.check(), readiness.check(), readiness.check()]);

    expect(calls).toBe(1);
  });

  it('reports a database that does not answer in time, without waiting for it or asking it again while it hangs', async () => {
    const clock = fakeClock();
    let calls = 0;
    const readiness = createReadiness(
      healthy({
        clock,
        timeoutMs: 25,
        databases: { dev: async () => {}, prod: () => (calls++, new Promise<void>(() => {})) },
      }),
    );

    const started = performance.now();
    const report = await readiness.check();
    const elapsed = performance.now() - started;
    clock.advance(60_000);
    const later = await readiness.check();

    expect(elapsed).toBeLessThan(1_000);
    expect(report.ready).toBe(false);
    expect(report.checks['db:prod']).toBe('error: no answer within 25 ms');
    expect(report.checks['db:dev']).toBe('ok');
    expect(later.checks['db:prod']).toBe('error: no answer within 25 ms');
    expect(calls).toBe(1);
  });

  it('takes a late answer once it comes', async () => {
    const clock = fakeClock();
    let answer: () => void = () => {};
    const readiness = createReadiness(healthy({ clock, timeoutMs: 10, databases: { dev: () => new Promise<void>((resolve) => (answer = resolve)) } }));

    const before = await readiness.check();
    answer();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const after = await readiness.check();

    expect(before.checks['db:dev']).toMatch(/^error: no answer/);
    expect(after.checks['db:dev']).toBe('ok');
  });

  it('shows no secret: our errors are scrubbed of the admin passwords, other errors show only their code', async () => {
    const logged: unknown[] = [];
    const readiness = createReadiness(
      healthy({
        secrets: () => [ADMIN_PASSWORD],
        onError: (_check, err) => logged.push(err),
        databases: {
          // Our sanitizer scrubs a statement's own secrets; a driver that echoed the admin login's
          // password into a connection error would not be caught by it. The readiness scrub is the net.
          dev: async () => {
            throw new DatabaseError('db_login_failed', `Login failed for user 'dbaccess_admin' (password '${ADMIN_PASSWORD}').`);
          },
          prod: async () => {
            throw Object.assign(new Error(`connect ECONNREFUSED mssql://dbaccess_admin:${ADMIN_PASSWORD}@sql-prod:1433`), { code: 'ECONNREFUSED' });
          },
        },
      }),
    );

    const report = await readiness.check();
    const json = JSON.stringify(report);

    expect(json).not.toContain(ADMIN_PASSWORD);
    expect(report.checks['db:dev']).toBe("error: Login failed for user 'dbaccess_admin' (password '[redacted]').");
    expect(report.checks['db:prod']).toBe('error: ECONNREFUSED (see the bot log)');
    // The log still gets the original errors, for the logger's own redaction to handle.
    expect(logged).toHaveLength(2);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['Server=sql;User Id=sa;Password=hunter2;Encrypt=true', 'Server=sql;User Id=sa;Password=[redacted];Encrypt=true'],
    ['pwd: "with spaces" and more', 'pwd: [redacted] and more'],
    ["token='xyz'", 'token=[redacted]'],
    ['oracle://system:Dev_Passw0rd@localhost:1521/FREEPDB1', 'oracle://system:[redacted]@localhost:1521/FREEPDB1'],
    ['bad token xoxb-1234-5678-abcdef here', 'bad token [redacted] here'],
    ['ORA-01017: invalid username/password; logon denied', 'ORA-01017: invalid username/password; logon denied'],
    ['nothing secret here', 'nothing secret here'],
  ])('%s → %s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('removes a known secret wherever it appears, the longest first', () => {
    expect(redactSecrets('a abc abcdef z', ['abc', 'abcdef'])).toBe('a [redacted] [redacted] z');
  });
});
