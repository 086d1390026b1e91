// Test fixtures for the store: a real SQLite file in a fresh temp folder, a clock the test moves, and a valid new request.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { AppError } from '../../src/errors.js';
import type { NewRequest } from '../../src/store/requests.js';
import { openStore, type Store } from '../../src/store/store.js';

export const T0 = Date.UTC(2025, 0, 15, 9, 0, 0);
export const HOUR = 3_600_000;

export interface TestClock extends Clock {
  advance(ms: number): void;
}

export function testClock(start = T0): TestClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

export function newRequest(overrides: Partial<NewRequest> = {}): NewRequest {
  return {
    kind: 'temporary',
    env: 'dev',
    requester: 'U0AAAAAAA',
    requesterName: 'Ana Silva',
    access: 'readwrite',
    durationMs: 12 * HOUR,
    reason: 'fix a stuck timer in OSUSR_ABC_ORDER',
    ownPassword: false,
    breakGlass: false,
    ...overrides,
  };
}

/**
 * Temp folders, stores and raw handles opened during a test, closed and removed after it.
 * Call once at the top of a test file.
 */
export function useTempStores() {
  const folders: string[] = [];
  const closers: (() => void)[] = [];

  afterEach(() => {
    for (const close of closers.splice(0).reverse()) close();
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  /** A fresh temp folder. */
  function folder(): string {
    const created = mkdtempSync(join(tmpdir(), 'dbaccess-store-'));
    folders.push(created);
    return created;
  }

  /** A fresh database file path, its folder not yet created (openStore creates it). */
  function path(): string {
    return join(folder(), 'data', 'dbaccess.sqlite');
  }

  return {
    folder,
    path,
    /** A store on `file` (a new file by default), closed after the test. */
    open(file = path(), clock: Clock = testClock()): { store: Store; path: string; clock: Clock } {
      const store = openStore(file, { clock });
      closers.push(() => store.close());
      return { store, path: file, clock };
    },
    /** A second, raw connection to the file: SQL the store would never run. */
    raw(file: string): Database.Database {
      const db = new Database(file);
      closers.push(() => db.close());
      return db;
    },
  };
}

/** The AppError `fn` throws; fails the test when it throws something else or nothing. */
export function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError, nothing was thrown');
}
