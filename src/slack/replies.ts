// Turns any failure into a sentence for the user; the log gets the detail.
import { randomBytes } from 'node:crypto';
import { isAppError } from '../errors.js';
import type { Logger } from '../log.js';
import { textMessage, type SlackMessage } from './blocks.js';

/** The user's sentence for `err`: its own message for a coded error, a reference into the log otherwise. */
export function errorReply(err: unknown, log: Logger, context: Record<string, unknown>): SlackMessage {
  if (isAppError(err) && err.code !== 'internal') return textMessage(`:warning: ${err.message}`);
  const ref = randomBytes(4).toString('hex');
  log.error({ err, ref, ...context }, 'unexpected failure');
  return textMessage(`:warning: Something went wrong on our side (reference \`${ref}\`). Try again; if it keeps happening, give the reference to the bot's operators.`);
}
