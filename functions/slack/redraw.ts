import type { Services } from '../runtime/services';
import { byResourceThenPrincipal } from '../steps/review-task';
import type { Decision } from '../store/decisions';
import type { ReviewTask } from '../store/tasks';
import {
  drawReviewPage,
  type PageRow,
  pageCapacity,
  pageRowFor,
  type ReviewMessage,
  readReviewPage,
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
  // Listed grants the message shows open, whose decision may have been written since it was drawn.
  const showOpen = page.rows
    .filter((row) => !row.shownDecision && row.grantId !== decision.grantId)
    .map((row) => row.grantId);
  const decisions = await store.decisions.getMany(task.campaignId, showOpen);
  decisions.set(decision.grantId, decision);
  let rows = page.rows.map((row) => withDecision(row, decisions.get(row.grantId)));
  let nextAfter = page.nextAfter;
  const closed =
    task.status === 'completed'
      ? ({ reason: 'completed' } as const)
      : task.status === 'unresponsive'
        ? ({ reason: 'window_closed' } as const)
        : undefined;
  const open = task.grantCount - task.keptCount - task.revokedCount;
  const listedOpen = rows.filter((row) => !row.decision && !row.shownDecision).length;
  if (!closed && listedOpen === 0 && open > 0 && nextAfter) {
    const turned = await turnPage(services, task, nextAfter, open);
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
    rows,
    ...(nextAfter && !closed ? { nextAfter } : {}),
    ...(closed ? { closed } : {}),
  });
}

/**
 * The next page: open grants after `after` in task order, at most a page of them, read a page at
 * a time (at most MAX_PAGES_READ_PER_TURN reads), listed by resource and principal.
 */
async function turnPage(
  services: Services,
  task: ReviewTask,
  after: string,
  open: number,
): Promise<{ rows: PageRow[]; nextAfter?: string }> {
  const capacity = pageCapacity(false);
  const found: PageRow[] = [];
  let cursor: string | undefined = after;
  for (let read = 0; read < MAX_PAGES_READ_PER_TURN && cursor && found.length < capacity; read++) {
    const limit = capacity - found.length;
    const grants = await services.store.tasks.grantsAfter(task.campaignId, task.reviewer, cursor, limit);
    const decided = await services.store.decisions.getMany(
      task.campaignId,
      grants.map((grant) => grant.grantId),
    );
    for (const grant of grants) {
      if (decided.has(grant.grantId)) continue;
      found.push(pageRowFor({ grant, routingReason: grant.routingReason ?? '' }));
    }
    // A short page is the end of the task's grants.
    cursor = grants.length < limit ? undefined : grants.at(-1)?.grantId;
  }
  const sorted = [...found].sort((a, b) =>
    a.grant && b.grant ? byResourceThenPrincipal(a.grant, b.grant) : 0,
  );
  return { rows: sorted, ...(cursor && open > sorted.length ? { nextAfter: cursor } : {}) };
}

function withDecision(row: PageRow, decision: Decision | undefined): PageRow {
  if (!decision) return row;
  return {
    ...row,
    decision: {
      decision: decision.decision,
      decidedAt: decision.decidedAt,
      ...(decision.justification ? { justification: decision.justification } : {}),
    },
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
