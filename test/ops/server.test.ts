// The ops server as Prometheus and an orchestrator use it: real HTTP requests to /healthz, /readyz and /metrics on a free port.
import { request as httpRequest, Agent } from 'node:http';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseError } from '../../src/dialects/executor.js';
import { isAppError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { createReadiness, type ReadinessOptions } from '../../src/ops/health.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { startOpsServer, type OpsServer } from '../../src/ops/server.js';

const log = createLogger({ level: 'silent' });
const ADMIN_PASSWORD = 'Pr0d-Adm1n-Passw0rd';

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(readiness: Partial<ReadinessOptions> = {}, metrics = createMetrics({ countByState: () => ({ active: 2 }), defaultMetrics: false })) {
  server = await startOpsServer({
    port: 0,
    host: '127.0.0.1',
    log,
    metrics,
    readiness: createReadiness({ sqlite: () => {}, scheduler: () => true, databases: { dev: async () => {} }, ...readiness }),
  });
  return `http://127.0.0.1:${server.port}`;
}

describe('startOpsServer', () => {
  it('answers /healthz with 200 ok', async () => {
    const base = await start();

    const res = await fetch(`${base}/healthz`);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('ok\n');
  });

  it("serves /metrics as Prometheus text with the registry's content type", async () => {
    const metrics = createMetrics({ countByState: () => ({ active: 2 }), defaultMetrics: false });
    const base = await start({}, metrics);
    metrics.revoked('revoke_failed', 3);

    const res = await fetch(`${base}/metrics`);
    const text = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text).toContain('dbaccess_requests{state="active"} 2');
    expect(text).toContain('dbaccess_revocations_total{outcome="revoke_failed"} 1');
  });

  it('answers /readyz with 200 and the checks when ready', async () => {
    const base = await start();

    const res = await fetch(`${base}/readyz`);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ ready: true, checks: { sqlite: 'ok', scheduler: 'ok', 'db:dev': 'ok' } });
  });

  it('answers /readyz with 503 naming every failing check', async () => {
    const base = await start({
      scheduler: () => false,
      databases: {
        dev: async () => {},
        prod: async () => {
          throw new DatabaseError('db_unreachable', 'Cannot reach sql-prod.internal:1433.');
        },
      },
    });

    const res = await fetch(`${base}/readyz`);
    const body = (await res.json()) as { ready: boolean; checks: Record<string, string> };

    expect(res.status).toBe(503);
    expect(body.ready).toBe(false);
    expect(body.checks).toEqual({
      sqlite: 'ok',
      scheduler: 'error: the expiry timer is not running: expired users are not being revoked',
      'db:dev': 'ok',
      'db:prod': 'error: Cannot reach sql-prod.internal:1433.',
    });
  });

  it('never shows a secret in /readyz, whatever the failing checks throw', async () => {
    const base = await start({
      secrets: () => [ADMIN_PASSWORD],
      sqlite: () => {
        throw new Error(`unable to open file:/data/x.sqlite?password=${ADMIN_PASSWORD}`);
      },
      databases: {
        dev: async () => {
          throw new DatabaseError('db_login_failed', `Login failed; the server said: password ${ADMIN_PASSWORD} is wrong`);
        },
        qa: async () => {
          throw new DatabaseError('db_error', `Connection string Server=qa;Password=qa-only-secret;Encrypt=true rejected`);
        },
      },
    });

    const res = await fetch(`${base}/readyz`);
    const text = await res.text();

    expect(res.status).toBe(503);
    expect(text).not.toContain(ADMIN_PASSWORD);
    expect(text).not.toContain('qa-only-secret');
    expect(JSON.parse(text)).toMatchObject({
      checks: {
        sqlite: 'error: unexpected failure (see the bot log)',
        'db:dev': 'error: Login failed; the server said: password [redacted] is wrong',
        'db:qa': 'error: Connection string Server=qa;Password=[redacted];Encrypt=true rejected',
      },
    });
  });

  it.each(['/', '/nope', '/healthz/extra', '/metricsx', '/__proto__'])('answers %s with 404', async (path) => {
    const base = await start();

    const res = await fetch(`${base}${path}`);

    expect(res.status).toBe(404);
  });

  it('ignores the query string, and refuses methods other than GET and HEAD', async () => {
    const base = await start();

    const withQuery = await fetch(`${base}/healthz?probe=1`);
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    const post = await fetch(`${base}/healthz`, { method: 'POST' });

    expect(withQuery.status).toBe(200);
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 500, not a hang, when collecting the metrics fails', async () => {
    const metrics = createMetrics({
      countByState: () => {
        throw new Error('the database connection is not open');
      },
      defaultMetrics: false,
    });
    const base = await start({}, metrics);

    const res = await fetch(`${base}/metrics`);

    expect(res.status).toBe(500);
    expect(await res.text()).toBe('internal error (see the bot log)\n');
  });

  it('says which variable to change when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;

    const outcome = await startOpsServer({
      port,
      host: '127.0.0.1',
      log,
      metrics: createMetrics({ countByState: () => ({}), defaultMetrics: false }),
      readiness: createReadiness({ sqlite: () => {}, scheduler: () => true, databases: {} }),
    }).catch((err: unknown) => err);
    await new Promise((resolve) => blocker.close(resolve));

    expect(isAppError(outcome, 'config_invalid')).toBe(true);
    expect((outcome as Error).message).toContain('OPS_PORT');
  });

  it('closes at once even while a scraper holds a keep-alive connection', async () => {
    const base = await start();
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      httpRequest(`${base}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });

    const started = performance.now();
    await server?.close();
    server = undefined;
    agent.destroy();

    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
