// Tickets, reason rules and change windows (issue 17 items 1, 5) through signed Slack requests: refusals
// naming the rule, every form field at once, the ticket linked in the approval message and carried by
// the audit log and its CSV, and a request outside the window needing one more approval (kept once the
// window opens) or break-glass. The harness clock starts on Sunday 2026-11-22 09:00 UTC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackCall } from '../fakes/fake-slack.js';
import { APPROVALS, callText, startHarness, USERS, type Harness } from './harness.js';

const HOUR = 3_600_000;

const EXTRA = `
  - name: gov
    dialect: sqlserver
    connection: { host: db-gov, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: gov-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}, ${USERS.groupApprover}] }
    selfService: [${USERS.ltAdmin}]
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
    policy:
      ticket: { required: true, pattern: '^CHG-\\d+$', example: CHG-1234, url: 'https://jira.example.com/browse/{ticket}' }
      reason: { minLength: 10 }
      window: { days: mon-fri, hours: '08:00-18:00', timezone: Europe/Lisbon }
  - name: frozen
    dialect: sqlserver
    connection: { host: db-frozen, database: outsystems, user: sa, password: { env: E2E_PW } }
    details: { host: frozen-db.example.com }
    lifetimeVersion: "11.19.0"
    network: vpn
    approvers: { users: [${USERS.approver}] }
    breakGlass: [${USERS.onCall}]
    channels: { approvals: ${APPROVALS}, reminders: C0REMINDERS }
    policy:
      window: { days: mon-fri, hours: '08:00-18:00', timezone: UTC, outside: break-glass }
`;

let h: Harness;
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

function after(mark: number, predicate: (c: SlackCall) => boolean): Promise<SlackCall> {
  return h.fake.waitFor((c) => h.fake.calls.indexOf(c) >= mark && predicate(c), 5000);
}

function click(user: string, approval: SlackCall) {
  return h.slack.blockAction({ user, actionId: 'approval_approve', container: { channel: APPROVALS, messageTs: '1' }, message: { ts: '1', blocks: approval.args['blocks'] as unknown[] } });
}

describe('ticket and reason rules (item 1)', () => {
  it('the command names every broken rule at once, with the expected pattern and example', async () => {
    const reply = await command(USERS.requester, 'request gov --reason short');
    expect(reply).toContain('for 2 reasons');
    expect(reply).toContain('gov needs a reason of at least 10 characters for temporary users (yours has 5)');
    // callText is the JSON Slack received: a backslash shows doubled.
    expect(reply).toContain('gov needs a ticket reference for temporary users (`^CHG-\\\\d+$`, e.g. CHG-1234)');
    const wrong = await command(USERS.requester, 'request gov --ticket INC-7 --reason "orders stuck since the deploy"');
    expect(wrong).toContain('The ticket INC-7 is not what gov expects: it must match `^CHG-\\\\d+$`, e.g. CHG-1234.');
    expect(h.bot.store.requests.findOpen('gov', USERS.requester, 'temporary')).toBeUndefined();
  });

  it('the request form shows the ticket and reason errors next to their fields, at once', async () => {
    const sent = await h.slack.viewSubmission({
      user: USERS.requester,
      view: {
        callbackId: 'dbuser_request',
        values: {
          env: { value: { type: 'static_select', selected_option: { value: 'gov' } } },
          duration: { value: { type: 'plain_text_input', value: '' } },
          reason: { value: { type: 'plain_text_input', value: 'why' } },
          ticket: { value: { type: 'plain_text_input', value: 'nope' } },
          password: { value: { type: 'plain_text_input', value: null } },
        },
      },
    });
    expect(sent.json).toMatchObject({
      response_action: 'errors',
      errors: { reason: expect.stringContaining('at least 10 characters'), ticket: expect.stringContaining('must match `^CHG-\\d+$`') },
    });
  });

  it('the permanent form requires the ticket too', async () => {
    const sent = await h.slack.viewSubmission({
      user: USERS.requester,
      view: {
        callbackId: 'dbuser_permanent',
        values: {
          envs: { value: { type: 'multi_static_select', selected_options: [{ value: 'gov' }] } },
          access: { value: { type: 'static_select', selected_option: { value: 'readonly' } } },
          via: { value: { type: 'static_select', selected_option: { value: 'vpn' } } },
          ips: { value: { type: 'plain_text_input', value: null } },
          reason: { value: { type: 'plain_text_input', value: 'nightly export to the warehouse' } },
          ticket: { value: { type: 'plain_text_input', value: null } },
        },
      },
    });
    expect(sent.json).toMatchObject({ response_action: 'errors', errors: { ticket: expect.stringContaining('gov needs a ticket reference for permanent users') } });
  });

  it('a permanent request by command carries its ticket into the approval message and the audit log', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await command(USERS.requester, 'permanent gov --access read --via vpn --reason "nightly export to the warehouse" --ticket CHG-7');
    expect(reply).toContain('sent to the permanent-user approvers');
    const approval = await after(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('Permanent database user request'));
    expect(callText(approval)).toContain('<https://jira.example.com/browse/CHG-7|CHG-7>');
    const request = h.bot.store.requests.findPermanent('gov', 'readonly')!;
    expect(h.bot.store.audit.list({ requestId: request.id }).find((e) => e.action === 'requested')?.detail).toMatchObject({ ticket: 'CHG-7' });
    expect(await command(USERS.requester, 'delete gov')).toContain('withdrawn');
  });
});

