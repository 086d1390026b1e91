// The forms (modals) the bot opens, asked field by field: text, single and multiple choices; then submitted
// as Slack would, and the fields the bot refuses asked again with its errors.
import { MASK } from '../../src/dialects/render.js';
import type { SlackCall } from '../../test/fakes/fake-slack.js';
import type { SlackDriver, SubmittedValue } from '../../test/fakes/slack-driver.js';
import { isRecord, type Printer } from './printer.js';
import { renderModal, type RenderedInput, type RenderedModal } from './render.js';
import type { Terminal } from './terminal.js';

type Answer = { value: string | undefined } | 'cancel';

/** Inputs that take several choices: typed as numbers (or values) separated by commas. */
const MULTIPLE = new Set<RenderedInput['type']>(['checkboxes', 'multi_static_select']);

/** Prompts for each input of the modal the bot opened and submits it; false when cancelled. */
export async function fillModal(parts: { term: Terminal; printer: Printer; driver: SlackDriver; user: string }, call: SlackCall): Promise<boolean> {
  const { term, printer, driver, user } = parts;
  const { write, paint } = term;
  const modal = renderModal(printer.withNames(call.args['view']));
  write(`${printer.tag(`form for ${printer.nameOf(user)}`)} ${modal.title}`);
  if (modal.text !== '') for (const line of modal.text.split('\n')) write(`  ${line}`);
  write(paint('2', `  Answer each field (Enter keeps the value in brackets or skips an optional field; \`cancel\` closes the form unsent).`));
  const answers = new Map<string, string | undefined>();
  let toAsk = modal.inputs;
  for (;;) {
    for (const input of toAsk) {
      const answered = await ask(term, input, answers.has(input.blockId) ? answers.get(input.blockId) : input.initial);
      if (answered === 'cancel') {
        write('Form closed without submitting.');
        return false;
      }
      answers.set(input.blockId, answered.value);
    }
    const response = await driver.viewSubmission({
      user,
      view: { callbackId: modal.callbackId, ...(modal.privateMetadata === undefined ? {} : { privateMetadata: modal.privateMetadata }), values: submittedValues(modal, answers) },
    });
    if (response.status !== 200) {
      write(paint('31', `The bot answered HTTP ${response.status}: ${response.body.slice(0, 200) || '(no body)'}.`));
      return true;
    }
    const errors = fieldErrors(response.json);
    if (errors === undefined) return true;
    write(`  The form was not accepted:`);
    for (const [blockId, message] of Object.entries(errors)) {
      const label = modal.inputs.find((i) => i.blockId === blockId)?.label ?? blockId;
      write(paint('31', `  ${label}: ${message}`));
    }
    const named = modal.inputs.filter((i) => i.blockId in errors);
    toAsk = named.length > 0 ? named : modal.inputs;
  }
}

/** One input: a number (or the value) for choices, several separated by commas where it takes several, a line of text otherwise. */
async function ask(term: Terminal, input: RenderedInput, previous: string | undefined): Promise<Answer> {
  const { write, paint } = term;
  const secret = /password/i.test(input.label) || input.blockId === 'password';
  const choices = input.options ?? [];
  const multiple = MULTIPLE.has(input.type);
  const notes: string[] = [];
  if (input.hint) notes.push(input.hint);
  if (input.placeholder) notes.push(`e.g. ${input.placeholder}`);
  if (input.multiline) notes.push('one line here');
  if (multiple) notes.push('one or more: numbers separated by commas, e.g. 1,2');
  write(`  ${input.label}${input.optional && !/optional/i.test(input.label) ? ' (optional)' : ''}${notes.length > 0 ? paint('2', ` — ${notes.join('; ')}`) : ''}`);
  choices.forEach((option, i) => write(`    ${i + 1}. ${option.text}`));
  const textOf = (value: string) => choices.find((o) => o.value === value)?.text ?? value;
  const shownDefault = previous === undefined || previous === '' ? '' : ` [${secret ? MASK : previous.split(',').map(textOf).join(', ')}]`;
  for (;;) {
    const line = await term.read(`  ${input.label}${shownDefault}> `, secret && choices.length === 0);
    if (line === undefined || line.trim().toLowerCase() === 'cancel') return 'cancel';
    const typed = line.trim();
    if (typed === '') {
      if (previous !== undefined && previous !== '') return { value: previous };
      if (input.optional) return { value: undefined };
      write(`  ${input.label} is required${choices.length > 0 ? `: type a number from 1 to ${choices.length}` : ''}.`);
      continue;
    }
    if (choices.length === 0) return { value: secret ? line : typed };
    const picked = multiple ? typed.split(',').filter((t) => t.trim() !== '').map((t) => choiceOf(choices, t.trim())) : [choiceOf(choices, typed)];
    if (picked.length > 0 && picked.every((p) => p !== undefined)) return { value: [...new Set(picked)].join(',') };
    write(`  Type a number from 1 to ${choices.length}${multiple ? ' (several: separate them with commas)' : ''}.`);
  }
}

/** The answers in the shape Slack submits each input kind (view.state.values). */
export function submittedValues(modal: RenderedModal, answers: Map<string, string | undefined>): Record<string, Record<string, SubmittedValue>> {
  const values: Record<string, Record<string, SubmittedValue>> = {};
  for (const input of modal.inputs) {
    const answer = answers.get(input.blockId);
    let value: SubmittedValue;
    switch (input.type) {
      case 'plain_text_input':
        value = { type: input.type, value: answer ?? null };
        break;
      case 'checkboxes':
      case 'multi_static_select':
        value = { type: input.type, selected_options: (answer ?? '').split(',').filter((v) => v !== '').map((v) => ({ value: v })) };
        break;
      default:
        value = { type: input.type, selected_option: answer === undefined ? null : { value: answer } };
    }
    values[input.blockId] = { [input.actionId]: value };
  }
  return values;
}

function choiceOf(options: { text: string; value: string }[], typed: string): string | undefined {
  const n = Number(typed);
  if (Number.isInteger(n) && n >= 1 && n <= options.length) return options[n - 1]!.value;
  const wanted = typed.toLowerCase();
  return options.find((o) => o.value.toLowerCase() === wanted || o.text.toLowerCase() === wanted)?.value;
}

/** The field errors of a `response_action: errors` answer, if that is what it is. */
function fieldErrors(json: unknown): Record<string, string> | undefined {
  if (!isRecord(json) || json['response_action'] !== 'errors' || !isRecord(json['errors'])) return undefined;
  return Object.fromEntries(Object.entries(json['errors']).map(([k, v]) => [k, String(v)]));
}
