// The /interop parser: every form, and a usage reply for everything malformed.
import { describe, expect, it } from 'vitest';
import { interopUsage, parseInterop } from '../../src/commands/interop.js';
import { AppError } from '../../src/errors.js';

describe('parseInterop', () => {
  it.each([
    ['', { action: 'help' }],
    ['help', { action: 'help' }],
    ['setup dev', { action: 'setup', env: 'dev' }],
    ['status dev', { action: 'status', env: 'dev' }],
    ['sync dev', { action: 'sync', env: 'dev' }],
    ['expose dev Order', { action: 'expose', env: 'dev', entity: 'Order' }],
    ['expose dev Order --view OSUSR_VIEW_ORDERS --module Sales', { action: 'expose', env: 'dev', entity: 'Order', view: 'OSUSR_VIEW_ORDERS', module: 'Sales' }],
    ['promote Order --from dev --to prod', { action: 'promote', entity: 'Order', from: 'dev', to: 'prod' }],
  ])('%j', (text, expected) => {
    expect(parseInterop(text)).toEqual(expected);
  });

  it.each([
    ['setup', '`setup` needs exactly one environment name.'],
    ['setup dev prod', '`setup` needs exactly one environment name.'],
    ['expose dev', '`expose` needs an environment and an entity name.'],
    ['expose dev Order --view', '`--view` needs a value.'],
    ['expose dev Order --force x', 'Unknown option `--force`.'],
    ['expose dev Order --view A --view B', '`--view` is given twice.'],
    ['promote Order --to prod', '`promote` needs both --from and --to.'],
    ['grant dev', "I don't know `grant`."],
    ['x'.repeat(1001), 'That command is too long.'],
  ])('%j is refused with what was wrong and the right form', (text, problem) => {
    let error: unknown;
    try {
      parseInterop(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('invalid_input');
    expect((error as AppError).message).toContain(problem);
    expect((error as AppError).message).toMatch(/Use: |Usage:/);
  });

  it('escapes <env> in the usage text', () => {
    expect(interopUsage()).not.toMatch(/<env>|<entity>/);
  });
});
