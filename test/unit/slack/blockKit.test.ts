import { describe, expect, it } from 'vitest';
import { validateBlocks } from '../../../sandbox/slack/blockKit';

const button = (overrides: Record<string, unknown> = {}) => ({
  type: 'button',
  text: { type: 'plain_text', text: 'Keep' },
  action_id: 'keep',
  value: 'v',
  ...overrides,
});
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const option = (value: string, text = `Option ${value}`) => ({ text: { type: 'plain_text', text }, value });
const overflow = (overrides: Record<string, unknown> = {}) => ({
  type: 'overflow',
  action_id: 'more',
  options: [option('a'), option('b')],
  ...overrides,
});
const inActions = (...elements: unknown[]) => [{ type: 'actions', elements }];

function errorsOf(blocks: unknown): string[] {
  const result = validateBlocks(blocks);
  return result.ok ? [] : result.errors;
}

describe('the sandbox Block Kit check', () => {
  it('accepts each modeled block type', () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'Access review' } },
      section('hello'),
      { type: 'section', fields: [{ type: 'mrkdwn', text: 'a' }], accessory: button() },
      { type: 'divider' },
      { type: 'actions', elements: [button(), button({ action_id: 'revoke', style: 'danger' })] },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'later' }] },
    ];
    expect(errorsOf(blocks)).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    ['more than 50 blocks', Array.from({ length: 51 }, () => ({ type: 'divider' })), /no more than 50 items/],
    [
      'a button label over 75',
      [{ type: 'actions', elements: [button({ text: { type: 'plain_text', text: 'x'.repeat(76) } })] }],
      /less than 76 characters \[json-pointer:\/blocks\/0\/elements\/0\/text\/text\]/,
    ],
    [
      'a button label in mrkdwn',
      [{ type: 'actions', elements: [button({ text: { type: 'mrkdwn', text: 'Keep' } })] }],
      /elements\/0\/text\/type/,
    ],
    [
      'an action_id over 255',
      [{ type: 'actions', elements: [button({ action_id: 'a'.repeat(256) })] }],
      /less than 256/,
    ],
    [
      'a value over 2000',
      [{ type: 'actions', elements: [button({ value: 'a'.repeat(2001) })] }],
      /less than 2001/,
    ],
    ['a section text over 3000', [section('a'.repeat(3001))], /less than 3001/],
    ['an empty text', [section('')], /more than 0 characters/],
    ['a section without text or fields', [{ type: 'section' }], /either text or fields/],
    [
      'more than 25 elements',
      [{ type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button({ action_id: `a${i}` })) }],
      /no more than 25/,
    ],
    ['an unknown property', [{ type: 'divider', colour: 'red' }], /invalid additional property: colour/],
    [
      'emoji on mrkdwn',
      [{ type: 'section', text: { type: 'mrkdwn', text: 'a', emoji: true } }],
      /invalid additional property: emoji/,
    ],
    ['a bad button style', [{ type: 'actions', elements: [button({ style: 'green' })] }], /must be one of/],
    [
      'a confirm dialog without deny',
      [
        {
          type: 'actions',
          elements: [
            button({
              confirm: {
                title: { type: 'plain_text', text: 't' },
                text: { type: 'plain_text', text: 'x' },
                confirm: { type: 'plain_text', text: 'ok' },
              },
            }),
          ],
        },
      ],
      /missing required field: deny/,
    ],
    [
      'a header over 150',
      [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }],
      /less than 151/,
    ],
    [
      'a duplicate block_id',
      [
        { type: 'divider', block_id: 'x' },
        { type: 'divider', block_id: 'x' },
      ],
      /duplicate block_id "x"/,
    ],
    [
      'a duplicate action_id in one block',
      [{ type: 'actions', elements: [button(), button()] }],
      /duplicate action_id "keep"/,
    ],
    [
      'a block type the sandbox does not model',
      [{ type: 'image', image_url: 'https://x', alt_text: 'x' }],
      /sandbox does not model block type "image"/,
    ],
    ['not an array', { type: 'divider' }, /must be an array/],
  ])('rejects %s', (_what, blocks, expected) => {
    const errors = errorsOf(blocks);
    expect(errors.join('\n')).toMatch(expected);
  });

  it('accepts overflow menus in actions blocks and as a section accessory, as Slack documents them', () => {
    const dialog = {
      title: { type: 'plain_text', text: 'Sure?' },
      text: { type: 'plain_text', text: 'x' },
      confirm: { type: 'plain_text', text: 'Yes' },
      deny: { type: 'plain_text', text: 'No' },
    };
    const blocks = [
      {
        type: 'actions',
        elements: [
          button(),
          overflow({
            options: [
              option('a'.repeat(150), 'o'.repeat(75)),
              option('b'),
              { ...option('c'), description: { type: 'plain_text', text: 'more' } },
              { ...option('d'), url: 'https://example.com' },
              option('e'),
            ],
            confirm: dialog,
          }),
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: 'a' }, accessory: overflow() },
      { type: 'actions', elements: [{ type: 'overflow', options: [option('a'), option('b')] }] },
    ];
    expect(errorsOf(blocks)).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    [
      'an overflow with one option',
      inActions(overflow({ options: [option('a')] })),
      /must provide at least 2 items \[json-pointer:\/blocks\/0\/elements\/0\/options\]/,
    ],
    [
      'an overflow with six options',
      inActions(overflow({ options: ['a', 'b', 'c', 'd', 'e', 'f'].map((v) => option(v)) })),
      /no more than 5 items allowed \[json-pointer:\/blocks\/0\/elements\/0\/options\]/,
    ],
    [
      'an overflow without options',
      inActions({ type: 'overflow', action_id: 'more' }),
      /missing required field: options/,
    ],
    [
      'an option text over 75',
      inActions(overflow({ options: [option('a', 'x'.repeat(76)), option('b')] })),
      /less than 76 characters \[json-pointer:\/blocks\/0\/elements\/0\/options\/0\/text\/text\]/,
    ],
    [
      'an option text in mrkdwn',
      inActions(overflow({ options: [{ text: { type: 'mrkdwn', text: 'a' }, value: 'a' }, option('b')] })),
      /options\/0\/text\/type/,
    ],
    [
      'an option value over 150',
      inActions(overflow({ options: [option('v'.repeat(151)), option('b')] })),
      /less than 151 characters \[json-pointer:\/blocks\/0\/elements\/0\/options\/0\/value\]/,
    ],
    [
      'an option without a value',
      inActions(overflow({ options: [{ text: { type: 'plain_text', text: 'a' } }, option('b')] })),
      /missing required field: value/,
    ],
    [
      'an option with an unknown property',
      inActions(overflow({ options: [{ ...option('a'), style: 'danger' }, option('b')] })),
      /invalid additional property: style/,
    ],
    ['an overflow action_id over 255', inActions(overflow({ action_id: 'a'.repeat(256) })), /less than 256/],
    [
      'an overflow with a style',
      inActions(overflow({ style: 'danger' })),
      /invalid additional property: style/,
    ],
    [
      'an overflow with a text',
      inActions(overflow({ text: { type: 'plain_text', text: '…' } })),
      /invalid additional property: text/,
    ],
    [
      'an overflow confirm without a title',
      inActions(
        overflow({
          confirm: {
            text: { type: 'plain_text', text: 'x' },
            confirm: { type: 'plain_text', text: 'ok' },
            deny: { type: 'plain_text', text: 'no' },
          },
        }),
      ),
      /missing required field: title/,
    ],
    [
      'an overflow in a context block',
      [{ type: 'context', elements: [overflow()] }],
      /type "overflow" is not allowed here/,
    ],
    [
      'an overflow sharing an action_id with a button in its block',
      inActions(button({ action_id: 'more' }), overflow()),
      /duplicate action_id "more" in one block \[json-pointer:\/blocks\/0\/elements\/1\/action_id\]/,
    ],
  ])('rejects %s', (_what, blocks, expected) => {
    expect(errorsOf(blocks).join('\n')).toMatch(expected);
  });

  it('accepts the same action_id in two different blocks, as Slack does', () => {
    const blocks = [
      { type: 'actions', elements: [button()] },
      { type: 'actions', elements: [button()] },
    ];
    expect(errorsOf(blocks)).toEqual([]);
  });
});
