// The bot's clock in the console: real time (or a test's) plus however far `wait` has moved it forward.
import type { Clock } from '../../src/clock.js';

export interface ConsoleClock extends Clock {
  advance(ms: number): void;
  offsetMs(): number;
}

export function createConsoleClock(base: () => number = () => Date.now()): ConsoleClock {
  let offset = 0;
  return {
    now: () => base() + offset,
    advance(ms) {
      offset += ms;
    },
    offsetMs: () => offset,
  };
}
