// Block Kit as readable terminal text: messages with numbered buttons to click, modals as a list of inputs to prompt for.

export interface RenderedButton {
  index: number;
  text: string;
  actionId: string;
  value?: string;
  blockId?: string;
  style?: string;
}

export interface RenderedMessage {
  text: string;
  buttons: RenderedButton[];
}

export interface RenderedInput {
  blockId: string;
  actionId: string;
  label: string;
  type: (typeof inputTypes)[number];
  optional: boolean;
  options?: { text: string; value: string }[];
  multiline?: boolean;
  hint?: string;
  placeholder?: string;
  initial?: string;
}

export interface RenderedModal {
  title: string;
  submit?: string;
  text: string;
  inputs: RenderedInput[];
  callbackId: string;
  privateMetadata?: string;
  /** Buttons in the modal's non-input blocks, numbered from 1. */
  buttons: RenderedButton[];
}

type Json = Record<string, unknown>;

const dividerLine = '─'.repeat(40);
/** The input kinds the bot's forms use, and the other choices Slack offers; answered at the prompt. */
const inputTypes = ['plain_text_input', 'static_select', 'multi_static_select', 'checkboxes', 'radio_buttons'] as const;

/** Renders blocks (or a message's fallback text when there are none) as plain text; buttons become `[1] Approve` and are returned for clicking. Numbering starts at `firstIndex` (default 1). */
export function renderBlocks(blocks: unknown[] | undefined, fallbackText?: string, firstIndex = 1): RenderedMessage {
  const buttons: RenderedButton[] = [];
  if (blocks === undefined || blocks.length === 0) {
    return { text: fallbackText === undefined ? '' : mrkdwnToText(fallbackText), buttons };
  }
  const lines: string[] = [];
  for (const block of blocks) {
    lines.push(...renderBlock(block, buttons, firstIndex));
  }
  return { text: lines.join('\n'), buttons };
}

/** A modal's title, its text blocks rendered, and its inputs to prompt for. */
export function renderModal(view: unknown): RenderedModal {
  if (!isRecord(view)) throw new TypeError('renderModal needs a view object');
  const blocks = Array.isArray(view.blocks) ? view.blocks : [];
  const inputs: RenderedInput[] = [];
  const shown: unknown[] = [];
  for (const block of blocks) {
    const input = isRecord(block) && block.type === 'input' ? toInput(block) : undefined;
    if (input === undefined) shown.push(block);
    else inputs.push(input);
  }
  const { text, buttons } = renderBlocks(shown);
  const submit = textOf(view.submit);
  const privateMetadata = stringOf(view.private_metadata);
  return {
    title: textOf(view.title) ?? '',
    ...(submit === undefined ? {} : { submit }),
    text,
    inputs,
    callbackId: stringOf(view.callback_id) ?? '',
    ...(privateMetadata === undefined ? {} : { privateMetadata }),
    buttons,
  };
}

function renderBlock(block: unknown, buttons: RenderedButton[], firstIndex: number): string[] {
  if (!isRecord(block)) return ['[?]'];
  const blockId = stringOf(block.block_id);
  const button = (element: Json): string => addButton(element, blockId, buttons, firstIndex);
  switch (block.type) {
    case 'header':
      return [`# ${renderText(block.text)}`];
    case 'section': {
      const lines: string[] = [];
      if (block.text !== undefined) lines.push(renderText(block.text));
      if (Array.isArray(block.fields)) lines.push(...block.fields.map(renderText));
      if (isRecord(block.accessory)) lines.push(renderElement(block.accessory, button));
      return lines;
    }
    case 'context': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      return [elements.map((element) => (isRecord(element) && element.type === 'image' ? imageText(element) : renderText(element))).join('  ')];
    }
    case 'divider':
      return [dividerLine];
    case 'actions': {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      return [elements.map((element) => (isRecord(element) ? renderElement(element, button) : '[?]')).join('  ')];
    }
    case 'input': {
      const element = isRecord(block.element) ? block.element : {};
      return [`${textOf(block.label) ?? ''}: [${stringOf(element.type) ?? 'input'}]`];
    }
    case 'image':
      return [imageText(block)];
    case 'rich_text':
      return [richText(block.elements)];
    default:
      return [`[${stringOf(block.type) ?? '?'}]`];
  }
}

