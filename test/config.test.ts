// The configuration loader: defaults, one message listing every problem by its path, password references, the sample files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { EnvVars, lifetimeAtLeast, loadConfig, loadSlackSettings, loadStartup, parseEnvironmentsFile } from '../src/config.js';
import { AppError } from '../src/errors.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A small valid file: one environment per dialect, optional fields left out. */
function validFile(): Record<string, unknown> {
  return {
    environments: [
      {
        name: 'dev',
        dialect: 'sqlserver',
        connection: {
          host: 'sql-dev.internal',
          database: 'outsystems',
          user: 'dbaccess_admin',
          password: { env: 'DEV_DB_ADMIN_PASSWORD' },
        },
        details: { host: 'dev-db.example.com' },
        lifetimeVersion: '11.19.0',
      network: 'vpn',
        approvers: { users: ['U0123ABCD'] },
        channels: { approvals: 'C0123ABCD', reminders: 'C0456EFGH' },
      },
      {
        name: 'test',
        dialect: 'azuresql',
        connection: {
          host: 'os-test.database.windows.net',
          database: 'outsystems',
          user: 'dbaccess_admin',
          password: { env: 'TEST_DB_ADMIN_PASSWORD' },
        },
        details: { host: 'os-test.database.windows.net' },
        lifetimeVersion: '11.18.1',
        network: 'tgw',
        approvers: { groups: ['S0123ABCD'] },
        channels: { approvals: 'C0123ABCD', reminders: 'C0456EFGH' },
      },
      {
        name: 'prod',
        dialect: 'oracle',
        connection: {
          host: 'ora-prod.internal',
          serviceName: 'OSPROD',
          schema: 'OSADMIN',
          user: 'DBACCESS_ADMIN',
          password: { file: '/run/secrets/prod-db-admin' },
        },
        details: { host: 'prod-db.example.com' },
        lifetimeVersion: '11.19.0',
        network: 'vpn',
        approvers: { users: ['U0123ABCD'] },
        channels: { approvals: 'C0789PROD', reminders: 'C0789PROD' },
      },
    ],
  };
}

/** Sets (or, with undefined, removes) the value at a dotted path such as `environments.1.connection.port`. */
function setIn(target: unknown, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let node = target;
  for (const key of keys) {
    node = isContainer(node) ? node[key] : undefined;
  }
  if (!isContainer(node)) {
    throw new Error(`test setup: nothing at ${path}`);
  }
  if (value === undefined) {
    delete node[last];
  } else {
    node[last] = value;
  }
}

