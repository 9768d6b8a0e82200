import { createHash } from 'node:crypto';
import type {
  ActionsBlock,
  Button,
  ContextBlock,
  HeaderBlock,
  KnownBlock,
  Overflow,
  SectionBlock,
  StaticSelect,
} from '@slack/types';
import { type AccessReviewConfig, JUSTIFIED_GRANT_CLASSES, type JustifiedGrantClass } from '../core/config';
import { downgradeOptions } from '../core/downgrade';
import { AccessReviewError, MalformedRequestError } from '../core/errors';
import { describeVia, type Grant } from '../core/grant';
import type { GrantContext } from '../core/grant-context';
import {
  describeAllows,
  describeDetails,
  describeFlags,
  describeKind,
  describePrincipal,
  describeResource,
  describeRevokeEffect,
} from '../core/grant-kinds';
import { describeJustificationReasons, justificationReasons } from '../core/justification';
import { prototypeKeyPaths, UnsafeRecordError } from '../core/records';
import type { DecisionValue } from '../store/decisions';
import type { StoredGrant } from '../store/grants';

/**
 * The review DM: one message per reviewer, grants grouped under a line per resource, one decision
 * per grant: Keep (or "Keep…" with a written reason, for grants the configuration says need one),
 * Revoke, Downgrade where the source can lower the access, a reason from the "…" menu, or "Hand
 * over…" to someone else; and for the whole task "Keep all remaining" (confirmed) and "Hand over
 * all…". Pure functions; the listeners and the RequestReview handler post and update what these
 * return.
 *
 * What a button or a menu option carries is public: Slack shows it to the client and sends it
 * back in every click, so `value` holds the campaign and grant ids (and a reason code or the
 * entitlement to downgrade to) and nothing else (task tokens stay in the table).
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

/**
 * The grant as the message draws it: the grant, and from the table its context (what the last
 * review decided, when the principal was last active) and who decides it now when it was handed over.
 */
export type ReviewGrant = Grant & Partial<Pick<StoredGrant, 'context' | 'assignee' | 'assignedBy'>>;

/** What a grant's decision shows on its outcome line. */
export interface ShownDecision {
  decision: Decision;
  decidedAt: string;
  justification?: string;
  downgradeTo?: string;
  /** Login of who decided, when not the task's reviewer. */
  decidedBy?: string;
  /** Taken by "Keep all remaining". */
  bulk?: boolean;
}

export interface ReviewItem {
  grant: ReviewGrant;
  routingReason: string;
  /** `justification`, when given, is shown on the decided line. */
  decision?: ShownDecision;
}

/**
 * What the message needs from the configuration to draw a grant's buttons: which grants need a
 * written reason to be kept (functions/core/justification.ts), and what a grant can be downgraded
 * to at its source (functions/core/downgrade.ts; empty: no downgrade is offered).
 */
export interface ReviewPolicy {
  justificationRequiredFor: readonly JustifiedGrantClass[];
  downgradeOptions(grant: Grant): string[];
}

