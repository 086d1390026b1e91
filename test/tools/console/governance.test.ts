// Access reviews and escalation (issue 17 items 3 and 4) in the console, on config/console.yml's `prod`
// environment: `wait 90d` shows a permanent user's review with Keep / Revoke, `wait 1h` an escalation.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttonNumber, startScripted, type Scripted } from './scripted.js';

let c: Scripted;

beforeAll(async () => {
  c = await startScripted();
});

afterAll(async () => {
  await c?.end();
  if (c) rmSync(c.session.dir, { recursive: true, force: true });
});

describe('console: access reviews', () => {
  it('a permanent user falls due for review after `wait 90d`; Ana keeps it, and /dbuser reviews lists it while open', async () => {
    await c.send('as maria');
    const requested = await c.send('/dbuser permanent prod --access read --via vpn --reason "nightly export"');
    await c.send('as ana');
    await c.send(`click ${buttonNumber(requested, 'Approve')}`);

    const due = await c.send('wait 90d');
    expect(due).toContain('Access review');
    expect(due).toContain('Owner: @Maria Silva');
    expect(await c.send('/dbuser reviews')).toContain('waiting, asked');
    const kept = await c.send(`click ${buttonNumber(due, 'Keep')}`);
    expect(kept).toContain('Kept by @Ana Approver');
  });
});

describe('console: escalation', () => {
  it('a request Ana leaves undecided for an hour goes to Luis, who may then approve it', async () => {
    await c.send('as maria');
    const requested = await c.send('/dbuser request prod --reason "stuck timer"');
    const escalated = await c.send('wait 1h');
    expect(escalated).toContain('Escalated');
    expect(escalated).toContain('@Luis Admin: you may now approve or deny it');

    await c.send('as luis');
    expect(await c.send(`click ${buttonNumber(requested, 'Approve')}`)).toContain('(Luis Admin clicked Approve)');
  });
});
