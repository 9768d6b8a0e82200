import type { Services } from '../runtime/services';
import { buildReviewMessage, type ReviewPolicy, reviewPolicy, type ShownDecision } from '../slack/blocks';
import type { Decision } from '../store/decisions';
import type { StoredGrant } from '../store/grants';
import type { ReviewTask } from '../store/tasks';

export interface ReviewerState {
  grants: StoredGrant[];
  decisions: Map<string, Decision>;
}

/**
 * A reviewer's grants and decisions, for drawing their whole message (RequestReview, the end of
 * the review window: once per reviewer, never per click). The index behind the view may lag a
 * write by a moment: when it shows fewer decisions than the task has counted, the grants it shows
 * undecided are read again by key.
 */
export async function loadReviewerState(
  services: Services,
  task: ReviewTask,
  justRecorded?: Decision,
): Promise<ReviewerState> {
  const view = await services.store.grants.reviewerView(task.campaignId, task.reviewer);
  const decisions = new Map(view.decisions.map((d) => [d.grantId, d]));
  if (justRecorded) decisions.set(justRecorded.grantId, justRecorded);
  if (decisions.size < task.decidedCount) {
    const undecided = view.grants.filter((grant) => !decisions.has(grant.grantId)).map((g) => g.grantId);
    for (const [grantId, decision] of await services.store.decisions.getMany(task.campaignId, undecided)) {
      decisions.set(grantId, decision);
    }
  }
  const grants = [...view.grants].sort(byResourceThenPrincipal);
  return { grants, decisions };
}

/** The order grants are listed in a review message. */
export function byResourceThenPrincipal(
  a: Pick<StoredGrant, 'resource' | 'principal'>,
  b: Pick<StoredGrant, 'resource' | 'principal'>,
): number {
  return a.resource.localeCompare(b.resource) || a.principal.localeCompare(b.principal);
}

/**
 * What a stored decision shows on its outcome line: a downgrade its target, a delegate's or
 * assignee's decision who took it, a bulk keep that it was one.
 */
export function shownDecision(decision: Decision): ShownDecision {
  return {
    decision: decision.decision,
    decidedAt: decision.decidedAt,
    ...(decision.justification !== undefined ? { justification: decision.justification } : {}),
    ...(decision.downgradeTo !== undefined ? { downgradeTo: decision.downgradeTo } : {}),
    ...(decision.decidedBy !== undefined ? { decidedBy: decision.decidedBy } : {}),
    ...(decision.bulk === true ? { bulk: true } : {}),
  };
}

/**
 * The reviewer's whole message. `policy` is the configuration's (reviewPolicy(services.config)):
 * without it the message would ask a reason for every class and offer no downgrade, whatever
 * the deployment configured.
 */
export function reviewMessage(
  task: ReviewTask,
  state: ReviewerState,
  policy: ReviewPolicy,
  closed?: 'completed' | 'window_closed',
) {
  return buildReviewMessage({
    campaignId: task.campaignId,
    reviewerLogin: task.reviewer,
    dueAt: task.dueAt,
    policy,
    items: state.grants.map((grant) => {
      const decision = state.decisions.get(grant.grantId);
      return {
        grant,
        routingReason: grant.routingReason ?? '',
        decision: decision ? shownDecision(decision) : undefined,
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
    const message = reviewMessage(task, state, reviewPolicy(services.config), closed);
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
    // When the task closed, as reviewers.csv shows it.
    { reviewer: task.reviewer, decided: decidedCount, completedAt: closed.task.completedAt ?? null },
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
