// Child process: the local fake Slack Web API (test/fakes/fake-slack.ts) in its own process, as Slack is remote; tells its URLs over IPC.
import { startFakeSlack, type FakeOutage } from '../test/fakes/fake-slack.js';
import { APPROVER_GROUP, GROUP_MEMBER, tell } from './lib.js';

export interface FakeSlackReady {
  apiUrl: string;
  /** response_url values the fake accepts (any number of posts each). */
  responseUrls: string[];
}

export type FakeSlackCounts = Record<string, number>;

const responseUrlCount = Number(process.argv[2] ?? 1000);
const fake = await startFakeSlack();
fake.usergroups.set(APPROVER_GROUP, [GROUP_MEMBER]);
const responseUrls = Array.from({ length: responseUrlCount }, () => fake.newResponseUrl());
// The fake keeps every call for tests; a benchmark makes hundreds of thousands, so the record is counted and dropped as it goes.
const counts = new Map<string, number>();
function drain(): void {
  for (const call of fake.calls.splice(0)) counts.set(call.method, (counts.get(call.method) ?? 0) + 1);
}
const trim = setInterval(drain, 1000);

/** Sent to make Slack slow or down (`{ outage: { delayMs: 10000 } }`), or well again (`{ outage: null }`); answered with 'outage set'. */
export interface OutageMessage {
  outage: FakeOutage | null;
}

/** Asked with 'counts': the calls received per method since the last ask. */
process.on('message', (message) => {
  if (typeof message === 'object' && message !== null && 'outage' in message) {
    void fake.outage((message as OutageMessage).outage ?? undefined).then(() => tell('outage set'));
    return;
  }
  if (message !== 'counts') return;
  drain();
  tell(Object.fromEntries(counts) satisfies FakeSlackCounts);
  counts.clear();
});

tell({ apiUrl: fake.apiUrl, responseUrls } satisfies FakeSlackReady);

process.once('SIGTERM', () => {
  clearInterval(trim);
  void fake.close().then(() => process.exit(0));
});
process.once('disconnect', () => process.exit(0));
