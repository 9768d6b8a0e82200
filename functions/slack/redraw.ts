import { justificationReasons } from '../core/justification';
import type { Services } from '../runtime/services';
import { byResourceThenPrincipal } from '../steps/review-task';
import type { Decision } from '../store/decisions';
import type { ReviewTask } from '../store/tasks';
import type { ReviewPage } from './blocks';
import {
  type BulkCounts,
  drawReviewPage,
  fixedBlocks,
  groupByResource,
  MAX_MESSAGE_BLOCKS,
  type PageRow,
  pageCapacity,
  pageRowFor,
  type ReviewMessage,
  type ReviewPolicy,
  readReviewPage,
  reviewPolicy,
  rowsThatFit,
  type ShownDecision,
} from './blocks';
import { postToResponseUrl } from './response-url';

/** How many pages of grants a page turn reads at most, looking for open ones. */
const MAX_PAGES_READ_PER_TURN = 3;

export interface ClickRedraw {
  /** The task as the click left it (counters, status). */
  task: ReviewTask;
  /** The decision the click recorded (or found). */
  decision: Decision;
  /** `body.message.blocks`: the message as Slack showed it to the clicker. */
  blocks: unknown;
  /** `body.response_url` of the click. */
  responseUrl: string;
  /** performance.now() time by which the redraw must be done. */
  deadline: number;
}

export type RedrawResult = 'redrawn' | 'unreadable' | 'failed';

/**
 * Redraws the review message after a click, from the message Slack sent with the click rather
 * than from the table: the listed rows stay as Slack shows them, except those now decided (the
 * clicked one, and any a lost redraw left showing buttons: their decisions are read by key, at
 * most one page of them). When every listed grant is decided and others are still open, the next
 * page of the reviewer's grants is read (one Query of one page). The counts come from the task's
 * counters. So a redraw reads the same whether the reviewer has 10 grants or 10,000.
 *
 * The new message goes out through the click's response_url (replace_original), which the Web
 * API's rate limits do not touch, tried again until the deadline. A redraw that fails is logged;
 * the decision is recorded either way, and the next click's redraw shows it.
 */
export async function redrawAfterClick(services: Services, click: ClickRedraw): Promise<RedrawResult> {
  const { task } = click;
  const fields = { campaignId: task.campaignId, reviewer: task.reviewer };
  let message: ReviewMessage | undefined;
  try {
    message = await nextMessage(services, click);
  } catch (error) {
    services.log.warn('could not draw the review message after a click', {
      ...fields,
      error: describe(error),
    });
    return 'failed';
  }
  if (!message) {
    services.log.warn('the clicked message is not a review message this app drew; not redrawn', fields);
    return 'unreadable';
  }
  try {
    await postToResponseUrl(
      click.responseUrl,
      { replace_original: true, text: message.text, blocks: message.blocks },
      click.deadline,
    );
    return 'redrawn';
  } catch (error) {
    services.log.warn('the review message was not redrawn in time; the next click redraws it', {
      ...fields,
      error: describe(error),
    });
    return 'failed';
  }
}

async function nextMessage(services: Services, click: ClickRedraw): Promise<ReviewMessage | undefined> {
  const { task, decision } = click;
  const page = readReviewPage(click.blocks);
  if (!page) return undefined;
  const { store } = services;
  const policy = reviewPolicy(services.config);
  // Listed grants the message shows open, whose decision may have been written since it was drawn.
  const showOpen = page.rows
    .filter((row) => !row.shownDecision && row.grantId !== decision.grantId)
    .map((row) => row.grantId);
  const decisions = await store.decisions.getMany(task.campaignId, showOpen);
  decisions.set(decision.grantId, decision);
  // "Keep all remaining" says what it would keep: the rows decided since the message was drawn
  // leave its counts, each on the side its buttons showed.
  let bulk = page.bulk;
  for (const row of page.rows) {
    if (!bulk || row.shownDecision || row.handedOver || !decisions.has(row.grantId)) continue;
    bulk = row.needsReason
      ? { ...bulk, needReason: Math.max(0, bulk.needReason - 1) }
      : { ...bulk, keepable: Math.max(0, bulk.keepable - 1) };
  }
  let rows = page.rows.map((row) => withDecision(row, decisions.get(row.grantId)));
  let nextAfter = page.nextAfter;
  const closed = closedOf(task);
  const open = openCount(task);
  const listedOpen = rows.filter((row) => !row.decision && !row.shownDecision && !row.handedOver).length;
  if (!closed && listedOpen === 0 && open > 0 && nextAfter) {
    const turned = await turnPage(services, task, nextAfter, open, policy, bulk);
    if (turned.rows.length > 0) {
      rows = turned.rows;
      nextAfter = turned.nextAfter;
    }
  }
  return drawReviewPage({
    campaignId: task.campaignId,
    reviewerLogin: task.reviewer,
    dueAt: task.dueAt,
    total: task.grantCount,
    kept: task.keptCount,
    revoked: task.revokedCount,
    downgraded: downgradedOf(task),
    rows,
    policy,
    ...(bulk ? { bulk } : {}),
    ...(nextAfter && !closed ? { nextAfter } : {}),
    ...(closed ? { closed } : {}),
  });
}

