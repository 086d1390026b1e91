// Recognizing better-sqlite3's errors by their SQLite result code, for the few the store turns into AppErrors.
import Database from 'better-sqlite3';

/** True for a SqliteError whose extended result code is one of `codes` (e.g. 'SQLITE_CONSTRAINT_UNIQUE'). */
export function isSqliteError(err: unknown, ...codes: string[]): err is InstanceType<typeof Database.SqliteError> {
  return err instanceof Database.SqliteError && (codes.length === 0 || codes.includes(err.code));
}
