// Permanent users end to end: request (one or several environments), the connection rules both ways,
// approval by the permanent-user approvers, the password once, rotation with approval, sync, revoke.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import { APPROVALS, callText, passwordIn, startHarness, USERS, type Harness } from './harness.js';

const EXTRA = `
  - name: corp
    dialect: sqlserver
    connection: { host: db-corp, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: corp-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    permanentApprovers: { users: [${USERS.ltAdmin}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
  - name: island
    dialect: oracle
    connection: { host: db-island, serviceName: FREEPDB1, schema: OSADMIN, user: system, password: { env: E2E_PW } }
    details: { host: island-db.example.com }
    lifetimeVersion: "11.19.0"
    network: none
    approvers: { users: [${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
  - name: branch
    dialect: sqlserver
    connection: { host: db-branch, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: branch-db.example.com, port: 14333 }
    lifetimeVersion: "11.19.0"
    hosting: self-managed
    network: tgw
    approvers: { users: [${USERS.approver}] }
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
`;

let h: Harness;
const issued: string[] = [];
beforeAll(async () => {
  h = await startHarness({ extraEnvironments: EXTRA });
});
afterAll(async () => {
  await h?.stop();
});

async function command(user: string, text: string): Promise<string> {
  const sent = await h.slack.slashCommand({ user, command: '/dbuser', text });
  return callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === sent.responseUrl, 5000));
}

function since(mark: number, predicate: (c: SlackCall) => boolean): Promise<SlackCall> {
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && predicate(c), 5000);
}

async function approveLatest(mark: number, approver: string, actionId = 'approval_approve'): Promise<{ approval: SlackCall; status: number; responseUrl: string }> {
  const approval = await since(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes(actionId));
  const clicked = await h.slack.blockAction({ user: approver, actionId, container: { channel: APPROVALS, messageTs: '1' }, message: { ts: '1', blocks: approval.args['blocks'] as unknown[] } });
  return { approval, status: clicked.status, responseUrl: clicked.responseUrl };
}

describe('a read-only permanent user', () => {
  it('is requested with the support-case text, approved, created with read grants only, and shown once', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await command(USERS.requester, 'permanent dev --access read --via vpn --reason "nightly export to the warehouse"');
    expect(reply).toContain('sent to the permanent-user approvers');
    expect(reply).toContain('Environment: dev (database server dev-db.example.com)');
    expect(reply).toContain('Access: read-only');
    expect(reply).toContain('How we connect: VPN');
    const { approval } = await approveLatest(mark, USERS.approver);
    expect(callText(approval)).toContain('Permanent database user request');
    expect(callText(approval)).toContain('read-only, permanent');
    expect(callText(approval)).not.toMatch(/INSERT, UPDATE, DELETE/);
    const credentials = await since(mark, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('Password'));
    issued.push(passwordIn(credentials));
    expect(callText(credentials)).toContain('never (permanent');
    const request = h.bot.store.requests.findPermanent('dev', 'readonly')!;
    expect(request).toMatchObject({ state: 'active', expiresAt: null, via: 'vpn' });
    const kinds = h.executors.get('dev')!.statements.filter((s) => s.params.some((p) => p.value === request.username)).map((s) => s.label);
    expect(kinds).toContain('grant SELECT on every table and view of the database');
    expect(kinds.some((k) => k.includes('INSERT'))).toBe(false);
    // It never expires: the scheduler has nothing to do for it.
    expect(h.bot.store.requests.listExpiring(Number.MAX_SAFE_INTEGER, 10).some((r) => r.id === request.id)).toBe(false);
  });

  it('a second read-only user in that environment is refused and points to rotation; read & write is allowed', async () => {
    expect(await command(USERS.other, 'permanent dev --access read --via vpn --reason "again"')).toContain('already has a read-only permanent user');
    expect(await command(USERS.other, 'permanent dev --access read --via vpn --reason "again"')).toContain('/dbuser rotate dev --access read');
    expect(await command(USERS.other, 'permanent dev --access readwrite --via vpn --reason "sync job"')).toContain('sent to the permanent-user approvers');
  });
});

