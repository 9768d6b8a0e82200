import type {
  ActionsBlock,
  Button,
  ContextBlock,
  HeaderBlock,
  KnownBlock,
  Overflow,
  SectionBlock,
} from '@slack/types';
import { AccessReviewError, MalformedRequestError } from '../core/errors';
import { describeVia, type Grant } from '../core/grant';
import {
  describeAllows,
  describeDetails,
  describeFlags,
  describeKind,
  describePrincipal,
  describeResource,
  describeRevokeEffect,
} from '../core/grant-kinds';
import { prototypeKeyPaths, UnsafeRecordError } from '../core/records';
import type { DecisionValue } from '../store/decisions';

/**
 * The review DM: one message per reviewer, one Keep/Revoke decision per grant, either plain (the
 * buttons) or with a reason (the "…" overflow menu next to them). Pure functions; the listener
 * and the RequestReview handler post and update what these return.
 *
 * What a button or a menu option carries is public: Slack shows it to the client and sends it
 * back in every click, so `value` holds the campaign and grant ids (and a reason code) and nothing
 * else (task tokens stay in the table).
 */

/** The decision values the store records; the message offers exactly these. */
type Decision = DecisionValue;

/**
 * The reasons a reviewer can give from the "…" menu, code → the text shown in the menu and
 * recorded as the decision's justification. A code starts with the decision it records.
 */
export const REASONS = {
  'keep:role': 'Keep — needed for their current role',
  'keep:temporary': 'Keep — temporary, revisit next review',
  'revoke:unused': 'Revoke — no longer needed',
  'revoke:left': 'Revoke — person left or changed team',
  'revoke:excessive': 'Revoke — more access than the job needs',
} as const satisfies Record<`${Decision}:${string}`, string>;

export type ReasonCode = keyof typeof REASONS;
export const REASON_CODES = Object.keys(REASONS) as [ReasonCode, ...ReasonCode[]];

export function isReasonCode(code: unknown): code is ReasonCode {
  return typeof code === 'string' && Object.hasOwn(REASONS, code);
}

/** The decision a reason records: its code's prefix. */
export function decisionOfReason(code: ReasonCode): Decision {
  return code.startsWith('keep:') ? 'keep' : 'revoke';
}

export interface ReviewItem {
  grant: Grant;
  routingReason: string;
  /** `justification`, when given, is shown on the decided line. */
  decision?: { decision: Decision; decidedAt: string; justification?: string };
}

export interface ReviewMessageInput {
  campaignId: string;
  reviewerLogin: string;
  /** ISO 8601. */
  dueAt: string;
  items: ReviewItem[];
  closed?: { reason: 'completed' | 'window_closed' };
}

export interface ReviewMessage {
  /** Notification and accessibility fallback; Slack shows blocks in the message itself. */
  text: string;
  blocks: KnownBlock[];
}

/** The input cannot be turned into a message Slack would accept. */
export class ReviewMessageError extends AccessReviewError {}

/** https://docs.slack.dev/reference/block-kit/blocks: "up to 50 blocks in each message". */
export const MAX_MESSAGE_BLOCKS = 50;

/**
 * The exact shape of a review button's action_id. The listeners register on the broader prefix so
 * a malformed id still reaches them and is refused in words, rather than going unanswered.
 */
export const REVIEW_ACTION_ID_PATTERN = /^review_(keep|revoke):(g_[0-9a-f]{32})$/;
/** The "…" menu of a grant: `review_reason:<grantId>`. */
export const REVIEW_REASON_ACTION_ID_PATTERN = /^review_reason:(g_[0-9a-f]{32})$/;
const GRANT_ID_PATTERN = /^g_[0-9a-f]{32}$/;
/**
 * Campaign ids travel in button values and in table keys: letters, digits and `._:+-`, no `#`
 * (the table's key separator), at most 128 characters so the header stays under Slack's 150.
 */
const CAMPAIGN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

// Limits from the Block Kit reference, checked again by the sandbox.
const SECTION_TEXT_MAX = 3000;
const CONTEXT_TEXT_MAX = 3000;
const CONFIRM_TEXT_MAX = 300;
const ROUTING_REASON_MAX = 1000;
/** Option object: "Maximum length for this field is 150 characters" (value). */
const OPTION_VALUE_MAX = 150;
const JUSTIFICATION_SHOWN_MAX = 300;

