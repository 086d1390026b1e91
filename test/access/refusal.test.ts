// A refusal names every blocker at once, each with its form field; one blocker reads as before.
import { describe, expect, it } from 'vitest';
import { Refusal } from '../../src/access/core/refusal.js';
import { AppError } from '../../src/errors.js';
import { fieldErrors } from '../../src/slack/listeners/request-modal.js';

function thrown(act: () => void): AppError {
  try {
    act();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('Refusal', () => {
  it('throws nothing when nothing was found', () => {
    expect(() => new Refusal().throwIfAny()).not.toThrow();
  });

  it('one problem is thrown as it was written, with its field', () => {
    const refusal = new Refusal();
    refusal.add('forbidden', 'Upgrade LifeTime.', 'env');
    const err = thrown(() => refusal.throwIfAny());
    expect(err).toMatchObject({ code: 'forbidden', message: 'Upgrade LifeTime.', field: 'env', problems: [] });
  });

  it('several are listed in one message, and each keeps its field', () => {
    const refusal = new Refusal();
    refusal.add('forbidden', 'Upgrade LifeTime.', 'env');
    refusal.check(() => {
      throw new AppError('invalid_input', 'Too short.', { field: 'duration' });
    });
    refusal.add('forbidden', 'Only for the listed people.');
    const err = thrown(() => refusal.throwIfAny());
    expect(err.message).toBe('This cannot be done yet, for 3 reasons:\n• Upgrade LifeTime.\n• Too short.\n• Only for the listed people.');
    expect(err.problems.map((p) => p.field)).toEqual(['env', 'duration', undefined]);
    expect(fieldErrors(err, ['env', 'duration'], 'env')).toEqual({ env: 'Upgrade LifeTime. Only for the listed people.', duration: 'Too short.' });
  });

  it('check lets a bug through rather than show it to a user', () => {
    const refusal = new Refusal();
    expect(() => refusal.check(() => { throw new TypeError('bug'); })).toThrow(TypeError);
    expect(() => refusal.check(() => { throw new AppError('internal', 'bug'); })).toThrow('bug');
  });
});
