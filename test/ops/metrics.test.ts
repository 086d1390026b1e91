// The metrics registry: every metric is exposed with its HELP once recorded, states come from the store's counts, and Slack errors are counted from the WebClient's own requests.
import { LogLevel, WebClient } from '@slack/web-api';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';
import { createMetrics, instrumentSlackFetch } from '../../src/ops/metrics.js';

/** The value of one sample in the text exposition, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('createMetrics', () => {
  it.each([
    'dbaccess_requests',
    'dbaccess_provisioning_total',
    'dbaccess_provisioning_duration_seconds',
    'dbaccess_revocations_total',
    'dbaccess_revocation_duration_seconds',
    'dbaccess_revocation_lateness_seconds',
    'dbaccess_slack_api_errors_total',
  ])('exposes %s with its HELP text after recording', async (name) => {
    const metrics = createMetrics({ countByState: () => ({ active: 1 }), defaultMetrics: false });

    metrics.provisioned('success', 1.5);
    metrics.revoked('revoked', 0.4, 0.2);
    metrics.slackError('chat.postMessage', 'channel_not_found');
    const text = await metrics.text();

    expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.{10,}$`, 'm'));
    expect(text).toMatch(new RegExp(`^${name}(_bucket|_sum|_count)?(\\{[^}]*\\})? \\d`, 'm'));
  });

  it('records each call under its outcome, duration and lateness', async () => {
    const metrics = createMetrics({ countByState: () => ({}), defaultMetrics: false });

    metrics.provisioned('success', 2);
    metrics.provisioned('failure', 0.3);
    metrics.revoked('retrying', 1);
    metrics.revoked('revoked', 0.5, 0.07);
    metrics.revoked('revoked', 0.5, 1800);
    metrics.slackError('chat.postMessage', 'channel_not_found');
    metrics.slackError('chat.postMessage', 'channel_not_found');
    const text = await metrics.text();

    expect(sample(text, 'dbaccess_provisioning_total{outcome="success"}')).toBe(1);
    expect(sample(text, 'dbaccess_provisioning_total{outcome="failure"}')).toBe(1);
    expect(sample(text, 'dbaccess_provisioning_duration_seconds_sum')).toBeCloseTo(2.3);
    expect(sample(text, 'dbaccess_revocations_total{outcome="revoked"}')).toBe(2);
    expect(sample(text, 'dbaccess_revocations_total{outcome="retrying"}')).toBe(1);
    expect(sample(text, 'dbaccess_revocations_total{outcome="revoke_failed"}')).toBe(0);
    expect(sample(text, 'dbaccess_revocation_duration_seconds_count')).toBe(3);
    // Lateness only for the calls that gave one, in the buckets the alert reads.
    expect(sample(text, 'dbaccess_revocation_lateness_seconds_count')).toBe(2);
    expect(sample(text, 'dbaccess_revocation_lateness_seconds_bucket{le="0.05"}')).toBe(0);
    expect(sample(text, 'dbaccess_revocation_lateness_seconds_bucket{le="0.1"}')).toBe(1);
    expect(sample(text, 'dbaccess_revocation_lateness_seconds_bucket{le="300"}')).toBe(1);
    expect(sample(text, 'dbaccess_revocation_lateness_seconds_bucket{le="3600"}')).toBe(2);
    expect(sample(text, 'dbaccess_slack_api_errors_total{method="chat.postMessage",code="channel_not_found"}')).toBe(2);
  });

  it('has the lateness buckets the brief sets', async () => {
    const metrics = createMetrics({ countByState: () => ({}), defaultMetrics: false });
    const text = await metrics.text();

    const buckets = [...text.matchAll(/^dbaccess_revocation_lateness_seconds_bucket\{le="([^"]+)"\}/gm)].map((m) => m[1]);

    expect(buckets).toEqual(['0.05', '0.1', '0.25', '0.5', '1', '2', '5', '30', '60', '300', '3600', '+Inf']);
  });

  it('reads the counts per state from the callback at every scrape, zero for the known states it omits', async () => {
    let counts: Record<string, number> = { active: 3, pending: 1 };
    const metrics = createMetrics({ countByState: () => counts, states: ['pending', 'active', 'revoke_failed'], defaultMetrics: false });

    const first = await metrics.text();
    counts = { revoke_failed: 2, approved: 1 };
    const second = await metrics.text();

    expect(sample(first, 'dbaccess_requests{state="active"}')).toBe(3);
    expect(sample(first, 'dbaccess_requests{state="pending"}')).toBe(1);
    expect(sample(first, 'dbaccess_requests{state="revoke_failed"}')).toBe(0);
    expect(sample(second, 'dbaccess_requests{state="active"}')).toBe(0);
    expect(sample(second, 'dbaccess_requests{state="pending"}')).toBe(0);
    expect(sample(second, 'dbaccess_requests{state="revoke_failed"}')).toBe(2);
    expect(sample(second, 'dbaccess_requests{state="approved"}')).toBe(1);
  });

  it('reads the notices waiting in the outbox at every scrape', async () => {
    let pending = 4;
    const metrics = createMetrics({ countByState: () => ({}), outboxPending: () => pending, defaultMetrics: false });
    expect(sample(await metrics.text(), 'dbaccess_outbox_pending')).toBe(4);
    pending = 0;
    expect(sample(await metrics.text(), 'dbaccess_outbox_pending')).toBe(0);
  });

  it("includes Node's process metrics, in its own registry rather than prom-client's global one", async () => {
    const metrics = createMetrics({ countByState: () => ({}) });

    const text = await metrics.text();

    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(await globalRegistry.metrics()).not.toContain('dbaccess_');
  });

  it('turns label values that are not plain names into "other", and negative durations into 0', async () => {
    const metrics = createMetrics({ countByState: () => ({}), defaultMetrics: false });

    metrics.slackError('chat.postMessage', 'weird code"}\ninjected 1');
    metrics.revoked('revoked', -3, -1);
    const text = await metrics.text();

    expect(sample(text, 'dbaccess_slack_api_errors_total{method="chat.postMessage",code="other"}')).toBe(1);
    expect(text).not.toContain('injected');
    expect(sample(text, 'dbaccess_revocation_lateness_seconds_bucket{le="0.05"}')).toBe(1);
    expect(sample(text, 'dbaccess_revocation_duration_seconds_sum')).toBe(0);
  });
});

describe('instrumentSlackFetch', () => {
  let slack: FakeSlack | undefined;
  afterEach(async () => {
    await slack?.close();
    slack = undefined;
  });

  async function clientWithMetrics(apiUrl: string) {
    const metrics = createMetrics({ countByState: () => ({}), defaultMetrics: false });
    const client = new WebClient('xoxb-test', {
      slackApiUrl: apiUrl,
      fetch: instrumentSlackFetch(globalThis.fetch, metrics),
      // One attempt per call, and a 429 fails at once instead of waiting out Retry-After.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logLevel: LogLevel.ERROR,
    });
    return { metrics, client };
  }

  it.each([
    { fault: { error: 'channel_not_found' }, code: 'channel_not_found' },
    { fault: { status: 500 }, code: 'http_500' },
    { fault: { status: 429, retryAfterSeconds: 1 }, code: 'ratelimited' },
  ])('counts a WebClient call that fails with $code under its method', async ({ fault, code }) => {
    slack = await startFakeSlack();
    const { metrics, client } = await clientWithMetrics(slack.apiUrl);
    slack.fail('chat.postMessage', fault);

    const outcome = await client.chat.postMessage({ channel: 'C0123ABCD', text: 'hi' }).catch((err: unknown) => err);
    const text = await metrics.text();

    expect(outcome).toBeInstanceOf(Error);
    expect(sample(text, `dbaccess_slack_api_errors_total{method="chat.postMessage",code="${code}"}`)).toBe(1);
  });

  it('counts nothing for a call that succeeds, and the WebClient still gets the whole answer', async () => {
    slack = await startFakeSlack();
    const { metrics, client } = await clientWithMetrics(slack.apiUrl);

    const posted = await client.chat.postMessage({ channel: 'C0123ABCD', text: 'hi' });
    const text = await metrics.text();

    expect(posted.ok).toBe(true);
    expect(posted.ts).toBeTruthy();
    expect(text).not.toMatch(/^dbaccess_slack_api_errors_total\{/m);
  });

  it("counts a failed reply to a response_url under response_url, never under the URL's own token", async () => {
    slack = await startFakeSlack();
    const metrics = createMetrics({ countByState: () => ({}), defaultMetrics: false });
    const fetch = instrumentSlackFetch(globalThis.fetch, metrics);
    const responseUrl = slack.newResponseUrl();
    slack.fail('response_url', { status: 500 });

    const failed = await fetch(responseUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text":"x"}' });
    const delivered = await fetch(responseUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"text":"y"}' });
    const text = await metrics.text();

    expect([failed.status, delivered.status]).toEqual([500, 200]);
    expect(sample(text, 'dbaccess_slack_api_errors_total{method="response_url",code="http_500"}')).toBe(1);
    expect(text).not.toContain(responseUrl.slice(responseUrl.lastIndexOf('/') + 1));
  });

  it('counts a failed file upload (its URL names the file) under file_upload', async () => {
    const metrics = createMetrics({ countByState: () => ({}), defaultMetrics: false });
    const fetch = instrumentSlackFetch(async () => new Response('', { status: 500 }), metrics);

    await fetch('https://files.slack.com/upload/v1/CwABAAAAXgoAAZ-F0123', { method: 'POST', body: 'a,b' });
    const text = await metrics.text();

    expect(sample(text, 'dbaccess_slack_api_errors_total{method="file_upload",code="http_500"}')).toBe(1);
    expect(text).not.toContain('CwABAAAAXgoAAZ');
  });

  it('counts a request that gets no answer at all as request_error', async () => {
    const { metrics, client } = await clientWithMetrics('http://127.0.0.1:1/api/');

    await expect(client.auth.test()).rejects.toThrow();
    const text = await metrics.text();

    expect(sample(text, 'dbaccess_slack_api_errors_total{method="auth.test",code="request_error"}')).toBe(1);
  });
});
