// The report of the guarantee phases (issue 18): revocation under faults, catch-up, time to access; summary rows and a section each.
import type { AccessResult } from './access.js';
import { fmt, table } from './lib.js';
import type { RevocationResult } from './revocation.js';

export const GUARANTEE_TARGETS = {
  /** Healthy environments' lateness p99 while one hangs and Slack takes 10 s per call. */
  faultsLateP99Ms: 1000,
  /** Ready to the last revocation of 10,000 users overdue at start. */
  catchupMs: 30_000,
  /** Approver's click to the ephemeral credentials. */
  accessP99Ms: 250,
};

export interface Section {
  /** Rows of the summary table: figure, value, target, result. */
  rows: string[][];
  details: string[];
  failed: boolean;
}

const verdict = (ok: boolean) => (ok ? 'pass' : '**FAIL**');

function revocationTable(result: RevocationResult): string {
  const l = result.lateness;
  return table(
    ['revoked', 'left open', 'overdue at start (not in lateness)', 'p50 ms', 'p99 ms', 'max ms', 'mean ms', 'ready → last revocation s', 'event-loop delay p50 / p99 / max ms', 'CPU (share of a core)'],
    [
      [
        `${result.revoked} of ${result.measured}`,
        String(result.left),
        String(result.overdueAtStart),
        fmt(l.p50),
        fmt(l.p99),
        fmt(l.max),
        fmt(l.mean),
        fmt(result.readyToLastMs / 1000),
        `${fmt(result.loopDelay.p50)} / ${fmt(result.loopDelay.p99)} / ${fmt(result.loopDelay.max)}`,
        fmt(result.cpuShare),
      ],
    ],
  );
}

export function reportFaults(result: RevocationResult): Section {
  const { users, spreadMs, environments, statementMs } = result.options;
  const l = result.lateness;
  const complete = result.left === 0 && result.revoked === result.measured && result.hung.revoked === 0;
  const ok = complete && l.p99 <= GUARANTEE_TARGETS.faultsLateP99Ms;
  return {
    failed: !complete,
    rows: [
      [`revocation under faults: lateness p99, healthy environments (${result.measured.toLocaleString('en')} users)`, `${fmt(l.p99)} ms`, `≤ ${GUARANTEE_TARGETS.faultsLateP99Ms} ms`, verdict(ok)],
      ['revocation under faults: lateness p50 / max (context)', `${fmt(l.p50)} / ${fmt(l.max)} ms`, '', ''],
      ['revocation under faults: users of the hung environment left open (expected: all of them, tracked)', `${result.hung.open} open, ${result.hung.revoked} revoked`, '', ''],
    ],
    details: [
      '## Revocation under faults',
      '',
      `${users.toLocaleString('en')} active temporary users over ${environments} environments (SQL Server, Azure SQL and Oracle in turn), expiring evenly over ${fmt(spreadMs / 1000)} s from ${fmt(result.marginMs / 1000)} s after the bot was ready; ` +
        `the real bot (\`startBot\`, real clock), dry-run databases taking ${statementMs} ms per statement, except f0's, which never answers (the default \`dbTimeout\` of 30 s applies); ` +
        'notices to a fake Slack Web API in its own process that answers every call after 10 s. Lateness: `lateMs` of each `state:revoked` audit entry of the nine healthy environments. ' +
        `The hung environment's ${(result.hung.open + result.hung.revoked).toLocaleString('en')} users stay \`active\` or \`revoking\`: tracked, retried, never reported revoked.`,
      '',
      revocationTable(result),
      '',
    ],
  };
}

export function reportCatchup(result: RevocationResult): Section {
  const { users, environments, statementMs } = result.options;
  const complete = result.left === 0 && result.revoked === result.measured;
  const ms = result.readyToLastMs;
  return {
    failed: !complete,
    rows: [
      [`catch-up: ready → last revocation (${users.toLocaleString('en')} overdue at start, ${environments} environments, ${statementMs} ms per statement)`, `${fmt(ms / 1000)} s`, `≤ ${GUARANTEE_TARGETS.catchupMs / 1000} s`, verdict(complete && ms <= GUARANTEE_TARGETS.catchupMs)],
      ['catch-up: revocations per second (context)', fmt(result.revoked / (ms / 1000)), '', ''],
    ],
    details: [
      '## Catch-up',
      '',
      `${users.toLocaleString('en')} active temporary users over ${environments} environments, all expired (over the hour before) when the bot starts; dry-run databases taking ${statementMs} ms per statement, notices to the fake Slack. ` +
        'Time from `startBot` resolving (ready) to the last `state:revoked` audit entry. Lateness here is how long each user was overdue, for context.',
      '',
      revocationTable(result),
      '',
    ],
  };
}

export function reportAccess(result: AccessResult): Section {
  const { provisionings, statementMs, tables } = result.options;
  const l = result.latency;
  const dialects = Object.entries(result.byDialect);
  return {
    failed: result.missing > 0,
    rows: [
      [`time to access p99: Approve click → ephemeral credentials (${provisionings} provisionings, ${statementMs} ms per statement)`, `${fmt(l.p99)} ms`, `≤ ${GUARANTEE_TARGETS.accessP99Ms} ms`, verdict(result.missing === 0 && l.p99 <= GUARANTEE_TARGETS.accessP99Ms)],
      ['time to access p50 / max (context)', `${fmt(l.p50)} / ${fmt(l.max)} ms`, '', ''],
      [`database round trips per provisioning (${tables} OSUSR_ tables to grant)`, dialects.map(([dialect, d]) => `${dialect} ${d.roundTrips.join('/')}`).join(', '), '', ''],
    ],
    details: [
      '## Time to access',
      '',
      `The real bot in HTTP mode; ${provisionings} pending temporary (read & write) requests over dev (SQL Server), az (Azure SQL) and prod (Oracle), approved one at a time by a signed *Approve* click; ` +
        `dry-run databases taking ${statementMs} ms per statement, whose schema has ${tables} OSUSR_ tables lacking write grants; the fake Slack in its own process on loopback. ` +
        'Time: from sending the click to Slack accepting `chat.postEphemeral` (the credentials): the moment the bot records `credentials_shown` (Slack accepted it). Round trips: executor calls during the provisioning (the executor seam). ' +
        `Credentials that never came within 10 s: ${result.missing}.`,
      '',
      table(
        ['dialect', 'provisionings', 'p50 ms', 'p99 ms', 'max ms', 'round trips'],
        dialects.map(([dialect, d]) => [dialect, String(d.latency.count), fmt(d.latency.p50), fmt(d.latency.p99), fmt(d.latency.max), d.roundTrips.join('/')]),
      ),
      '',
    ],
  };
}
