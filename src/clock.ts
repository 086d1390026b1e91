// Time as a dependency: everything that reads the time takes a Clock, so tests control it.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
