// /interop end to end: setup, expose, promote, status, sync and the hourly check, each approved first,
// against dry-run databases that answer the ossys_entity and exposed-view look-ups.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import type { Statement } from '../../src/dialects/statement.js';
import { APPROVALS, callText, passwordIn, startHarness, USERS, type Harness } from './harness.js';

let h: Harness;

/** What the dry-run databases know: whether the interop user exists, entities, exposed views and grants. */
const world = {
  userExists: false,
  /** Catalog views whose GRANT the server refuses in the documented way (the batch then returns a note row). */
  refused: [] as string[],
  entities: [{ entity_name: 'Order', table_name: 'OSUSR_ABC_ORDER', module_name: 'Sales' }] as Record<string, string>[],
  views: [{ view_name: 'OSUSR_VIEW_ORDER', can_select: 0, can_insert: 0, can_update: 0, can_delete: 0 }] as Record<string, string | number>[],
};

function respond(s: Statement) {
  if (s.label.startsWith('check whether the user exists')) return [{ present: world.userExists ? 1 : 0 }];
  if (s.label.startsWith('find the table of entity')) {
    const wanted = String(s.params.find((p) => p.name === 'entity')?.value).toLowerCase();
    return world.entities.filter((e) => e.entity_name!.toLowerCase() === wanted);
  }
  if (s.label.startsWith('list exposed')) return world.views;
  const refused = world.refused.find((view) => s.label === `grant SELECT on ${view}`);
  if (refused) return [{ note: `${refused} not granted (the server refused it): already readable by public` }];
  return [];
}

beforeAll(async () => {
  h = await startHarness();
  h.respond('dev', respond);
  h.respond('prod', respond);
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => {
  world.userExists = false;
  world.refused = [];
  world.entities = [{ entity_name: 'Order', table_name: 'OSUSR_ABC_ORDER', module_name: 'Sales' }];
  world.views = [{ view_name: 'OSUSR_VIEW_ORDER', can_select: 0, can_insert: 0, can_update: 0, can_delete: 0 }];
});

async function interop(user: string, text: string): Promise<string> {
  const sent = await h.slack.slashCommand({ user, command: '/interop', text });
  return callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === sent.responseUrl, 5000));
}

function after(mark: number, predicate: (c: SlackCall) => boolean): Promise<SlackCall> {
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && predicate(c), 5000);
}

async function approval(mark: number): Promise<SlackCall> {
  return after(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('interop_approve'));
}

async function click(message: SlackCall, user: string, actionId = 'interop_approve') {
  const sent = await h.slack.blockAction({ user, actionId, container: { channel: APPROVALS, messageTs: '1' }, message: { ts: '1', blocks: message.args['blocks'] as unknown[] } });
  return sent.responseUrl;
}

const newStatements = (env: string, from: number) => h.executors.get(env)!.statements.slice(from);

describe('setup', () => {
  it('creates the interoperability user with the seed’s read grants (User/Tenant off by default), after approval; the password goes to the requester only', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    expect(await interop(USERS.requester, 'setup dev')).toContain('waiting for an approver of *dev*');
    const message = await approval(mark);
    const plan = callText(message);
    // The plan is the dialect's own statements, masked: what the server will run on this platform.
    expect(plan).toContain('CREATE LOGIN [dbx_interop] WITH PASSWORD = N');
    expect(plan).toContain('OSSYS_ENTITY_EXTRA_METADATA');
    expect(plan).toContain('GRANT SELECT ON OBJECT::sys.[foreign_key_columns] TO [dbx_interop]');
    expect(plan).not.toMatch(/OSSYS_VIEW_USER|OSSYS_USER|OSSYS_TENANT/);
    const before = h.executors.get('dev')!.statements.length;
    await click(message, USERS.approver);
    const credentials = await after(mark, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('Password'));
    const password = passwordIn(credentials);
    const made = newStatements('dev', before);
    expect(made.find((s) => s.kind === 'create login')?.params.find((p) => p.name === 'password')?.value).toBe(password);
    const granted = made.filter((s) => s.kind === 'grant').map((s) => s.label);
    for (const table of ['OSSYS_APPLICATION', 'OSSYS_MODULE', 'sys.types']) expect(granted.join('\n')).toContain(table);
    expect(granted.join('\n')).not.toMatch(/OSSYS_VIEW_USER|OSSYS_VIEW_TENANT|OSSYS_USER|OSSYS_TENANT/);
    expect(granted.some((g) => /INSERT|UPDATE|DELETE/.test(g))).toBe(false);
    const updated = await after(mark, (c) => c.method === 'chat.update' && callText(c).includes('was created'));
    expect(callText(updated)).not.toContain(password);
  });

  it('run again on an existing user: re-applies the grants, creates nothing, and hands a new password to the requester alone', async () => {
    world.userExists = true;
    await h.settle();
    const mark = h.fake.calls.length;
    await interop(USERS.requester, 'setup dev');
    const message = await approval(mark);
    expect(callText(message)).toContain('exists: grants are re-applied');
    expect(callText(message)).toContain('new password, shown once to the requester');
    const before = h.executors.get('dev')!.statements.length;
    await click(message, USERS.approver);
    const updated = await after(mark, (c) => c.method === 'chat.update' && callText(c).includes('existed; its grants were re-applied'));
    const made = newStatements('dev', before);
    expect(made.some((s) => s.kind.startsWith('create'))).toBe(false);
    // The way back for a password nobody saw: a new one, set on the existing user and shown only to the requester.
    const credentials = h.fake.calls.slice(mark).filter((c) => c.method === 'chat.postEphemeral');
    expect(credentials.map((c) => c.args['user'])).toEqual([USERS.requester]);
    const password = passwordIn(credentials[0]!);
    expect(made.find((s) => s.kind === 'set password')?.params.find((p) => p.name === 'password')?.value).toBe(password);
    expect(callText(updated)).not.toContain(password);
  });
});

