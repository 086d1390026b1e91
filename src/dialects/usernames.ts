// Nominal database usernames: the bot's prefix, who asked, and a short random suffix.
// seeds/outsystems-cloud-database-access.md#temporary-database-user ("nominal and temporary")
import { randomInt } from 'node:crypto';
import type { IdentifierRules } from './identifiers.js';
import { checkIdentifier } from './identifiers.js';

/** Short enough for Oracle's 30-byte limit on any database, and for people to read. */
export const USERNAME_MAX_LENGTH = 30;
const SUFFIX_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const SUFFIX_LENGTH = 4;

export interface UsernameRequest {
  /** The bot's configured prefix, e.g. `dbx_`; orphan detection finds users by it. */
  prefix: string;
  /** Who the user is for: a Slack display name, or the Slack user id when there is none. */
  requester: string;
  rules: IdentifierRules;
}

/**
 * `<prefix><requester>_<suffix>`, e.g. `dbx_maria_silva_k3x9` (upper case on Oracle). The requester
 * part is folded to ASCII (`Zoë` → `zoe`) and cut so the whole fits the dialect's limit.
 */
export function nominalUsername(req: UsernameRequest): string {
  const suffix = Array.from({ length: SUFFIX_LENGTH }, () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]).join('');
  const room = Math.min(USERNAME_MAX_LENGTH, req.rules.maxBytes) - req.prefix.length - 1 - SUFFIX_LENGTH;
  const person = asciiSlug(req.requester).slice(0, Math.max(room, 0)).replace(/_+$/, '') || 'user';
  const name = `${req.prefix}${person.slice(0, Math.max(room, 1))}_${suffix}`;
  const cased = req.rules.upperCaseUsernames ? name.toUpperCase() : name;
  return checkIdentifier(cased, 'username', req.rules);
}

/** Lower-case ASCII letters, digits and single underscores. */
function asciiSlug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}
