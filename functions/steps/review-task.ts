import type { Services } from '../runtime/services';
import { buildReviewMessage } from '../slack/blocks';
import type { Decision } from '../store/decisions';
import type { StoredGrant } from '../store/grants';
import type { ReviewTask } from '../store/tasks';

export interface ReviewerState {
  grants: StoredGrant[];
  decisions: Map<string, Decision>;
}

/**
 * A reviewer's grants and decisions, for drawing their message. The index behind the view may lag
 * a write by a moment, so a grant the task item says is decided but the view shows undecided is
 * re-read from the table.
 */
export async function loadReviewerState(
  services: Services,
  task: ReviewTask,
  justRecorded?: Decision,
): Promise<ReviewerState> {
  const view = await services.store.grants.reviewerView(task.campaignId, task.reviewer);
  const decisions = new Map(view.decisions.map((d) => [d.grantId, d]));
  if (justRecorded) decisions.set(justRecorded.grantId, justRecorded);
  for (const grantId of task.claimedGrantIds) {
    if (decisions.has(grantId)) continue;
    const decision = await services.store.decisions.get(task.campaignId, grantId);
    if (decision) decisions.set(grantId, decision);
  }
  const grants = [...view.grants].sort(
    (a, b) => a.resource.localeCompare(b.resource) || a.principal.localeCompare(b.principal),
  );
  return { grants, decisions };
}

export function reviewMessage(
  task: ReviewTask,
  state: ReviewerState,
  closed?: 'completed' | 'window_closed',
) {
  return buildReviewMessage({
    campaignId: task.campaignId,
    reviewerLogin: task.reviewer,
    dueAt: task.dueAt,
    items: state.grants.map((grant) => {
      const decision = state.decisions.get(grant.grantId);
      return {
        grant,
        routingReason: grant.routingReason ?? '',
        decision: decision
          ? {
              decision: decision.decision,
              decidedAt: decision.decidedAt,
              justification: decision.justification,
            }
          : undefined,
      };
    }),
    closed: closed ? { reason: closed } : undefined,
  });
}

/** Redraws the reviewer's DM; a failed redraw is logged, never fatal (the decision is already safe). */
export async function redrawTaskMessage(
  services: Services,
  task: ReviewTask,
  state: ReviewerState,
  closed?: 'completed' | 'window_closed',
): Promise<void> {
  if (!task.channelId || !task.messageTs) return;
  try {
    const slack = await services.slack();
    const message = reviewMessage(task, state, closed);
    await slack.chat.update({
      channel: task.channelId,
      ts: task.messageTs,
      text: message.text,
      blocks: message.blocks,
    });
  } catch (error) {
    services.log.warn('could not update the review message', {
      campaignId: task.campaignId,
      reviewer: task.reviewer,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * Closes the task once every grant is claimed. Only the caller that wins the conditional close
 * goes on, so a double click on the last grant completes it once. `resume` sends the workflow's
 * task token (the Slack listener); after the review window the token is dead and the caller
 * (MarkUnresponsive) only records the completion.
 */
export async function completeIfDone(
  services: Services,
  task: ReviewTask,
  decidedCount: number,
  options: { resume: boolean },
): Promise<boolean> {
  if (decidedCount < task.grantCount) return false;
  const closed = await services.store.tasks.close(
    task.campaignId,
    task.reviewer,
    'completed',
    services.now(),
  );
  if (!closed) return false;
  await services.store.events.append(
    task.campaignId,
    'review_completed',
    { reviewer: task.reviewer, decided: decidedCount },
    services.now(),
  );
  if (options.resume && closed.taskToken) {
    try {
      await services.tasks.succeed(closed.taskToken, { reviewer: task.reviewer, decided: decidedCount });
    } catch (error) {
      // The task is closed and every decision is recorded; if the workflow cannot be resumed now,
      // the review window's end runs MarkUnresponsive, which finds the task completed.
      services.log.error('could not resume the workflow after the last decision', {
        campaignId: task.campaignId,
        reviewer: task.reviewer,
        error: error instanceof Error ? error.name : String(error),
      });
    }
  }
  services.progress(`Review by ${task.reviewer} complete (${decidedCount} grants decided)`);
  return true;
}