describe('setup where the platform refuses catalog grants', () => {
  it('completes, and the approval message (and so the audit) says the views are already readable by public', async () => {
    world.userExists = true;
    world.refused = ['sys.columns', 'sys.types'];
    const mark = h.fake.calls.length;
    await interop(USERS.requester, 'setup dev');
    const message = await approval(mark);
    await click(message, USERS.approver);
    const updated = await after(mark, (c) => c.method === 'chat.update' && callText(c).includes('existed; its grants were re-applied'));
    expect(callText(updated)).toContain('sys.columns not granted (the server refused it): already readable by public');
    expect(callText(updated)).toContain('sys.types not granted');
    expect(h.bot.store.audit.list({ env: 'dev' }).filter((e) => e.action === 'interop_not_granted').at(-1)?.detail).toMatchObject({
      notes: [expect.stringContaining('sys.columns not granted'), expect.stringContaining('sys.types not granted')],
    });
  });
});

describe('expose and promote', () => {
  it('grants read & write on the view and the entity’s real table (SQL Server), recorded, after approval', async () => {
    world.userExists = true;
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await interop(USERS.requester, 'expose dev Order');
    expect(reply).toContain('SELECT, INSERT, UPDATE, DELETE on OSUSR_VIEW_ORDER');
    expect(reply).toContain('SELECT, INSERT, UPDATE, DELETE on OSUSR_ABC_ORDER');
    const message = await approval(mark);
    const before = h.executors.get('dev')!.statements.length;
    await click(message, USERS.approver);
    await after(mark, (c) => c.method === 'chat.update' && callText(c).includes('Granted dbx_interop'));
    const grants = newStatements('dev', before).map((s) => s.label);
    expect(grants).toEqual(['grant SELECT, INSERT, UPDATE, DELETE on OSUSR_VIEW_ORDER', 'grant SELECT, INSERT, UPDATE, DELETE on OSUSR_ABC_ORDER']);
    world.views = [{ view_name: 'OSUSR_VIEW_ORDER', can_select: 1, can_insert: 1, can_update: 1, can_delete: 1 }];
    expect(await interop(USERS.requester, 'status dev')).toContain('Views granted: `OSUSR_VIEW_ORDER`');
  });

  it('promote to Oracle grants read only, as the seed says', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await interop(USERS.requester, 'promote Order --from dev --to prod');
    expect(reply).toContain('waiting for an approver of *prod*');
    const message = await approval(mark);
    const before = h.executors.get('prod')!.statements.length;
    await click(message, USERS.approver);
    await after(mark, (c) => c.method === 'chat.update' && callText(c).includes('Granted DBX_INTEROP'));
    expect(newStatements('prod', before).map((s) => s.label)).toEqual(['grant SELECT on OSUSR_VIEW_ORDER', 'grant SELECT on OSUSR_ABC_ORDER']);
  });

  it.each([
    ['expose dev Invoice', 'dev has no active entity called Invoice'],
    ['expose dev Order --view osusr_view_order', 'may hold only the characters A-Z, 0-9 and _'],
    ['expose dev Order --view ORDERS_VIEW', 'must start with OSUSR_VIEW_'],
    ['expose dev Order --view OSUSR_VIEW_ORDER;DROP', 'may hold only the characters A-Z, 0-9 and _'],
    [`expose dev Order --view OSUSR_VIEW_${'X'.repeat(40)}`, 'the limit is 50'],
    ['expose dev Order --view OSUSR_VIEW_CUSTOM', 'dev has no view OSUSR_VIEW_CUSTOM'],
    ['expose dev', '`expose` needs an environment and an entity name'],
    ['promote Order --from dev', '`promote` needs both --from and --to'],
    ['frobnicate', "I don't know `frobnicate`"],
  ])('%s is refused: %s', async (text, expected) => {
    expect(await interop(USERS.requester, text)).toContain(expected);
  });

  it('an entity in several modules: the reply lists them, --module picks one', async () => {
    world.entities.push({ entity_name: 'Order', table_name: 'OSUSR_XYZ_ORDER', module_name: 'Billing' });
    expect(await interop(USERS.requester, 'expose dev Order')).toContain('Order exists in several modules of dev: Sales, Billing. Say which with --module');
    expect(await interop(USERS.requester, 'expose dev Order --module billing')).toContain('on OSUSR_XYZ_ORDER');
  });
});