export interface ReviewMessageInput {
  campaignId: string;
  reviewerLogin: string;
  /** ISO 8601. */
  dueAt: string;
  items: ReviewItem[];
  closed?: { reason: 'completed' | 'window_closed' | 'cancelled' };
  /** Default: every class needs a reason (the configuration's default), no downgrade offered. */
  policy?: ReviewPolicy;
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
/** "Keep…" on a grant that needs a written reason: opens the justification modal. */
export const REVIEW_JUSTIFY_ACTION_ID_PATTERN = /^review_justify:(g_[0-9a-f]{32})$/;
/** The downgrade menu of a grant; the chosen option names the entitlement. */
export const REVIEW_DOWNGRADE_ACTION_ID_PATTERN = /^review_downgrade:(g_[0-9a-f]{32})$/;
/** "Hand over…" on a grant: opens the delegation modal. */
export const REVIEW_DELEGATE_ACTION_ID_PATTERN = /^review_delegate:(g_[0-9a-f]{32})$/;
/** "Keep all remaining" and "Hand over all…" carry the campaign id. */
export const REVIEW_KEEP_ALL_ACTION_ID_PATTERN = /^review_keep_all:([A-Za-z0-9][A-Za-z0-9._:+-]{0,127})$/;
export const REVIEW_DELEGATE_ALL_ACTION_ID_PATTERN =
  /^review_delegate_all:([A-Za-z0-9][A-Za-z0-9._:+-]{0,127})$/;
/**
 * Every action id the review message carries, by prefix: what the request checks route to the
 * review listeners (functions/slack/request-check.ts). The listeners then read the exact shape.
 */
export const REVIEW_ACTION_PREFIXES = [
  'review_keep:',
  'review_revoke:',
  'review_reason:',
  'review_justify:',
  'review_downgrade:',
  'review_delegate:',
  'review_keep_all:',
  'review_delegate_all:',
] as const;

export function isReviewActionId(actionId: string): boolean {
  return REVIEW_ACTION_PREFIXES.some((prefix) => actionId.startsWith(prefix));
}

const GRANT_ID_PATTERN = /^g_[0-9a-f]{32}$/;
/**
 * Campaign ids travel in button values and in table keys: letters, digits and `._:+-`, no `#`
 * (the table's key separator), at most 128 characters so the header stays under Slack's 150.
 */
const CAMPAIGN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

export function isGrantId(value: unknown): value is string {
  return typeof value === 'string' && GRANT_ID_PATTERN.test(value);
}

export function isCampaignId(value: unknown): value is string {
  return typeof value === 'string' && CAMPAIGN_ID_PATTERN.test(value);
}

/** An entitlement as a downgrade option carries it: a role or permission name, no punctuation games. */
const ENTITLEMENT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/;

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

/** Which grant a per-grant action (justify, downgrade, delegate) is about, from its action id. */
export function parseGrantActionId(
  actionId: string,
  kind: 'justify' | 'downgrade' | 'delegate',
): { grantId: string } {
  const pattern = {
    justify: REVIEW_JUSTIFY_ACTION_ID_PATTERN,
    downgrade: REVIEW_DOWNGRADE_ACTION_ID_PATTERN,
    delegate: REVIEW_DELEGATE_ACTION_ID_PATTERN,
  }[kind];
  const match = pattern.exec(actionId);
  if (!match) {
    throw new MalformedRequestError(
      `action_id ${JSON.stringify(actionId.slice(0, 300))} is not a review ${kind} action`,
    );
  }
  return { grantId: match[1] as string };
}

/** Which campaign a whole-task action (keep all, hand over all) is about, from its action id. */
export function parseCampaignActionId(
  actionId: string,
  kind: 'keep_all' | 'delegate_all',
): { campaignId: string } {
  const pattern =
    kind === 'keep_all' ? REVIEW_KEEP_ALL_ACTION_ID_PATTERN : REVIEW_DELEGATE_ALL_ACTION_ID_PATTERN;
  const match = pattern.exec(actionId);
  if (!match) {
    throw new MalformedRequestError(
      `action_id ${JSON.stringify(actionId.slice(0, 300))} is not a review ${kind.replace('_', ' ')} action`,
    );
  }
  return { campaignId: match[1] as string };
}

export function justifyActionIdFor(grantId: string): string {
  return `review_justify:${grantId}`;
}
export function downgradeActionIdFor(grantId: string): string {
  return `review_downgrade:${grantId}`;
}
export function delegateActionIdFor(grantId: string): string {
  return `review_delegate:${grantId}`;
}
export function keepAllActionIdFor(campaignId: string): string {
  return `review_keep_all:${campaignId}`;
}
export function delegateAllActionIdFor(campaignId: string): string {
  return `review_delegate_all:${campaignId}`;
}

/** `{"c":campaignId}`: what a whole-task button carries (the action id names the campaign too). */
export function campaignValueFor(campaignId: string): string {
  return JSON.stringify({ c: campaignId });
}

/** Reads a whole-task button value back; anything campaignValueFor did not write is refused. */
export function parseCampaignValue(value: string): { campaignId: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new MalformedRequestError('button value is not JSON', { cause: error });
  }
  const c = (parsed as { c?: unknown } | null)?.c;
  if (!isCampaignId(c) || campaignValueFor(c) !== value) {
    throw new MalformedRequestError('button value is not a campaign value in canonical form');
  }
  return { campaignId: c };
}

/** `{"c":campaignId,"d":entitlement,"g":grantId}`: a downgrade option's value, at most 150 characters. */
export function downgradeValueFor(campaignId: string, grantId: string, to: string): string {
  return JSON.stringify({ c: campaignId, d: to, g: grantId });
}

/** Reads a downgrade option's value back; anything downgradeValueFor did not write is refused. */
export function parseDowngradeValue(value: string): { campaignId: string; grantId: string; to: string } {
  if (value.length > OPTION_VALUE_MAX) {
    throw new MalformedRequestError(`option value is longer than ${OPTION_VALUE_MAX} characters`);
  }
  const { c, g, d } = parseCompactValue(value, 'option value', ['c', 'd', 'g']);
  if (!ENTITLEMENT_PATTERN.test(d))
    throw new MalformedRequestError('option value holds no valid entitlement');
  if (downgradeValueFor(c, g, d) !== value) {
    throw new MalformedRequestError('option value is not in canonical form');
  }
  return { campaignId: c, grantId: g, to: d };
}

