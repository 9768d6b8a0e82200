import { AccessReviewError, TransientError } from '../core/errors';
import type { Services } from '../runtime/services';

export interface AwaitReviewInput {
  campaignId: string;
  reviewer: string;
  /** `$$.Task.Token`: a new one for each stretch of the window. Stored in the table, nowhere else. */
  taskToken: string;
  /** How long this stretch lasts (the state's TimeoutSecondsPath); for the record only. */
  waitSeconds?: number;
}

export interface AwaitReviewOutput {
  /** The token is stored: the workflow waits for it (or for the state's timeout). */
  outcome: 'waiting';
}

/**
 * The task is closed (completed by the last click while no token was stored, cancelled, or closed
 * by an earlier attempt): nobody will send this token. The workflow's Catch ends the reviewer's
 * child (ReviewEnded) instead of waiting for a checkpoint nobody needs.
 */
export class ReviewTaskClosedError extends AccessReviewError {}

/**
 * Parks the workflow's token for the next stretch of the reviewer's window. The window itself does
 * not move: RequestReview started it, and a re-wait after a checkpoint only swaps the token.
 *
 * A closed task ends the wait at once by failing this invocation with ReviewTaskClosedError, which
 * the state's Catch turns into the child's normal end. Not by sending its own token: that would
 * need states:SendTaskSuccess on the state machine for a function the state machine itself calls
 * (a dependency cycle CloudFormation refuses, or a wildcard grant), and the Catch does the same.
 */
export async function awaitReview(input: AwaitReviewInput, services: Services): Promise<AwaitReviewOutput> {
  const { campaignId, reviewer, taskToken } = input;
  if (await services.store.tasks.storeToken(campaignId, reviewer, taskToken)) return { outcome: 'waiting' };
  const task = await services.store.tasks.get(campaignId, reviewer);
  if (!task) throw new TransientError(`no review task for ${reviewer} in campaign ${campaignId}`);
  throw new ReviewTaskClosedError(`the review task of ${reviewer} is already ${task.status}`);
}
