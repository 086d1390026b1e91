// Prometheus metrics: the bot's own registry, the counters and histograms that say whether users are created and revoked on time, and a Slack fetch hook.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type ProvisioningOutcome = 'success' | 'failure';
/** The revocation outcomes worth counting; 'skipped' (someone else got there first) is not one. */
export type RevocationOutcome = 'revoked' | 'retrying' | 'revoke_failed';

export interface MetricsOptions {
  /**
   * Requests per state, read at each scrape so the gauge is never stale (the store is the truth; a
   * gauge kept by hand would drift after a crash or a restart).
   */
  countByState: () => Record<string, number>;
  /** States reported as 0 when absent from countByState, so an alert on a state has a series to watch. */
  states?: readonly string[];
  /** Slack notices written to the outbox and not yet sent nor given up, read at each scrape. */
  outboxPending?: () => number;
  /** Audit entries each sink has not yet accepted, read at each scrape (src/access/audit). */
  auditStreamWaiting?: () => Partial<Record<string, number>>;
  /** Node's process and runtime metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

export interface Metrics {
  /** The registry behind /metrics; our own, so a library using the global one cannot add to it. */
  readonly registry: Registry;
  /** The Content-Type of `text()`. */
  readonly contentType: string;
  /** The Prometheus text exposition of every metric. */
  text(): Promise<string>;
  /** One provisioning attempt ended: `seconds` is the time the database took to create the user. */
  provisioned(outcome: ProvisioningOutcome, seconds: number): void;
  /**
   * One revocation attempt ended: `seconds` is the time the database took; `latenessSeconds`, for a
   * user revoked because it expired, how long after its expiry it was gone.
   */
  revoked(outcome: RevocationOutcome, seconds: number, latenessSeconds?: number): void;
  /** A Slack Web API call failed: `code` is Slack's error (channel_not_found, ratelimited…) or http_<status>. */
  slackError(method: string, code: string): void;
}

// Database work takes from tens of milliseconds to, at worst, the driver's 30 s request timeout plus
// the drop retries while a killed session lets go.
const DATABASE_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
// Revocation must be on time to the second (README, "Expiry"): fine buckets below 1 s, coarse ones
// for the retries after 5 s, 15 s, 1 min and 5 min, and the slow retries after that.
const LATENESS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 60, 300, 3600];

const PROVISIONING_OUTCOMES: readonly ProvisioningOutcome[] = ['success', 'failure'];
const REVOCATION_OUTCOMES: readonly RevocationOutcome[] = ['revoked', 'retrying', 'revoke_failed'];

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const states = options.states ?? [];

  new Gauge({
    name: 'dbaccess_requests',
    help: 'Access requests in the state database, by state (read from the store at each scrape).',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = options.countByState();
      // A state that emptied since the last scrape must drop to 0, not keep its old value.
      this.reset();
      for (const state of states) this.set({ state }, 0);
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });

  const outboxPending = options.outboxPending;
  if (outboxPending) {
    new Gauge({
      name: 'dbaccess_outbox_pending',
      help: 'Slack notices waiting in the outbox (not yet sent nor given up); growing means Slack is failing or slow.',
      registers,
      collect() {
        this.set(outboxPending());
      },
    });
  }

  const auditStreamWaiting = options.auditStreamWaiting;
  if (auditStreamWaiting) {
    new Gauge({
      name: 'dbaccess_audit_stream_waiting',
      help: 'Audit entries not yet accepted by the audit stream sink, by sink (stdout, webhook); growing means the receiver is failing or slow.',
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const [sink, count] of Object.entries(auditStreamWaiting())) if (count !== undefined) this.set({ sink }, count);
      },
    });
  }

  const provisioning = new Counter({
    name: 'dbaccess_provisioning_total',
    help: 'Attempts to create a database user (temporary or permanent), by outcome (success or failure).',
    labelNames: ['outcome'],
    registers,
  });
  const provisioningDuration = new Histogram({
    name: 'dbaccess_provisioning_duration_seconds',
    help: 'Time the database took to create a user and grant its permissions, in seconds.',
    buckets: DATABASE_SECONDS,
    registers,
  });
  const revocations = new Counter({
    name: 'dbaccess_revocations_total',
    help: 'Revocation attempts, by outcome: revoked, retrying (a quick retry is scheduled) or revoke_failed (quick retries exhausted; an alert was posted).',
    labelNames: ['outcome'],
    registers,
  });
  const revocationDuration = new Histogram({
    name: 'dbaccess_revocation_duration_seconds',
    help: 'Time the database took for one revocation attempt (block login, end sessions, drop), in seconds.',
    buckets: DATABASE_SECONDS,
    registers,
  });
  const lateness = new Histogram({
    name: 'dbaccess_revocation_lateness_seconds',
    help: 'For users revoked because they expired: seconds between the expiry and the moment the user was gone.',
    buckets: LATENESS_SECONDS,
    registers,
  });
  const slackErrors = new Counter({
    name: 'dbaccess_slack_api_errors_total',
    help: 'Failed Slack Web API requests (each HTTP attempt, retries included), by method and Slack error code.',
    labelNames: ['method', 'code'],
    registers,
  });

  // Series for every known outcome from the start: rate() and increase() need a 0 before the first event.
  for (const outcome of PROVISIONING_OUTCOMES) provisioning.inc({ outcome }, 0);
  for (const outcome of REVOCATION_OUTCOMES) revocations.inc({ outcome }, 0);

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    provisioned(outcome, seconds) {
      provisioning.inc({ outcome });
      provisioningDuration.observe(nonNegative(seconds));
    },
    revoked(outcome, seconds, latenessSeconds) {
      revocations.inc({ outcome });
      revocationDuration.observe(nonNegative(seconds));
      if (latenessSeconds !== undefined) lateness.observe(nonNegative(latenessSeconds));
    },
    slackError(method, code) {
      slackErrors.inc({ method: labelValue(method), code: labelValue(code) });
    },
  };
}

