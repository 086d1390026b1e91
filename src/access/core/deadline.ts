// Every database call with a deadline: a server that stops answering costs one environment a bounded
// wait, after which the work is retried, instead of holding a lane (or a person) forever.
import { within } from '../../clock.js';
import type { Database } from '../../dialects/database.js';
import { formatDuration } from '../../duration.js';
import { AppError } from '../../errors.js';

/**
 * `db` with each operation given `ms` to settle; a later answer is ignored (the driver's own request
 * timeout ends the call itself). close() is passed through untouched.
 */
export function withDeadline(db: Database, ms: number, envName: string): Database {
  async function bounded<T>(operation: string, call: () => Promise<T>): Promise<T> {
    // Boxed, so an operation that resolves to undefined (a grant) is told apart from a timeout.
    const boxed = await within(call().then((value) => ({ value })), ms);
    if (boxed === undefined) {
      throw new AppError('db_timeout', `The database of ${envName} did not answer ${operation} within ${formatDuration(ms)}; the bot tries again later.`);
    }
    return boxed.value;
  }
  return {
    createUser: (req) => bounded('creating the user', () => db.createUser(req)),
    syncGrants: (req) => bounded('granting new tables', () => db.syncGrants(req)),
    grantObjects: (req) => bounded('granting', () => db.grantObjects(req)),
    grantInteropSet: (req) => bounded('granting the interoperability set', () => db.grantInteropSet(req)),
    revokeUser: (req) => bounded('revoking the user', () => db.revokeUser(req)),
    rotatePassword: (req) => bounded('setting the password', () => db.rotatePassword(req)),
    userExists: (req) => bounded('looking up the user', () => db.userExists(req)),
    listUsers: (req) => bounded('listing users', () => db.listUsers(req)),
    findEntityTables: (req) => bounded('looking up the entity', () => db.findEntityTables(req)),
    listExposedViews: (req) => bounded('listing exposed views', () => db.listExposedViews(req)),
    close: () => db.close(),
  } satisfies Database;
}