function isContainer(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function fileWith(...changes: [path: string, value: unknown][]): string {
  const file = validFile();
  for (const [path, value] of changes) {
    setIn(file, path, value);
  }
  return stringify(file);
}

/** The AppError `act` throws; fails the test when it throws nothing. */
function caught(act: () => unknown): AppError {
  try {
    act();
  } catch (err) {
    if (err instanceof AppError) {
      return err;
    }
    throw err;
  }
  throw new Error('expected an AppError, but nothing was thrown');
}

describe('parseEnvironmentsFile', () => {
  it('fills in every default', () => {
    // Arrange
    const text = fileWith();

    // Act
    const file = parseEnvironmentsFile(text, 'environments.yml');

    // Assert
    expect(file.usernamePrefix).toBe('dbx_');
    const [dev, test, prod] = file.environments;
    expect(dev).toEqual({
      name: 'dev',
      dialect: 'sqlserver',
      platform: 'self-managed',
      connection: {
        host: 'sql-dev.internal',
        database: 'outsystems',
        schema: 'dbo',
        user: 'dbaccess_admin',
        password: { env: 'DEV_DB_ADMIN_PASSWORD' },
        encrypt: true,
        trustServerCertificate: false,
        connectTimeout: 15_000,
        requestTimeout: 30_000,
      },
      details: { host: 'dev-db.example.com', port: 1433, database: 'outsystems' },
      lifetimeVersion: '11.19.0',
      hosting: 'outsystems-cloud',
      network: 'vpn',
      approvers: { users: ['U0123ABCD'], groups: [] },
      selfService: [],
      breakGlass: [],
      channels: { approvals: 'C0123ABCD', reminders: 'C0456EFGH' },
      policy: {
        ttl: 12 * HOUR,
        maxTtl: 12 * HOUR,
        minTtl: 5 * MINUTE,
        maxExtensions: 1,
        allowSelfApproval: false,
        pendingTimeout: 8 * HOUR,
        reminders: [60 * MINUTE, 10 * MINUTE],
        approverReminders: [15 * MINUTE, 45 * MINUTE, 105 * MINUTE, 225 * MINUTE],
        extensionNeedsApproval: false,
        dbTimeout: 30_000,
        approvals: { temporary: 1, permanent: 1, interop: 1 },
        // Issue 17 item 3: access reviews every 90 days, 14 days' grace, then a notice (no escalation by default).
        reviewEvery: 90 * 24 * HOUR,
        reviewGrace: 14 * 24 * HOUR,
        reviewExpiredAction: 'notify',
      },
      interop: { userAndTenant: false, oracleWrite: false },
    });
    expect(test?.connection).toMatchObject({ port: 1433, schema: 'dbo', encrypt: true });
    expect(prod?.connection).toEqual({
      host: 'ora-prod.internal',
      port: 1521,
      serviceName: 'OSPROD',
      schema: 'OSADMIN',
      user: 'DBACCESS_ADMIN',
      password: { file: '/run/secrets/prod-db-admin' },
      connectTimeout: 15_000,
      requestTimeout: 30_000,
      identifierMaxBytes: 128,
    });
    expect(prod?.details).toEqual({ host: 'prod-db.example.com', port: 1521, database: 'OSPROD' });
  });

  it('keeps details that are given and reads every policy field', () => {
    // Arrange
    const text = fileWith(
      ['environments.0.connection.instance', 'OUTSYSTEMS'],
      ['environments.0.details', { host: 'h.example.com', port: 14330, instance: 'PUBLIC', database: 'os' }],
      [
        'environments.0.policy',
        {
          ttl: '4h',
          maxTtl: '1d',
          minTtl: '1m',
          maxExtensions: 3,
          allowSelfApproval: true,
          pendingTimeout: '30m',
          reminders: ['2h', '15m'],
        },
      ],
      ['environments.2.connection.identifierMaxBytes', 30],
    );

    // Act
    const [dev, , prod] = parseEnvironmentsFile(text, 'environments.yml').environments;

    // Assert
    expect(dev?.connection.instance).toBe('OUTSYSTEMS');
    expect(dev?.details).toEqual({ host: 'h.example.com', port: 14330, instance: 'PUBLIC', database: 'os' });
    expect(dev?.policy).toEqual({
      ttl: 4 * HOUR,
      maxTtl: 24 * HOUR,
      minTtl: MINUTE,
      maxExtensions: 3,
      allowSelfApproval: true,
      pendingTimeout: 30 * MINUTE,
      reminders: [2 * HOUR, 15 * MINUTE],
      approverReminders: [15 * MINUTE, 45 * MINUTE, 105 * MINUTE, 225 * MINUTE],
      extensionNeedsApproval: false,
      dbTimeout: 30_000,
      approvals: { temporary: 1, permanent: 1, interop: 1 },
      reviewEvery: 90 * 24 * HOUR,
      reviewGrace: 14 * 24 * HOUR,
      reviewExpiredAction: 'notify',
    });
    expect(prod?.dialect === 'oracle' && prod.connection.identifierMaxBytes).toBe(30);
  });

  it('lets one environment reuse another with a YAML merge key', () => {
    // Arrange
    const text = [
      'environments:',
      '  - &dev',
      '    name: dev',
      '    dialect: sqlserver',
      '    connection: { host: sql-dev.internal, database: outsystems, user: admin, password: { env: DEV_PW } }',
      '    details: { host: dev-db.example.com }',
      '    lifetimeVersion: 11.19.0',
      '    network: vpn',
      '    approvers: { users: [U0123ABCD] }',
      '    channels: { approvals: C0123ABCD, reminders: C0456EFGH }',
      '  - <<: *dev',
      '    name: qa',
      '    details: { host: qa-db.example.com }',
      '',
    ].join('\n');

    // Act
    const [, qa] = parseEnvironmentsFile(text, 'environments.yml').environments;

    // Assert
    expect(qa).toMatchObject({
      name: 'qa',
      dialect: 'sqlserver',
      details: { host: 'qa-db.example.com', port: 1433, database: 'outsystems' },
      approvers: { users: ['U0123ABCD'] },
    });
  });

  it.each([
    [
      'port out of range',
      'environments.1.connection.port',
      70000,
      'environments[1] (test).connection.port: expected a whole number from 1 to 65535, e.g. 1433',
    ],
    [
      'port not a number',
      'environments.2.connection.port',
      'fifteen',
      'environments[2] (prod).connection.port: expected a whole number from 1 to 65535, e.g. 1521',
    ],
    [
      'unknown dialect',
      'environments.0.dialect',
      'mssql',
      "environments[0] (dev).dialect: 'mssql' is not a dialect: expected sqlserver, azuresql or oracle",
    ],
    [
      'missing dialect',
      'environments.0.dialect',
      undefined,
      'environments[0] (dev).dialect: missing: add dialect: sqlserver, azuresql or oracle',
    ],
    [
      'instance on oracle',
      'environments.2.connection.instance',
      'OUTSYSTEMS',
      'environments[2] (prod).connection.instance: only SQL Server has named instances; Oracle connects to a serviceName; remove it',
    ],
    [
      'instance on azuresql',
      'environments.1.connection.instance',
      'OUTSYSTEMS',
      'environments[1] (test).connection.instance: Azure SQL Database has no named instances; remove it',
    ],
    [
      'instance in the details of oracle',
      'environments.2.details.instance',
      'OUTSYSTEMS',
      'environments[2] (prod).details.instance: only SQL Server has named instances; remove it',
    ],
    [
      'serviceName missing for oracle',
      'environments.2.connection.serviceName',
      undefined,
      'environments[2] (prod).connection.serviceName: missing: add an Oracle service name, e.g. FREEPDB1',
    ],
    [
      'serviceName on sqlserver',
      'environments.0.connection.serviceName',
      'FREEPDB1',
      'environments[0] (dev).connection.serviceName: serviceName is for oracle; SQL Server connects to a database; remove it',
    ],
    [
      'database missing for sqlserver',
      'environments.0.connection.database',
      undefined,
      'environments[0] (dev).connection.database: missing: add the name of the OutSystems platform database, e.g. outsystems',
    ],
    [
      'database on oracle',
      'environments.2.connection.database',
      'outsystems',
      'environments[2] (prod).connection.database: Oracle connects to a serviceName, not a database; remove it',
    ],
    [
      'schema missing for oracle',
      'environments.2.connection.schema',
      undefined,
      'environments[2] (prod).connection.schema: missing: add a schema name: a letter, then up to 127 letters, digits or _, e.g. OSADMIN',
    ],
    [
      'schema that is not an identifier',
      'environments.0.connection.schema',
      'dbo; drop table x',
      'environments[0] (dev).connection.schema: expected a schema name',
    ],
    [
      'both env and file',
      'environments.0.connection.password',
      { env: 'DEV_DB_ADMIN_PASSWORD', file: '/run/secrets/dev' },
      'environments[0] (dev).connection.password: names both env and file: write password: { env: NAME }',
    ],
    [
      'neither env nor file',
      'environments.0.connection.password',
      {},
      'environments[0] (dev).connection.password: names neither env nor file',
    ],
    [
      'password missing',
      'environments.0.connection.password',
      undefined,
      'environments[0] (dev).connection.password: missing: write password: { env: NAME }',
    ],
    [
      'a duplicate name',
      'environments.1.name',
      'dev',
      "environments[1] (dev).name: duplicate: environments[0] is also named 'dev'",
    ],
    [
      'a name users cannot type',
      'environments.1.name',
      'Test Env',
      'environments[1] (Test Env).name: expected a name users type',
    ],
    [
      'ttl longer than maxTtl',
      'environments.0.policy',
      { ttl: '13h' },
      'environments[0] (dev).policy.ttl: 13h is longer than maxTtl (12h): lower ttl or raise maxTtl',
    ],
    [
      'a reminder not shorter than maxTtl',
      'environments.0.policy',
      { maxTtl: '2h', ttl: '1h', reminders: ['2h', '10m'] },
      'environments[0] (dev).policy.reminders[0]: 2h before expiry is not shorter than maxTtl (2h)',
    ],
    [
      'a malformed duration',
      'environments.0.policy',
      { pendingTimeout: '8 hours' },
      "environments[0] (dev).policy.pendingTimeout: '8 hours' is not a duration",
    ],
    [
      'maxExtensions above 10',
      'environments.0.policy',
      { maxExtensions: 11 },
      'environments[0] (dev).policy.maxExtensions: expected a whole number from 0 to 10, e.g. 1',
    ],
    [
      'a user name instead of a Slack user ID',
      'environments.0.approvers.users',
      ['U0123ABCD', 'alice'],
      'environments[0] (dev).approvers.users[1]: expected a Slack user ID',
    ],
    [
      'a user ID among groups',
      'environments.1.approvers.groups',
      ['U0123ABCD'],
      'environments[1] (test).approvers.groups[0]: expected a Slack user-group ID',
    ],
    [
      'a channel name instead of its ID',
      'environments.0.channels.approvals',
      '#db-approvals',
      'environments[0] (dev).channels.approvals: expected a Slack channel ID',
    ],
    [
      'a bad self-service ID',
      'environments.0.selfService',
      ['@lt-admin'],
      'environments[0] (dev).selfService[0]: expected a Slack user ID',
    ],
    [
      'approvers naming nobody',
      'environments.0.approvers',
      { users: [], groups: [] },
      'environments[0] (dev).approvers: names nobody: add at least one Slack user ID under users or user-group ID under groups',
    ],
    [
      'identifierMaxBytes 64',
      'environments.2.connection.identifierMaxBytes',
      64,
      'environments[2] (prod).connection.identifierMaxBytes: expected 128 (Oracle 12.2 and later, the default) or 30 (COMPATIBLE below 12.2)',
    ],
    [
      'identifierMaxBytes on sqlserver',
      'environments.0.connection.identifierMaxBytes',
      128,
      'environments[0] (dev).connection.identifierMaxBytes: identifierMaxBytes is for oracle only; remove it',
    ],
    [
      'encrypt false on azuresql',
      'environments.1.connection.encrypt',
      false,
      'environments[1] (test).connection.encrypt: Azure SQL Database always encrypts connections',
    ],
    [
      'encrypt on oracle',
      'environments.2.connection.encrypt',
      true,
      'environments[2] (prod).connection.encrypt: encrypt is for sqlserver and azuresql',
    ],
    [
      'a boolean written as text',
      'environments.0.connection.trustServerCertificate',
      'yes',
      'environments[0] (dev).connection.trustServerCertificate: expected true or false, e.g. true',
    ],
    [
      'an unknown field close to a known one',
      'environments.0.connection.hostname',
      'sql-dev.internal',
      "environments[0] (dev).connection: unknown field 'hostname' — did you mean 'host'?",
    ],
    [
      'an unknown field with a different case',
      'environments.2.connection.service_name',
      'OSPROD',
      "environments[2] (prod).connection: unknown field 'service_name' — did you mean 'serviceName'?",
    ],
    [
      'an unknown field like nothing known',
      'environments.0.colour',
      'blue',
      "environments[0] (dev): unknown field 'colour': remove it (the fields here are name, dialect, connection",
    ],
    [
      'a version YAML reads as a number',
      'environments.0.lifetimeVersion',
      11.1,
      "environments[0] (dev).lifetimeVersion: is a number to YAML, which drops digits (11.10 becomes 11.1): write it in quotes, e.g. '11.10'",
    ],
    [
      'a version of one part',
      'environments.0.lifetimeVersion',
      '11',
      'environments[0] (dev).lifetimeVersion: expected a LifeTime version of 2 to 4 numbers separated by dots, e.g. 11.10.3',
    ],
    [
      'an unknown network',
      'environments.0.network',
      'vnp',
      'environments[0] (dev).network: expected vpn, tgw, allowlist or none, e.g. vpn',
    ],
    [
      'a host with an instance in it',
      'environments.0.connection.host',
      'sql-dev\\OUTSYSTEMS',
      'environments[0] (dev).connection.host: expected a host name or IP address, without port or instance',
    ],
    [
      'a username prefix with capitals',
      'usernamePrefix',
      'DBX_',
      'usernamePrefix: expected 3 to 10 characters ending in _: a lowercase letter, then lowercase letters, digits or _, e.g. dbx_',
    ],
    [
      'no environments',
      'environments',
      [],
      'environments: is empty: add at least one environment',
    ],
  ])('refuses %s, naming its path', (_case, path, value, expected) => {
    // Arrange
    const text = fileWith([path, value]);

    // Act
    const error = caught(() => parseEnvironmentsFile(text, 'environments.yml'));

    // Assert
    expect(error.code).toBe('config_invalid');
    expect(error.message.split('\n')).toContainEqual(expect.stringContaining(expected));
  });

  it.each([['S3cret-Value!'], ['hunter2'], ['correct horse battery staple']])(
    'refuses an inline password without repeating it (%#)',
    (password) => {
      // Arrange
      const text = fileWith(['environments.0.connection.password', password]);

      // Act
      const error = caught(() => parseEnvironmentsFile(text, 'environments.yml'));

      // Assert
      expect(error.message).toContain(
        'environments[0] (dev).connection.password: must say where the password is, not hold it: write password: { env: NAME } (an environment variable) or password: { file: PATH }',
      );
      expect(error.message).not.toContain(password);
    },
  );

  it('does not repeat a password pasted into a line YAML cannot read', () => {
    // Arrange
    const text = ['environments:', '  - name: dev', '    connection:', '      password: "S3cret-Value!', ''].join('\n');

    // Act
    const error = caught(() => parseEnvironmentsFile(text, 'environments.yml'));

    // Assert
    expect(error.message).toContain('is not valid YAML');
    expect(error.message).not.toContain('S3cret-Value!');
  });

  it('lists every problem at once, one per line, under a header with their count', () => {
    // Arrange
    const text = fileWith(
      ['usernamePrefix', 'x'],
      ['environments.0.connection.port', 0],
      ['environments.1.channels.reminders', 'general'],
      ['environments.2.connection.serviceName', undefined],
      ['environments.2.policy', { ttl: '1d' }],
    );

    // Act
    const error = caught(() => parseEnvironmentsFile(text, 'environments.yml'));

    // Assert
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('Environments file environments.yml is invalid (5 problems):');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^usernamePrefix: expected /),
      expect.stringMatching(/^environments\[0\] \(dev\)\.connection\.port: expected /),
      expect.stringMatching(/^environments\[1\] \(test\)\.channels\.reminders: expected /),
      expect.stringMatching(/^environments\[2\] \(prod\)\.connection\.serviceName: missing: /),
      expect.stringMatching(/^environments\[2\] \(prod\)\.policy\.ttl: 1d is longer than maxTtl/),
    ]);
  });

  it('still checks the other fields of an environment whose dialect is unknown', () => {
    // Arrange
    const text = fileWith(
      ['environments.0.dialect', 'postgres'],
      ['environments.0.network', 'vpm'],
      ['environments.0.details', undefined],
    );

    // Act
    const error = caught(() => parseEnvironmentsFile(text, 'environments.yml'));

    // Assert
    expect(error.message).toContain("environments[0] (dev).dialect: 'postgres' is not a dialect");
    expect(error.message).toContain('environments[0] (dev).network: expected vpn, tgw, allowlist or none');
    expect(error.message).toContain('environments[0] (dev).details: missing: add what users are shown');
  });

  it.each([
    [
      'a bad indentation',
      ['environments:', '  - name: dev', '    dialect: sqlserver', '  network: vpn', ''].join('\n'),
      'line 4, column 1: All mapping items must start at the same column',
    ],
    [
      'a tab',
      ['environments:', '  - name: dev', '    dialect: sqlserver', '\tnetwork: vpn', ''].join('\n'),
      'line 4, column 1: Tabs are not allowed as indentation',
    ],
    ['an unclosed list', ['environments:', '  - name: dev', '    reminders: [60m, 10m', ''].join('\n'), 'line 4, column 1'],
    [
      'a duplicate key',
      ['environments:', '  - name: dev', '    name: test', ''].join('\n'),
      'line 3, column 5: Map keys must be unique',
    ],
  ])('gives line and column of %s in YAML', (_case, text, expected) => {
    // Act
    const error = caught(() => parseEnvironmentsFile(text, 'environments.yml'));

    // Assert
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain('Environments file environments.yml is not valid YAML:');
    expect(error.message).toContain(expected);
  });

  it.each([
    ['an empty file', '', 'Environments file environments.yml is empty'],
    ['a list at the top', '- name: dev\n', '(top level): expected a map with usernamePrefix (optional) and environments'],
    ['no environments key', 'usernamePrefix: dbx_\n', 'environments: missing: add the list of environments'],
  ])('explains %s', (_case, text, expected) => {
    // Act
    const error = caught(() => parseEnvironmentsFile(text, 'environments.yml'));

    // Assert
    expect(error.message).toContain(expected);
  });
});

