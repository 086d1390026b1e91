// From the environments file to a working Database: dialect, target rules and driver per environment.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, parseEnvironmentsFile } from '../../src/config.js';
import { dryRunExecutor } from '../../src/dialects/executor.js';
import { dialectOf, openDatabase, targetOf } from '../../src/dialects/index.js';
import { startTdsServer, type TdsServer } from '../fakes/tds-server.js';

const consoleConfig = () => loadConfig({ env: { DBACCESS_CONFIG: 'config/console.yml', CONSOLE_DB_PASSWORD: 'console-secret' } });

describe('openDatabase', () => {
  it.each([
    ['dev', 'sqlserver', 'dbo', 128, false],
    ['test', 'azuresql', 'dbo', 128, false],
    ['prod', 'oracle', 'OSADMIN', 128, true],
  ] as const)('%s runs %s statements for schema %s', async (name, dialect, schema, maxBytes, upper) => {
    const env = consoleConfig().environments.find((e) => e.name === name)!;
    expect(dialectOf(env).name).toBe(dialect);
    expect(targetOf(env)).toMatchObject({ schema, rules: { maxBytes, upperCaseUsernames: upper } });
    const executor = dryRunExecutor();
    const username = upper ? 'DBX_MARIA_K3X9' : 'dbx_maria_k3x9';
    await openDatabase(env, executor).createUser({ username, password: 'Xy3-abc.def_GHI9', kind: 'readonly' });
    expect(executor.statements.length).toBeGreaterThan(2);
    expect(executor.statements.every((s) => s.params.every((p) => p.name !== 'schema' && p.name !== 'owner') || s.params.some((p) => p.value === schema))).toBe(true);
  });

  it('an Oracle environment with identifierMaxBytes 30 refuses longer names', async () => {
    const file = parseEnvironmentsFile(
      `environments:
  - name: old
    dialect: oracle
    connection: { host: db, serviceName: ORCL, schema: OSADMIN, user: system, password: { env: P }, identifierMaxBytes: 30 }
    details: { host: db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [U0APPROVER] }
    channels: { approvals: C0APPROVALS, reminders: C0REMINDERS }
`,
      'inline',
    );
    const target = targetOf(file.environments[0]!);
    expect(target.rules.maxBytes).toBe(30);
    expect(() => dialectOf(file.environments[0]!).userExists({ username: 'A'.repeat(31) }, target)).toThrow(/31 bytes long and the limit here is 30/);
  });
});

describe('driverExecutor', () => {
  let server: TdsServer | undefined;
  afterEach(async () => server?.close());

  it('connects a SQL Server environment with its admin login, the password read from its reference', async () => {
    server = await startTdsServer({ handler: (req) => (req.sql.includes('AS present') ? { resultSets: [{ columns: [{ name: 'present', type: 'int' }], rows: [[1]] }] } : {}) });
    const file = `environments:
  - name: local
    dialect: sqlserver
    connection: { host: 127.0.0.1, port: ${server.port}, database: outsystems, user: botadmin, password: { env: LOCAL_PW }, encrypt: false, trustServerCertificate: true }
    details: { host: db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [U0APPROVER] }
    channels: { approvals: C0APPROVALS, reminders: C0REMINDERS }
`;
    const config = loadConfig({ env: { DBACCESS_CONFIG: '/virtual/envs.yml', LOCAL_PW: 'pw-from-env' }, readFile: () => file });
    const db = openDatabase(config.environments[0]!);
    try {
      expect(await db.userExists({ username: 'dbx_a' })).toBe(true);
      expect(server.logins[0]).toBe('botadmin');
    } finally {
      await db.close();
    }
  });
});
