// The process-level handlers: a rejection nobody handled is logged without secrets and the process
// carries on; an uncaught exception is logged and exits.
import { Writable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { guardProcess } from '../../src/ops/process-guard.js';

const BOT_TOKEN = 'xoxb-1234-secret-bot-token';
let remove: (() => void) | undefined;
afterEach(() => remove?.());

function arrange() {
  const lines: Record<string, unknown>[] = [];
  const exits: number[] = [];
  const log = createLogger({
    level: 'info',
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  });
  remove = guardProcess({ log, secrets: [BOT_TOKEN, 'admin-pw-123'], exit: (code) => exits.push(code) });
  return { lines, exits };
}

it('logs an unhandled rejection, scrubbed of secrets, and does not exit', () => {
  const { lines, exits } = arrange();

  process.emit('unhandledRejection', new Error(`Bolt failed with token ${BOT_TOKEN} and password=admin-pw-123`), Promise.resolve());

  expect(exits).toEqual([]);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ msg: 'unhandled promise rejection; the bot carries on', error: { type: 'Error' } });
  expect(JSON.stringify(lines)).not.toContain(BOT_TOKEN);
  expect(JSON.stringify(lines)).not.toContain('admin-pw-123');
});

it('logs a rejection with a non-Error reason', () => {
  const { lines } = arrange();

  process.emit('unhandledRejection', `plain text with xapp-1-A0-secret`, Promise.resolve());

  expect(lines[0]).toMatchObject({ error: { message: 'plain text with [redacted]' } });
});

it('logs an uncaught exception and exits with code 1', () => {
  const { lines, exits } = arrange();

  process.emit('uncaughtException', new TypeError(`Cannot read properties of null (token ${BOT_TOKEN})`));

  expect(exits).toEqual([1]);
  expect(lines[0]).toMatchObject({ msg: 'uncaught exception; exiting', error: { type: 'TypeError' } });
  expect(JSON.stringify(lines)).not.toContain(BOT_TOKEN);
});
