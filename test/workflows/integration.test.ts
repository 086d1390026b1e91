// The shape of .github/workflows/integration.yml, which cannot run here: parsed with `yaml` and checked
// against what GitHub Actions requires (the workflow syntax reference) and what the suite expects.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const file = new URL('../../.github/workflows/integration.yml', import.meta.url);

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Service {
  image: string;
  env?: Record<string, string>;
  ports?: string[];
  options?: string;
}
interface Job {
  'runs-on': string;
  'timeout-minutes'?: number;
  services?: Record<string, Service>;
  steps: Step[];
}

const workflow = parse(readFileSync(file, 'utf8'), { strict: true, uniqueKeys: true }) as { name: string; on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> };
const job = workflow.jobs['real-servers']!;

describe('.github/workflows/integration.yml', () => {
  it('has the keys a workflow needs: name, on, jobs with runs-on and steps', () => {
    expect(Object.keys(workflow).sort()).toEqual(['concurrency', 'jobs', 'name', 'on', 'permissions']);
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push', 'workflow_dispatch']);
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(job['runs-on']).toBe('ubuntu-latest');
    expect(job['timeout-minutes']).toBeGreaterThan(0);
    for (const step of job.steps) {
      // Each step does exactly one thing: an action or a command.
      expect(Number(step.uses !== undefined) + Number(step.run !== undefined)).toBe(1);
      if (step.uses) expect(step.uses).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
    }
  });

  it('starts SQL Server 2022 and Oracle Free as service containers with health checks, on the ports the URLs use', () => {
    const { sqlserver, oracle } = job.services ?? {};
    expect(sqlserver?.image).toBe('mcr.microsoft.com/mssql/server:2022-latest');
    expect(sqlserver?.env).toMatchObject({ ACCEPT_EULA: 'Y' });
    expect(sqlserver?.ports).toEqual(['1433:1433']);
    expect(oracle?.image).toMatch(/^gvenzl\/oracle-free:23/);
    expect(oracle?.ports).toEqual(['1521:1521']);
    for (const service of [sqlserver, oracle]) expect(service?.options).toMatch(/--health-cmd .+ --health-interval \d+s .*--health-retries \d+/);
  });

  it('runs npm run test:integration with URLs the suite parses, and passwords the containers were given', () => {
    const steps = job.steps.map((s) => s.run ?? s.uses);
    expect(steps).toEqual(['actions/checkout@v4', 'actions/setup-node@v4', 'npm ci', 'npm run test:integration']);
    const env = job.steps.at(-1)?.env ?? {};
    const mssql = new URL(env['MSSQL_URL'] ?? '');
    const oracle = new URL(env['ORACLE_URL'] ?? '');
    expect([mssql.protocol, mssql.hostname, mssql.port, mssql.pathname]).toEqual(['mssql:', 'localhost', '1433', '/dbaccess_it']);
    expect([oracle.protocol, oracle.hostname, oracle.port, oracle.pathname]).toEqual(['oracle:', 'localhost', '1521', '/FREEPDB1']);
    expect(decodeURIComponent(mssql.password)).toBe(job.services?.['sqlserver']?.env?.['MSSQL_SA_PASSWORD']);
    expect(decodeURIComponent(oracle.password)).toBe(job.services?.['oracle']?.env?.['ORACLE_PASSWORD']);
    expect(job.services?.['sqlserver']?.options).toContain(`-P ${mssql.password} `);
    const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(packageJson.scripts['test:integration']).toBe('vitest run test/integration');
  });
});
