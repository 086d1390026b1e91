// Block Kit of the governance rules (issue 17 items 1, 5) that the forms share: the Ticket field.
import type { LoadedEnvironment } from '../config.js';
import { forKind } from '../config-governance.js';
import type { Block } from './blocks.js';

/**
 * The Ticket field of the forms (issue 17 item 1): optional to Slack, since only some environments
 * require one; the rule of the chosen environment is checked on submit and shown under the field.
 */
export function ticketInput(envs: readonly LoadedEnvironment[], kind: 'temporary' | 'permanent'): Block {
  const examples = [...new Set(envs.map((e) => forKind(e.policy.ticket, kind)?.example).filter((x): x is string => x !== undefined))];
  const required = envs.filter((e) => forKind(e.policy.ticket, kind)?.required).map((e) => e.name);
  const hint = `${required.length > 0 ? `Required in ${required.join(', ')}. ` : ''}The change or incident ticket, e.g. ${examples[0] ?? 'CHG-1234'}.`;
  return {
    type: 'input',
    block_id: 'ticket',
    optional: true,
    label: { type: 'plain_text', text: 'Ticket' },
    hint: { type: 'plain_text', text: hint.slice(0, 2000) },
    element: { type: 'plain_text_input', action_id: 'value', max_length: 64 },
  };
}
