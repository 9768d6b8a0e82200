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
 * The review window closed (or the task failed) before every grant was decided. Undecided grants
 * stay as they are (nothing is revoked without a decision) and the evidence names the reviewer.
 */
export async function markUnresponsive(
  input: MarkUnresponsiveInput,
  services: Services,
): Promise<MarkUnresponsiveOutput> {
  const { campaignId, reviewer } = input;
  const task = await services.store.tasks.get(campaignId, reviewer);
  const state = await loadReviewerState(services, campaignId, reviewer);
  const undecided = state.grants.filter((g) => !state.decisions.has(g.grantId)).length;
  if (!task) return { campaignId, reviewer, status: 'unresponsive', undecided };
  if (undecided === 0) {
    // Everything was decided but the workflow was not resumed in time: count it as the reviewer's.
    await completeIfDone(services, task, state);
    return { campaignId, reviewer, status: 'completed', undecided: 0 };
  }
  const closed = await services.store.tasks.close(campaignId, reviewer, 'unresponsive', services.now());
  if (closed) {
    await services.store.events.append(
      campaignId,
      'reviewer_unresponsive',
      {
        reviewer,
        undecided,
        decided: state.grants.length - undecided,
        reason: input.error?.Error ?? 'unknown',
      },
      services.now(),
    );
    await redrawTaskMessage(services, { ...task, status: 'unresponsive' }, state, 'window_closed');
    services.progress(`Review window closed for ${reviewer}: ${undecided} grants left undecided`);
  }
  return { campaignId, reviewer, status: 'unresponsive', undecided };
}