describe('connection rules, both ways', () => {
  it.each([
    ['permanent prod --access readwrite --via allowlist --ip 52.95.110.1 --reason x', 'IP allowlisting cannot coexist with a tunnel'],
    ['permanent island --access read --via allowlist --ip 10.1.2.3,52.95.110.1 --reason x', '10.1.2.3 is private (10.0.0.0/8)'],
    ['permanent island --access read --via allowlist --ip 127.0.0.1 --reason x', '127.0.0.1 is loopback'],
    ['permanent island --access read --via allowlist --ip not-an-ip --reason x', 'not-an-ip is not an IPv4 or IPv6 address'],
    ['permanent island --access read --via allowlist --reason x', 'IP allowlisting needs the public static IP addresses'],
    ['permanent island --access read --via vpn --ip 52.95.110.1 --reason x', '--ip is only for --via allowlist'],
    ['permanent island --access read --via vpn', '`--reason` is missing'],
    ['permanent island --access everything --via vpn --reason x', 'use read or readwrite'],
    ['permanent island --access read --via carrier-pigeon --reason x', 'use vpn, tgw or allowlist'],
    // The environment's own network: the support case would contradict it (item 8).
    ['permanent corp --access read --via tgw --reason x', 'corp is reached through a VPN tunnel (its network is vpn), not a Transit Gateway tunnel. Use --via vpn'],
    ['permanent prod --access read --via vpn --reason x', 'prod is reached through a Transit Gateway tunnel (its network is tgw), not a VPN tunnel. Use --via tgw'],
    ['permanent allowlisted --access read --via vpn --reason x', 'allowlisted is reached through IP allowlisting (its network is allowlist)'],
    // Special-purpose ranges, named (item 16).
    ['permanent island --access read --via allowlist --ip 203.0.113.7 --reason x', '203.0.113.7 is reserved (documentation, benchmarking or other special use) (203.0.113.0/24)'],
    ['permanent island --access read --via allowlist --ip 64:ff9b::10.0.0.1 --reason x', 'is a NAT64 address that embeds an IPv4 address (64:ff9b::/96), and the IPv4 address in it, 10.0.0.1, is private'],
    ['permanent island --access read --via allowlist --ip 2001::1 --reason x', 'is a Teredo tunnel address'],
  ])('%s', async (text, expected) => {
    expect(await command(USERS.requester, text)).toContain(expected);
  });

  it('every blocker is named in one refusal, not the first only', async () => {
    const reply = await command(USERS.requester, 'permanent nosuch,corp --access read --via tgw --ip 52.95.110.1 --reason x');
    expect(reply).toContain('This cannot be done yet, for 3 reasons:');
    expect(reply).toContain('--ip is only for --via allowlist');
    expect(reply).toContain('There is no environment called');
    expect(reply).toContain('corp is reached through a VPN tunnel');
  });

  it('an allowlisted permanent user rules out a tunnelled one there, and temporary users', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await command(USERS.requester, 'permanent island --access read --via allowlist --ip 52.95.110.1,2a05:d018:1::7 --reason "BI tool"');
    expect(reply).toContain('IP allowlisting of public static IP addresses: 52.95.110.1, 2a05:d018:1::7');
    const { approval } = await approveLatest(mark, USERS.approver);
    expect(callText(approval)).toContain('IP allowlisting: 52.95.110.1, 2a05:d018:1::7');
    issued.push(passwordIn(await since(mark, (c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'))));
    expect(await command(USERS.requester, 'permanent island --access readwrite --via vpn --reason x')).toContain('on IP allowlisting; a VPN tunnel would end that allowlist');
    expect(await command(USERS.requester, 'request island')).toContain('Temporary users need a VPN or Transit Gateway tunnel');
  });
});

describe('approvals of permanent users', () => {
  it('only the permanent-user approvers decide; a temporary-user approver is refused', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    await command(USERS.requester, 'permanent corp --access readwrite --via vpn --reason "integration"');
    const refused = await approveLatest(mark, USERS.approver);
    const reply = await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === refused.responseUrl, 5000);
    expect(callText(reply)).toContain('Only permanent-user approvers of corp can decide');
    const clicked = await h.slack.blockAction({
      user: USERS.ltAdmin,
      actionId: 'approval_approve',
      container: { channel: APPROVALS, messageTs: '1' },
      message: { ts: '1', blocks: refused.approval.args['blocks'] as unknown[] },
    });
    expect(clicked.status).toBe(200);
    issued.push(passwordIn(await since(mark, (c) => c.method === 'chat.postEphemeral' && callText(c).includes('Password'))));
    expect(h.bot.store.requests.findPermanent('corp', 'readwrite')?.state).toBe('active');
  });

  it('several environments in one request: one approval each, one support text', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await command(USERS.other, 'permanent prod,branch --access read --via tgw --reason "reporting"');
    const approvals = h.fake.calls.slice(mark).filter((c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS);
    expect(approvals.map((c) => callText(c).match(/(prod|branch) \((oracle|sqlserver)\)/)?.[1])).toEqual(['prod', 'branch']);
    // prod is hosted by OutSystems: a support case; branch is self-managed: what the network team opens (item 15).
    expect(reply).toContain('send each part of this text where its first line says');
    const cloud = reply.slice(reply.indexOf('To: OutSystems Support (a support case)'), reply.indexOf('To: our network team'));
    const own = reply.slice(reply.indexOf('To: our network team'), reply.indexOf('Database users', reply.indexOf('To: our network team')));
    expect(cloud).toContain('To: OutSystems Support (a support case)');
    expect(cloud).toContain('these OutSystems Cloud environments:');
    expect(cloud).toContain('• Environment: prod (database server prod-db.example.com)');
    expect(cloud).not.toContain('branch');
    expect(own).toContain('these self-managed OutSystems environments:');
    expect(own).toContain('• Allow TCP from our private network, through the AWS Transit Gateway to branch-db.example.com, port 14333 (environment branch)');
    expect(own).not.toContain('OutSystems Cloud');
  });
});

describe('the permanent-user form', () => {
  it('opens on a bare /dbuser permanent, shows refusals next to their field, and sends the request with the support text', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    await h.slack.slashCommand({ user: USERS.other, command: '/dbuser', text: 'permanent' });
    const opened = await since(mark, (c) => c.method === 'views.open');
    expect(callText(opened)).toContain('dbuser_permanent');
    const values = (via: string, ips: string) => ({
      envs: { value: { type: 'multi_static_select', selected_options: [{ value: 'island' }] } },
      access: { value: { type: 'static_select', selected_option: { value: 'readwrite' } } },
      via: { value: { type: 'static_select', selected_option: { value: via } } },
      ips: { value: { type: 'plain_text_input', value: ips } },
      reason: { value: { type: 'plain_text_input', value: 'data warehouse' } },
    });
    // Every field's problem at once (item 11), and the environment's own network in the form too (item 8).
    const corp = { ...values('tgw', '10.0.0.1'), envs: { value: { type: 'multi_static_select', selected_options: [{ value: 'corp' }] } }, reason: { value: { type: 'plain_text_input', value: ' ' } } };
    const many = await h.slack.viewSubmission({ user: USERS.other, view: { callbackId: 'dbuser_permanent', values: corp } });
    expect(many.json).toMatchObject({
      response_action: 'errors',
      errors: { via: expect.stringContaining('its network is vpn'), ips: expect.stringContaining('--ip is only for --via allowlist'), reason: expect.stringContaining('needs a reason') },
    });
    const refused = await h.slack.viewSubmission({ user: USERS.other, view: { callbackId: 'dbuser_permanent', values: values('allowlist', '192.168.1.5') } });
    expect(refused.json).toMatchObject({ response_action: 'errors', errors: { ips: expect.stringContaining('192.168.1.5 is private') } });
    const sent = await h.slack.viewSubmission({ user: USERS.other, view: { callbackId: 'dbuser_permanent', values: values('allowlist', '52.95.110.3') } });
    expect(sent.status).toBe(200);
    const dm = await since(mark, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.other && callText(c).includes('support case'));
    expect(callText(dm)).toContain('IP allowlisting of public static IP addresses: 52.95.110.3');
    expect(h.bot.store.requests.findPermanent('island', 'readwrite')).toMatchObject({ state: 'pending', ips: ['52.95.110.3'] });
  });
});