describe('loadConfig', () => {
  let directory: string;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'dbaccess-config-'));
  });

  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  /** Writes the file and the prod password file into the temp directory; returns the environment variables. */
  function arrange(text: string = fileWith()): NodeJS.ProcessEnv {
    const configPath = join(directory, 'environments.yml');
    writeFileSync(configPath, text);
    writeFileSync(join(directory, 'prod-db-admin'), 'prod-Pa55word!\n');
    return {
      DBACCESS_CONFIG: configPath,
      DEV_DB_ADMIN_PASSWORD: 'dev-Pa55word!',
      TEST_DB_ADMIN_PASSWORD: 'test-Pa55word!',
    };
  }

  function prodPasswordIn(path: string): string {
    return fileWith(['environments.2.connection.password', { file: path }]);
  }

  it('resolves each admin password from its variable or file', () => {
    // Arrange
    const env = arrange(prodPasswordIn(join(directory, 'prod-db-admin')));

    // Act
    const config = loadConfig({ env });

    // Assert
    expect(config.environments.map((environment) => environment.adminPassword())).toEqual([
      'dev-Pa55word!',
      'test-Pa55word!',
      'prod-Pa55word!',
    ]);
    expect(config.usernamePrefix).toBe('dbx_');
    expect(config.environments.map((environment) => environment.name)).toEqual(['dev', 'test', 'prod']);
  });

  it.each([
    ['one trailing newline', 'pw\n', 'pw'],
    ['a Windows newline', 'pw\r\n', 'pw'],
    ['only one of two newlines', 'pw\n\n', 'pw\n'],
    ['spaces, which may be part of the password', ' pw ', ' pw '],
  ])('takes a password file as written, minus %s', (_case, content, expected) => {
    // Arrange
    const env = arrange(prodPasswordIn(join(directory, 'prod-db-admin')));
    writeFileSync(join(directory, 'prod-db-admin'), content);

    // Act
    const config = loadConfig({ env });

    // Assert
    expect(config.environments[2]?.adminPassword()).toBe(expected);
  });

  it('finds a relative password file next to the environments file', () => {
    // Arrange
    const env = arrange(prodPasswordIn('prod-db-admin'));

    // Act
    const config = loadConfig({ env });

    // Assert
    expect(config.environments[2]?.adminPassword()).toBe('prod-Pa55word!');
  });

  it('reads through the readFile it is given', () => {
    // Arrange
    const files = new Map([
      ['/etc/dbaccess/environments.yml', fileWith()],
      ['/run/secrets/prod-db-admin', 'from-readFile\n'],
    ]);
    const readFile = (path: string) => {
      const text = files.get(path);
      if (text === undefined) {
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      }
      return text;
    };

    // Act
    const config = loadConfig({
      env: { DBACCESS_CONFIG: '/etc/dbaccess/environments.yml', DEV_DB_ADMIN_PASSWORD: 'a', TEST_DB_ADMIN_PASSWORD: 'b' },
      readFile,
    });

    // Assert
    expect(config.environments[2]?.adminPassword()).toBe('from-readFile');
  });

  it.each([
    [
      'an unset variable',
      { DEV_DB_ADMIN_PASSWORD: undefined },
      'environments[0] (dev).connection.password: environment variable DEV_DB_ADMIN_PASSWORD is not set',
    ],
    [
      'an empty variable',
      { TEST_DB_ADMIN_PASSWORD: '' },
      'environments[1] (test).connection.password: environment variable TEST_DB_ADMIN_PASSWORD is empty',
    ],
  ])('refuses %s, naming environment, field and variable', (_case, override, expected) => {
    // Arrange
    const env = { ...arrange(prodPasswordIn(join(directory, 'prod-db-admin'))), ...override };

    // Act
    const error = caught(() => loadConfig({ env }));

    // Assert
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(expected);
    expect(error.message).not.toMatch(/Pa55word/);
  });

  it.each([
    ['a missing file', () => undefined, 'does not exist: create it'],
    ['an empty file', (path: string) => writeFileSync(path, '\n'), 'is empty: write'],
  ])('refuses %s, naming environment, field and path', (_case, prepare, expected) => {
    // Arrange
    const passwordPath = join(directory, 'missing-secret');
    const env = arrange(prodPasswordIn(passwordPath));
    prepare(passwordPath);

    // Act
    const error = caught(() => loadConfig({ env }));

    // Assert
    expect(error.message).toContain(`environments[2] (prod).connection.password: file ${passwordPath} ${expected}`);
  });

  it('lists every unresolved password at once', () => {
    // Arrange
    const env: NodeJS.ProcessEnv = { ...arrange(prodPasswordIn(join(directory, 'nope'))), DEV_DB_ADMIN_PASSWORD: undefined };

    // Act
    const error = caught(() => loadConfig({ env }));

    // Assert
    expect(error.message.split('\n')).toEqual([
      `Environments file ${env.DBACCESS_CONFIG}: admin passwords cannot be read:`,
      expect.stringContaining('environments[0] (dev).connection.password: environment variable DEV_DB_ADMIN_PASSWORD'),
      expect.stringContaining(`environments[2] (prod).connection.password: file ${join(directory, 'nope')}`),
    ]);
  });

  it('keeps the passwords out of JSON.stringify and util.inspect', () => {
    // Arrange
    const env = { ...arrange(prodPasswordIn(join(directory, 'prod-db-admin'))), SLACK_BOT_TOKEN: 'xoxb-not-ours' };

    // Act
    const config = loadConfig({ env });
    const printed = [JSON.stringify(config), inspect(config, { depth: 10 }), inspect(config, { depth: 10, showHidden: true })];

    // Assert
    for (const text of printed) {
      expect(text).toContain('dev-db.example.com');
      expect(text).not.toContain('dev-Pa55word!');
      expect(text).not.toContain('test-Pa55word!');
      expect(text).not.toContain('prod-Pa55word!');
      expect(text).not.toContain('xoxb-not-ours');
    }
    expect(config.environments[0]?.adminPassword()).toBe('dev-Pa55word!');
  });

  it('says which path is missing and which variable sets it', () => {
    // Arrange
    const configPath = join(directory, 'absent.yml');

    // Act
    const error = caught(() => loadConfig({ env: { DBACCESS_CONFIG: configPath } }));

    // Assert
    expect(error.code).toBe('config_invalid');
    expect(error.message).toBe(
      `Environments file ${configPath} (set by DBACCESS_CONFIG) does not exist: create it (config/environments.example.yml shows the format) or set DBACCESS_CONFIG to its path.`,
    );
  });

  it('says the default path was used when DBACCESS_CONFIG is not set', () => {
    // Arrange
    const readFile = (path: string): string => {
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    };

    // Act
    const error = caught(() => loadConfig({ env: {}, readFile }));

    // Assert
    expect(error.message).toContain(
      'Environments file ./config/environments.yml (the default path, as DBACCESS_CONFIG is not set) does not exist',
    );
  });

  it('stops at a bad file with the same message as parseEnvironmentsFile', () => {
    // Arrange
    const env = arrange(fileWith(['environments.1.connection.port', 70000]));

    // Act
    const error = caught(() => loadConfig({ env }));

    // Assert
    expect(error.message).toContain(
      'environments[1] (test).connection.port: expected a whole number from 1 to 65535, e.g. 1433',
    );
  });
});