/** A clock step backwards must not make a negative observation (prom-client would count it in every bucket). */
function nonNegative(seconds: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}

/**
 * Label values come from Slack's answers; anything that is not a plain method or error name becomes
 * 'other', so a strange answer can neither blow up the number of series nor carry text into /metrics.
 */
function labelValue(value: string): string {
  return /^[A-Za-z0-9_.]{1,64}$/.test(value) ? value : 'other';
}

// ---------------------------------------------------------------------------------------------
// Slack Web API errors

/** The parts of a fetch Response the hook reads; both Node's fetch and the WebClient's types fit. */
export interface ObservedResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  clone(): { json(): Promise<unknown> };
}

/**
 * Wraps the fetch the Slack WebClient uses (`clientOptions.fetch`), so every failed Web API request is
 * counted, whichever client made it: Bolt hands listeners other WebClient instances than `app.client`,
 * but all of them are built from the same clientOptions. Slack answers HTTP 200 with `ok: false` for
 * most errors, so the body is read (a copy: the WebClient reads the original); only its `error` field
 * is used, never the rest. Bolt's respond() posts through the same fetch: those are counted under
 * `response_url` (never the URL's last segment, which is a per-message token) by their HTTP status.
 */
export function instrumentSlackFetch<Init, Res extends ObservedResponse>(
  inner: (url: string | URL, init?: Init) => Promise<Res>,
  metrics: Pick<Metrics, 'slackError'>,
): (url: string | URL, init?: Init) => Promise<Res> {
  return async (url, init) => {
    const method = slackMethodOf(url);
    let response: Res;
    try {
      response = await inner(url, init);
    } catch (err) {
      // No answer at all: DNS, TLS, a reset, the WebClient's timeout.
      metrics.slackError(method, 'request_error');
      throw err;
    }
    if (response.status === 429) {
      metrics.slackError(method, 'ratelimited');
    } else if (response.status !== 200) {
      metrics.slackError(method, `http_${response.status}`);
    } else if (method !== RESPONSE_URL && method !== 'file_upload' && response.headers.get('content-type')?.includes('application/json')) {
      const body = await response
        .clone()
        .json()
        .catch(() => undefined);
      if (isSlackFailure(body)) metrics.slackError(method, typeof body.error === 'string' ? body.error : 'unknown');
    }
    return response;
  };
}

const RESPONSE_URL = 'response_url';

/** The Web API method (the segment after /api/), `file_upload` for an upload URL, or `response_url`. */
function slackMethodOf(url: string | URL): string {
  const path = typeof url === 'string' ? (url.split('?')[0] ?? '') : url.pathname;
  const api = path.lastIndexOf('/api/');
  if (api >= 0) return path.slice(api + '/api/'.length) || 'unknown';
  return path.includes('/upload/') ? 'file_upload' : RESPONSE_URL;
}

function isSlackFailure(body: unknown): body is { ok: false; error?: unknown } {
  return typeof body === 'object' && body !== null && (body as { ok?: unknown }).ok === false;
}
