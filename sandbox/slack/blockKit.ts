import { z } from 'zod';

/**
 * The part of Block Kit the sandbox understands, written down as Slack's reference states it, so
 * that a message Slack would reject with `invalid_blocks` is rejected here too. Sources:
 * - Blocks: https://docs.slack.dev/reference/block-kit/blocks (≤ 50 blocks in a message; `block_id`
 *   ≤ 255 characters and unique for each message).
 * - Composition objects: https://docs.slack.dev/reference/block-kit/composition-objects
 * - Block elements: https://docs.slack.dev/reference/block-kit/block-elements
 *
 * A block or element type outside this subset is rejected with a message that names the sandbox,
 * never silently accepted: a test that passes here must not rely on something nobody checked.
 */

/** https://docs.slack.dev/reference/block-kit/blocks: "You can include up to 50 blocks in each message". */
export const MAX_MESSAGE_BLOCKS = 50;

const tooLong = (limit: number) => `must be less than ${limit + 1} characters`;

/** Text object: `text` is 1–3000 characters; `emoji` only on plain_text, `verbatim` only on mrkdwn. */
function plainText(max: number) {
  return z.strictObject({
    type: z.literal('plain_text'),
    text: z.string().min(1).max(max, tooLong(max)),
    emoji: z.boolean().optional(),
  });
}

function mrkdwn(max: number) {
  return z.strictObject({
    type: z.literal('mrkdwn'),
    text: z.string().min(1).max(max, tooLong(max)),
    verbatim: z.boolean().optional(),
  });
}

function textObject(max: number) {
  return z.discriminatedUnion('type', [plainText(max), mrkdwn(max)]);
}

/**
 * Confirmation dialog object: title ≤ 100, text ≤ 300, confirm/deny ≤ 30, all four required and
 * plain_text (the current reference; older pages allowed mrkdwn text); style primary|danger.
 */
const confirmationDialog = z.strictObject({
  title: plainText(100),
  text: plainText(300),
  confirm: plainText(30),
  deny: plainText(30),
  style: z.enum(['primary', 'danger']).optional(),
});

/**
 * Button element: text plain_text ≤ 75, action_id ≤ 255, url ≤ 3000, value ≤ 2000,
 * style primary|danger, accessibility_label ≤ 75.
 */
const button = z.strictObject({
  type: z.literal('button'),
  text: plainText(75),
  action_id: z.string().min(1).max(255, tooLong(255)).optional(),
  url: z.string().min(1).max(3000, tooLong(3000)).optional(),
  value: z.string().max(2000, tooLong(2000)).optional(),
  style: z.enum(['primary', 'danger']).optional(),
  confirm: confirmationDialog.optional(),
  accessibility_label: z.string().min(1).max(75, tooLong(75)).optional(),
});

/**
 * Option object as an overflow menu takes it (https://docs.slack.dev/reference/block-kit/composition-objects/option-object):
 * text plain_text ≤ 75 (overflow, select and multi-select menus take only plain_text), value
 * ≤ 150 (required), description plain_text ≤ 75, url ≤ 3000 (overflow menus only).
 */
const overflowOption = z.strictObject({
  text: plainText(75),
  value: z.string().min(1).max(150, tooLong(150)),
  description: plainText(75).optional(),
  url: z.string().min(1).max(3000, tooLong(3000)).optional(),
});

/**
 * Overflow menu element (https://docs.slack.dev/reference/block-kit/block-elements/overflow-menu-element):
 * action_id ≤ 255, 2–5 options ("Maximum number of options is 5, minimum is 2"), optional confirm.
 * Allowed in actions blocks and as a section's accessory.
 */
const overflow = z.strictObject({
  type: z.literal('overflow'),
  action_id: z.string().min(1).max(255, tooLong(255)).optional(),
  options: z.array(overflowOption).min(2).max(5, 'no more than 5 items allowed'),
  confirm: confirmationDialog.optional(),
});

/** Image element: image_url ≤ 3000 and alt_text (the sandbox does not model `slack_file`). */
const imageElement = z.strictObject({
  type: z.literal('image'),
  image_url: z.string().min(1).max(3000, tooLong(3000)),
  alt_text: z.string().min(1).max(2000, tooLong(2000)),
});

/**
 * Option object as a select menu takes it: text plain_text ≤ 75, value ≤ 150, description
 * plain_text ≤ 75 (no url: that is for overflow menus only).
 */
const selectOption = z.strictObject({
  text: plainText(75),
  value: z.string().min(1).max(150, tooLong(150)),
  description: plainText(75).optional(),
});

/**
 * Static select (https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element#static_select):
 * placeholder plain_text ≤ 150, up to 100 options (the sandbox does not model option_groups),
 * initial_option one of the options.
 */