describe('rotation', () => {
  it('the owner asks, an approver approves, the owner alone sees the new password; a second click changes nothing', async () => {
    const request = h.bot.store.requests.findPermanent('dev', 'readonly')!;
    expect(await command(USERS.other, 'rotate dev --access read')).toContain(`Only <@${USERS.requester}>, who owns`);
    await h.settle();
    const mark = h.fake.calls.length;
    expect(await command(USERS.requester, 'rotate dev --access read')).toContain('waiting for an approver');
    expect(await command(USERS.requester, 'rotate dev --access read')).toContain('already waiting for approval');
    const { approval } = await approveLatest(mark, USERS.approver, 'rotation_approve');
    expect(callText(approval)).toContain('New password for a permanent user');
    const credentials = await since(mark, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('Password'));
    const fresh = passwordIn(credentials);
    issued.push(fresh);
    const set = h.executors.get('dev')!.statements.filter((s) => s.kind === 'set password').at(-1)!;
    expect(set.params).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'username', value: request.username }), expect.objectContaining({ name: 'password', value: fresh })]));
    // The request is active: the new password also lifts a lockout after bad passwords (issue 15, item 6).
    expect(set.label).toBe('set a new password on the login and unlock it');
    await since(mark, (c) => c.method === 'chat.update' && callText(c).includes('New password approved by'));
    const again = await h.slack.blockAction({ user: USERS.approver, actionId: 'rotation_approve', value: request.id, container: { channel: APPROVALS, messageTs: '1' } });
    expect(callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === again.responseUrl, 5000))).toContain('already decided');
  });
});

