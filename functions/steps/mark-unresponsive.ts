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
  const undecided = task.grantCount - task.decidedGrantIds.length;
  if (task.status === 'completed') return { campaignId, reviewer, status: 'completed', undecided: 0 };
  if (task.status === 'unresponsive') return { campaignId, reviewer, status: 'unresponsive', undecided };
  if (undecided <= 0) {
    // Every grant was decided but the workflow was not resumed in time: the review is complete.
    await completeIfDone(services, task, task.decidedGrantIds.length, { resume: false });
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
  // As closed: decisions written before the close count, none can follow it.
  const final = closed.task;
  const stillUndecided = final.grantCount - final.decidedGrantIds.length;
  await services.store.events.append(
    campaignId,
    'reviewer_unresponsive',
    {
      reviewer,
      undecided: stillUndecided,
      decided: final.decidedGrantIds.length,
      reason: input.error?.Error ?? 'unknown',
    },
    services.now(),
  );
  await redrawTaskMessage(services, final, await loadReviewerState(services, final), 'window_closed');
  services.progress(`Review window closed for ${reviewer}: ${stillUndecided} grants left undecided`);
  return { campaignId, reviewer, status: 'unresponsive', undecided: stillUndecided };
}
