// The console session scripted through streams, as a person would type it: request, approve, password, details,
// rotate, delete, the request form, and every password shown exactly once, in the message only its owner sees.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_MISSING_WRITE_LABEL } from '../../../src/dialects/permissions.js';
import { buttonNumber, passwordIn, startScripted, type Scripted } from './scripted.js';

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

let c: Scripted;
const issued: string[] = [];

beforeAll(async () => {
  c = await startScripted();
});

afterAll(async () => {
  await c?.end();
  if (c) rmSync(c.session.dir, { recursive: true, force: true });
});

describe('console session', () => {
  it('welcomes with what to try first and where the log is', () => {
    expect(c.text()).toContain('/dbuser request dev --reason test');
    expect(c.text()).toContain(`The bot's log: ${c.session.logPath}`);
    expect(c.text()).toMatch(/maria> $/);
    // Not a terminal: plain text.
    expect(c.text()).not.toContain('\x1b[');
  });

  it('request → approve → password → details → new password → delete', async () => {
    const requested = await c.send('/dbuser request dev --reason test');
    expect(requested).toContain('[#C0APPROVALS] # Temporary database user request');
    expect(requested).toContain('@Maria Silva');
    expect(requested).toMatch(/CREATE LOGIN \[dbx_maria_silva_[a-z0-9]+\] WITH PASSWORD = N'\*{8}'/);
    expect(requested).toContain('[only Maria Silva sees] Request `r_');
    const approve = buttonNumber(requested, 'Approve');
    expect(buttonNumber(requested, 'Deny')).toBe(approve + 1);

    expect(await c.send('as ana')).toContain('You are now Ana Approver');
    const approved = await c.send(`click ${approve}`);
    expect(approved).toContain('(Ana Approver clicked Approve)');
    expect(approved).toContain('[message updated in #C0APPROVALS]');
    expect(approved).toContain('[DM to Maria Silva] Your temporary user request for dev was approved by @Ana Approver');
    const credentials = approved.slice(approved.indexOf('[only Maria Silva sees]'));
    expect(credentials).toContain('*Your temporary database user in dev is ready*');
    const password = passwordIn(credentials);
    issued.push(password);
    const username = /`(dbx_maria_silva_[a-z0-9]+)`/.exec(credentials)![1]!;
    expect(approved).toContain('SQL (dev, dry run):');
    // A new user's write grants: one batch that quotes every name on the server, then what it granted.
    expect(approved).toContain(`-- ${ALL_MISSING_WRITE_LABEL}`);
    expect(approved).toContain("SET @sql = N'GRANT INSERT, UPDATE, DELETE ON OBJECT::' + QUOTENAME(@schema) + N'.' + QUOTENAME(@table) + N' TO ' + QUOTENAME(@username);");
    expect(approved).toContain(`@schema = 'dbo', @pattern = 'OSUSR\\_%', @username = '${username}'`);
    expect(approved).toMatch(/dry run answered OSUSR_ABC_ORDER \|/);

    // The approval message lost its buttons, and the credentials are not Ana's to click.
    expect(await c.send(`click ${approve}`)).toContain(`Button [${approve}] is gone`);
    expect(await c.send(`click ${buttonNumber(credentials, 'New password')}`)).toContain('Only Maria Silva sees that message: type `as maria` first.');

    await c.send('as maria');
    const details = await c.send('/dbuser details dev');
    for (const expected of ['[only Maria Silva sees]', 'dev-db.example.com', '1433', username]) expect(details).toContain(expected);
    expect(details).not.toContain(password);

    const rotated = await c.send(`click ${buttonNumber(details, 'New password')}`);
    expect(rotated).toContain('[only Maria Silva sees, replacing the message] *New password for dev*');
    const second = passwordIn(rotated);
    expect(second).not.toBe(password);
    issued.push(second);
    expect(rotated).toContain(`ALTER LOGIN [${username}] WITH PASSWORD = N'********'`);

    const deleted = await c.send('/dbuser delete dev');
    expect(deleted).toContain(`[only Maria Silva sees] Your user \`${username}\` in *dev* was revoked.`);
    const sql = deleted.slice(deleted.indexOf('SQL (dev, dry run):'));
    expect(sql).toContain(`ALTER LOGIN [${username}] DISABLE`);
    expect(sql).toContain('KILL 53');
    expect(sql).toContain(`DROP LOGIN [${username}]`);
    expect(sql.indexOf('DISABLE')).toBeLessThan(sql.indexOf('KILL 53'));
  });

  it('a bare /dbuser request opens the form; its answers make a request, a refused answer is asked again', async () => {
    const form = await c.send('/dbuser request');
    expect(form).toContain('[form for Maria Silva] Temporary DB user');
    expect(form).toContain('1. dev (sqlserver)');
    expect(form).toMatch(/Environment> $/);
    // Several environments: the field starts empty, meaning the chosen one's own default.
    expect(await c.send('4')).toMatch(/For how long> $/);
    expect(await c.send('')).toMatch(/Reason> $/);
    expect(await c.send('')).toContain('Reason is required.');
    expect(await c.send('reading the logs')).toMatch(/Ticket> $/);
    expect(await c.send('')).toMatch(/Your own password \(optional\)> $/);
    const refused = await c.send('');
    expect(refused).toContain('Environment: Temporary users need LifeTime 11.7.5 or later; legacy runs 11.7.2.');
    expect(refused).toMatch(/Environment \[legacy \(sqlserver\)\]> $/);
    expect(await c.send('nowhere')).toContain('Type a number from 1 to 4.');
    const requested = await c.send('dev');
    expect(requested).toContain('[only Maria Silva sees] Request `r_');
    expect(requested).toContain('waiting for an approver');
    expect(requested).toContain('[#C0APPROVALS] # Temporary database user request');
    expect(requested).toContain('reading the logs');
    expect(requested).toMatch(/maria> $/);
  });

  it('cancel closes a form unsent', async () => {
    await c.send('/dbuser request');
    const cancelled = await c.send('cancel');
    expect(cancelled).toContain('Form closed without submitting.');
    expect(cancelled).toMatch(/maria> $/);
  });

  it('a self-service user gets the password at once', async () => {
    await c.send('as luis');
    const created = await c.send('/dbuser request dev');
    expect(created).toContain('(self-service)');
    expect(created).not.toContain('[#C0APPROVALS]');
    issued.push(passwordIn(created.slice(created.indexOf('[only Luis Admin sees] *Your temporary database user'))));
    await c.send('as maria');
  });

  it.each([
    ['an unknown console command shows the help', 'launch', ['I don\'t know "launch".', 'Commands:', 'click <n>']],
    ['an unknown /dbuser command gets the bot\'s usage', '/dbuser launch', ["[only Maria Silva sees] ⚠️ I don't know `launch`.", 'Usage:']],
    ['users says who approves what', 'users', ['ana    U0APPROVER  Ana Approver, an approver: approves dev, test, prod, legacy', '@dbas (S0DBAS) = Ana Approver']],
    ['help says where the SQL is', 'help', ['SQL (<env>, dry run)']],
    ['a button that never was', 'click 99', ['There is no button [99].']],
  ])('%s', async (_, line, expected) => {
    const printed = await c.send(line);
    for (const text of expected) expect(printed).toContain(text);
  });

  it('shows each password exactly once, in the message only its owner sees, and never logs it', () => {
    expect(issued).toHaveLength(3);
    const log = readFileSync(c.session.logPath, 'utf8');
    for (const password of issued) {
      expect(occurrences(c.text(), password)).toBe(1);
      expect(log).not.toContain(password);
    }
  });
});
