// Every statement each dialect can emit, one call per builder and branch, for the grammar and corpus tests.
import type { Dialect, DialectName, Target } from '../../src/dialects/dialect.js';
import type { Statement } from '../../src/dialects/statement.js';
import { dialects, targets, userFor } from './targets.js';

/** Builders that return statements (interopNotes returns sentences). */
export type BuilderName = Exclude<keyof Dialect, 'name' | 'family' | 'stillConnectedErrors' | 'interopNotes'>;

export interface Emitted {
  builder: BuilderName;
  statement: Statement;
}

export const PASSWORD = 'Xy3-abc.def_GHI9';

export function catalog(name: DialectName): Emitted[] {
  const d = dialects[name];
  const t = targets[name];
  const username = userFor(name);
  const out: Emitted[] = [];
  const add = (builder: BuilderName, statements: Statement | Statement[]) => {
    for (const statement of [statements].flat()) out.push({ builder, statement });
  };
  add('createUser', d.createUser({ username, password: PASSWORD }, t));
  const rds: Target = { ...t, platform: 'rds' };
  add('createUser', d.createUser({ username, password: PASSWORD, kind: 'readonly' }, { ...t, profiles: { readonly: 'DBX_PERMANENT' } }));
  add('grantRead', d.grantRead({ username }, t, 'read'));
  add('grantRead', d.grantRead({ username }, t, 'readwrite'));
  if (name === 'oracle') add('grantRead', d.grantRead({ username }, { ...t, schemaPrivileges: true }, 'read'));
  add('countApplicationTables', d.countApplicationTables(t));
  add('missingWriteGrants', d.missingWriteGrants({ username }, t));
  add('grantWrite', d.grantWrite({ username, table: 'OSUSR_ABC_ORDER' }, t));
  add('grantAllMissingWrite', d.grantAllMissingWrite?.({ username }, t) ?? []);
  add('grantInterop', d.grantInterop({ username }, t));
  add('grantInterop', d.grantInterop({ username }, rds));
  add('grantObject', d.grantObject({ username, object: 'OSUSR_VIEW_ORDER', privileges: ['SELECT'] }, t));
  add('grantObject', d.grantObject({ username, object: 'OSUSR_ABC_ORDER', privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] }, t));
  add('blockLogin', d.blockLogin({ username }, t));
  add('listSessions', d.listSessions({ username }, t));
  add('killSession', d.killSession({ id: 53, serial: 4711, instance: 2, username }, t));
  add('killSession', d.killSession({ id: 53, serial: 4711, instance: 1, username }, rds));
  add('dropUser', d.dropUser({ username }, t));
  add('setPassword', d.setPassword({ username, password: PASSWORD }, t));
  add('setPassword', d.setPassword({ username, password: PASSWORD, unlock: true }, t));
  add('userExists', d.userExists({ username }, t));
  add('listUsers', d.listUsers({ prefix: 'dbx_' }, t));
  add('findEntityTables', d.findEntityTables({ entity: 'Order' }, t));
  add('listExposedViews', d.listExposedViews({ username }, t));
  return out;
}

/** Builder names of a dialect object, to prove the catalog misses none. */
export function builderNames(d: Dialect): string[] {
  return Object.entries(d)
    .filter(([k, v]) => typeof v === 'function' && k !== 'interopNotes')
    .map(([k]) => k)
    .sort();
}
