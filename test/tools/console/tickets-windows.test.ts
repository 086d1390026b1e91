// Tickets, reason rules and the change window tried in the console as a newcomer would, on the `test`
// environment of config/console.yml, with the bot's clock on a Saturday (outside Mon–Fri 08:00–18:00 Lisbon).
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttonNumber, startScripted, type Scripted } from './scripted.js';

let c: Scripted;

beforeAll(async () => {
  c = await startScripted({ now: () => Date.UTC(2026, 11, 5, 12, 0) });
});

afterAll(async () => {
  await c?.end();
  if (c) rmSync(c.session.dir, { recursive: true, force: true });
});

describe('console: tickets, reasons and the change window (issue 17 items 1, 5)', () => {
  it('refuses a request without its ticket and with a short reason, naming both', async () => {
    const refused = await c.send('/dbuser request test --reason logs');
    expect(refused).toContain('test needs a reason of at least 10 characters');
    expect(refused).toContain('test needs a ticket reference for temporary users (`^CHG-\\d+$`, e.g. CHG-1234)');
  });

  it('on Saturday a request needs two approvals and says so; Ana and Luis approve it', async () => {
    const requested = await c.send('/dbuser request test --ticket CHG-1234 --reason "reading the order logs"');
    expect(requested).toContain('[#C0APPROVALS] # Temporary database user request');
    expect(requested).toContain('CHG-1234');
    expect(requested).toContain('Outside the change window (Mon–Fri 08:00–18:00 Europe/Lisbon): needs 2 approvals.');
    const approve = buttonNumber(requested, 'Approve');
    await c.send('as ana');
    const first = await c.send(`click ${approve}`);
    expect(first).toContain('(1 of 2)');
    // The updated message keeps its buttons, numbered anew.
    await c.send('as luis');
    expect(await c.send(`click ${buttonNumber(first, 'Approve')}`)).toContain('[only Maria Silva sees] *Your temporary database user');
    await c.send('as maria');
    expect(await c.send('/dbuser delete test')).toContain('was revoked');
  });
});
