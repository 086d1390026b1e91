// Socket Mode's connection kept up by its own loop: retried for as long as Slack stays away, again
// after every drop, and a refused app token named as SLACK_APP_TOKEN's fault.
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { keepSocketConnected, type SocketConnection } from '../../src/slack/socket-connection.js';

function requestError(code: string): Error {
  return Object.assign(new Error('A request error occurred'), { code: 'slack_webapi_request_error', original: Object.assign(new Error(code), { code }) });
}

/** A Socket Mode client whose start() answers from a script; 'disconnected' is emitted by the test. */
class FakeClient extends EventEmitter {
  starts = 0;
  disconnects = 0;
  constructor(private readonly script: (attempt: number) => Promise<unknown>) {
    super();
  }
  start(): Promise<unknown> {
    this.starts += 1;
    return this.script(this.starts);
  }
  disconnect(): Promise<void> {
    this.disconnects += 1;
    return Promise.resolve();
  }
}

const connections: SocketConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) await c.stop();
});

function arrange(script: (attempt: number) => Promise<unknown>) {
  const logs: string[] = [];
  const client = new FakeClient(script);
  const connection = keepSocketConnected({
    client,
    log: createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk, _encoding, done) {
          logs.push((JSON.parse(String(chunk)) as { msg: string }).msg);
          done();
        },
      }),
    }),
    backoff: { firstMs: 5, maxMs: 20 },
  });
  connections.push(connection);
  return { client, connection, logs };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(check()).toBe(true);
}

describe('keepSocketConnected', () => {
  it('keeps trying while apps.connections.open cannot be reached (far past 3 retries), logging once, then connects', async () => {
    const { client, connection, logs } = arrange((attempt) => (attempt <= 12 ? Promise.reject(requestError('ECONNREFUSED')) : Promise.resolve({})));

    connection.start();
    await until(() => connection.problem() === 'Socket Mode cannot reach Slack: ECONNREFUSED; retrying');
    await until(() => connection.problem() === undefined);

    expect(client.starts).toBe(13);
    expect(logs).toEqual(['Socket Mode cannot reach Slack; retrying', 'Socket Mode connected']);
  });

  it('reconnects after the socket drops, also when Slack is away for a while then', async () => {
    const { client, connection, logs } = arrange((attempt) => (attempt === 1 || attempt >= 5 ? Promise.resolve({}) : Promise.reject(requestError('ENOTFOUND'))));
    connection.start();
    await until(() => connection.problem() === undefined && client.starts === 1);

    client.emit('disconnected');
    await until(() => client.starts >= 5 && connection.problem() === undefined);

    expect(logs).toEqual(['Socket Mode connected', 'Socket Mode connection lost; reconnecting', 'Socket Mode cannot reach Slack; retrying', 'Socket Mode reconnected']);
  });

  it('a refused app-level token is named as SLACK_APP_TOKEN', async () => {
    const refused = Object.assign(new Error('An API error occurred: invalid_auth'), { code: 'slack_webapi_platform_error', data: { ok: false, error: 'invalid_auth' } });
    const { connection, logs } = arrange(() => Promise.reject(refused));

    connection.start();
    await until(() => connection.problem() !== undefined && connection.problem() !== 'Socket Mode connecting');

    expect(connection.problem()).toContain('Slack refused SLACK_APP_TOKEN (apps.connections.open answered invalid_auth)');
    expect(logs).toEqual(['Slack refused the app-level token (SLACK_APP_TOKEN); Socket Mode cannot connect until it is replaced']);
  });

  it('stop() disconnects and tries no more', async () => {
    const { client, connection } = arrange(() => Promise.reject(requestError('ECONNREFUSED')));
    connection.start();
    await until(() => client.starts >= 2);

    await connection.stop();
    const starts = client.starts;
    await new Promise((resolve) => setTimeout(resolve, 60));

    expect(client.disconnects).toBe(1);
    expect(client.starts).toBe(starts);
  });
});
