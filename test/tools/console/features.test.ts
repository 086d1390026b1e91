// Everything the bot does, tried in the console as a newcomer would: /interop with its buttons, App Home and
// clicks from it, the permanent form's multi-select, the clock (`wait`), events printed as they happen, the
// audit log as a table, emoji and user groups as Slack shows them, and another environments file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH } from '../../../tools/console/session.js';
import { buttonNumber, passwordIn, startScripted, until, type Scripted } from './scripted.js';

let c: Scripted;

beforeAll(async () => {
  c = await startScripted();
});

afterAll(async () => {
  await c?.end();
  if (c) rmSync(c.session.dir, { recursive: true, force: true });
});

describe('console: /interop', () => {
  it('answers /interop help, and an approver decides /interop setup with its buttons', async () => {
    await c.send('as ana');
    expect(await c.send('/interop help')).toContain('`/interop setup <env>`');
    const requested = await c.send('/interop setup dev');
    expect(requested).toContain('[#C0APPROVALS] # Data interoperability (DBA step)');
    expect(requested).toContain('CREATE LOGIN [dbx_interop]');
    const approve = buttonNumber(requested, 'Approve');

    // Ana cannot decide her own request; Luis approves dev too.
    expect(await c.send(`click ${approve}`)).toContain('You cannot decide your own request');
    await c.send('as luis');
    const approved = await c.send(`click ${approve}`);
    expect(approved).toContain('(Luis Admin clicked Approve)');
    expect(approved).toContain('[message updated in #C0APPROVALS]');
    expect(passwordIn(approved.slice(approved.indexOf('[only Ana Approver sees]')))).toMatch(/.{12,}/);
    expect(approved).toContain('SQL (dev, dry run):');
    expect(approved).toContain('GRANT SELECT ON OBJECT::[dbo].[OSSYS_ENTITY] TO [dbx_interop]');

    await c.send('as ana');
    expect(await c.send('/interop status dev')).toContain('[only Ana Approver sees]');
  });

  it('names the commands the bot has when given another', async () => {
    expect(await c.send('/deploy now')).toContain('The bot has no /deploy command: it answers /dbuser and /interop.');
  });
});

describe('console: App Home', () => {
  it('shows the approver what waits for them, with buttons that work, and only to them', async () => {
    await c.send('as maria');
    const requested = await c.send('/dbuser request dev --reason "home tab"');
    const id = /Request `(r_[a-z0-9]+)`/.exec(requested)![1]!;

    await c.send('as ana');
    const home = await c.send('home');
    expect(home).toContain('[App Home of Ana Approver]');
    expect(home).toContain('Waiting for you (approver)');
    expect(home).toContain(id);
    const approve = buttonNumber(home.slice(home.indexOf('[App Home of Ana Approver]')), 'Approve');

    await c.send('as maria');
    expect(await c.send(`click ${approve}`)).toContain('Only Ana Approver sees that App Home: type `as ana` first.');
    expect(await c.send('home')).toContain('[App Home of Maria Silva]');

    await c.send('as ana');
    const approved = await c.send(`click ${approve}`);
    expect(approved).toContain('(Ana Approver clicked Approve)');
    expect(approved).toMatch(/\[only Maria Silva sees\] \*Your temporary database user in dev is ready\*/);
    await c.send('as maria');
    await c.send('/dbuser delete dev');
  });
});