describe('EnvVars', () => {
  it.each([
    ['unset', {}],
    ['empty', { DBACCESS_CONFIG: '', DBACCESS_DB: '', LOG_LEVEL: '' }],
  ])('uses the defaults for variables that are %s', (_case, variables) => {
    // Arrange
    const readFile = (path: string) => (path === './config/environments.yml' ? fileWith() : 'secret');
    const env = { ...variables, DEV_DB_ADMIN_PASSWORD: 'a', TEST_DB_ADMIN_PASSWORD: 'b' };

    // Act
    const config = loadConfig({ env, readFile });

    // Assert
    expect(config.vars).toEqual({
      DBACCESS_CONFIG: './config/environments.yml',
      DBACCESS_DB: './data/dbaccess.sqlite',
      LOG_LEVEL: 'info',
      ORPHAN_CHECK_CRON: '17 6 * * *',
      DBACCESS_FAILPOINTS: [],
      GRANT_SYNC_CRON: '23 * * * *',
      INTEROP_CHECK_CRON: '41 * * * *',
      OPS_PORT: 9090,
      READINESS_CACHE: 30_000,
      READINESS_TIMEOUT: 5_000,
    });
  });

  it('refuses an unknown log level, listing the levels', () => {
    // Act
    const error = caught(() => loadConfig({ env: { LOG_LEVEL: 'verbose' }, readFile: () => fileWith() }));

    // Assert
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain(
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, e.g. LOG_LEVEL=info',
    );
  });

  it('keeps only its own variables', () => {
    // Act
    const vars = EnvVars.parse({ LOG_LEVEL: 'debug', HOME: '/root', DEV_DB_ADMIN_PASSWORD: 'x' });

    // Assert
    expect(vars).toEqual({
      DBACCESS_CONFIG: './config/environments.yml',
      DBACCESS_DB: './data/dbaccess.sqlite',
      LOG_LEVEL: 'debug',
      ORPHAN_CHECK_CRON: '17 6 * * *',
      DBACCESS_FAILPOINTS: [],
      GRANT_SYNC_CRON: '23 * * * *',
      INTEROP_CHECK_CRON: '41 * * * *',
      OPS_PORT: 9090,
      READINESS_CACHE: 30_000,
      READINESS_TIMEOUT: 5_000,
    });
  });

  it('refuses an orphan-check schedule that is not cron syntax', () => {
    const error = caught(() => loadConfig({ env: { ORPHAN_CHECK_CRON: 'daily' }, readFile: () => fileWith() }));
    expect(error.message).toContain("ORPHAN_CHECK_CRON: expected a cron expression such as '17 6 * * *'");
  });
});