const staticSelect = z
  .strictObject({
    type: z.literal('static_select'),
    action_id: z.string().min(1).max(255, tooLong(255)).optional(),
    options: z.array(selectOption).min(1).max(100, 'no more than 100 items allowed'),
    initial_option: selectOption.optional(),
    confirm: confirmationDialog.optional(),
    focus_on_load: z.boolean().optional(),
    placeholder: plainText(150).optional(),
  })
  .refine(
    (menu) =>
      menu.initial_option === undefined ||
      menu.options.some((option) => option.value === menu.initial_option?.value),
    { message: 'initial_option must be one of the options', path: ['initial_option'] },
  );

/** Users select (https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element#users_select). */
const usersSelect = z.strictObject({
  type: z.literal('users_select'),
  action_id: z.string().min(1).max(255, tooLong(255)).optional(),
  initial_user: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a user id')
    .optional(),
  confirm: confirmationDialog.optional(),
  focus_on_load: z.boolean().optional(),
  placeholder: plainText(150).optional(),
});

/**
 * Plain-text input (https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element):
 * initial_value, multiline, min_length 0–3000, max_length 1–3000, placeholder plain_text ≤ 150.
 * Only inside an input block.
 */
const plainTextInput = z
  .strictObject({
    type: z.literal('plain_text_input'),
    action_id: z.string().min(1).max(255, tooLong(255)).optional(),
    initial_value: z.string().optional(),
    multiline: z.boolean().optional(),
    min_length: z.number().int().min(0).max(3000).optional(),
    max_length: z.number().int().min(1).max(3000).optional(),
    focus_on_load: z.boolean().optional(),
    placeholder: plainText(150).optional(),
  })
  .refine(
    (input) =>
      input.min_length === undefined ||
      input.max_length === undefined ||
      input.min_length <= input.max_length,
    { message: 'min_length must not exceed max_length', path: ['min_length'] },
  );

const blockId = z.string().min(1).max(255, tooLong(255)).optional();

/** Section block: text ≤ 3000 and/or up to 10 fields of ≤ 2000 each; one of the two is required. */
const section = z
  .strictObject({
    type: z.literal('section'),
    block_id: blockId,
    text: textObject(3000).optional(),
    fields: z.array(textObject(2000)).min(1).max(10, 'no more than 10 items allowed').optional(),
    accessory: z
      .discriminatedUnion('type', [button, overflow, imageElement, staticSelect, usersSelect])
      .optional(),
    expand: z.boolean().optional(),
  })
  .refine((block) => block.text !== undefined || block.fields !== undefined, {
    message: 'must provide either text or fields',
  });

/** Actions block: 1–25 interactive elements (the sandbox models buttons, overflow and select menus). */
const actions = z.strictObject({
  type: z.literal('actions'),
  block_id: blockId,
  elements: z
    .array(z.discriminatedUnion('type', [button, overflow, staticSelect, usersSelect]))
    .min(1)
    .max(25, 'no more than 25 items allowed'),
});

/** Context block: 1–10 image or text elements. */
const context = z.strictObject({
  type: z.literal('context'),
  block_id: blockId,
  elements: z
    .array(z.discriminatedUnion('type', [imageElement, plainText(3000), mrkdwn(3000)]))
    .min(1)
    .max(10, 'no more than 10 items allowed'),
});

/** Header block: plain_text ≤ 150 characters. */
const header = z.strictObject({
  type: z.literal('header'),
  block_id: blockId,
  text: plainText(150),
});

const divider = z.strictObject({ type: z.literal('divider'), block_id: blockId });

/**
 * Input block (https://docs.slack.dev/reference/block-kit/blocks/input-block): label plain_text
 * ≤ 2000, one element, hint plain_text ≤ 2000, optional, dispatch_action. The sandbox models it in
 * modals and Home tabs, where apps collect input; a message with one is refused.
 */
const input = z.strictObject({
  type: z.literal('input'),
  block_id: blockId,
  label: plainText(2000),
  element: z.discriminatedUnion('type', [plainTextInput, staticSelect, usersSelect]),
  hint: plainText(2000).optional(),
  optional: z.boolean().optional(),
  dispatch_action: z.boolean().optional(),
});

const blockSchemas = { section, actions, context, header, divider, input } as const;
export type ModeledBlockType = keyof typeof blockSchemas;

/**
 * Where blocks are shown. Messages hold up to 50 blocks; modal and Home tab views up to 100
 * ("Max of 100 blocks", https://docs.slack.dev/reference/views/modal-views and home-tab-views).
 */
export type BlockSurface = 'message' | 'modal' | 'home';

export const MAX_VIEW_BLOCKS = 100;

export type BlockKitResult =
  | { ok: true; blocks: Record<string, unknown>[] }
  | { ok: false; errors: string[] };

/**
 * Checks a `blocks` argument as Slack would. Error strings follow Slack's own form,
 * `<what is wrong> [json-pointer:/blocks/3/elements/0/text/text]`, so a failing test reads like
 * the answer the real API gives.
 */
