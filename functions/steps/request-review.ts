import { AccessReviewError, TransientError } from '../core/errors';
import type { Services } from '../runtime/services';
import type { ReviewTask } from '../store/tasks';
import { loadReviewerState, redrawTaskMessage, reviewMessage } from './review-task';

export interface RequestReviewInput {
  campaignId: string;
  reviewer: string;
  /** `$$.Task.Token`. Stored in the table and nowhere else: not in Slack, not in logs. */
  taskToken: string;
}

/**
 * The task closed before this (retried) request ran. The workflow's Catch sends it to
 * MarkUnresponsive, which finds the task closed and records nothing more.
 */
export class ReviewTaskClosedError extends AccessReviewError {}

/**
 * Sends the reviewer their one DM and parks the workflow's task token. The workflow resumes when
 * the last grant is decided (the Slack listener sends the token) or the review window closes.
 */
export async function requestReview(
  input: RequestReviewInput,
  services: Services,
): Promise<Record<string, never>> {
  const { campaignId, reviewer, taskToken } = input;
  const { store } = services;
  const task = await store.tasks.get(campaignId, reviewer);
  if (!task) throw new TransientError(`no review task for ${reviewer} in campaign ${campaignId}`);
  if (task.status === 'completed' || task.status === 'unresponsive') {
    throw new ReviewTaskClosedError(`the review task of ${reviewer} is already ${task.status}`);
  }
  const state = await loadReviewerState(services, task);
  if (state.grants.length < task.grantCount) {
    // The by-reviewer index has not caught up with AssignReviewers yet: a DM now would miss grants.
    throw new TransientError(
      `${reviewer}'s grants are not all readable yet (${state.grants.length} of ${task.grantCount})`,
    );
  }
  const now = services.now();
  const dueAt = new Date(now.getTime() + services.config.review.windowHours * 3_600_000);
  await store.tasks.storeToken(campaignId, reviewer, taskToken, now, dueAt);
  task.dueAt = dueAt.toISOString();
  task.requestedAt = now.toISOString();
  if (task.messageTs && task.channelId) {
    // A retried request: the reviewer already has their DM; refresh it instead of sending a second.
    await redrawTaskMessage(services, task, state);
    // The task's request time and due date moved: the chain says so, as reviewers.csv will.
    await store.events.append(campaignId, 'review_requested', requestedEvent(task, true), services.now());
    return {};
  }
  const slack = await services.slack();
  const opened = await slack.conversations.open({ users: task.slackUserId });
  const channelId = opened.channel?.id;
  if (!channelId) throw new TransientError(`Slack opened no DM channel for ${reviewer}`);
  const message = reviewMessage(task, state);
  const posted = await slack.chat.postMessage({
    channel: channelId,
    text: message.text,
    blocks: message.blocks,
  });
  if (!posted.ts) throw new TransientError(`Slack accepted no message for ${reviewer}`);
  await store.tasks.recordMessage(campaignId, reviewer, channelId, posted.ts);
  await store.events.append(campaignId, 'review_requested', requestedEvent(task, false), services.now());
  services.progress(`Asked ${reviewer} in Slack to review ${task.grantCount} grants`);
  return {};
}

/** What reviewers.csv shows of a requested task, as the chain records it. */
function requestedEvent(task: ReviewTask, again: boolean): Record<string, unknown> {
  return {
    reviewer: task.reviewer,
    slackUserId: task.slackUserId,
    grantCount: task.grantCount,
    dueAt: task.dueAt,
    requestedAt: task.requestedAt,
    ...(again ? { again: true } : {}),
  };
}