describe('loadSlackSettings', () => {
  const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'signing-secret-1' };

  it('SLACK_TEAM_ID is optional; SLACK_API_TIMEOUT_MS defaults to 10 s', () => {
    const settings = loadSlackSettings(base);

    expect(settings.teamId).toBeUndefined();
    expect(settings.apiTimeoutMs).toBe(10_000);
  });

  it('reads SLACK_TEAM_ID and SLACK_API_TIMEOUT_MS', () => {
    const settings = loadSlackSettings({ ...base, SLACK_TEAM_ID: 'T0123ABCD', SLACK_API_TIMEOUT_MS: '2500' });

    expect(settings.teamId).toBe('T0123ABCD');
    expect(settings.apiTimeoutMs).toBe(2_500);
  });

  it.each([
    ['SLACK_TEAM_ID', 'my-workspace'],
    ['SLACK_API_TIMEOUT_MS', '50'],
    ['SLACK_API_TIMEOUT_MS', 'ten seconds'],
  ])('a malformed %s (%s) stops start-up with a message naming it', (name, value) => {
    expect(() => loadSlackSettings({ ...base, [name]: value })).toThrow(new RegExp(`${name}: `));
  });
});

describe('the sample files in config/', () => {
  const samplePath = (name: string) => fileURLToPath(new URL(`../config/${name}`, import.meta.url));

  it('loads environments.example.yml with its variables and secret file', () => {
    // Arrange
    const env = {
      DBACCESS_CONFIG: samplePath('environments.example.yml'),
      DEV_DB_ADMIN_PASSWORD: 'dev',
      TEST_DB_ADMIN_PASSWORD: 'test',
    };
    const readFile = (path: string) => (path === '/run/secrets/prod-db-admin' ? 'prod\n' : readFileSync(path, 'utf8'));

    // Act
    const config = loadConfig({ env, readFile });

    // Assert
    expect(config.environments.map((environment) => [environment.name, environment.dialect])).toEqual([
      ['dev', 'sqlserver'],
      ['test', 'azuresql'],
      ['prod', 'oracle'],
    ]);
    expect(config.environments.map((environment) => environment.adminPassword())).toEqual(['dev', 'test', 'prod']);
  });

  it('loads console.yml with CONSOLE_DB_PASSWORD', () => {
    // Arrange
    const env = { DBACCESS_CONFIG: samplePath('console.yml'), CONSOLE_DB_PASSWORD: 'console' };

    // Act
    const config = loadConfig({ env });

    // Assert
    expect(
      config.environments.map((environment) => ({
        name: environment.name,
        dialect: environment.dialect,
        network: environment.network,
        lifetimeVersion: environment.lifetimeVersion,
        schema: environment.connection.schema,
      })),
    ).toEqual([
      { name: 'dev', dialect: 'sqlserver', network: 'vpn', lifetimeVersion: '11.19.0', schema: 'dbo' },
      { name: 'test', dialect: 'azuresql', network: 'tgw', lifetimeVersion: expect.any(String), schema: 'dbo' },
      { name: 'prod', dialect: 'oracle', network: 'vpn', lifetimeVersion: expect.any(String), schema: 'OSADMIN' },
      { name: 'legacy', dialect: 'sqlserver', network: 'allowlist', lifetimeVersion: '11.7.2', schema: 'dbo' },
    ]);
    expect(config.environments.every((environment) => environment.adminPassword() === 'console')).toBe(true);
  });
});

