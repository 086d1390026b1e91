// Opening the store on a real SQLite file: folder, pragmas, migrations applied once, survival across reopen, transactions, and what the schema may never hold.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { applyMigrations, MIGRATIONS, openStore } from '../../src/store/store.js';
import { HOUR, T0, newRequest, testClock, useTempStores, thrown } from './fixtures.js';

const temp = useTempStores();

describe('openStore', () => {
  it('creates the parent folder and the file, in WAL mode', () => {
    const { store, path } = temp.open();
    store.requests.create(newRequest(), 'U0AAAAAAA');

    expect(existsSync(path)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(true);
    expect(existsSync(`${path}-shm`)).toBe(true);
    // journal_mode=wal is a property of the file, so a second connection sees it.
    expect(temp.raw(path).pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('applies every migration once and records it', () => {
    const { path } = temp.open(undefined, testClock(T0));
    const versions = temp.raw(path).prepare('SELECT version, applied_at AS appliedAt FROM schema_migrations ORDER BY version').all();
    expect(versions).toEqual(MIGRATIONS.map((_, i) => ({ version: i + 1, appliedAt: T0 })));
  });

  it('applies nothing twice when the file is opened again, and the data survives', () => {
    const path = temp.path();
    const first = openStore(path, { clock: testClock(T0) });
    const request = first.requests.create(newRequest(), 'U0AAAAAAA');
    const active = first.requests.transition(request.id, { from: ['pending'], to: 'approved', actor: 'U0BBBBBBB' });
    first.close();

    const { store: second } = temp.open(path, testClock(T0 + HOUR));

    expect(second.requests.get(request.id)).toEqual(active);
    expect(second.audit.list({ requestId: request.id }).map((e) => e.action)).toEqual(['requested', 'state:approved']);
    const versions = temp.raw(path).prepare('SELECT version, applied_at AS appliedAt FROM schema_migrations').all();
    expect(versions).toEqual(MIGRATIONS.map((_, i) => ({ version: i + 1, appliedAt: T0 })));
    expect(() => second.requests.create(newRequest(), 'U0AAAAAAA')).toThrow(/already has an open/);
  });

  it("works in memory with ':memory:'", () => {
    const store = openStore(':memory:', { clock: testClock() });
    try {
      const request = store.requests.create(newRequest(), 'U0AAAAAAA');
      expect(store.requests.get(request.id)?.state).toBe('pending');
    } finally {
      store.close();
    }
  });

  it('defaults to the system clock', () => {
    const store = openStore(':memory:');
    try {
      const before = Date.now();
      const { createdAt } = store.requests.create(newRequest(), 'U0AAAAAAA');
      expect(createdAt).toBeGreaterThanOrEqual(before);
      expect(createdAt).toBeLessThanOrEqual(Date.now());
    } finally {
      store.close();
    }
  });

  it('turns foreign keys on', () => {
    const { store } = temp.open();
    expect(() => store.audit.append({ actor: 'bot', action: 'x', requestId: 'r_aaaaaaaaaa' })).toThrow(/does not exist/);
  });

  it('refuses a file that is not a SQLite database, naming it and DBACCESS_DB', () => {
    const path = join(temp.folder(), 'notes.sqlite');
    writeFileSync(path, 'these are not the tables you are looking for\n'.repeat(200));

    const err = thrown(() => openStore(path));

    expect(err.code).toBe('internal');
    expect(err.message).toContain(path);
    expect(err.message).toContain('not a SQLite database');
    expect(err.message).toContain('DBACCESS_DB');
  });

  it('refuses a folder it cannot create, naming it and DBACCESS_DB', () => {
    const blocker = join(temp.folder(), 'a-file');
    writeFileSync(blocker, '');
    const path = join(blocker, 'data', 'dbaccess.sqlite');

    const err = thrown(() => openStore(path));

    expect(err.code).toBe('internal');
    expect(err.message).toContain(join(blocker, 'data'));
    expect(err.message).toContain('DBACCESS_DB');
  });

  it('refuses a path that is a folder', () => {
    const path = join(temp.folder(), 'is-a-folder');
    mkdirSync(path);
    const err = thrown(() => openStore(path));
    expect(err.code).toBe('internal');
    expect(err.message).toContain(path);
  });

  it('refuses a file written by a newer version of the bot, changing nothing', () => {
    const { store, path } = temp.open();
    store.close();
    const raw = temp.raw(path);
    raw.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(MIGRATIONS.length + 1);

    const err = thrown(() => openStore(path));

    expect(err.code).toBe('internal');
    expect(err.message).toMatch(/newer/);
    expect(raw.prepare('SELECT count(*) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.length + 1);
  });

  it('close() may be called twice', () => {
    const { store } = temp.open();
    store.close();
    expect(() => store.close()).not.toThrow();
  });
});

describe('migrations', () => {
  it('roll back entirely when one fails, leaving the earlier version in place', () => {
    const path = temp.path();
    openStore(path).close();
    const db = temp.raw(path);

    expect(() => applyMigrations(db, [...MIGRATIONS, 'CREATE TABLE extra (x INTEGER)', 'THIS IS NOT SQL'], T0)).toThrow();

    expect(db.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(MIGRATIONS.length);
    expect(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'extra'`).pluck().get()).toBe(0);
  });

  it('can extend a CHECK by rebuilding a referenced table, keeping rows, references and indexes', () => {
    // What a later migration adding a kind will do: proves the runner allows the rebuild.
    const { store, path } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    store.close();
    const db = temp.raw(path);
    db.pragma('foreign_keys = ON');
    const schema = db.prepare<[], string>(`SELECT sql FROM sqlite_master WHERE name = 'requests'`).pluck().get() ?? '';
    const indexes = db.prepare<[], string>(`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL`).pluck().all();
    const rebuild = [
      // A table renamed by an earlier rebuild is stored as CREATE TABLE "requests".
      schema.replace(/^CREATE TABLE "?requests"?/, 'CREATE TABLE requests_new').replace(`kind IN ('temporary', 'permanent')`, `kind IN ('temporary', 'permanent', 'interop')`),
      'INSERT INTO requests_new SELECT * FROM requests',
      'DROP TABLE requests',
      'ALTER TABLE requests_new RENAME TO requests',
      ...indexes,
    ].join(';\n');

    expect(applyMigrations(db, [...MIGRATIONS, rebuild], T0)).toEqual([MIGRATIONS.length + 1]);

    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(db.prepare('SELECT count(*) FROM audit_log WHERE request_id = ?').pluck().get(request.id)).toBe(1);
    db.prepare(`UPDATE requests SET kind = 'interop' WHERE id = ?`).run(request.id);
    expect(() => db.prepare(`INSERT INTO audit_log (at, actor, action, request_id) VALUES (0, 'bot', 'x', 'r_zzzzzzzzzz')`).run()).toThrow(
      /FOREIGN KEY/,
    );
    expect(db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL ORDER BY name`).pluck().all()).toEqual([
      'requests_by_requester',
      'requests_by_state',
      'requests_expiry',
      'requests_one_open',
      'requests_one_permanent',
      'requests_retry',
    ]);
  });
});

describe('migration 2: revoke_failed, retry bookkeeping, reminders', () => {
  const V1 = MIGRATIONS.slice(0, 1);
  const OLD_STATES = ['pending', 'approved', 'provisioning', 'active', 'revoking', 'revoked', 'denied', 'expired', 'failed'] as const;
  const OLD_OPEN = ['pending', 'approved', 'provisioning', 'active', 'revoking'];

  /** A file at schema version 1 holding one request in every state of version 1 (each its own requester), with an audit entry each. */
  function version1File(): string {
    const path = join(temp.folder(), 'v1.sqlite');
    const db = new Database(path);
    try {
      expect(applyMigrations(db, V1, T0)).toEqual([1]);
      const insert = db.prepare(
        `INSERT INTO requests (id, kind, env, requester, requester_name, access, duration_ms, reason, state, username,
           requester_chose_credential, break_glass, created_at, updated_at, decided_by, decided_at, decision_reason,
           activated_at, expires_at, approval_channel, approval_ts, error)
         VALUES (@id, 'temporary', 'dev', @requester, 'Ana', 'readonly', 3600000, 'incident', @state, @username,
           1, 0, @createdAt, @createdAt, 'U0BBBBBBB', @createdAt, 'ok', @activatedAt, @expiresAt, 'C0APPROVAL', '1.2', @error)`,
      );
      const audit = db.prepare(`INSERT INTO audit_log (at, actor, action, request_id, env, detail) VALUES (?, 'bot', 'requested', ?, 'dev', '{"a":1}')`);
      OLD_STATES.forEach((state, i) => {
        const id = `r_${'abcdefghi'[i]?.repeat(10)}`;
        insert.run({
          id,
          requester: `U0${i}`,
          state,
          username: state === 'pending' ? null : `dbx_u0${i}`,
          createdAt: T0 + i,
          activatedAt: state === 'active' || state === 'revoking' || state === 'revoked' ? T0 + i : null,
          expiresAt: state === 'pending' ? null : T0 + 12 * HOUR + i,
          error: state === 'failed' ? 'the server said no' : null,
        });
        audit.run(T0 + i, id);
      });
    } finally {
      db.close();
    }
    return path;
  }

  function plan(db: Database.Database, sql: string): string {
    return db
      .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all()
      .map((row) => row.detail)
      .join('\n');
  }

  it('keeps every row of version 1, with the new columns at their defaults', () => {
    const path = version1File();
    const before = temp.raw(path).prepare('SELECT * FROM requests ORDER BY id').all() as Record<string, unknown>[];
    const auditBefore = temp.raw(path).prepare('SELECT * FROM audit_log ORDER BY id').all();

    const { store } = temp.open(path, testClock(T0 + HOUR));

    const raw = temp.raw(path);
    expect(raw.prepare('SELECT version, applied_at AS appliedAt FROM schema_migrations ORDER BY version').all()).toEqual([
      ...MIGRATIONS.slice(1).map((_sql, i) => ({ version: i + 2, appliedAt: T0 + HOUR })),
      { version: 1, appliedAt: T0 },
    ].sort((a, b) => a.version - b.version));
    expect(before).toHaveLength(OLD_STATES.length);
    expect(raw.prepare('SELECT * FROM requests ORDER BY id').all()).toEqual(
      before.map((row) => ({
        ...row,
        revoke_attempts: 0,
        next_attempt_at: null,
        extensions: 0,
        // Migration 3's columns (permanent users).
        via: null,
        ips: null,
        rotation_requested_by: null,
        rotation_requested_at: null,
        rotation_approval_ts: null,
        // Migration 9's columns (governance: ticket, recorded quorum, change window).
        ticket: null,
        required_approvals: null,
        outside_window: null,
      })),
    );
    expect(raw.prepare('SELECT * FROM audit_log ORDER BY id').all()).toEqual(auditBefore);
    expect(raw.pragma('foreign_key_check')).toEqual([]);
    for (const row of before) {
      expect(store.requests.get(String(row['id']))).toMatchObject({ state: row['state'], revokeAttempts: 0, nextAttemptAt: null, extensions: 0 });
    }
    expect(store.reminders.kindsFor(String(before[0]?.['id']))).toEqual([]);
  });

  it('keeps one open request per person: the partial UNIQUE index refuses a second, revoke_failed included', () => {
    const path = version1File();
    const { store } = temp.open(path);
    const raw = temp.raw(path);
    const secondPending = (requester: string) =>
      raw
        .prepare(
          `INSERT INTO requests (id, kind, env, requester, requester_name, access, duration_ms, reason, state,
             requester_chose_credential, break_glass, created_at, updated_at)
           VALUES ('r_zzzzzzzzz' || ?, 'temporary', 'dev', ?, 'Ana', 'readwrite', 1, 'x', 'pending', 0, 0, 0, 0)`,
        )
        .run(requester.slice(-1), requester);

    OLD_STATES.forEach((state, i) => {
      if (OLD_OPEN.includes(state)) expect(() => secondPending(`U0${i}`), state).toThrow(/UNIQUE constraint failed/);
      else expect(() => secondPending(`U0${i}`), state).not.toThrow();
    });

    const revoking = store.requests.findOpen('dev', `U0${OLD_STATES.indexOf('revoking')}`, 'temporary');
    const failed = store.requests.transition(revoking?.id ?? '', { from: ['revoking'], to: 'revoke_failed', actor: 'scheduler' });
    expect(failed?.state).toBe('revoke_failed');
    expect(() => secondPending(failed?.requester ?? '')).toThrow(/UNIQUE constraint failed/);
    expect(thrown(() => store.requests.create(newRequest({ requester: failed?.requester ?? '' }), 'bot')).code).toBe('conflict');
  });

  it('recreates every index of requests, and the planner uses each', () => {
    const path = version1File();
    temp.open(path);
    const raw = temp.raw(path);

    expect(raw.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL ORDER BY name`).pluck().all()).toEqual([
      'requests_by_requester',
      'requests_by_state',
      'requests_expiry',
      'requests_one_open',
      'requests_one_permanent',
      'requests_retry',
    ]);
    expect(plan(raw, `SELECT * FROM requests WHERE env = 'dev' AND requester = 'U01' AND kind = 'temporary' AND state IN ('pending', 'approved', 'provisioning', 'active', 'revoking', 'revoke_failed')`)).toContain('requests_one_open');
    expect(plan(raw, `SELECT * FROM requests WHERE state = 'active' AND expires_at <= 0 ORDER BY expires_at, rowid LIMIT 1`)).toContain('requests_expiry');
    expect(plan(raw, `SELECT * FROM requests WHERE state = 'revoking' AND next_attempt_at <= 0 ORDER BY next_attempt_at LIMIT 1`)).toContain('requests_retry');
    expect(plan(raw, `SELECT * FROM requests WHERE state = 'pending' AND created_at <= 0 ORDER BY created_at LIMIT 1`)).toContain('requests_by_state');
    expect(plan(raw, `SELECT * FROM requests WHERE requester = 'U01' ORDER BY created_at DESC`)).toContain('requests_by_requester');
    expect(plan(raw, `SELECT * FROM reminders WHERE sent_at IS NULL AND claimed_at < 0`)).toContain('reminders_unsent');
  });

  it('refuses revoke_failed without a username, as it does revoking', () => {
    const { store, path } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    expect(() => temp.raw(path).prepare(`UPDATE requests SET state = 'revoke_failed' WHERE id = ?`).run(request.id)).toThrow(/CHECK constraint failed/);
  });
});

describe('transaction', () => {
  it('commits repository calls together', () => {
    const { store } = temp.open();

    const request = store.transaction(() => {
      const created = store.requests.create(newRequest(), 'U0AAAAAAA');
      store.requests.setApprovalMessage(created.id, 'C0APPROVAL', '1.2');
      store.audit.append({ actor: 'bot', action: 'approval_posted', requestId: created.id, env: created.env });
      return created;
    });

    expect(store.requests.get(request.id)?.approvalTs).toBe('1.2');
    expect(store.audit.list().map((e) => e.action)).toEqual(['requested', 'approval_posted']);
  });

  it('rolls everything back when fn throws, and rethrows', () => {
    const { store } = temp.open();

    expect(() =>
      store.transaction(() => {
        store.requests.create(newRequest(), 'U0AAAAAAA');
        throw new Error('posting the approval failed');
      }),
    ).toThrow('posting the approval failed');

    expect(store.requests.listByRequester('U0AAAAAAA')).toEqual([]);
    expect(store.audit.list()).toEqual([]);
  });

  it('takes the write lock at the start (immediate), before any write', () => {
    const { store, path } = temp.open();
    const other = new Database(path, { timeout: 0 });
    try {
      store.transaction(() => {
        expect(() => other.exec('BEGIN IMMEDIATE')).toThrow(/locked|busy/i);
      });
      expect(() => other.exec('BEGIN IMMEDIATE; ROLLBACK')).not.toThrow();
    } finally {
      other.close();
    }
  });

  it('refuses an async function and rolls back what it did before its first await', async () => {
    const { store } = temp.open();

    const err = thrown(() =>
      store.transaction(async () => {
        store.requests.create(newRequest(), 'U0AAAAAAA');
        await Promise.resolve();
      }),
    );

    expect(err.code).toBe('internal');
    expect(store.requests.listByRequester('U0AAAAAAA')).toEqual([]);
  });
});

describe('schema', () => {
  function columns(path: string): { table: string; column: string; type: string }[] {
    const db = temp.raw(path);
    const tables = db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all();
    return tables.flatMap((table) =>
      db
        .prepare<[], { name: string; type: string }>(`SELECT name, type FROM pragma_table_info('${table}')`)
        .all()
        .map((c) => ({ table, column: c.name, type: c.type })),
    );
  }

  it('has no column named like a password or a secret, in any table', () => {
    const { path } = temp.open();
    const all = columns(path);
    expect(all.map((c) => c.table)).toEqual(expect.arrayContaining(['requests', 'audit_log', 'schema_migrations']));
    expect(all.filter((c) => /pass|pwd|secret|token/i.test(c.column))).toEqual([]);
  });

  it.each([
    ['state', `state = 'gone'`],
    ['kind', `kind = 'permanent'`],
    ['access', `access = 'dbo'`],
    ['a boolean', 'break_glass = 2'],
    ['the other boolean', 'requester_chose_credential = -1'],
    ['a type (STRICT)', `duration_ms = 'twelve hours'`],
    ['a negative revocation attempt count', 'revoke_attempts = -1'],
    ['a negative extension count', 'extensions = -1'],
    ['a missing revocation attempt count', 'revoke_attempts = NULL'],
  ])('CHECKs %s', (_label, assignment) => {
    const { store, path } = temp.open();
    const request = store.requests.create(newRequest(), 'U0AAAAAAA');
    expect(() => temp.raw(path).prepare(`UPDATE requests SET ${assignment} WHERE id = ?`).run(request.id)).toThrow(/constraint|cannot store/i);
  });
});