export function actionIdFor(decision: Decision, grantId: string): string {
  return `review_${decision}:${grantId}`;
}

/** `{"c":campaignId,"g":grantId}`: short keys because Slack caps a button value at 2000 characters. */
export function buttonValueFor(campaignId: string, grantId: string): string {
  return JSON.stringify({ c: campaignId, g: grantId });
}

/** Reads a button value back. Anything that is not exactly what buttonValueFor writes is refused. */
export function parseButtonValue(value: string): { campaignId: string; grantId: string } {
  const { c, g } = parseCompactValue(value, 'button value', ['c', 'g']);
  // A value we wrote round-trips byte for byte; anything else was not written by us.
  if (buttonValueFor(c, g) !== value)
    throw new MalformedRequestError('button value is not in canonical form');
  return { campaignId: c, grantId: g };
}

export function reasonActionIdFor(grantId: string): string {
  return `review_reason:${grantId}`;
}

/** `{"c":campaignId,"g":grantId,"r":reasonCode}`: an overflow option's value, at most 150 characters. */
export function reasonValueFor(campaignId: string, grantId: string, reason: ReasonCode): string {
  return JSON.stringify({ c: campaignId, g: grantId, r: reason });
}

/**
 * Reads an overflow option's value back. Anything that is not exactly what reasonValueFor writes,
 * or names a reason not in REASONS, is refused.
 */
export function parseReasonValue(value: string): {
  campaignId: string;
  grantId: string;
  decision: Decision;
  reason: ReasonCode;
} {
  if (value.length > OPTION_VALUE_MAX) {
    throw new MalformedRequestError(`option value is longer than ${OPTION_VALUE_MAX} characters`);
  }
  const { c, g, r } = parseCompactValue(value, 'option value', ['c', 'g', 'r']);
  if (!isReasonCode(r)) {
    throw new MalformedRequestError(`option value names an unknown reason ${JSON.stringify(r.slice(0, 40))}`);
  }
  if (reasonValueFor(c, g, r) !== value)
    throw new MalformedRequestError('option value is not in canonical form');
  return { campaignId: c, grantId: g, decision: decisionOfReason(r), reason: r };
}

export function parseReasonActionId(actionId: string): { grantId: string } {
  const match = REVIEW_REASON_ACTION_ID_PATTERN.exec(actionId);
  if (!match)
    throw new MalformedRequestError(
      `action_id ${JSON.stringify(actionId.slice(0, 300))} is not a review reason menu`,
    );
  return { grantId: match[1] as string };
}

/**
 * The checks both values share: a JSON object with exactly `keys`, all strings, `c` a campaign id
 * and `g` a grant id. The callers then require the canonical form (byte-for-byte round trip).
 */