describe('grant sync and revocation', () => {
  it('an approver syncs grants for tables added since; others may not', async () => {
    h.respond('corp', (s) => (s.label.startsWith('list OSUSR_') ? [{ table_name: 'OSUSR_NEW_INVOICE' }] : []));
    expect(await command(USERS.other, 'sync corp')).toContain('Only approvers of corp can sync grants');
    const reply = await command(USERS.approver, 'sync corp');
    expect(reply).toContain('granted OSUSR_NEW_INVOICE');
    h.respond('corp', () => []);
  });

  it('the hourly sync reports what it added in the reminder channel', async () => {
    h.respond('corp', (s) => (s.label.startsWith('list OSUSR_') ? [{ table_name: 'OSUSR_NEW_ORDERLINE' }] : []));
    await h.settle();
    const mark = h.fake.calls.length;
    await h.bot.permanent.syncAll();
    const note = await since(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === 'C0REMINDERS');
    expect(callText(note)).toContain('OSUSR_NEW_ORDERLINE');
    h.respond('corp', () => []);
  });

  it('details and list show the owner their permanent users with kind and access (issue 16, item 13)', async () => {
    const request = h.bot.store.requests.findPermanent('corp', 'readwrite')!;
    const details = await command(USERS.requester, 'details corp');
    expect(details).toContain('read & write permanent database user in corp');
    expect(details).toContain(request.username!);
    expect(details).toContain('read & write, permanent');
    expect(details).toContain('/dbuser rotate corp --access readwrite');
    expect(details).not.toContain('no active');
    const list = await command(USERS.requester, 'list');
    expect(list).toContain(`*corp* \`${request.username}\`: read & write, permanent, active`);
    expect(list).toContain('read-only, permanent, active');
  });

  it('the owner withdraws a pending permanent request with /dbuser delete (issue 16, item 7)', async () => {
    const pending = h.bot.store.requests.listByRequester(USERS.other, ['pending']).find((r) => r.env === 'prod' && r.kind === 'permanent')!;
    await h.settle();
    const mark = h.fake.calls.length;
    expect(await command(USERS.approver, 'delete prod')).toContain('no permanent request waiting there');
    expect(await command(USERS.other, 'delete prod')).toContain('Your read-only permanent request in *prod* was withdrawn.');
    expect(h.bot.store.requests.get(pending.id)).toMatchObject({ state: 'denied', decidedBy: USERS.other, decisionReason: 'withdrawn by the requester' });
    expect(h.bot.store.audit.list({ requestId: pending.id }).at(-1)).toMatchObject({ actor: USERS.other, action: 'state:denied' });
    await h.settle();
    const updated = await since(mark, (c) => c.method === 'chat.update' && callText(c).includes('Withdrawn by'));
    expect(callText(updated)).not.toContain('approval_approve');
  });

  it('the owner revokes their own permanent user by name after confirming; audited as the owner (issue 16, item 7)', async () => {
    const request = h.bot.store.requests.findPermanent('corp', 'readwrite')!;
    expect(await command(USERS.other, `revoke ${request.username}`)).toContain("Only approvers of corp can revoke other people's users");
    // `delete` never drops a permanent user: it points to revoke.
    expect(await command(USERS.requester, 'delete corp')).toContain(`/dbuser revoke ${request.username}`);
    const sent = await h.slack.slashCommand({ user: USERS.requester, command: '/dbuser', text: `revoke ${request.username}` });
    const ask = await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === sent.responseUrl, 5000);
    // The second step: nothing is dropped yet; the button asks once more in Slack's confirm dialog.
    expect(h.bot.store.requests.get(request.id)!.state).toBe('active');
    const button = (ask.args['blocks'] as { elements?: Record<string, unknown>[] }[]).flatMap((b) => b.elements ?? []).find((e) => e['action_id'] === 'expiry_revoke')!;
    expect(button).toMatchObject({ value: request.id, style: 'danger', confirm: { style: 'danger', confirm: { text: 'Drop it' }, deny: { text: 'Keep it' } } });
    const clicked = await h.slack.blockAction({ user: USERS.requester, actionId: 'expiry_revoke', value: request.id, container: { channel: 'D0SOMEDM', messageTs: '1' } });
    expect(callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === clicked.responseUrl, 5000))).toContain('The user was revoked');
    expect(h.bot.store.requests.get(request.id)!.state).toBe('revoked');
    const revoking = h.bot.store.audit.list({ requestId: request.id }).find((e) => e.action === 'state:revoking')!;
    expect(revoking).toMatchObject({ actor: USERS.requester, detail: expect.objectContaining({ reason: 'requested', by: 'owner' }) });
  });

  it('an approver revokes a permanent user by name, after the same confirmation', async () => {
    const request = h.bot.store.requests.findPermanent('dev', 'readonly')!;
    expect(await command(USERS.approver, `revoke ${request.username}`)).toContain('Drop it now');
    expect(h.bot.store.requests.get(request.id)!.state).toBe('active');
    const clicked = await h.slack.blockAction({ user: USERS.approver, actionId: 'expiry_revoke', value: request.id, container: { channel: 'D0SOMEDM', messageTs: '1' } });
    expect(callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === clicked.responseUrl, 5000))).toContain('The user was revoked');
    expect(h.bot.store.requests.get(request.id)!.state).toBe('revoked');
    expect(h.bot.store.audit.list({ requestId: request.id }).find((e) => e.action === 'state:revoking')).toMatchObject({ actor: USERS.approver, detail: expect.objectContaining({ by: 'approver' }) });
  });
});