/**
 * The checks both values share: a JSON object with exactly `keys`, all strings, `c` a campaign id
 * and `g` a grant id. The callers then require the canonical form (byte-for-byte round trip).
 */
function parseCompactValue<K extends 'c' | 'g' | 'r' | 'd'>(
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

/** Every class needs a reason (the configuration's default); downgrades as the source allows. */
export const DEFAULT_REVIEW_POLICY: ReviewPolicy = {
  justificationRequiredFor: JUSTIFIED_GRANT_CLASSES,
  downgradeOptions,
};

/** The policy the configuration sets: the one every message and every click check use. */
export function reviewPolicy(config: Pick<AccessReviewConfig, 'review'>): ReviewPolicy {
  return { justificationRequiredFor: config.review.justificationRequiredFor, downgradeOptions };
}

export function buildReviewMessage(input: ReviewMessageInput): ReviewMessage {
  validateInput(input);
  const { campaignId, items, closed } = input;
  const policy = input.policy ?? DEFAULT_REVIEW_POLICY;
  const bulk = closed ? undefined : bulkCounts(items, input.reviewerLogin, policy);
  const listed = chooseListed(items, fixedBlocks(Boolean(closed), bulk));
  const rows: PageRow[] = [];
  items.forEach((item, index) => {
    if (listed.has(index)) rows.push(pageRowFor(item, input.reviewerLogin, policy));
  });
  const hiddenOpen = items.filter((item, index) => !item.decision && !listed.has(index)).length;
  const listedIds = rows.map((row) => row.grantId).sort();
  const count = (decision: Decision) => items.filter((item) => item.decision?.decision === decision).length;
  return drawReviewPage({
    campaignId,
    reviewerLogin: input.reviewerLogin,
    dueAt: input.dueAt,
    total: items.length,
    kept: count('keep'),
    revoked: count('revoke'),
    downgraded: count('downgrade'),
    rows: groupByResource(rows),
    policy,
    ...(bulk ? { bulk } : {}),
    // The open grants listed are the first ones in task order (grant id): the rest come after the last.
    ...(hiddenOpen > 0 ? { nextAfter: listedIds.at(-1) } : {}),
    ...(closed ? { closed } : {}),
  });
}

/**
 * The grants "Keep all remaining" would keep (open, not handed over, no reason needed) and those it
 * leaves open because they need a reason: what its confirmation says.
 */
function bulkCounts(items: ReviewItem[], reviewerLogin: string, policy: ReviewPolicy): BulkCounts {
  const counts = { keepable: 0, needReason: 0 };
  for (const { grant, decision } of items) {
    if (decision || handedOverFrom(grant, reviewerLogin)) continue;
    if (justificationReasons(grant, policy.justificationRequiredFor).length > 0) counts.needReason += 1;
    else counts.keepable += 1;
  }
  return counts;
}

/** True when the grant was handed to someone other than the reader of this message. */
function handedOverFrom(grant: ReviewGrant, reviewerLogin: string): boolean {
  return grant.assignee !== undefined && grant.assignee.toLowerCase() !== reviewerLogin.toLowerCase();
}

/** A grant drawn afresh as a row of a page (its resource line, its section and, while open, its buttons). */
export function pageRowFor(item: ReviewItem, reviewerLogin: string, policy: ReviewPolicy): PageRow {
  return {
    grantId: item.grant.grantId,
    section: grantSection(item, policy),
    grant: item.grant,
    group: resourceGroupId(item.grant),
    groupHeader: resourceHeader(item.grant),
    ...(handedOverFrom(item.grant, reviewerLogin) ? { handedOver: true } : {}),
    ...(item.decision ? { decision: item.decision } : {}),
  };
}

/**
 * Rows in groups of one resource each, the groups in the order their first row comes, the rows of
 * a group in their own order: a resource line is drawn once above its grants.
 */
export function groupByResource(rows: PageRow[]): PageRow[] {
  const groups = new Map<string, PageRow[]>();
  for (const row of rows) {
    const list = groups.get(row.group);
    if (list) list.push(row);
    else groups.set(row.group, [row]);
  }
  return [...groups.values()].flat();
}

/**
 * One listed grant of a page. A page drawn from the table builds every block; a page redrawn
 * after a click keeps the blocks Slack sent back in the click (`section`, `shown`, `groupHeader`)
 * and changes only what the click decided.
 */
export interface PageRow {
  grantId: string;
  /** The grant's section block. */
  section: KnownBlock;
  /** The block_id of the resource line the row is drawn under (rows of one resource share it). */
  group: string;
  /** The resource line itself. */
  groupHeader: KnownBlock;
  /** The grant, to draw its buttons (absent when redrawing: `shown` holds them). */
  grant?: ReviewGrant;
  /** Its decision, when known: drawn as the outcome line. */
  decision?: ShownDecision;
  /** The block drawn under the section (buttons, or the outcome line), kept when nothing changed. */
  shown?: KnownBlock;
  /** What `shown` says was decided (read from its block_id), for the counts. */
  shownDecision?: Decision;
  /** The grant was handed to someone else: this message shows who, and no buttons. */
  handedOver?: boolean;
  /** `shown` offered "Keep…" (a reason needed): what "Keep all remaining" leaves open. */
  needsReason?: boolean;
}

/** What "Keep all remaining" would keep now, and what it leaves for a reason. */
export interface BulkCounts {
  keepable: number;
  needReason: number;
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
  downgraded?: number;
  rows: PageRow[];
  /** How rows drawn afresh get their buttons. */
  policy?: ReviewPolicy;
  /** The whole-task buttons, drawn while the review is open and these are known. */
  bulk?: BulkCounts;
  /**
   * In task order (grant id), the grant after which the open grants not listed start; set only
   * when some are not listed. The next page is read from there once every listed grant is decided.
   */
  nextAfter?: string;
  closed?: ReviewMessageInput['closed'];
}

/**
 * The message for a page. The counts say how many grants the task has and how many are decided;
 * the rows are what is listed, under a line per resource. Both a first draw and a redraw after a
 * click go through here.
 */
export function drawReviewPage(page: ReviewPage): ReviewMessage {
  validatePage(page);
  const { campaignId, rows, closed } = page;
  const policy = page.policy ?? DEFAULT_REVIEW_POLICY;
  const due = formatDate(page.dueAt, 'dueAt');
  const downgraded = page.downgraded ?? 0;
  const undecided = Math.max(0, page.total - page.kept - page.revoked - downgraded);
  const blocks: KnownBlock[] = [header(campaignId), intro(page.total, undecided, due, closed)];
  const bulk = !closed && undecided > 0 ? page.bulk : undefined;
  if (bulk) blocks.push(bulkActions(campaignId, bulk));
  const listed = { open: 0, keep: 0, revoke: 0, downgrade: 0 };
  let group: string | undefined;
  for (const row of rows) {
    if (row.group !== group) {
      blocks.push(row.groupHeader);
      group = row.group;
    }
    blocks.push(row.section);
    const decided = row.decision?.decision ?? row.shownDecision;
    if (decided) listed[decided] += 1;
    else listed.open += 1;
    if (row.decision) blocks.push(outcomeLine(row.grantId, row.decision, closed));
    else if (row.shownDecision && row.shown) blocks.push(row.shown);
    else if (closed) blocks.push(outcomeLine(row.grantId, undefined, closed));
    else if (row.handedOver && row.grant) blocks.push(handedOverLine(row.grant));
    else if (row.grant) blocks.push(decisionButtons(campaignId, row.grant, policy));
    else if (row.shown) blocks.push(row.shown);
    else throw new ReviewMessageError(`grant ${row.grantId} has neither its buttons nor a decision to draw`);
  }
  const summary = hiddenSummary(
    {
      waiting: Math.max(0, undecided - listed.open),
      kept: Math.max(0, page.kept - listed.keep),
      revoked: Math.max(0, page.revoked - listed.revoke),
      downgraded: Math.max(0, downgraded - listed.downgrade),
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

/**
 * Blocks a page draws besides its rows and their resource lines: header, intro, the whole-task
 * buttons while open, the closing line when closed, and one kept for the summary of what is not listed.
 */
export function fixedBlocks(closed: boolean, bulk: BulkCounts | undefined): number {
  return 2 + (closed ? 1 : 0) + (bulk ? 1 : 0) + 1;
}

/** How many grants a page could list at most: two blocks each, under one resource line. */
export function pageCapacity(closed: boolean): number {
  return Math.floor(
    (MAX_MESSAGE_BLOCKS - fixedBlocks(closed, closed ? undefined : { keepable: 0, needReason: 0 }) - 1) / 2,
  );
}

/**
 * How many of `groups` (the resource of each candidate row, in the order they are listed) fit in
 * `room` blocks: two per row, and one more for each resource not seen yet.
 */
export function rowsThatFit(groups: readonly string[], room: number): number {
  const seen = new Set<string>();
  let used = 0;
  for (let index = 0; index < groups.length; index++) {
    const group = groups[index] as string;
    const cost = 2 + (seen.has(group) ? 0 : 1);
    if (used + cost > room) return index;
    used += cost;
    seen.add(group);
  }
  return groups.length;
}

/**
 * The listed rows of a review message as Slack sends it back in a click (`body.message.blocks`),
 * where the grants not listed yet start, and the whole-task counts. Undefined when the blocks are
 * not a review message this module drew (nothing is guessed).
 */
export function readReviewPage(
  blocks: unknown,
): { rows: PageRow[]; nextAfter?: string; closed: boolean; bulk?: BulkCounts } | undefined {
  if (!Array.isArray(blocks) || blocks.length > MAX_MESSAGE_BLOCKS) return undefined;
  const rows: PageRow[] = [];
  let nextAfter: string | undefined;
  let closed = false;
  let bulk: BulkCounts | undefined;
  let groupHeader: KnownBlock | undefined;
  let group: string | undefined;
  for (let index = 0; index < blocks.length; index++) {
    const block: unknown = blocks[index];
    if (typeof block !== 'object' || block === null) return undefined;
    const { type, block_id: blockId } = block as { type?: unknown; block_id?: unknown };
    if (typeof blockId !== 'string') continue;
    if (blockId.startsWith('closed:')) closed = true;
    const summary = /^summary:\d+:\d+:\d+(?::\d+)?(?::after:(g_[0-9a-f]{32}))?$/.exec(blockId);
    if (summary) nextAfter = summary[1];
    const counts = /^bulk:(\d+):(\d+)$/.exec(blockId);
    if (counts) bulk = { keepable: Number(counts[1]), needReason: Number(counts[2]) };
    if (/^res:[0-9a-f]{16}$/.test(blockId)) {
      groupHeader = block as KnownBlock;
      group = blockId;
      continue;
    }
    const grant = /^grant:(g_[0-9a-f]{32})$/.exec(blockId);
    if (!grant) continue;
    if (type !== 'section' || !groupHeader || !group) return undefined;
    const grantId = grant[1] as string;
    const below: unknown = blocks[index + 1];
    const belowId =
      typeof below === 'object' && below !== null ? (below as { block_id?: unknown }).block_id : undefined;
    if (typeof belowId !== 'string') return undefined;
    const row: PageRow = {
      grantId,
      section: block as KnownBlock,
      shown: below as KnownBlock,
      group,
      groupHeader,
    };
    const outcome = /^outcome:(g_[0-9a-f]{32}):(keep|revoke|downgrade|none)$/.exec(belowId);
    if (outcome?.[1] === grantId) {
      if (outcome[2] !== 'none') row.shownDecision = outcome[2] as Decision;
    } else if (belowId === `handed:${grantId}`) {
      row.handedOver = true;
    } else if (belowId === `decide:${grantId}`) {
      if (JSON.stringify(below).includes(`"${justifyActionIdFor(grantId)}"`)) row.needsReason = true;
    } else {
      return undefined;
    }
    rows.push(row);
    index += 1;
  }
  if (new Set(rows.map((row) => row.grantId)).size !== rows.length) return undefined;
  return { rows, closed, ...(nextAfter ? { nextAfter } : {}), ...(bulk ? { bulk } : {}) };
}

/**
 * Which grants get their own two blocks (and their resource line). All of them when they fit;
 * otherwise the open ones first (they are what the reviewer has to act on: the first ones in task
 * order, so the next page starts after the last), then the most recently decided ones, with one
 * block kept for the summary of the rest. Listed grants keep their original order so a grant does
 * not jump around when it is decided.
 */
function chooseListed(items: ReviewItem[], fixed: number): Set<number> {
  const all = items.map((item) => resourceGroupId(item.grant));
  // `fixed` keeps a block for the summary, which is not drawn when everything is listed.
  if (rowsThatFit(all, MAX_MESSAGE_BLOCKS - fixed + 1) === items.length) {
    return new Set(items.map((_, index) => index));
  }
  const open = items
    .flatMap((item, index) => (item.decision ? [] : [{ index, grantId: item.grant.grantId }]))
    .sort((a, b) => (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0))
    .map(({ index }) => index);
  const decided = items
    .flatMap((item, index) => (item.decision ? [{ index, at: Date.parse(item.decision.decidedAt) }] : []))
    .sort((a, b) => b.at - a.at || a.index - b.index)
    .map(({ index }) => index);
  const order = [...open, ...decided];
  const fit = rowsThatFit(
    order.map((index) => all[index] as string),
    MAX_MESSAGE_BLOCKS - fixed,
  );
  return new Set(order.slice(0, fit));
}

/** `res:` and 16 hex digits of the resource's hash: one block id per resource, whatever its name's length. */
export function resourceGroupId(grant: Pick<Grant, 'connector' | 'resourceType' | 'resource'>): string {
  const name = `${grant.connector}\u0000${grant.resourceType}\u0000${grant.resource}`;
  return `res:${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/** The line above a resource's grants: what the resource is, in the reviewer's words. */
function resourceHeader(grant: Grant): SectionBlock {
  const name =
    grant.connector === 'github'
      ? `${grant.resourceType.replaceAll('_', ' ')} *${escapeMrkdwn(grant.resource)}*`
      : `*${escapeMrkdwn(describeResource(grant))}*`;
  return {
    type: 'section',
    block_id: resourceGroupId(grant),
    text: { type: 'mrkdwn', text: truncate(`:file_folder: ${name}`, SECTION_TEXT_MAX) },
  };
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
    'Each grant is decided on its own. *Keep* records that the access is still needed; where a grant ' +
      'says a reason is needed, *Keep…* asks you for it in writing. ' +
      '*Revoke* removes the access at its source (where it was granted, shown under each grant) ' +
      'and then reads the source again to confirm it is gone; *Downgrade*, where offered, lowers it instead. ' +
      'The *…* menu records a decision with a reason, kept in the audit evidence. ' +
      '*Hand over…* asks someone else to decide.',
  ];
  if (!closed) {
    lines.push(
      undecided === 0
        ? 'Every grant has a decision; nothing is left to do here.'
        : `${plural(undecided, 'grant')} still ${undecided === 1 ? 'waits' : 'wait'} for a decision.`,
    );
  }
  return { type: 'section', block_id: 'intro', text: { type: 'mrkdwn', text: lines.join('\n') } };
}

/**
 * "Keep all remaining" (confirmed: it says how many it keeps and how many stay open for a reason)
 * and "Hand over all…". The block id carries the counts so a redraw after a click can say them
 * again without reading the task's grants.
 */
function bulkActions(campaignId: string, bulk: BulkCounts): ActionsBlock {
  const { keepable, needReason } = bulk;
  const elements: Button[] = [];
  if (keepable > 0) {
    const stayOpen =
      needReason > 0
        ? ` ${plural(needReason, 'grant')} that ${needReason === 1 ? 'needs' : 'need'} a reason ${needReason === 1 ? 'stays' : 'stay'} open.`
        : '';
    elements.push({
      type: 'button',
      action_id: keepAllActionIdFor(campaignId),
      text: { type: 'plain_text', text: `Keep all remaining (${keepable})`, emoji: true },
      value: campaignValueFor(campaignId),
      confirm: {
        title: { type: 'plain_text', text: 'Keep all remaining?' },
        text: {
          type: 'plain_text',
          text: truncate(
            `Keep the ${plural(keepable, 'remaining grant')}?${stayOpen} Each is recorded as your Keep decision.`,
            CONFIRM_TEXT_MAX,
          ),
        },
        confirm: { type: 'plain_text', text: `Keep ${keepable}` },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    });
  }
  elements.push({
    type: 'button',
    action_id: delegateAllActionIdFor(campaignId),
    text: { type: 'plain_text', text: 'Hand over all…', emoji: true },
    value: campaignValueFor(campaignId),
  });
  return { type: 'actions', block_id: `bulk:${keepable}:${needReason}`, elements };
}

function grantSection(item: ReviewItem, policy: ReviewPolicy): SectionBlock {
  const { grant } = item;
  const reasonNeeded = reasonNeededLine(grant, policy);
  const who = `*${escapeMrkdwn(describePrincipal(grant))}*`;
  const how = [describeVia(grant.via)];
  if (grant.raw.outsideCollaborator === true && !grant.flags.includes('outside_collaborator')) {
    how.push('outside collaborator');
  }
  const flags = describeFlags(grant);
  const context = describeContext(grant.context);
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
    ...(context ? [`Context: ${escapeMrkdwn(context)}`] : []),
    ...(reasonNeeded ? [`:memo: ${escapeMrkdwn(reasonNeeded)}`] : []),
    `Why you: ${escapeMrkdwn(truncate(item.routingReason, ROUTING_REASON_MAX))}`,
  ].join('\n');
  return {
    type: 'section',
    block_id: `grant:${grant.grantId}`,
    text: { type: 'mrkdwn', text: truncate(text, SECTION_TEXT_MAX) },
  };
}

/**
 * The grant's context in one line: "new since the last review", or what the last review decided
 * and who ("kept by bob on 2026-09-02"), and when the principal was last active where the source
 * says ("last active 2026-11-20 (GitHub audit log)"). Undefined when nothing is known.
 */
export function describeContext(context: GrantContext | undefined): string | undefined {
  if (!context) return undefined;
  const parts: string[] = [];
  if (context.newSinceLastCampaign) {
    parts.push('new since the last review');
  } else if (context.lastDecision) {
    const verb = { keep: 'kept', revoke: 'revoke requested', downgrade: 'downgrade requested' }[
      context.lastDecision
    ];
    const by = context.lastDecidedBy ? ` by ${context.lastDecidedBy}` : '';
    const on = dayOf(context.lastDecidedAt);
    parts.push(`${verb}${by}${on ? ` on ${on}` : ''} in the last review`);
  } else if (context.lastCampaignId) {
    parts.push('in the last review, without a decision');
  }
  const active = dayOf(context.lastActiveAt);
  if (active) {
    parts.push(`last active ${active}${context.lastActiveSource ? ` (${context.lastActiveSource})` : ''}`);
  } else if (context.lastActiveSource) {
    parts.push(`no activity recorded (${context.lastActiveSource})`);
  }
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** `2026-09-02` of an ISO time; undefined when it is not one. */
function dayOf(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const time = Date.parse(iso);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString().slice(0, 10);
}

/** What a revoke will do at the source, said plainly: removing a membership is more than a role. */
export function revocationEffect(grant: Grant): string {
  return describeRevokeEffect(grant);
}

function decisionButtons(campaignId: string, grant: Grant, policy: ReviewPolicy): ActionsBlock {
  const value = buttonValueFor(campaignId, grant.grantId);
  const reasons = justificationReasons(grant, policy.justificationRequiredFor);
  // A grant that needs a reason is kept only through the modal, which asks for it.
  const keep: Button =
    reasons.length > 0
      ? {
          type: 'button',
          action_id: justifyActionIdFor(grant.grantId),
          text: { type: 'plain_text', text: 'Keep…', emoji: true },
          value,
        }
      : {
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
  const downgrade = downgradeMenu(campaignId, grant, policy.downgradeOptions(grant));
  const delegate: Button = {
    type: 'button',
    action_id: delegateActionIdFor(grant.grantId),
    text: { type: 'plain_text', text: 'Hand over…', emoji: true },
    value,
  };
  // Keep is not styled `primary` on purpose: the message should not nudge towards keeping access.
  return {
    type: 'actions',
    block_id: `decide:${grant.grantId}`,
    elements: [
      keep,
      revoke,
      ...(downgrade ? [downgrade] : []),
      delegate,
      reasonMenu(campaignId, grant, reasons.length > 0),
    ],
  };
}

/** Shown under the grant in the section: why a Keep needs a reason here. */
function reasonNeededLine(grant: Grant, policy: ReviewPolicy): string | undefined {
  const reasons = justificationReasons(grant, policy.justificationRequiredFor);
  return reasons.length > 0
    ? `Keeping this needs a written reason (${describeJustificationReasons(reasons)}).`
    : undefined;
}

/**
 * "Downgrade to…": the entitlements the source can lower this grant to, each option confirmed
 * with what it does. Absent when there are none (the source cannot, or the grant is already lowest).
 */
function downgradeMenu(campaignId: string, grant: Grant, options: string[]): StaticSelect | undefined {
  const valid = options
    .filter(
      (to) =>
        ENTITLEMENT_PATTERN.test(to) &&
        to !== grant.entitlement &&
        downgradeValueFor(campaignId, grant.grantId, to).length <= OPTION_VALUE_MAX,
    )
    .slice(0, 100);
  if (valid.length === 0) return undefined;
  return {
    type: 'static_select',
    action_id: downgradeActionIdFor(grant.grantId),
    placeholder: { type: 'plain_text', text: 'Downgrade to…', emoji: true },
    options: valid.map((to) => ({
      text: { type: 'plain_text', text: truncate(`Downgrade to ${to}`, 75), emoji: true },
      value: downgradeValueFor(campaignId, grant.grantId, to),
    })),
    confirm: {
      title: { type: 'plain_text', text: 'Downgrade this access?' },
      text: {
        type: 'plain_text',
        text: truncate(
          `${grant.principal} keeps access to ${grant.resource} with the entitlement you chose instead of ${grant.entitlement}. The source is then read again to confirm the change.`,
          CONFIRM_TEXT_MAX,
        ),
      },
      confirm: { type: 'plain_text', text: 'Downgrade' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

/**
 * The "…" menu: decisions with a reason, recorded as the justification. A grant that needs a
 * written reason gets only the Revoke reasons (a ready-made Keep reason would stand in for the
 * written one). The dialog after a choice says what a revoke would do, as the Revoke button's
 * dialog does (an overflow has one dialog for all of its options).
 */
function reasonMenu(campaignId: string, grant: Grant, revokeOnly: boolean): Overflow {
  const codes = REASON_CODES.filter((code) => !revokeOnly || decisionOfReason(code) === 'revoke');
  return {
    type: 'overflow',
    action_id: reasonActionIdFor(grant.grantId),
    options: codes.map((code) => ({
      text: { type: 'plain_text', text: REASONS[code], emoji: true },
      value: reasonValueFor(campaignId, grant.grantId, code),
    })),
    confirm: {
      title: { type: 'plain_text', text: 'Record this decision?' },
      text: {
        type: 'plain_text',
        text: truncate(
          revokeOnly
            ? `A Revoke reason: ${revocationEffect(grant)}`
            : `A Keep reason records that the access stays. A Revoke reason: ${revocationEffect(grant)}`,
          CONFIRM_TEXT_MAX,
        ),
      },
      confirm: { type: 'plain_text', text: 'Record' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

function handedOverLine(grant: ReviewGrant): ContextBlock {
  const how = grant.assignedBy === 'escalation' ? 'moved by escalation' : 'handed over';
  return {
    type: 'context',
    block_id: `handed:${grant.grantId}`,
    elements: [
      {
        type: 'mrkdwn',
        text: `↪ ${how === 'handed over' ? 'Handed over' : 'Moved by escalation'} to *${escapeMrkdwn(grant.assignee ?? '')}*: they decide it now.`,
      },
    ],
  };
}

function outcomeLine(
  grantId: string,
  decision: ShownDecision | undefined,
  closed: ReviewMessageInput['closed'],
): ContextBlock {
  let text: string;
  if (decision) {
    const at = formatDate(decision.decidedAt, `decidedAt of ${grantId}`).mrkdwn;
    const by = decision.decidedBy ? ` by ${escapeMrkdwn(decision.decidedBy)}` : '';
    if (decision.decision === 'keep')
      text = `✅ Kept${by} at ${at}${decision.bulk ? ' (Keep all remaining)' : ''}`;
    else if (decision.decision === 'downgrade') {
      text = `⬇️ Downgrade to *${escapeMrkdwn(decision.downgradeTo ?? '?')}* requested${by} at ${at}`;
    } else text = `❌ Revoke requested${by} at ${at}`;
    if (decision.justification) {
      text += `. Reason: ${escapeMrkdwn(truncate(decision.justification, JUSTIFICATION_SHOWN_MAX))}`;
    }
  } else {
    text =
      closed?.reason === 'window_closed'
        ? '⏹ No decision: the review window closed'
        : closed?.reason === 'cancelled'
          ? '⏹ No decision: the review was cancelled'
          : '⏹ No decision';
  }
  // A new block_id for a new state: Slack asks for one per "iteration of a message".
  return {
    type: 'context',
    block_id: `outcome:${grantId}:${decision?.decision ?? 'none'}`,
    elements: [{ type: 'mrkdwn', text }],
  };
}

function hiddenSummary(
  hidden: { waiting: number; kept: number; revoked: number; downgraded: number },
  closed: ReviewMessageInput['closed'],
  nextAfter: string | undefined,
): ContextBlock | undefined {
  const { waiting, kept, revoked, downgraded } = hidden;
  if (waiting + kept + revoked + downgraded === 0) return undefined;
  const changed = `${revoked} revoke requested${downgraded > 0 ? `, ${downgraded} downgrade requested` : ''}`;
  const parts: string[] = [];
  if (closed) {
    parts.push(
      `${plural(waiting + kept + revoked + downgraded, 'more grant')} not listed here: ${kept} kept, ${changed}, ${waiting} without a decision.`,
    );
  } else {
    if (kept + revoked + downgraded > 0) {
      parts.push(
        `Already decided and not listed: ✅ ${kept} kept, ❌ ${revoked} revoke requested${downgraded > 0 ? `, ⬇️ ${downgraded} downgrade requested` : ''}.`,
      );
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
    block_id: `summary:${waiting}:${kept}:${revoked}:${downgraded}${nextAfter && waiting > 0 ? `:after:${nextAfter}` : ''}`,
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
      : closed.reason === 'cancelled'
        ? `🔒 This review was cancelled by the security team. ${plural(undecided, 'grant')} got no decision here; nothing more can be decided in this message, and nothing is revoked.`
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
  if (closed?.reason === 'cancelled')
    return `${name} was cancelled; ${undecided} of ${total} grants got no decision.`;
  return `${name}: ${undecided} of ${plural(total, 'grant')} wait for your decision, due ${due.plain}.`;
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
export function escapeMrkdwn(text: string): string {
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