function parseCompactValue<K extends 'c' | 'g' | 'r'>(
  value: string,
  what: string,
  expected: readonly K[],
): Record<K, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new MalformedRequestError(`${what} is not JSON`, { cause: error });
  }
  // The exact-keys check below would refuse these too; refusing them by name says why.
  if (prototypeKeyPaths(parsed).length > 0) {
    throw new MalformedRequestError(`${what} carries a prototype key`, {
      cause: new UnsafeRecordError(what, prototypeKeyPaths(parsed)),
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new MalformedRequestError(`${what} is not an object`);
  }
  const record = parsed as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const wanted = [...expected].sort();
  if (keys.length !== wanted.length || keys.some((key, index) => key !== wanted[index])) {
    throw new MalformedRequestError(
      `${what} has keys [${keys.join(', ')}], expected exactly ${wanted.join(', ')}`,
    );
  }
  for (const key of wanted) {
    if (typeof record[key] !== 'string')
      throw new MalformedRequestError(`${what} field ${key} is not a string`);
  }
  if (!CAMPAIGN_ID_PATTERN.test(record.c as string)) {
    throw new MalformedRequestError(`${what} holds no valid campaign id`);
  }
  if (!GRANT_ID_PATTERN.test(record.g as string)) {
    throw new MalformedRequestError(`${what} holds no valid grant id`);
  }
  return record as Record<K, string>;
}

export function parseActionId(actionId: string): { decision: Decision; grantId: string } {
  const match = REVIEW_ACTION_ID_PATTERN.exec(actionId);
  if (!match)
    throw new MalformedRequestError(
      `action_id ${JSON.stringify(actionId.slice(0, 300))} is not a review action`,
    );
  return { decision: match[1] as Decision, grantId: match[2] as string };
}

export function buildReviewMessage(input: ReviewMessageInput): ReviewMessage {
  validateInput(input);
  const { campaignId, items, closed } = input;
  // Fixed blocks: header, intro, and the closing line when closed; two blocks per listed grant.
  const fixed = 2 + (closed ? 1 : 0);
  const listed = chooseListed(items, fixed);
  const rows: PageRow[] = [];
  items.forEach((item, index) => {
    if (listed.has(index)) rows.push(pageRowFor(item));
  });
  const hiddenOpen = items.filter((item, index) => !item.decision && !listed.has(index)).length;
  const listedIds = rows.map((row) => row.grantId).sort();
  return drawReviewPage({
    campaignId,
    reviewerLogin: input.reviewerLogin,
    dueAt: input.dueAt,
    total: items.length,
    kept: items.filter((item) => item.decision?.decision === 'keep').length,
    revoked: items.filter((item) => item.decision?.decision === 'revoke').length,
    rows,
    // The open grants listed are the first ones in task order (grant id): the rest come after the last.
    ...(hiddenOpen > 0 ? { nextAfter: listedIds.at(-1) } : {}),
    ...(closed ? { closed } : {}),
  });
}

/** A grant drawn afresh as a row of a page (its section and, while open, its buttons). */
export function pageRowFor(item: ReviewItem): PageRow {
  return {
    grantId: item.grant.grantId,
    section: grantSection(item),
    grant: item.grant,
    ...(item.decision ? { decision: item.decision } : {}),
  };
}

/**
 * One listed grant of a page. A page drawn from the table builds every block; a page redrawn
 * after a click keeps the blocks Slack sent back in the click (`section`, `shown`) and changes only
 * what the click decided.
 */
export interface PageRow {
  grantId: string;
  /** The grant's section block. */
  section: KnownBlock;
  /** The grant, to draw its buttons (absent when redrawing: `shown` holds them). */
  grant?: Grant;
  /** Its decision, when known: drawn as the outcome line. */
  decision?: ReviewItem['decision'];
  /** The block drawn under the section (buttons, or the outcome line), kept when nothing changed. */
  shown?: KnownBlock;
  /** What `shown` says was decided (read from its block_id), for the counts. */
  shownDecision?: Decision;
}

/** What one review message shows: some of the task's grants, and counts of all of them. */
export interface ReviewPage {
  campaignId: string;
  reviewerLogin: string;
  dueAt: string;
  /** Over the whole task. */
  total: number;
  kept: number;
  revoked: number;
  rows: PageRow[];
  /**
   * In task order (grant id), the grant after which the open grants not listed start; set only
   * when some are not listed. The next page is read from there once every listed grant is decided.
   */
  nextAfter?: string;
  closed?: { reason: 'completed' | 'window_closed' };
}

/**
 * The message for a page. The counts say how many grants the task has and how many are decided;
 * the rows are what is listed. Both a first draw and a redraw after a click go through here.
 */
export function drawReviewPage(page: ReviewPage): ReviewMessage {
  validatePage(page);
  const { campaignId, rows, closed } = page;
  const due = formatDate(page.dueAt, 'dueAt');
  const undecided = Math.max(0, page.total - page.kept - page.revoked);
  const blocks: KnownBlock[] = [header(campaignId), intro(page.total, undecided, due, closed)];
  const listed = { open: 0, kept: 0, revoked: 0 };
  for (const row of rows) {
    blocks.push(row.section);
    const decided = row.decision?.decision ?? row.shownDecision;
    if (decided === 'keep') listed.kept += 1;
    else if (decided === 'revoke') listed.revoked += 1;
    else listed.open += 1;
    if (row.decision) blocks.push(outcomeLine(row.grantId, row.decision, closed));
    else if (row.shownDecision && row.shown) blocks.push(row.shown);
    else if (closed) blocks.push(outcomeLine(row.grantId, undefined, closed));
    else if (row.grant) blocks.push(decisionButtons(campaignId, row.grant));
    else if (row.shown) blocks.push(row.shown);
    else throw new ReviewMessageError(`grant ${row.grantId} has neither its buttons nor a decision to draw`);
  }
  const summary = hiddenSummary(
    {
      waiting: Math.max(0, undecided - listed.open),
      kept: Math.max(0, page.kept - listed.kept),
      revoked: Math.max(0, page.revoked - listed.revoked),
    },
    closed,
    page.nextAfter,
  );
  if (summary) blocks.push(summary);
  if (closed) blocks.push(closingLine(closed, page.total, undecided, due));

  if (blocks.length > MAX_MESSAGE_BLOCKS) {
    // Pages are chosen within the limit; reaching this is a bug here, not bad input.
    throw new ReviewMessageError(
      `review message has ${blocks.length} blocks, Slack allows ${MAX_MESSAGE_BLOCKS}`,
    );
  }
  return { text: fallbackText(campaignId, page.total, undecided, due, closed), blocks };
}

/** How many grants a page lists: two blocks each, within Slack's 50 with room for the rest. */
export function pageCapacity(closed: boolean): number {
  return Math.floor((MAX_MESSAGE_BLOCKS - (2 + (closed ? 1 : 0)) - 1) / 2);
}

/**
 * The listed rows of a review message as Slack sends it back in a click (`body.message.blocks`),
 * and where the grants not listed yet start. Undefined when the blocks are not a review message
 * this module drew (nothing is guessed).
 */
export function readReviewPage(
  blocks: unknown,
): { rows: PageRow[]; nextAfter?: string; closed: boolean } | undefined {
  if (!Array.isArray(blocks) || blocks.length > MAX_MESSAGE_BLOCKS) return undefined;
  const rows: PageRow[] = [];
  let nextAfter: string | undefined;
  let closed = false;
  for (let index = 0; index < blocks.length; index++) {
    const block: unknown = blocks[index];
    if (typeof block !== 'object' || block === null) return undefined;
    const { type, block_id: blockId } = block as { type?: unknown; block_id?: unknown };
    if (typeof blockId !== 'string') continue;
    if (blockId.startsWith('closed:')) closed = true;
    const summary = /^summary:\d+:\d+:\d+(?::after:(g_[0-9a-f]{32}))?$/.exec(blockId);
    if (summary) nextAfter = summary[1];
    const grant = /^grant:(g_[0-9a-f]{32})$/.exec(blockId);
    if (!grant) continue;
    if (type !== 'section') return undefined;
    const grantId = grant[1] as string;
    const below: unknown = blocks[index + 1];
    const belowId =
      typeof below === 'object' && below !== null ? (below as { block_id?: unknown }).block_id : undefined;
    if (typeof belowId !== 'string') return undefined;
    const row: PageRow = { grantId, section: block as KnownBlock, shown: below as KnownBlock };
    const outcome = /^outcome:(g_[0-9a-f]{32}):(keep|revoke|none)$/.exec(belowId);
    if (outcome?.[1] === grantId) {
      if (outcome[2] !== 'none') row.shownDecision = outcome[2] as Decision;
    } else if (belowId !== `decide:${grantId}`) {
      return undefined;
    }
    rows.push(row);
    index += 1;
  }
  if (new Set(rows.map((row) => row.grantId)).size !== rows.length) return undefined;
  return { rows, closed, ...(nextAfter ? { nextAfter } : {}) };
}

/**
 * Which grants get their own two blocks. All of them when they fit; otherwise the open ones first
 * (they are what the reviewer has to act on: the first ones in task order, so the next page starts
 * after the last), then the most recently decided ones, with one block kept for the summary of the
 * rest. Listed grants keep their original order so a grant does not jump around when it is decided.
 */
function chooseListed(items: ReviewItem[], fixed: number): Set<number> {
  if (fixed + 2 * items.length <= MAX_MESSAGE_BLOCKS) return new Set(items.map((_, index) => index));
  const capacity = Math.floor((MAX_MESSAGE_BLOCKS - fixed - 1) / 2);
  const open = items
    .flatMap((item, index) => (item.decision ? [] : [{ index, grantId: item.grant.grantId }]))
    .sort((a, b) => (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0))
    .map(({ index }) => index);
  const decided = items
    .flatMap((item, index) => (item.decision ? [{ index, at: Date.parse(item.decision.decidedAt) }] : []))
    .sort((a, b) => b.at - a.at || a.index - b.index)
    .map(({ index }) => index);
  return new Set([...open, ...decided].slice(0, capacity));
}

function header(campaignId: string): HeaderBlock {
  return {
    type: 'header',
    block_id: 'header',
    text: { type: 'plain_text', text: `Access review ${campaignId}`, emoji: true },
  };
}

function intro(
  total: number,
  undecided: number,
  due: FormattedDate,
  closed: ReviewMessageInput['closed'],
): SectionBlock {
  const lines = [
    `You are asked to review *${plural(total, 'grant')}* of access, by *${due.mrkdwn}*.`,
    'Each grant is decided on its own. *Keep* records that the access is still needed. ' +
      '*Revoke* removes the access at its source (where it was granted, shown under each grant) ' +
      'and then reads the source again to confirm it is gone. ' +
      'The *…* menu next to them records the same decision with a reason, kept in the audit evidence.',
  ];
  if (!closed) {
    lines.push(
      undecided === 0
        ? 'Every grant has a decision; nothing is left to do here.'
        : `${plural(undecided, 'grant')} still ${undecided === 1 ? 'waits' : 'wait'} for your decision.`,
    );
  }
  return { type: 'section', block_id: 'intro', text: { type: 'mrkdwn', text: lines.join('\n') } };
}

function grantSection(item: ReviewItem): SectionBlock {
  const { grant } = item;
  const who = `*${escapeMrkdwn(describePrincipal(grant))}*`;
  const how = [describeVia(grant.via)];
  if (grant.raw.outsideCollaborator === true && !grant.flags.includes('outside_collaborator')) {
    how.push('outside collaborator');
  }
  const flags = describeFlags(grant);
  const text = [
    `${who} has *${escapeMrkdwn(grant.entitlement)}* on ${
      grant.connector === 'github'
        ? `${grant.resourceType.replace('_', ' ')} *${escapeMrkdwn(grant.resource)}*`
        : `*${escapeMrkdwn(describeResource(grant))}*`
    }`,
    `${escapeMrkdwn(describeKind(grant))}: ${escapeMrkdwn(describeAllows(grant))}`,
    ...(describeDetails(grant) ? [`Details: ${escapeMrkdwn(describeDetails(grant))}`] : []),
    `How: ${escapeMrkdwn(how.join(' · '))}`,
    ...(flags.length > 0 ? [`:warning: ${escapeMrkdwn(flags.join(' · '))}`] : []),
    `Why you: ${escapeMrkdwn(truncate(item.routingReason, ROUTING_REASON_MAX))}`,
  ].join('\n');
  return {
    type: 'section',
    block_id: `grant:${grant.grantId}`,
    text: { type: 'mrkdwn', text: truncate(text, SECTION_TEXT_MAX) },
  };
}

/** What a revoke will do at the source, said plainly: removing a membership is more than a role. */
export function revocationEffect(grant: Grant): string {
  return describeRevokeEffect(grant);
}

function decisionButtons(campaignId: string, grant: Grant): ActionsBlock {
  const value = buttonValueFor(campaignId, grant.grantId);
  const keep: Button = {
    type: 'button',
    action_id: actionIdFor('keep', grant.grantId),
    text: { type: 'plain_text', text: 'Keep', emoji: true },
    value,
  };
  const revoke: Button = {
    type: 'button',
    action_id: actionIdFor('revoke', grant.grantId),
    text: { type: 'plain_text', text: 'Revoke', emoji: true },
    value,
    style: 'danger',
    confirm: {
      title: { type: 'plain_text', text: 'Revoke this access?' },
      text: {
        type: 'plain_text',
        text: truncate(
          `${revocationEffect(grant)} The source is then read again to confirm the access is gone.`,
          CONFIRM_TEXT_MAX,
        ),
      },
      confirm: { type: 'plain_text', text: 'Revoke' },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'danger',
    },
  };
  // Keep is not styled `primary` on purpose: the message should not nudge towards keeping access.
  return {
    type: 'actions',
    block_id: `decide:${grant.grantId}`,
    elements: [keep, revoke, reasonMenu(campaignId, grant)],
  };
}

/**
 * The "…" menu: the same two decisions, each with a reason that is recorded as the justification.
 * The dialog after a choice says what a revoke would do, as the Revoke button's dialog does
 * (an overflow has one dialog for all of its options).
 */
function reasonMenu(campaignId: string, grant: Grant): Overflow {
  return {
    type: 'overflow',
    action_id: reasonActionIdFor(grant.grantId),
    options: REASON_CODES.map((code) => ({
      text: { type: 'plain_text', text: REASONS[code], emoji: true },
      value: reasonValueFor(campaignId, grant.grantId, code),
    })),
    confirm: {
      title: { type: 'plain_text', text: 'Record this decision?' },
      text: {
        type: 'plain_text',
        text: truncate(
          `A Keep reason records that the access stays. A Revoke reason: ${revocationEffect(grant)}`,
          CONFIRM_TEXT_MAX,
        ),
      },
      confirm: { type: 'plain_text', text: 'Record' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

function outcomeLine(
  grantId: string,
  decision: ReviewItem['decision'],
  closed: ReviewMessageInput['closed'],
): ContextBlock {
  let text: string;
  if (decision) {
    const at = formatDate(decision.decidedAt, `decidedAt of ${grantId}`).mrkdwn;
    text = decision.decision === 'keep' ? `✅ Kept at ${at}` : `❌ Revoke requested at ${at}`;
    if (decision.justification) {
      text += `. Reason: ${escapeMrkdwn(truncate(decision.justification, JUSTIFICATION_SHOWN_MAX))}`;
    }
  } else {
    text = closed?.reason === 'window_closed' ? '⏹ No decision: the review window closed' : '⏹ No decision';
  }
  // A new block_id for a new state: Slack asks for one per "iteration of a message".
  return {
    type: 'context',
    block_id: `outcome:${grantId}:${decision?.decision ?? 'none'}`,
    elements: [{ type: 'mrkdwn', text }],
  };
}

function hiddenSummary(
  hidden: { waiting: number; kept: number; revoked: number },
  closed: ReviewMessageInput['closed'],
  nextAfter: string | undefined,
): ContextBlock | undefined {
  const { waiting, kept, revoked } = hidden;
  if (waiting + kept + revoked === 0) return undefined;
  const parts: string[] = [];
  if (closed) {
    parts.push(
      `${plural(waiting + kept + revoked, 'more grant')} not listed here: ${kept} kept, ${revoked} revoke requested, ${waiting} without a decision.`,
    );
  } else {
    if (kept + revoked > 0) {
      parts.push(`Already decided and not listed: ✅ ${kept} kept, ❌ ${revoked} revoke requested.`);
    }
    if (waiting > 0) {
      parts.push(
        `${plural(waiting, 'more grant')} will appear here as you decide the ones above (Slack shows at most ${MAX_MESSAGE_BLOCKS} blocks in a message).`,
      );
    }
  }
  return {
    type: 'context',
    // The block id also carries where the next page starts, so a click can turn the page.
    block_id: `summary:${waiting}:${kept}:${revoked}${nextAfter && waiting > 0 ? `:after:${nextAfter}` : ''}`,
    elements: [{ type: 'mrkdwn', text: truncate(parts.join('\n'), CONTEXT_TEXT_MAX) }],
  };
}

function closingLine(
  closed: NonNullable<ReviewMessageInput['closed']>,
  total: number,
  undecided: number,
  due: FormattedDate,
): SectionBlock {
  const text =
    closed.reason === 'completed'
      ? `🔒 This review is closed: ${total === 1 ? 'the grant has' : `all ${total} grants have`} a decision. Thank you.`
      : `🔒 This review closed when its window ended (due ${due.mrkdwn}). ` +
        `${plural(undecided, 'grant')} got no decision here; the buttons are gone and nothing more can be decided in this message.`;
  return { type: 'section', block_id: `closed:${closed.reason}`, text: { type: 'mrkdwn', text } };
}

function fallbackText(
  campaignId: string,
  total: number,
  undecided: number,
  due: FormattedDate,
  closed: ReviewMessageInput['closed'],
): string {
  const name = `Access review ${campaignId}`;
  if (closed?.reason === 'completed') return `${name} is closed: every grant has a decision.`;
  if (closed?.reason === 'window_closed') {
    return `${name} closed when its window ended; ${undecided} of ${total} grants got no decision.`;
  }
  return `${name}: ${undecided} of ${plural(total, 'grant')} wait for your keep-or-revoke decision, due ${due.plain}.`;
}

interface FormattedDate {
  /** Slack's date token: shown in the reader's own time zone, with a UTC fallback. */
  mrkdwn: string;
  plain: string;
}

function formatDate(iso: string, what: string): FormattedDate {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) throw new ReviewMessageError(`${what} is not a date: ${JSON.stringify(iso)}`);
  const plain = `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  // https://docs.slack.dev/messaging/formatting-message-text#date-formatting
  return { mrkdwn: `<!date^${Math.floor(time / 1000)}^{date_short_pretty} at {time}|${plain}>`, plain };
}

function validateInput(input: ReviewMessageInput): void {
  validateCampaignId(input.campaignId);
  const seen = new Set<string>();
  for (const { grant } of input.items) {
    if (!GRANT_ID_PATTERN.test(grant.grantId)) {
      throw new ReviewMessageError(`grant id ${JSON.stringify(grant.grantId)} is not a grant id`);
    }
    // Two items with one grant would give two buttons with one action_id.
    if (seen.has(grant.grantId)) throw new ReviewMessageError(`grant ${grant.grantId} is listed twice`);
    seen.add(grant.grantId);
  }
  for (const { grant, decision } of input.items) {
    if (decision) formatDate(decision.decidedAt, `decidedAt of ${grant.grantId}`);
  }
}

function validatePage(page: ReviewPage): void {
  validateCampaignId(page.campaignId);
  const seen = new Set<string>();
  for (const row of page.rows) {
    if (!GRANT_ID_PATTERN.test(row.grantId)) {
      throw new ReviewMessageError(`grant id ${JSON.stringify(row.grantId)} is not a grant id`);
    }
    if (seen.has(row.grantId)) throw new ReviewMessageError(`grant ${row.grantId} is listed twice`);
    seen.add(row.grantId);
  }
  if (page.nextAfter !== undefined && !GRANT_ID_PATTERN.test(page.nextAfter)) {
    throw new ReviewMessageError(`nextAfter ${JSON.stringify(page.nextAfter)} is not a grant id`);
  }
  for (const [name, value] of [
    ['total', page.total],
    ['kept', page.kept],
    ['revoked', page.revoked],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ReviewMessageError(`${name} is not a count: ${JSON.stringify(value)}`);
    }
  }
}

function validateCampaignId(campaignId: string): void {
  if (!CAMPAIGN_ID_PATTERN.test(campaignId)) {
    throw new ReviewMessageError(
      `campaign id ${JSON.stringify(campaignId)} cannot be carried in a button value`,
    );
  }
  // The longest reason value must fit an option value; campaign ids are 16 characters in practice.
  const longest = Math.max(
    ...REASON_CODES.map((code) => reasonValueFor(campaignId, `g_${'0'.repeat(32)}`, code).length),
  );
  if (longest > OPTION_VALUE_MAX) {
    throw new ReviewMessageError(
      `campaign id ${JSON.stringify(campaignId)} is too long to be carried in a reason menu option (${longest} > ${OPTION_VALUE_MAX} characters)`,
    );
  }
}

/** mrkdwn treats &, < and > as control characters (https://docs.slack.dev/messaging/formatting-message-text#escaping). */
function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Cuts to `max` characters without leaving half of an `&amp;` escape at the end. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