describe('a request nobody can decide (issue 16, item 10)', () => {
  it('the only approver of prod is warned at request time, and refused as the requester with the withdraw command', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await command(USERS.approver, 'request prod --reason "only approver"');
    expect(reply).toContain('is waiting for an approver');
    expect(reply).toContain('Nobody can decide this request: prod has no approvers other than you');
    expect(reply).toContain('/dbuser delete prod');
    const refused = await approveLatest(mark, USERS.approver);
    const refusal = callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === refused.responseUrl, 5000));
    expect(refusal).toContain('You cannot decide your own request');
    expect(refusal).toContain('Nobody else can decide it in prod');
    expect(refusal).toContain('To withdraw it: `/dbuser delete prod`');
    expect(await command(USERS.approver, 'delete prod')).toContain('Your read & write temporary request in *prod* was withdrawn.');
  });

  it('an ordinary requester is not warned', async () => {
    expect(await command(USERS.other, 'request prod --reason "normal"')).not.toContain('Nobody can decide');
  });
});

describe('no secret is written down', () => {
  it('finds no issued password in SQLite, logs, or non-ephemeral messages', async () => {
    expect(issued.length).toBeGreaterThanOrEqual(4);
    const sqlite = h.sqliteBytes();
    const visible = h.fake.calls
      .filter((c) => c.method !== 'chat.postEphemeral' && !(c.method === 'response_url' && c.args['response_type'] !== 'in_channel'))
      .map(callText)
      .join('\n');
    for (const password of issued) {
      expect(sqlite.includes(Buffer.from(password))).toBe(false);
      expect(h.logs.join('\n').includes(password)).toBe(false);
      expect(visible.includes(password)).toBe(false);
    }
  });
});
