// The CSV export: quoting, and no formula can run in the approver's spreadsheet.
import { describe, expect, it } from 'vitest';
import { auditCsv, csvField } from '../../src/access/audit-report.js';

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+1', "'+1+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
  ])('%j → %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});

it('writes a header and one row per entry, detail as JSON', () => {
  const csv = auditCsv([{ id: 1, at: Date.UTC(2026, 10, 22, 9, 0, 0), actor: 'U0A', action: 'requested', requestId: 'r_x', env: 'dev', detail: { reason: '=cmd|calc' } }]);
  expect(csv).toBe(`at,actor,action,request_id,env,ticket,detail\r\n2026-11-22T09:00:00.000Z,U0A,requested,r_x,dev,,"{""reason"":""=cmd|calc""}"\r\n`);
});