describe('outside the change window (item 5)', () => {
  it('self-service, which needs no approval inside the window, needs one outside it', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await command(USERS.ltAdmin, 'request gov --ticket CHG-40 --reason "orders stuck since the deploy"');
    expect(reply).toContain('waiting for an approver');
    const approval = await after(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('CHG-40'));
    expect(callText(approval)).toContain('Outside the change window (Mon–Fri 08:00–18:00 Europe/Lisbon): needs 1 approval.');
    expect(h.bot.store.requests.findOpen('gov', USERS.ltAdmin, 'temporary')?.requiredApprovals).toBe(1);
    expect(await command(USERS.ltAdmin, 'delete gov')).toContain('withdrawn');
  });

  it('a request on Sunday needs two approvals, says so, links its ticket, and keeps needing two once the window opens', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    const reply = await command(USERS.requester, 'request gov --ticket CHG-42 --reason "orders stuck since the deploy"');
    expect(reply).toContain('waiting for an approver');
    const approval = await after(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('CHG-42'));
    const text = callText(approval);
    expect(text).toContain('<https://jira.example.com/browse/CHG-42|CHG-42>');
    expect(text).toContain('Outside the change window (Mon–Fri 08:00–18:00 Europe/Lisbon): needs 2 approvals.');
    const request = h.bot.store.requests.findOpen('gov', USERS.requester, 'temporary')!;
    expect(request).toMatchObject({ ticket: 'CHG-42', requiredApprovals: 2, outsideWindow: 'Mon–Fri 08:00–18:00 Europe/Lisbon' });

    // One approval on Sunday; the window opens (Monday 10:00 Lisbon); the request still needs the second.
    const first = h.fake.calls.length;
    await click(USERS.approver, approval);
    await after(first, (c) => c.method === 'chat.update' && callText(c).includes('(1 of 2)'));
    h.clock.advance(25 * HOUR);
    const second = h.fake.calls.length;
    await click(USERS.groupApprover, approval);
    await after(second, (c) => c.method === 'chat.postEphemeral' && c.args['user'] === USERS.requester && callText(c).includes('Password'));
    expect(h.bot.store.requests.get(request.id)?.state).toBe('active');

    // The audit log and its CSV carry the ticket.
    const requested = h.bot.store.audit.list({ requestId: request.id }).find((e) => e.action === 'requested');
    expect(requested?.detail).toMatchObject({ ticket: 'CHG-42', requiredApprovals: 2, outsideWindow: 'Mon–Fri 08:00–18:00 Europe/Lisbon' });
    await h.settle();
    const auditMark = h.fake.calls.length;
    await command(USERS.approver, 'audit gov --since 30d');
    const upload = await after(auditMark, (c) => c.method === 'file_upload');
    expect(String(upload.args['content'])).toMatch(new RegExp(`,requested,${request.id},gov,CHG-42,`));
    expect(await command(USERS.requester, 'delete gov')).toContain('was revoked');
  });

  it('inside the window the same request needs the policy quorum, and the message says nothing of a window', async () => {
    await h.settle();
    const mark = h.fake.calls.length;
    await command(USERS.requester, 'request gov --ticket CHG-43 --reason "orders stuck since the deploy"');
    const approval = await after(mark, (c) => c.method === 'chat.postMessage' && c.args['channel'] === APPROVALS && callText(c).includes('CHG-43'));
    expect(callText(approval)).not.toContain('change window');
    expect(h.bot.store.requests.findOpen('gov', USERS.requester, 'temporary')?.requiredApprovals).toBe(1);
    expect(await command(USERS.requester, 'delete gov')).toContain('withdrawn');
  });

  it('with outside: break-glass, only break-glass creates a user outside the window', async () => {
    // From Monday 10:00 to Saturday 10:00 UTC.
    h.clock.advance(5 * 24 * HOUR);
    const refused = await command(USERS.requester, 'request frozen --reason "orders stuck"');
    expect(refused).toContain("Outside the change window (Mon–Fri 08:00–18:00 UTC), temporary users in frozen need break-glass: ask inside the window, or someone on frozen's break-glass list.");
    const onCall = await command(USERS.onCall, 'request frozen --reason "orders stuck"');
    expect(onCall).toContain('ask again with --break-glass and a reason');
    const created = await command(USERS.onCall, 'request frozen --break-glass --reason "payments down"');
    expect(created).toContain('Creating your temporary user in *frozen* (break-glass)');
  });
});