function renderElement(element: Json, button: (element: Json) => string): string {
  if (element.type === 'button') return button(element);
  if (element.type === 'image') return imageText(element);
  return `[${stringOf(element.type) ?? '?'}]`;
}

function addButton(element: Json, blockId: string | undefined, buttons: RenderedButton[], firstIndex: number): string {
  const index = firstIndex + buttons.length;
  const text = textOf(element.text) ?? '';
  const value = stringOf(element.value);
  const style = stringOf(element.style);
  buttons.push({
    index,
    text,
    actionId: stringOf(element.action_id) ?? '',
    ...(value === undefined ? {} : { value }),
    ...(blockId === undefined ? {} : { blockId }),
    ...(style === undefined ? {} : { style }),
  });
  return `[${index}] ${text}`;
}

function toInput(block: Json): RenderedInput | undefined {
  const element = isRecord(block.element) ? block.element : undefined;
  const type = inputTypes.find((t) => t === element?.type);
  if (element === undefined || type === undefined) return undefined;
  const input: RenderedInput = {
    blockId: stringOf(block.block_id) ?? '',
    actionId: stringOf(element.action_id) ?? '',
    label: textOf(block.label) ?? '',
    type,
    optional: block.optional === true,
  };
  const options = optionsOf(element);
  if (options.length > 0) input.options = options;
  if (element.multiline === true) input.multiline = true;
  const hint = textOf(block.hint);
  if (hint !== undefined) input.hint = hint;
  const placeholder = textOf(element.placeholder);
  if (placeholder !== undefined) input.placeholder = placeholder;
  const initial = initialOf(element);
  if (initial !== undefined) input.initial = initial;
  return input;
}

function optionsOf(element: Json): { text: string; value: string }[] {
  const groups = Array.isArray(element.option_groups) ? element.option_groups : [];
  const grouped = groups.flatMap((group) => (isRecord(group) && Array.isArray(group.options) ? group.options : []));
  const options = Array.isArray(element.options) ? element.options : [];
  return [...options, ...grouped].flatMap((option) =>
    isRecord(option) ? [{ text: textOf(option.text) ?? '', value: stringOf(option.value) ?? '' }] : [],
  );
}

/** The element's initial value as text; checkboxes give their values comma-separated. */
function initialOf(element: Json): string | undefined {
  if (typeof element.initial_value === 'string') return element.initial_value;
  if (isRecord(element.initial_option)) return stringOf(element.initial_option.value);
  if (Array.isArray(element.initial_options)) {
    return element.initial_options.flatMap((o) => (isRecord(o) ? [stringOf(o.value) ?? ''] : [])).join(',');
  }
  return undefined;
}

function imageText(image: Json): string {
  return `[image: ${stringOf(image.alt_text) ?? ''}]`;
}

/** A text object: plain_text as is, mrkdwn turned into terminal text. */
function renderText(value: unknown): string {
  if (!isRecord(value)) return '';
  const text = stringOf(value.text) ?? '';
  return value.type === 'mrkdwn' ? mrkdwnToText(text) : text;
}

function textOf(value: unknown): string | undefined {
  return isRecord(value) ? stringOf(value.text) : undefined;
}

/**
 * Slack mrkdwn to terminal text: `*bold*` and `_italic_` marks stay (a terminal has no better way to show them),
 * `<...>` references become what Slack would display, entities are unescaped, ``` blocks become indented lines.
 */