describe('approvals, status, sync and the hourly check', () => {
  it('only approvers decide, never their own request, and a second click changes nothing', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    await interop(USERS.approver, 'setup dev');
    const message = await approval(mark);
    const self = await click(message, USERS.approver);
    expect(callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === self, 5000))).toContain('cannot decide your own request');
    const stranger = await click(message, USERS.other);
    expect(callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === stranger, 5000))).toContain('Only approvers of dev');
    await click(message, USERS.groupApprover, 'interop_deny');
    await after(mark, (c) => c.method === 'chat.update' && callText(c).includes(`Denied by <@${USERS.groupApprover}>`));
    const again = await click(message, USERS.groupApprover);
    expect(callText(await h.fake.waitFor((c) => c.method === 'response_url' && c.args['responseUrl'] === again, 5000))).toContain('already decided');
  });

  it('status names what lacks grants and what vanished; sync grants the rest', async () => {
    world.userExists = true;
    world.views = [{ view_name: 'OSUSR_VIEW_ORDER', can_select: 1, can_insert: 0, can_update: 0, can_delete: 0 }];
    const status = await interop(USERS.requester, 'status dev');
    expect(status).toContain('Exposed views lacking grants: `OSUSR_VIEW_ORDER`');
    world.views = [];
    expect(await interop(USERS.requester, 'status dev')).toContain('Grants recorded for views that no longer exist: `OSUSR_VIEW_ORDER`');
    expect(await interop(USERS.requester, 'sync dev')).toContain('already has its grants');
    world.views = [{ view_name: 'OSUSR_VIEW_ORDER', can_select: 0, can_insert: 0, can_update: 0, can_delete: 0 }];
    await h.settle();
    const mark = h.fake.calls.length;
    expect(await interop(USERS.requester, 'sync dev')).toContain('waiting for an approver');
    expect(callText(await approval(mark))).toContain('GRANT SELECT, INSERT, UPDATE, DELETE ON dbo.OSUSR_ABC_ORDER');
  });

  it('the hourly check posts newly exposed views with a Grant button, once', async () => {
    world.userExists = true;
    world.entities.push({ entity_name: 'Invoice', table_name: 'OSUSR_ABC_INVOICE', module_name: 'Sales' });
    world.views = [{ view_name: 'OSUSR_VIEW_INVOICE', can_select: 0, can_insert: 0, can_update: 0, can_delete: 0 }];
    await h.settle();
    const mark = h.fake.calls.length;
    await h.bot.interop.check();
    const message = await approval(mark);
    expect(callText(message)).toContain('the hourly check');
    expect(callText(message)).toContain('"text":"Grant"');
    await h.bot.interop.check();
    const posts = h.fake.calls.slice(mark).filter((c) => c.method === 'chat.postMessage' && callText(c).includes('OSUSR_VIEW_INVOICE') && c.args['channel'] === APPROVALS);
    expect(posts.filter((c) => h.executors.size > 0 && callText(c).includes('dev ('))).toHaveLength(1);
  });

  it('the interoperability user is not reported as an orphan', async () => {
    h.respond('dev', (s) => (s.label.startsWith('list users') ? [{ name: 'dbx_interop' }] : respond(s)));
    const env = h.bot.access.environment('dev');
    expect((await h.bot.expiry.findOrphans(env)).unknown).toEqual([]);
    h.respond('dev', respond);
  });
});
