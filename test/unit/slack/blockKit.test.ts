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

  it('accepts the same action_id in two different blocks, as Slack does', () => {
    const blocks = [
      { type: 'actions', elements: [button()] },
      { type: 'actions', elements: [button()] },
    ];
    expect(errorsOf(blocks)).toEqual([]);
  });
});