function closedOf(task: ReviewTask): ReviewPage['closed'] {
  if (task.status === 'completed') return { reason: 'completed' };
  if (task.status === 'unresponsive') return { reason: 'window_closed' };
  if (task.status === 'cancelled') return { reason: 'cancelled' };
  return undefined;
}

/** Downgrades counted on the task (a counter the task gains with downgrades; 0 before). */
function downgradedOf(task: ReviewTask): number {
  const value = (task as { downgradedCount?: unknown }).downgradedCount;
  return typeof value === 'number' ? value : 0;
}

function openCount(task: ReviewTask): number {
  return task.grantCount - task.keptCount - task.revokedCount - downgradedOf(task);
}

/**
 * The task's message drawn from the table rather than from a click's copy of it: after a modal's
 * submission (it carries no message) or "Keep all remaining" (which changed many rows at once).
 * It lists the first open grants in task order (one page, read as a page turn reads it), with the
 * counts from the task's counters and the whole-task counts given (or said to be uncounted).
 */
export async function drawTaskFromTable(
  services: Services,
  task: ReviewTask,
  bulk: BulkCounts | undefined,
): Promise<ReviewMessage> {
  const policy = reviewPolicy(services.config);
  const closed = closedOf(task);
  const open = openCount(task);
  const turned = closed ? { rows: [] } : await turnPage(services, task, undefined, open, policy, bulk);
  return drawReviewPage({
    campaignId: task.campaignId,
    reviewerLogin: task.reviewer,
    dueAt: task.dueAt,
    total: task.grantCount,
    kept: task.keptCount,
    revoked: task.revokedCount,
    downgraded: downgradedOf(task),
    rows: turned.rows,
    policy,
    ...(bulk && !closed ? { bulk } : {}),
    ...(turned.nextAfter && !closed ? { nextAfter: turned.nextAfter } : {}),
    ...(closed ? { closed } : {}),
  });
}

/**
 * Redraws the task's DM (task.channelId / messageTs) from the table with chat.update: what a
 * modal's submission does once it has answered Slack. A failure is logged; the next click redraws.
 */
export async function updateTaskMessage(
  services: Services,
  task: ReviewTask,
  bulk: BulkCounts | undefined,
): Promise<RedrawResult> {
  if (!task.channelId || !task.messageTs) return 'unreadable';
  try {
    const counts = bulk ?? (await countBulk(services, task));
    const message = await drawTaskFromTable(services, task, counts);
    const slack = await services.slack();
    await slack.chat.update({
      channel: task.channelId,
      ts: task.messageTs,
      text: message.text,
      blocks: message.blocks,
    });
    return 'redrawn';
  } catch (error) {
    services.log.warn('could not update the review message', {
      campaignId: task.campaignId,
      reviewer: task.reviewer,
      error: describe(error),
    });
    return 'failed';
  }
}

/** Above this many grants a task's whole-task counts are not read for a redraw (its cost would grow with the task). */
export const BULK_COUNT_MAX_GRANTS = 1000;
const BULK_COUNT_PAGE = 100;

