// Block Kit rendered as terminal text: a table of blocks and what they read as, buttons numbered, modals as inputs.
import { describe, expect, it } from 'vitest';
import { parseCsv, table, uploadedFile } from '../../../tools/console/printer.js';
import { mrkdwnToText, renderBlocks, renderModal } from '../../../tools/console/render.js';

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const plain = (text: string) => ({ type: 'plain_text', text });
const button = (actionId: string, text: string, extra: Record<string, unknown> = {}) => ({
  type: 'button',
  action_id: actionId,
  text: plain(text),
  ...extra,
});

describe('renderBlocks', () => {
  it.each<[string, unknown[], string]>([
    ['header', [{ type: 'header', text: plain('Access request') }], '# Access request'],
    ['section text', [{ type: 'section', text: mrkdwn('*prod* for 2h') }], '*prod* for 2h'],
    [
      'section fields',
      [{ type: 'section', text: mrkdwn('Request'), fields: [mrkdwn('*Env:* prod'), plain('Role: read')] }],
      'Request\n*Env:* prod\nRole: read',
    ],
    [
      'section with an accessory button',
      [{ type: 'section', text: mrkdwn('Pending'), accessory: button('cancel', 'Cancel') }],
      'Pending\n[1] Cancel',
    ],
    ['section with an image accessory', [{ type: 'section', text: plain('Logo'), accessory: { type: 'image', alt_text: 'logo' } }], 'Logo\n[image: logo]'],
    [
      'context',
      [{ type: 'context', elements: [mrkdwn('Requested by <@U0ALICE>'), plain('2h'), { type: 'image', alt_text: 'clock' }] }],
      'Requested by @U0ALICE  2h  [image: clock]',
    ],
    ['divider', [{ type: 'divider' }], '─'.repeat(40)],
    [
      'actions',
      [{ type: 'actions', elements: [button('approve', 'Approve'), button('deny', 'Deny'), { type: 'static_select' }] }],
      '[1] Approve  [2] Deny  [static_select]',
    ],
    ['input', [{ type: 'input', label: plain('Reason'), element: { type: 'plain_text_input' } }], 'Reason: [plain_text_input]'],
    ['image', [{ type: 'image', image_url: 'https://x/y.png', alt_text: 'diagram' }], '[image: diagram]'],
    [
      'rich_text',
      [
        {
          type: 'rich_text',
          elements: [
            {
              type: 'rich_text_section',
              elements: [
                { type: 'text', text: 'hi ' },
                { type: 'user', user_id: 'U1' },
                { type: 'text', text: ' see ' },
                { type: 'link', url: 'https://x.io', text: 'docs' },
              ],
            },
            { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'SELECT 1' }] },
            { type: 'rich_text_list', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'one' }] }] },
          ],
        },
      ],
      'hi @U1 see docs (https://x.io)\n    SELECT 1\n• one',
    ],
    ['unknown type', [{ type: 'video', title: plain('x') }], '[video]'],
    ['not an object', ['oops'], '[?]'],
    [
      'several blocks in order',
      [{ type: 'header', text: plain('Title') }, { type: 'divider' }, { type: 'section', text: plain('Body') }],
      `# Title\n${'─'.repeat(40)}\nBody`,
    ],
  ])('%s', (_name, blocks, expected) => {
    const rendered = renderBlocks(blocks);

    expect(rendered.text).toBe(expected);
  });

  it('returns the buttons to click, numbered in order, with their ids, values and styles', () => {
    const blocks = [
      { type: 'section', block_id: 'summary', text: plain('Request'), accessory: button('details', 'Details') },
      {
        type: 'actions',
        block_id: 'decision',
        elements: [
          button('approve', 'Approve', { value: 'req-42', style: 'primary' }),
          button('deny', 'Deny', { value: 'req-42', style: 'danger' }),
        ],
      },
    ];

    const { buttons } = renderBlocks(blocks);

    expect(buttons).toEqual([
      { index: 1, text: 'Details', actionId: 'details', blockId: 'summary' },
      { index: 2, text: 'Approve', actionId: 'approve', value: 'req-42', blockId: 'decision', style: 'primary' },
      { index: 3, text: 'Deny', actionId: 'deny', value: 'req-42', blockId: 'decision', style: 'danger' },
    ]);
  });

  it('numbers buttons from firstIndex', () => {
    const blocks = [{ type: 'actions', elements: [button('a', 'A'), button('b', 'B')] }];

    const rendered = renderBlocks(blocks, undefined, 4);

    expect(rendered.text).toBe('[4] A  [5] B');
    expect(rendered.buttons.map((b) => b.index)).toEqual([4, 5]);
  });

  it.each<[string, unknown[] | undefined, string | undefined, string]>([
    ['no blocks', undefined, 'Access *granted* to <#C0OPS|ops>', 'Access *granted* to #ops'],
    ['empty blocks', [], 'fallback', 'fallback'],
    ['no blocks and no text', undefined, undefined, ''],
    ['blocks win over fallback text', [{ type: 'section', text: plain('from blocks') }], 'fallback', 'from blocks'],
  ])('%s', (_name, blocks, fallback, expected) => {
    const rendered = renderBlocks(blocks, fallback);

    expect(rendered).toEqual({ text: expected, buttons: [] });
  });

  it('keeps plain_text as typed, without unescaping', () => {
    expect(renderBlocks([{ type: 'section', text: plain('a &lt; b <@U1>') }]).text).toBe('a &lt; b <@U1>');
  });
});