export function mrkdwnToText(text: string): string {
  const pieces = text.split('```');
  // An unclosed fence is shown as typed rather than swallowing the rest of the message.
  if (pieces.length % 2 === 0) {
    const last = pieces.pop() ?? '';
    pieces[pieces.length - 1] = `${pieces[pieces.length - 1] ?? ''}\`\`\`${last}`;
  }
  const lines: string[] = [];
  pieces.forEach((piece, i) => {
    if (i % 2 === 1) {
      const code = piece.replace(/^\n/, '').replace(/\n$/, '');
      lines.push(...code.split('\n').map((line) => `    ${unescapeEntities(line)}`));
      return;
    }
    let prose = piece;
    if (i > 0) prose = prose.replace(/^[ \t]*\n?[ \t]*/, '');
    if (i < pieces.length - 1) prose = prose.replace(/[ \t]*\n?[ \t]*$/, '');
    if (prose === '' && pieces.length > 1) return;
    lines.push(...inline(prose).split('\n'));
  });
  return lines.join('\n');
}

function inline(text: string): string {
  return emoji(unescapeEntities(text.replace(/<([^<>]+)>/g, (_, inner: string) => reference(inner))));
}

/** The shortcodes the bot writes (and a few neighbours), as Slack draws them; any other `:word:` stays as typed. */
const EMOJI: Readonly<Record<string, string>> = {
  warning: '⚠️',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  rotating_light: '🚨',
  bell: '🔔',
  white_check_mark: '✅',
  x: '❌',
  lock: '🔒',
  key: '🔑',
  no_entry: '⛔',
};

/** `:warning:` → ⚠️ for the shortcodes in EMOJI. */
export function emoji(text: string): string {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => EMOJI[name] ?? whole);
}

/** What Slack displays for `<...>`: users, channels, special mentions, dates, links. */
function reference(inner: string): string {
  const bar = inner.indexOf('|');
  const target = bar === -1 ? inner : inner.slice(0, bar);
  const label = bar === -1 ? undefined : inner.slice(bar + 1);
  if (target.startsWith('@')) return `@${label ?? target.slice(1)}`;
  if (target.startsWith('#')) return `#${label ?? target.slice(1)}`;
  if (target.startsWith('!subteam^')) return label ?? `@${target.slice('!subteam^'.length)}`;
  if (target.startsWith('!date^')) return label ?? target;
  if (target.startsWith('!')) return `@${target.slice(1)}`;
  if (label === undefined || label === target) return target;
  return `${label} (${target})`;
}

function unescapeEntities(text: string): string {
  // &amp; last, so "&amp;lt;" stays the literal text "&lt;".
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** rich_text blocks (what Slack sends for messages typed by people): their text, one line per section. */
function richText(elements: unknown): string {
  if (!Array.isArray(elements)) return '';
  return elements
    .map((element) => {
      if (!isRecord(element)) return '';
      const inner = Array.isArray(element.elements) ? element.elements : [];
      switch (element.type) {
        case 'rich_text_preformatted':
          return richInline(inner).split('\n').map((line) => `    ${line}`).join('\n');
        case 'rich_text_quote':
          return richInline(inner).split('\n').map((line) => `> ${line}`).join('\n');
        case 'rich_text_list':
          return inner.map((item) => `• ${isRecord(item) && Array.isArray(item.elements) ? richInline(item.elements) : ''}`).join('\n');
        default:
          return richInline(inner);
      }
    })
    .join('\n');
}

function richInline(elements: unknown[]): string {
  return elements
    .map((element) => {
      if (!isRecord(element)) return '';
      switch (element.type) {
        case 'text':
          return stringOf(element.text) ?? '';
        case 'link': {
          const url = stringOf(element.url) ?? '';
          const text = stringOf(element.text);
          return text === undefined || text === url ? url : `${text} (${url})`;
        }
        case 'user':
          return `@${stringOf(element.user_id) ?? ''}`;
        case 'channel':
          return `#${stringOf(element.channel_id) ?? ''}`;
        case 'usergroup':
          return `@${stringOf(element.usergroup_id) ?? ''}`;
        case 'broadcast':
          return `@${stringOf(element.range) ?? ''}`;
        case 'emoji':
          return emoji(`:${stringOf(element.name) ?? ''}:`);
        default:
          return `[${stringOf(element.type) ?? '?'}]`;
      }
    })
    .join('');
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