/**
 * What "Keep all remaining" would keep and leave, read from the table for a redraw that has no
 * message to read them from. Undefined for a task of more than BULK_COUNT_MAX_GRANTS grants: the
 * redraw then leaves the whole-task buttons out rather than show counts it did not read (the
 * reviewer's next click on a grant, or the first page of the message, brings them back).
 */
export async function countBulk(services: Services, task: ReviewTask): Promise<BulkCounts | undefined> {
  if (task.grantCount > BULK_COUNT_MAX_GRANTS) return undefined;
  const policy = reviewPolicy(services.config);
  const counts = { keepable: 0, needReason: 0 };
  let cursor: string | undefined;
  for (;;) {
    const grants = await services.store.tasks.grantsAfter(
      task.campaignId,
      task.reviewer,
      cursor,
      BULK_COUNT_PAGE,
    );
    const decided = await services.store.decisions.getMany(
      task.campaignId,
      grants.map((grant) => grant.grantId),
    );
    for (const grant of grants) {
      if (decided.has(grant.grantId)) continue;
      if (grant.assignee && grant.assignee.toLowerCase() !== task.reviewer.toLowerCase()) continue;
      if (justificationReasons(grant, policy.justificationRequiredFor).length > 0) counts.needReason += 1;
      else counts.keepable += 1;
    }
    if (grants.length < BULK_COUNT_PAGE) return counts;
    cursor = grants.at(-1)?.grantId;
  }
}

/**
 * The next page: undecided grants after `after` in task order (from the start when absent), at
 * most a page of them, read a page at a time (at most MAX_PAGES_READ_PER_TURN reads), as many as
 * fit under their resource lines, listed by resource and principal.
 */
async function turnPage(
  services: Services,
  task: ReviewTask,
  after: string | undefined,
  open: number,
  policy: ReviewPolicy,
  bulk: BulkCounts | undefined,
): Promise<{ rows: PageRow[]; nextAfter?: string }> {
  const capacity = pageCapacity(false);
  const found: PageRow[] = [];
  let cursor: string | undefined = after;
  let ended = false;
  for (let read = 0; read < MAX_PAGES_READ_PER_TURN && !ended && found.length < capacity; read++) {
    const limit = capacity - found.length;
    const grants = await services.store.tasks.grantsAfter(task.campaignId, task.reviewer, cursor, limit);
    const decided = await services.store.decisions.getMany(
      task.campaignId,
      grants.map((grant) => grant.grantId),
    );
    for (const grant of grants) {
      if (decided.has(grant.grantId)) continue;
      found.push(pageRowFor({ grant, routingReason: grant.routingReason ?? '' }, task.reviewer, policy));
    }
    // A short page is the end of the task's grants.
    ended = grants.length < limit;
    cursor = grants.at(-1)?.grantId ?? cursor;
  }
  // Found in task order: those that fit under their resource lines are listed, the next page
  // starts after the last of them.
  const room = MAX_MESSAGE_BLOCKS - fixedBlocks(false, bulk);
  const fit = rowsThatFit(
    found.map((row) => row.group),
    room,
  );
  const listed = found.slice(0, fit);
  const more = fit < found.length || (!ended && open > listed.length);
  const last = fit < found.length ? listed.at(-1)?.grantId : cursor;
  const sorted = groupByResource(
    [...listed].sort((a, b) => (a.grant && b.grant ? byResourceThenPrincipal(a.grant, b.grant) : 0)),
  );
  return { rows: sorted, ...(more && last ? { nextAfter: last } : {}) };
}

function withDecision(row: PageRow, decision: Decision | undefined): PageRow {
  if (!decision) return row;
  return { ...row, decision: shownDecision(decision) };
}

/** What the outcome line shows of a decision. */
export function shownDecision(decision: Decision): ShownDecision {
  return {
    decision: decision.decision,
    decidedAt: decision.decidedAt,
    ...(decision.justification ? { justification: decision.justification } : {}),
    ...(decision.downgradeTo ? { downgradeTo: decision.downgradeTo } : {}),
    ...(decision.decidedBy ? { decidedBy: decision.decidedBy } : {}),
    ...(decision.bulk ? { bulk: true } : {}),
  };
}

/** The error and its causes, names and messages only (a response_url is never logged). */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current !== undefined && parts.length < 3; ) {
    parts.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(' ← ');
}
