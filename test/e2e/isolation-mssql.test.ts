// The isolation of issue 13 through the real `mssql` driver: two SQL Server environments, each on its
// own TDS endpoint on loopback; one stops answering as revocations begin, and Slack takes 10 s per call.
// The other environment's user is still revoked at its expiry, over the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTdsServer, type TdsReply, type TdsServer } from '../fakes/tds-server.js';
import { selfServiceUser, startHarness, until, USERS, type Harness } from './harness.js';

let stuck: TdsServer;
let healthy: TdsServer;
let hanging = false;
const parked: (() => void)[] = [];
let h: Harness;

/** Everything succeeds with no rows, as an empty database would answer. */
function answer(): TdsReply {
  return {};
}

function environment(name: string, port: number): string {
  return `
  - name: ${name}
    dialect: sqlserver
    connection: { host: 127.0.0.1, port: ${port}, database: outsystems, user: sa, password: { env: E2E_PW }, encrypt: false, trustServerCertificate: true }
    details: { host: ${name}-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    selfService: [${USERS.ltAdmin}]
    channels: { approvals: C0APPROVALS, reminders: C0REMINDERS }
    policy: { ttl: 3s, maxTtl: 3s, minTtl: 1s, reminders: [], dbTimeout: 10m }
`;
}

beforeAll(async () => {
  // Once `hanging` is set, the stuck server takes every request and never answers it.
  stuck = await startTdsServer({ handler: () => (hanging ? new Promise<TdsReply>((resolve) => parked.push(() => resolve({}))) : answer()) });
  healthy = await startTdsServer({ handler: answer });
  h = await startHarness({
    realClock: true,
    extraEnvironments: environment('stuck', stuck.port) + environment('healthy', healthy.port),
    realDrivers: ['stuck', 'healthy'],
    outbox: { timeoutMs: 1_000 },
  });
});

afterAll(async () => {
  for (const release of parked.splice(0)) release();
  hanging = false;
  await h?.stop();
  await stuck?.close();
  await healthy?.close();
});

describe('two SQL Server environments over the real driver', () => {
  it('one server stops answering and Slack is slow: the other environment is revoked at its expiry, over the wire', async () => {
    const stuckId = await selfServiceUser(h, 'stuck');
    const healthyId = await selfServiceUser(h, 'healthy');
    const healthyBefore = healthy.requests.length;
    hanging = true;
    for (const method of ['chat.postMessage', 'chat.update', 'conversations.open']) h.fake.fail(method, { delayMs: 10_000 }, 100);

    await until(() => h.bot.store.requests.get(healthyId)!.state === 'revoked', 'healthy revoked');
    expect(h.bot.store.requests.get(stuckId)!.state).toBe('revoking');
    // The healthy server really received the revocation: the login was disabled and dropped over TDS.
    const sent = healthy.requests.slice(healthyBefore).map((r) => r.sql).join('\n');
    expect(sent).toMatch(/DROP LOGIN/i);
    // The stuck server was asked too, and has not answered.
    expect(parked.length).toBeGreaterThan(0);
    const entry = h.bot.store.audit.list({ requestId: healthyId }).find((e) => e.action === 'state:revoked')!;
    console.info(`isolation over TDS: healthy revoked ${String(entry.detail?.['lateMs'])} ms after its expiry while the other server hung`);
  });
});
