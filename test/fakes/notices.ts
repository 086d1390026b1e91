// The real outbox and notices over a test's store, with flush(): delivers every notice due now, as the
// dispatcher would, so a unit test can look at what its recording notifier was told.
import { createNotices, type Notices } from '../../src/access/core/notices.js';
import { createOutbox, type Outbox } from '../../src/access/core/outbox.js';
import type { Notifier } from '../../src/access/core/ports.js';
import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { Store } from '../../src/store/store.js';

export interface TestNotices {
  notices: Notices;
  outbox: Outbox;
  /** Sends what is due at the clock's now, round after round, until nothing more is. */
  flush(): Promise<void>;
}

export function testNotices(input: { store: Store; notifier: Notifier; config: Config; clock: Clock }): TestNotices {
  const { store, clock } = input;
  const log = createLogger({ level: 'silent' });
  // Never started: only flush() sends, so a test decides when Slack is talked to.
  const outbox = createOutbox({ store, clock, log, random: () => 0.5 });
  const notices = createNotices({
    queue: { enqueue: (item) => store.outbox.enqueue(item) },
    store,
    notifier: input.notifier,
    knownEnvironment: (name) => input.config.environments.find((e) => e.name === name),
    log,
  });
  notices.registerWith(outbox);
  return {
    notices,
    outbox,
    async flush() {
      for (let round = 0; round < 100; round++) {
        const next = store.outbox.nextDueAt(clock.now());
        if (next === null || next > clock.now()) return;
        await outbox.runDue(clock.now());
        await outbox.idle();
      }
    },
  };
}