describe('lifetimeAtLeast', () => {
  it.each([
    ['11.7.5', '11.7.5', true],
    ['11.10.0', '11.7.5', true],
    ['11.7.4', '11.7.5', false],
    ['11.7.2', '11.7.5', false],
    ['11.8', '11.7.5', true],
    ['11.7', '11.7.5', false],
    ['11.7.5.0', '11.7.5', true],
    ['11.7.5.1', '11.7.5', true],
    ['12.0', '11.99.99', true],
    ['10.99.99', '11.0', false],
    ['11.19.0', '11.7.5', true],
  ])('%s is at least %s: %s', (version, minimum, expected) => {
    // Act
    const result = lifetimeAtLeast(version, minimum);

    // Assert
    expect(result).toBe(expected);
  });

  it('refuses a version it cannot read, a bug in the caller', () => {
    // Act
    const act = () => lifetimeAtLeast('11.x', '11.7.5');

    // Assert
    expect(act).toThrowError(expect.objectContaining({ code: 'internal' }));
  });
});

// Issue 15: what the statements need from the file (items 3, 4, 6, 8, 9, 10).
describe('settings the dialects need', () => {
  it.each(['os', 'db', 'dbx', 'os1'])('refuses the username prefix %j: 3 characters at least, ending in _, so it never matches OSADMIN or DBSNMP', (prefix) => {
    const error = caught(() => parseEnvironmentsFile(fileWith(['usernamePrefix', prefix]), 'environments.yml'));
    expect(error.message).toContain('usernamePrefix: expected 3 to 10 characters ending in _');
  });

  it('accepts a 3-character prefix ending in _', () => {
    expect(parseEnvironmentsFile(fileWith(['usernamePrefix', 'os_']), 'environments.yml').usernamePrefix).toBe('os_');
  });

  it('does not grant User and Tenant by default', () => {
    const [dev] = parseEnvironmentsFile(fileWith(), 'environments.yml').environments;
    expect(dev?.interop.userAndTenant).toBe(false);
  });

  it('refuses a lower-case Oracle schema, which would match no table, and says how to write it', () => {
    const error = caught(() => parseEnvironmentsFile(fileWith(['environments.2.connection.schema', 'osadmin']), 'environments.yml'));
    expect(error.message).toContain('environments[2] (prod).connection.schema: Oracle stores the owner in upper case: write OSADMIN');
  });

  it('reads platform per environment, self-managed by default, azure-sql-database for azuresql', () => {
    const [dev, test, prod] = parseEnvironmentsFile(fileWith(['environments.2.platform', 'rds']), 'environments.yml').environments;
    expect([dev?.platform, test?.platform, prod?.platform]).toEqual(['self-managed', 'azure-sql-database', 'rds']);
    expect(parseEnvironmentsFile(fileWith(['environments.0.platform', 'azure-mi']), 'environments.yml').environments[0]?.platform).toBe('azure-mi');
  });

  it.each([
    ['environments.0.platform', 'azure-sql-database', 'environments[0] (dev).platform: expected self-managed, rds or azure-mi'],
    ['environments.1.platform', 'rds', 'environments[1] (test).platform: azuresql is always azure-sql-database'],
    ['environments.2.platform', 'azure-mi', 'environments[2] (prod).platform: expected self-managed or rds'],
  ])('refuses %s = %s', (path, value, message) => {
    const error = caught(() => parseEnvironmentsFile(fileWith([path, value]), 'environments.yml'));
    expect(error.message).toContain(message);
  });

  it('reads Oracle profiles per user kind, and refuses them elsewhere', () => {
    const [, , prod] = parseEnvironmentsFile(fileWith(['environments.2.profiles', { readonly: 'DBX_INTEGRATION', temporary: 'DBX_TEMPORARY' }]), 'environments.yml').environments;
    expect(prod?.dialect === 'oracle' ? prod.profiles : undefined).toEqual({ readonly: 'DBX_INTEGRATION', temporary: 'DBX_TEMPORARY' });
    const error = caught(() => parseEnvironmentsFile(fileWith(['environments.0.profiles', { readonly: 'X' }]), 'environments.yml'));
    expect(error.message).toContain('environments[0] (dev).profiles: profiles are for oracle only');
    const lower = caught(() => parseEnvironmentsFile(fileWith(['environments.2.profiles', { readonly: 'dbx_x' }]), 'environments.yml'));
    expect(lower.message).toContain('environments[2] (prod).profiles.readonly: expected an Oracle profile name in upper case');
  });

  it('reads schemaPrivileges for Oracle (default false) and refuses it elsewhere', () => {
    const [, , prod] = parseEnvironmentsFile(fileWith(['environments.2.schemaPrivileges', true]), 'environments.yml').environments;
    expect(prod?.dialect === 'oracle' && prod.schemaPrivileges).toBe(true);
    const [, , plain] = parseEnvironmentsFile(fileWith(), 'environments.yml').environments;
    expect(plain?.dialect === 'oracle' && plain.schemaPrivileges).toBe(false);
    const error = caught(() => parseEnvironmentsFile(fileWith(['environments.0.schemaPrivileges', true]), 'environments.yml'));
    expect(error.message).toContain('environments[0] (dev).schemaPrivileges: schemaPrivileges are for oracle (23ai) only');
  });

  it('keeps a SQL Server port only when written, so that with an instance too the bot connects by port', () => {
    const [dev] = parseEnvironmentsFile(fileWith(['environments.0.connection.instance', 'OUTSYSTEMS'], ['environments.0.connection.port', 14330]), 'environments.yml').environments;
    expect(dev?.connection).toMatchObject({ instance: 'OUTSYSTEMS', port: 14330 });
    const [plain] = parseEnvironmentsFile(fileWith(['environments.0.connection.instance', 'OUTSYSTEMS']), 'environments.yml').environments;
    expect(plain?.connection.port).toBeUndefined();
    expect(plain?.details.port).toBe(1433);
  });
});

