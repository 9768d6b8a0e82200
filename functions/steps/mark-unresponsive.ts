import type { Services } from '../runtime/services';
import { completeIfDone, loadReviewerState, redrawTaskMessage } from './review-task';

export interface MarkUnresponsiveInput {
  campaignId: string;
  reviewer: string;
  /** The Catch's error output: `{ Error, Cause }` (States.Timeout when the window closed). */
  error?: { Error?: string; Cause?: string };
}

export interface MarkUnresponsiveOutput {
  campaignId: string;
  reviewer: string;
  status: 'completed' | 'unresponsive';
  undecided: number;
}

/**
 * The review window closed (or the task failed) before the task completed. Undecided grants stay
 * as they are (nothing is revoked without a decision) and the evidence names the reviewer. The
 * task token is dead by now, so this step never sends it: the workflow goes on from the Catch.
 */
export async function markUnresponsive(
  input: MarkUnresponsiveInput,
  services: Services,
): Promise<MarkUnresponsiveOutput> {
  const { campaignId, reviewer } = input;
  const task = await services.store.tasks.get(campaignId, reviewer);
  if (!task) return { campaignId, reviewer, status: 'unresponsive', undecided: 0 };
  if (task.status === 'completed') return { campaignId, reviewer, status: 'completed', undecided: 0 };
  if (task.status === 'unresponsive')
    return { campaignId, reviewer, status: 'unresponsive', undecided: task.grantCount - task.decidedCount };
  // A click that wrote its decision and died before counting it leaves the counter short; the
  // decisions themselves are counted once here, at the end of the window (never per click).
  const decided =
    task.decidedCount >= task.grantCount
      ? task.decidedCount
      : Math.max(task.decidedCount, await services.store.decisions.countForReviewer(campaignId, reviewer));
  if (decided >= task.grantCount) {
    // Every grant was decided but the workflow was not resumed in time: the review is complete.
    await completeIfDone(services, task, decided, { resume: false });
    return { campaignId, reviewer, status: 'completed', undecided: 0 };
  }
  const closed = await services.store.tasks.close(campaignId, reviewer, 'unresponsive', services.now());
  if (!closed) {
    // A last click completed the task between our read and the close.
    const now = await services.store.tasks.get(campaignId, reviewer);
    return {
      campaignId,
      reviewer,
      status: now?.status === 'completed' ? 'completed' : 'unresponsive',
      undecided: 0,
    };
  }
  // As closed: decisions counted before the close. A click that found the task open just before
  // may still write its decision after; none that finds it closed does.
  const final = closed.task;
  const finalDecided = Math.max(final.decidedCount, decided);
  const stillUndecided = final.grantCount - finalDecided;
  await services.store.events.append(
    campaignId,
    'reviewer_unresponsive',
    {
      reviewer,
      undecided: stillUndecided,
      decided: finalDecided,
      reason: input.error?.Error ?? 'unknown',
      // When the task closed, as reviewers.csv shows it.
      completedAt: final.completedAt ?? null,
    },
    services.now(),
  );
  await redrawTaskMessage(services, final, await loadReviewerState(services, final), 'window_closed');
  services.progress(`Review window closed for ${reviewer}: ${stillUndecided} grants left undecided`);
  return { campaignId, reviewer, status: 'unresponsive', undecided: stillUndecided };
}