export function validateBlocks(input: unknown, surface: BlockSurface = 'message'): BlockKitResult {
  if (!Array.isArray(input)) return { ok: false, errors: ['must be an array [json-pointer:/blocks]'] };
  const errors: string[] = [];
  const limit = surface === 'message' ? MAX_MESSAGE_BLOCKS : MAX_VIEW_BLOCKS;
  if (input.length > limit) {
    errors.push(`no more than ${limit} items allowed [json-pointer:/blocks]`);
  }
  input.forEach((block, index) => {
    const pointer = `/blocks/${index}`;
    if (!isRecord(block)) {
      errors.push(`must be an object [json-pointer:${pointer}]`);
      return;
    }
    const type = block.type;
    if (typeof type !== 'string' || !(type in blockSchemas)) {
      errors.push(
        `the sandbox does not model block type ${JSON.stringify(type)} (it models ${Object.keys(blockSchemas).join(', ')}) [json-pointer:${pointer}]`,
      );
      return;
    }
    if (type === 'input' && surface === 'message') {
      errors.push(
        `the sandbox models input blocks in modals and Home tabs only, not in messages [json-pointer:${pointer}]`,
      );
      return;
    }
    const result = blockSchemas[type as ModeledBlockType].safeParse(block);
    if (!result.success) {
      for (const issue of result.error.issues) errors.push(describeIssue(issue, block, pointer));
    }
  });
  if (errors.length > 0) return { ok: false, errors };

  const blocks = input as Record<string, unknown>[];
  // block_id: "should be unique for each message" (Blocks reference); Slack refuses duplicates.
  const seenBlockIds = new Map<string, number>();
  blocks.forEach((block, index) => {
    if (typeof block.block_id !== 'string') return;
    const first = seenBlockIds.get(block.block_id);
    if (first !== undefined) {
      errors.push(
        `duplicate block_id ${JSON.stringify(block.block_id)}, first used at /blocks/${first} [json-pointer:/blocks/${index}/block_id]`,
      );
    } else {
      seenBlockIds.set(block.block_id, index);
    }
  });
  // action_id: "Should be unique among all other action_ids in the containing block" (Button
  // element reference). Slack enforces it per block, not per message: the same action_id in two
  // different blocks is accepted by Slack, so it is accepted here.
  blocks.forEach((block, index) => {
    const seen = new Set<string>();
    interactiveElements(block).forEach(({ element, pointer }) => {
      const actionId = element.action_id;
      if (typeof actionId !== 'string') return;
      if (seen.has(actionId)) {
        errors.push(
          `duplicate action_id ${JSON.stringify(actionId)} in one block [json-pointer:/blocks/${index}${pointer}/action_id]`,
        );
      }
      seen.add(actionId);
    });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, blocks };
}

const INTERACTIVE_ELEMENT_TYPES = new Set(['button', 'overflow', 'static_select', 'users_select']);

/**
 * The interactive elements of one block (actions elements, a section's interactive accessory, an
 * input block's element).
 */
export function interactiveElements(
  block: Record<string, unknown>,
): Array<{ element: Record<string, unknown>; pointer: string }> {
  const found: Array<{ element: Record<string, unknown>; pointer: string }> = [];
  if (Array.isArray(block.elements) && block.type === 'actions') {
    block.elements.forEach((element, index) => {
      if (isRecord(element)) found.push({ element, pointer: `/elements/${index}` });
    });
  }
  if (isRecord(block.accessory) && INTERACTIVE_ELEMENT_TYPES.has(String(block.accessory.type))) {
    found.push({ element: block.accessory, pointer: '/accessory' });
  }
  if (block.type === 'input' && isRecord(block.element)) {
    found.push({ element: block.element, pointer: '/element' });
  }
  return found;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeIssue(issue: z.core.$ZodIssue, block: unknown, pointer: string): string {
  const where = `${pointer}${issue.path.map((part) => `/${String(part)}`).join('')}`;
  const at = (path: PropertyKey[]) =>
    path.reduce<unknown>(
      (value, key) =>
        isRecord(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined,
      block,
    );
  let what: string;
  switch (issue.code) {
    case 'unrecognized_keys':
      what = `invalid additional property: ${issue.keys.join(', ')}`;
      break;
    case 'invalid_type':
      what =
        at(issue.path) === undefined
          ? `missing required field: ${String(issue.path.at(-1) ?? 'value')}`
          : `expected ${issue.expected}`;
      break;
    case 'too_small':
      what =
        issue.origin === 'string'
          ? 'must be more than 0 characters'
          : `must provide at least ${String(issue.minimum)} items`;
      break;
    case 'invalid_union': {
      const value = at(issue.path);
      // A discriminated union reports at the element, or (zod 4) at its `type` field.
      const type = isRecord(value) ? value.type : issue.path.at(-1) === 'type' ? value : undefined;
      what =
        type === undefined
          ? 'missing required field: type'
          : `type ${JSON.stringify(type)} is not allowed here, or not modeled by the sandbox`;
      break;
    }
    case 'invalid_value':
      what = `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
      break;
    default:
      what = issue.message;
  }
  return `${what} [json-pointer:${where}]`;
}