describe('loadStartup', () => {
  it('names every problem of every stage in one message: variables, file, passwords and Slack settings', () => {
    // Arrange: a wrong variable, a wrong field, an unset password variable, and no Slack token.
    const file = fileWith(['environments.0.policy', { ttl: '4h', minTtl: '6h' }], ['environments.1.network', 'carrier-pigeon']);
    const env = { LOG_LEVEL: 'verbose', DBACCESS_CONFIG: '/virtual/environments.yml', TEST_DB_ADMIN_PASSWORD: 'test-Pa55word!', SLACK_SIGNING_SECRET: 'signing-secret-1' };
    const readFile = (path: string) => (path === '/virtual/environments.yml' ? file : 'prod-Pa55word!');

    // Act
    const error = caught(() => loadStartup({ env, readFile }));

    // Assert
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain('The bot cannot start: 4 parts of its configuration are wrong, all listed below.');
    expect(error.message).toContain('LOG_LEVEL: expected one of');
    expect(error.message).toContain('environments[0] (dev).policy.minTtl: 6h is longer than ttl (4h)');
    expect(error.message).toContain('environments[1] (test).network: expected vpn, tgw, allowlist or none');
    expect(error.message).toContain('environments[0] (dev).connection.password: environment variable DEV_DB_ADMIN_PASSWORD is not set');
    expect(error.message).toContain('SLACK_BOT_TOKEN: missing');
  });

  it('skips the passwords only when the file cannot be read, since they are named in it', () => {
    const error = caught(() => loadStartup({ env: { DBACCESS_CONFIG: '/nowhere.yml', LOG_LEVEL: 'verbose' }, readFile: () => { throw Object.assign(new Error('nope'), { code: 'ENOENT' }); } }));

    expect(error.message).toContain('LOG_LEVEL: expected one of');
    expect(error.message).toContain('Environments file /nowhere.yml (set by DBACCESS_CONFIG) does not exist');
    expect(error.message).toContain('SLACK_BOT_TOKEN: missing');
    expect(error.message).not.toContain('password');
  });

  it('returns the configuration and the Slack settings when nothing is wrong', () => {
    const env = { DBACCESS_CONFIG: '/virtual/environments.yml', DEV_DB_ADMIN_PASSWORD: 'd', TEST_DB_ADMIN_PASSWORD: 't', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'signing-secret-1' };
    const { config, slack } = loadStartup({ env, readFile: (path) => (path === '/virtual/environments.yml' ? fileWith() : 'p') });

    expect(config.environments.map((e) => e.name)).toEqual(['dev', 'test', 'prod']);
    expect(slack.socketMode).toBe(false);
  });
});

describe('policy.minTtl and hosting', () => {
  it.each([
    [{ minTtl: '1m' }, undefined],
    [{ minTtl: '30s', ttl: '1h', maxTtl: '2h' }, undefined],
    [{ minTtl: '13h' }, 'minTtl: 13h is longer than ttl (12h)'],
    [{ minTtl: 'soon' }, "minTtl: 'soon' is not a duration"],
  ])('policy %j → %s', (policy, problem) => {
    const act = () => parseEnvironmentsFile(fileWith(['environments.0.policy', policy]), 'environments.yml');
    if (problem === undefined) expect(act).not.toThrow();
    else expect(caught(act).message).toContain(problem);
  });

  it('hosting is outsystems-cloud unless the file says self-managed; anything else is refused', () => {
    const file = parseEnvironmentsFile(fileWith(['environments.1.hosting', 'self-managed']), 'environments.yml');
    expect(file.environments.map((e) => e.hosting)).toEqual(['outsystems-cloud', 'self-managed', 'outsystems-cloud']);
    expect(caught(() => parseEnvironmentsFile(fileWith(['environments.0.hosting', 'aws']), 'environments.yml')).message).toContain(
      'environments[0] (dev).hosting: expected outsystems-cloud or self-managed',
    );
  });
});
