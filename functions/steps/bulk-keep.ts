import { justificationReasons } from '../core/justification';
import type { Services } from '../runtime/services';
import type { StoredGrant } from '../store/grants';
import type { ReviewTask } from '../store/tasks';
import { checkClicker, closedReason, writeDecision } from './record-decision';

/** Grants read per page while looking for the ones to keep. */
const PAGE = 100;

export interface BulkKeepRequest {
  campaignId: string;
  /** The clicker, as Slack reported them in the signed request. */
  slackUserId: string;
  /**
   * Which grants: `task` = the open grants of the clicker's own review task (its review message),
   * `handedTo` = the grants handed over to the clicker by login (their handover message).
   */
  scope: { kind: 'task'; task: ReviewTask } | { kind: 'handedTo'; login: string };
  /** performance.now() time after which no new grant is started (the click's budget). */
  deadline: number;
}

export interface BulkKeepOutcome {
  /** Kept by this request. */
  kept: number;
  /** Found decided already (by an earlier click, a double submission, or someone else). */
  alreadyDecided: number;
  /** Left open: they need a written reason. */
  needReason: number;
  /** Left open: handed over to someone else, or the clicker may not decide them (own access). */
  notYours: number;
  /**
   * Looked at but not kept because the deadline passed (or the task closed) first; grants on pages
   * not read are not counted (`complete` is false then). A second "Keep all remaining" goes on.
   */
  notReached: number;
  /** The task as the last write left it (the clicker's task for `task` scope). */
  task?: ReviewTask;
  /** True when every grant was looked at (the counts are complete). */
  complete: boolean;
}

/**
 * "Keep all remaining": keeps every open grant in scope that the clicker may decide and that needs
 * no written reason, each with the same checks as a click (the clicker is its decider and does not
 * hold it, its task is open) and each written once with `bulk: true` through the same conditional
 * put, so a confirmation submitted twice writes nothing twice. Grants that need a reason stay open.
 *
 * Work per request is bounded by `deadline` (Slack's 3 s): grants not reached are counted and a
 * second click goes on with them. Reads are pages of the reviewer's index and one BatchGet per page;
 * writes are those of a click per kept grant.
 */
export async function bulkKeep(services: Services, request: BulkKeepRequest): Promise<BulkKeepOutcome> {
  const { store } = services;
  const { campaignId, slackUserId } = request;
  // One click: every grant it keeps is decided at the click's time, before any task read.
  const clickedAt = services.now();
  const required = services.config.review.justificationRequiredFor;
  const outcome: BulkKeepOutcome = {
    kept: 0,
    alreadyDecided: 0,
    needReason: 0,
    notYours: 0,
    notReached: 0,
    complete: true,
  };
  const tasks = new Map<string, ReviewTask>();
  if (request.scope.kind === 'task') {
    tasks.set(request.scope.task.reviewer.toLowerCase(), request.scope.task);
    outcome.task = request.scope.task;
  }
  const taskOf = async (reviewer: string): Promise<ReviewTask | undefined> => {
    const key = reviewer.toLowerCase();
    if (!tasks.has(key)) {
      const task = await store.tasks.get(campaignId, reviewer);
      if (task) tasks.set(key, task);
    }
    return tasks.get(key);
  };

  for await (const page of pagesOf(services, request)) {
    // Past the deadline nothing more is read either: the next click goes on from the start.
    if (!outcome.complete) break;
    const decided = await store.decisions.getMany(
      campaignId,
      page.map((grant) => grant.grantId),
    );
    for (const grant of page) {
      if (decided.has(grant.grantId)) {
        outcome.alreadyDecided += 1;
        continue;
      }
      if (!grant.reviewer) continue;
      const task = await taskOf(grant.reviewer);
      if (!task) continue;
      const checked = checkClicker(services, grant, task, slackUserId);
      if (!checked.ok) {
        outcome.notYours += 1;
        continue;
      }
      if (justificationReasons(grant, required).length > 0) {
        outcome.needReason += 1;
        continue;
      }
      if (task.status !== 'awaiting') {
        // The window closed or the review was cancelled while keeping: nothing more is written.
        services.log.info('keep all remaining stopped: the task is no longer open', {
          campaignId,
          reviewer: task.reviewer,
          why: closedReason(task).code,
        });
        outcome.notReached += 1;
        outcome.complete = false;
        continue;
      }
      if (performance.now() >= request.deadline) {
        outcome.notReached += 1;
        outcome.complete = false;
        continue;
      }
      const written = await writeDecision(
        services,
        grant as StoredGrant & { reviewer: string },
        task,
        checked.decider,
        { decision: 'keep', slackUserId, bulk: true, at: clickedAt },
      );
      if (written.kind === 'recorded') outcome.kept += 1;
      else outcome.alreadyDecided += 1;
      tasks.set(task.reviewer.toLowerCase(), written.task);
      if (request.scope.kind === 'task' && written.task.reviewer === request.scope.task.reviewer) {
        outcome.task = written.task;
      }
    }
  }
  return outcome;
}

/** The grants in scope, a page at a time. */
async function* pagesOf(services: Services, request: BulkKeepRequest): AsyncGenerator<StoredGrant[]> {
  const { scope, campaignId } = request;
  if (scope.kind === 'handedTo') {
    yield await services.store.grants.handedTo(campaignId, scope.login);
    return;
  }
  let cursor: string | undefined;
  for (;;) {
    const grants = await services.store.tasks.grantsAfter(campaignId, scope.task.reviewer, cursor, PAGE);
    if (grants.length > 0) yield grants;
    if (grants.length < PAGE) return;
    cursor = grants.at(-1)?.grantId;
  }
}