describe('mrkdwnToText', () => {
  it.each([
    ['*bold* and _italic_ kept', '*bold* and _italic_', '*bold* and _italic_'],
    ['user mention', 'hi <@U123>', 'hi @U123'],
    ['user mention with a name', 'hi <@U123|alice>', 'hi @alice'],
    ['channel with a name', 'in <#C123|ops>', 'in #ops'],
    ['channel without a name', 'in <#C123>', 'in #C123'],
    ['link with a label', 'see <https://docs.example.com|the docs>', 'see the docs (https://docs.example.com)'],
    ['bare link', 'see <https://docs.example.com>', 'see https://docs.example.com'],
    ['special mention', '<!here> ping', '@here ping'],
    ['user group', '<!subteam^S0DBA|@dba-team> please', '@dba-team please'],
    ['user group without a label', '<!subteam^S0DBA>', '@S0DBA'],
    ['date with fallback', '<!date^1700000000^{date}|Nov 14>', 'Nov 14'],
    ['entities', 'a &lt; b &amp;&amp; c &gt; d', 'a < b && c > d'],
    ['escaped entity stays literal', '&amp;lt;', '&lt;'],
    ['code block on its own lines, indented', 'Run:\n```SELECT 1;\nSELECT 2;```\ndone', 'Run:\n    SELECT 1;\n    SELECT 2;\ndone'],
    ['code block with fences on their own lines', '```\nGRANT x &lt;y&gt;\n```', '    GRANT x <y>'],
    ['code block inline after text', 'Run: ```x``` now', 'Run:\n    x\nnow'],
    ['unclosed fence shown as typed', 'a ``` b', 'a ``` b'],
    ['multi-line text', 'one\ntwo', 'one\ntwo'],
  ])('%s', (_name, input, expected) => {
    expect(mrkdwnToText(input)).toBe(expected);
  });
});

