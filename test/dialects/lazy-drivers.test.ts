// Drivers load only when an environment uses one (issue 18): importing mssql costs ~30 MiB and ~200 ms
// at start. Each case runs in a fresh Node process (the module cache is per process), which reports the
// driver packages loaded after each step. mssql and oracledb are CommonJS, so every module they load is
// in require.cache, whether they were imported or required.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/**
 * Starts a process that imports src/app.ts and src/dialects/index.ts, opens every environment of
 * `dialects` with its real driver executor, and (with `run`) has each run one statement against a port
 * that refuses connections; prints the drivers loaded after the import, and after the statements.
 */
function driversLoaded(dialects: readonly string[], run: boolean): { afterImport: string[]; afterUse: string[] } {
  const script = `
import { createRequire } from 'node:module';
const loaded = () => ['mssql', 'oracledb'].filter((name) => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/node_modules/' + name + '/')));
await import('./src/app.ts');
const { openDatabase } = await import('./src/dialects/index.ts');
const afterImport = loaded();
const dialects = ${JSON.stringify(dialects)};
const common = { user: 'admin', connectTimeout: 2000, requestTimeout: 2000, port: 1, host: '127.0.0.1' };
const envs = dialects.map((dialect) => ({
  name: dialect, dialect, platform: 'self-managed', adminPassword: () => 'not-used-pw',
  connection: dialect === 'oracle'
    ? { ...common, serviceName: 'FREEPDB1', schema: 'OSADMIN', identifierMaxBytes: 128 }
    : { ...common, database: 'outsystems', schema: 'dbo', encrypt: false, trustServerCertificate: true },
}));
const databases = envs.map((env) => openDatabase(env));
if (${run}) for (const [i, db] of databases.entries()) await db.userExists({ username: dialects[i] === 'oracle' ? 'DBX_PROBE' : 'dbx_probe' }).catch(() => {});
console.log(JSON.stringify({ afterImport, afterUse: loaded() }));
process.exit(0);
`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !line.startsWith('{')) throw new Error(`child failed (${child.status}): ${child.stderr}`);
  return JSON.parse(line) as { afterImport: string[]; afterUse: string[] };
}

describe('database drivers load on first use', () => {
  it.each([
    { dialects: ['oracle'], run: false, afterUse: [] },
    { dialects: ['sqlserver', 'oracle'], run: false, afterUse: [] },
    { dialects: ['oracle'], run: true, afterUse: ['oracledb'] },
    { dialects: ['sqlserver'], run: true, afterUse: ['mssql'] },
    { dialects: ['azuresql'], run: true, afterUse: ['mssql'] },
  ])('environments $dialects, a statement run: $run → loaded $afterUse', ({ dialects, run, afterUse }) => {
    const loaded = driversLoaded(dialects, run);
    expect(loaded.afterImport).toEqual([]);
    expect(loaded.afterUse).toEqual(afterUse);
  });
});