describe('console: forms', () => {
  it('asks the bare /dbuser permanent form for its environments (a multi-select) and files one request per environment', async () => {
    await c.send('as maria');
    const form = await c.send('/dbuser permanent');
    expect(form).toContain('[form for Maria Silva] Permanent DB user');
    expect(form).toContain('one or more: numbers separated by commas');
    expect(form).toMatch(/Environments> $/);
    expect(await c.send('')).toContain('Environments is required');
    expect(await c.send('1,9')).toContain('Type a number from 1 to 4 (several: separate them with commas).');
    // dev and prod: both reached by VPN, as --via must match each environment's network (test is tgw).
    expect(await c.send('1, 3')).toMatch(/Access> $/);
    expect(await c.send('1')).toMatch(/How you connect> $/);
    await c.send('1');
    await c.send('');
    expect(await c.send('reporting tool')).toMatch(/Ticket> $/);
    const requested = await c.send('');
    expect(requested).not.toContain('Name at least one environment');
    expect(requested.match(/\[#C0APPROVALS\] # Permanent database user request/g)).toHaveLength(2);
    expect(requested).toContain('dev (sqlserver)');
    expect(requested).toContain('prod (oracle)');
    await c.send('/dbuser delete dev');
    await c.send('/dbuser delete prod');
  });
});

describe('console: the clock', () => {
  it('wait moves the bot clock: reminders, then expiry and the revocation SQL', async () => {
    await c.send('as luis');
    const created = await c.send('/dbuser request dev --for 2h --reason clock');
    const username = /`(dbx_luis_admin_[a-z0-9]+)`/.exec(created)![1]!;
    expect(await c.send('wait')).toContain("The bot's clock says");

    const reminded = await c.send('wait 65m');
    expect(reminded).toContain('(1h5m later');
    expect(reminded).toContain(`[DM to Luis Admin] ⏳ The temporary user \`${username}\` of @Luis Admin in *dev* expires in 55m.`);
    expect(reminded).toContain('[#C0REMINDERS]');

    const expired = await c.send('wait 1h');
    expect(expired).toContain(`The temporary user \`${username}\` of @Luis Admin in *dev* expired and was revoked.`);
    expect(expired).toContain(`DROP LOGIN [${username}]`);
    expect(await c.send('wait soon')).toContain('For example: wait 65m');
  });

  it('reminds approvers of an undecided request, naming the user group by its handle, with its emoji', async () => {
    await c.send('as maria');
    await c.send('/dbuser request prod --reason "group handle"');
    const nudged = await c.send('wait 16m');
    expect(nudged).toContain('🔔 Still waiting for a decision');
    expect(nudged).toContain('@dbas');
    expect(nudged).not.toContain('S0DBAS');
    await c.send('/dbuser delete prod');
  });
});

describe('console: the audit log', () => {
  it('shows the CSV an approver gets as a table, not the upload traffic', async () => {
    await c.send('as ana');
    const audit = await c.send('/dbuser audit');
    expect(audit).toContain('*Audit log, last 7d');
    expect(audit).toMatch(/\[file in the DM of Ana Approver\] dbaccess-audit-\d{4}-\d{2}-\d{2}\.csv/);
    const table = audit.slice(audit.indexOf('[file in the DM'));
    expect(table).toMatch(/\n\s+at\s+actor\s+action\s+request_id\s+env\s+ticket\s+detail\n/);
    expect(table).toMatch(/\n\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+Luis Admin\s+requested\s+r_/);
    expect(table).toMatch(/\(\d+ entries\)/);
    for (const raw of ['files.getUploadURLExternal', 'files.completeUploadExternal', 'form-data', 'Content-Disposition']) expect(audit).not.toContain(raw);
  });
});

describe('console: the audit stream', () => {
  it('with AUDIT_STREAM=stdout, prints each entry as the stream delivers it, marked, and no password', async () => {
    const s = await startScripted({ env: { AUDIT_STREAM: 'stdout' } });
    try {
      await s.send('as luis');
      const created = await s.send('/dbuser request dev --reason streamed');
      const password = passwordIn(created);
      const id = /"requestId":"(r_[a-z0-9]+)"/;
      await until(
        () => /\[audit stream\] \{"type":"audit".*"action":"credentials_shown"/.test(s.text()),
        () => `the stream's lines; printed:\n${s.text()}`,
      );
      const lines = s.text().split('\n').filter((line) => line.includes('[audit stream]'));
      const entries = lines.map((line) => JSON.parse(line.slice(line.indexOf('{'))) as { id: string; seq: number; action: string; requestId: string });
      expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['requested', 'state:approved', 'credentials_shown']));
      // In order, once each, about the request just made.
      expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
      expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
      expect(entries.every((e) => e.requestId === id.exec(lines[0]!)![1])).toBe(true);
      expect(lines.join('\n')).not.toContain(password);
    } finally {
      await s.end();
      rmSync(s.session.dir, { recursive: true, force: true });
    }
  });
});

describe('console: events as they happen', () => {
  it('prints an expiry above the prompt without anything typed', async () => {
    let offset = 0;
    const s = await startScripted({ now: () => Date.now() + offset });
    try {
      await s.send('as luis');
      const created = await s.send('/dbuser request dev --for 1h --reason background');
      const username = /`(dbx_luis_admin_[a-z0-9]+)`/.exec(created)![1]!;
      const mark = s.text().length;
      offset = 2 * 3600_000;
      await until(
        () => s.text().slice(mark).includes(`DROP LOGIN [${username}]`) && s.text().endsWith('luis> '),
        () => `the revocation printed on its own; printed:\n${s.text().slice(mark)}`,
      );
      expect(s.text().slice(mark)).toContain('expired and was revoked');
    } finally {
      await s.end();
      rmSync(s.session.dir, { recursive: true, force: true });
    }
  });
});

describe('console: DBACCESS_CONFIG', () => {
  it('loads the environments file it is given, its password references from the variables given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbaccess-console-config-'));
    const file = join(dir, 'sandbox.yml');
    const sample = readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
    // The first environment of the sample, renamed, its password read from a variable of our own.
    const dev = sample.slice(sample.indexOf('  - name: dev'), sample.indexOf('  - name: test'));
    writeFileSync(file, `usernamePrefix: sbx_\nenvironments:\n${dev.replace('name: dev', 'name: sandbox').replace('CONSOLE_DB_PASSWORD', 'SANDBOX_PASSWORD')}`);
    const s = await startScripted({ configPath: file, env: { SANDBOX_PASSWORD: 'anything' } });
    try {
      expect(s.text()).toContain('sandbox (sqlserver)');
      expect(s.text()).toContain('(DBACCESS_CONFIG)');
      expect(s.text()).not.toContain('prod (oracle)');
      await s.send('as luis');
      expect(await s.send('/dbuser request sandbox --reason other-file')).toMatch(/CREATE LOGIN \[sbx_luis_admin_[a-z0-9]+\]/);
    } finally {
      await s.end();
      rmSync(s.session.dir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which variable a password reference names when it is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbaccess-console-config-'));
    const file = join(dir, 'sandbox.yml');
    writeFileSync(file, readFileSync(DEFAULT_CONFIG_PATH, 'utf8').replaceAll('CONSOLE_DB_PASSWORD', 'SANDBOX_PASSWORD'));
    try {
      await expect(startScripted({ configPath: file, env: {} })).rejects.toThrow(/SANDBOX_PASSWORD/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