describe('renderModal', () => {
  const view = {
    type: 'modal',
    callback_id: 'request_access',
    private_metadata: '{"channel":"C0OPS"}',
    title: plain('Request access'),
    submit: plain('Request'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: mrkdwn('Access expires *automatically*.') },
      {
        type: 'input',
        block_id: 'env',
        label: plain('Environment'),
        element: {
          type: 'static_select',
          action_id: 'env_select',
          placeholder: plain('Pick one'),
          options: [
            { text: plain('Development'), value: 'dev' },
            { text: plain('Production'), value: 'prod' },
          ],
          initial_option: { text: plain('Development'), value: 'dev' },
        },
      },
      {
        type: 'input',
        block_id: 'reason',
        label: plain('Reason'),
        hint: plain('Ticket number helps'),
        element: { type: 'plain_text_input', action_id: 'reason_input', multiline: true, initial_value: 'INC-1' },
      },
      {
        type: 'input',
        block_id: 'scopes',
        optional: true,
        label: plain('Scopes'),
        element: {
          type: 'checkboxes',
          action_id: 'scopes_check',
          options: [
            { text: plain('Read'), value: 'read' },
            { text: plain('Write'), value: 'write' },
          ],
          initial_options: [
            { text: plain('Read'), value: 'read' },
            { text: plain('Write'), value: 'write' },
          ],
        },
      },
      {
        type: 'input',
        block_id: 'duration',
        label: plain('Duration'),
        element: {
          type: 'radio_buttons',
          action_id: 'duration_radio',
          options: [{ text: mrkdwn('*1h*'), value: '1h' }],
        },
      },
      { type: 'input', block_id: 'when', label: plain('When'), element: { type: 'datepicker', action_id: 'when_date' } },
      { type: 'actions', elements: [button('more', 'More options')] },
    ],
  };

  it('reads the title, submit label, callback id and private metadata', () => {
    const modal = renderModal(view);

    expect(modal).toMatchObject({
      title: 'Request access',
      submit: 'Request',
      callbackId: 'request_access',
      privateMetadata: '{"channel":"C0OPS"}',
    });
  });

  it('renders the non-input blocks as text, keeping unsupported inputs visible', () => {
    const modal = renderModal(view);

    expect(modal.text).toBe('Access expires *automatically*.\nWhen: [datepicker]\n[1] More options');
    expect(modal.buttons).toEqual([{ index: 1, text: 'More options', actionId: 'more' }]);
  });

  it('lists the inputs to prompt for', () => {
    const modal = renderModal(view);

    expect(modal.inputs).toEqual([
      {
        blockId: 'env',
        actionId: 'env_select',
        label: 'Environment',
        type: 'static_select',
        optional: false,
        options: [
          { text: 'Development', value: 'dev' },
          { text: 'Production', value: 'prod' },
        ],
        placeholder: 'Pick one',
        initial: 'dev',
      },
      {
        blockId: 'reason',
        actionId: 'reason_input',
        label: 'Reason',
        type: 'plain_text_input',
        optional: false,
        multiline: true,
        hint: 'Ticket number helps',
        initial: 'INC-1',
      },
      {
        blockId: 'scopes',
        actionId: 'scopes_check',
        label: 'Scopes',
        type: 'checkboxes',
        optional: true,
        options: [
          { text: 'Read', value: 'read' },
          { text: 'Write', value: 'write' },
        ],
        initial: 'read,write',
      },
      {
        blockId: 'duration',
        actionId: 'duration_radio',
        label: 'Duration',
        type: 'radio_buttons',
        optional: false,
        options: [{ text: '*1h*', value: '1h' }],
      },
    ]);
  });

  it('flattens option groups of a select', () => {
    const modal = renderModal({
      blocks: [
        {
          type: 'input',
          block_id: 'env',
          label: plain('Environment'),
          element: {
            type: 'static_select',
            action_id: 'env',
            option_groups: [
              { label: plain('Cloud'), options: [{ text: plain('dev'), value: 'dev' }] },
              { label: plain('On-prem'), options: [{ text: plain('qa'), value: 'qa' }] },
            ],
          },
        },
      ],
    });

    expect(modal.inputs[0]?.options).toEqual([
      { text: 'dev', value: 'dev' },
      { text: 'qa', value: 'qa' },
    ]);
    expect(modal).toMatchObject({ title: '', callbackId: '', text: '' });
    expect(modal).not.toHaveProperty('submit');
    expect(modal).not.toHaveProperty('privateMetadata');
  });

  it('refuses something that is not a view', () => {
    expect(() => renderModal('nope')).toThrow(TypeError);
  });
});

describe('emoji and files', () => {
  it.each([
    [':warning: Only approvers', '⚠️ Only approvers'],
    [':hourglass_flowing_sand: expires in 55m', '⏳ expires in 55m'],
    [':rotating_light: Break-glass', '🚨 Break-glass'],
    [':bell: Still waiting', '🔔 Still waiting'],
    ['a file :memory: stays', 'a file :memory: stays'],
  ])('%s', (text, expected) => {
    expect(mrkdwnToText(text)).toBe(expected);
  });

  it('reads the file out of a multipart upload and its CSV with quoted fields', () => {
    const body = '--b0\r\nContent-Disposition: form-data; name=file\r\nContent-Type: text/csv\r\n\r\nat,detail\r\n1,"a, ""b"""\r\n\r\n--b0--\r\n';
    const csv = uploadedFile(body);
    expect(csv).toBe('at,detail\r\n1,"a, ""b"""\r\n');
    expect(parseCsv(csv)).toEqual([
      ['at', 'detail'],
      ['1', 'a, "b"'],
    ]);
    expect(table(['at', 'detail'], [['1', 'a, "b"']])).toEqual(['at  detail', '──  ──────', '1   a, "b"']);
  });
});
