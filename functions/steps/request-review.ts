import { AccessReviewError, TransientError } from '../core/errors';
import { emailReviewTask } from '../email/review-task';
import type { Services } from '../runtime/services';
import { reviewPolicy } from '../slack/blocks';
import type { ReviewTask } from '../store/tasks';
import { reviewerEmail } from './reminders';
import { calendarPosition, hourSecondsOf, reviewCalendar, windowEnd } from './review-checkpoint';
import { loadReviewerState, type ReviewerState, redrawTaskMessage, reviewMessage } from './review-task';

export interface RequestReviewInput {
  campaignId: string;
  reviewer: string;
  /**
   * Only for callers that request and wait in one go (test fixtures): the token is stored as
   * AwaitReview stores it. The workflow passes none: AwaitReview, the next state, stores its own.
   */
  taskToken?: string;
}

export interface RequestReviewOutput {
  campaignId: string;
  reviewer: string;
  /** Seconds until the first checkpoint of the reviewer's calendar (AwaitReview's timeout). */
  waitSeconds: number;
}

/** Where a closed task ends: AwaitReview throws it (the workflow's Catch ends the child). */
export { ReviewTaskClosedError } from './await-review';

/**
 * Sends the reviewer their one request (the DM, or an email for someone not reachable in Slack)
 * and starts their window: `requestedAt` and `dueAt` are set by the first attempt and never moved
 * by a retry. A retried request finds the DM already posted and redraws it instead of sending a
 * second; `review_requested` is recorded once (a marker on the task, set after the event).
 * Returns how long the first wait is; AwaitReview then parks the workflow's token.
 */
export async function requestReview(
  input: RequestReviewInput,
  services: Services,
): Promise<RequestReviewOutput> {
  const { campaignId, reviewer } = input;
  const { store } = services;
  const hourSeconds = hourSecondsOf(services);
  const task = await store.tasks.get(campaignId, reviewer);
  if (!task) throw new TransientError(`no review task for ${reviewer} in campaign ${campaignId}`);
  if (task.status !== 'pending' && task.status !== 'awaiting') {
    // Completed, cancelled or closed: AwaitReview finds it so and the child ends there.
    return { campaignId, reviewer, waitSeconds: 1 };
  }
  const state = await loadReviewerState(services, task);
  if (state.grants.length < task.grantCount) {
    // The by-reviewer index has not caught up with AssignReviewers yet: a DM now would miss grants.
    throw new TransientError(
      `${reviewer}'s grants are not all readable yet (${state.grants.length} of ${task.grantCount})`,
    );
  }
  const now = services.now();
  const started = await store.tasks.markRequested(
    campaignId,
    reviewer,
    now,
    windowEnd(services.config, now, hourSeconds),
  );
  if (input.taskToken) await store.tasks.storeToken(campaignId, reviewer, input.taskToken);
  const requestedAt = new Date(started.requestedAt ?? now.toISOString());
  const first = calendarPosition(reviewCalendar(services.config), requestedAt, now, hourSeconds).next;
  const output = { campaignId, reviewer, waitSeconds: first?.waitSeconds ?? 1 };
  if (started.status !== 'awaiting') return output;
  if (started.messageTs && started.channelId) {
    // A retried request: the reviewer already has their DM; refresh it instead of sending a second.
    await redrawTaskMessage(services, started, state);
  } else if (started.slackUserId) {
    const slack = await services.slack();
    const opened = await slack.conversations.open({ users: started.slackUserId });
    const channelId = opened.channel?.id;
    if (!channelId) throw new TransientError(`Slack opened no DM channel for ${reviewer}`);
    const message = reviewMessage(started, state, reviewPolicy(services.config));
    const posted = await slack.chat.postMessage({
      channel: channelId,
      text: message.text,
      blocks: message.blocks,
    });
    if (!posted.ts) throw new TransientError(`Slack accepted no message for ${reviewer}`);
    await store.tasks.recordMessage(campaignId, reviewer, channelId, posted.ts);
    services.progress(`Asked ${reviewer} in Slack to review ${started.grantCount} grants`);
  } else if (!started.requestRecorded) {
    await requestByEmail(services, started, state);
  }
  if (!started.requestRecorded) {
    await store.events.append(campaignId, 'review_requested', requestedEvent(started), services.now());
    await store.tasks.markRequestRecorded(campaignId, reviewer);
  }
  return output;
}

/**
 * The review task by email, for a reviewer not reachable in Slack (notifications.email.reviewTasks),
 * through functions/email/review-task.ts: sent once per campaign and reviewer, and `email_sent`
 * recorded there. An email no host can send is the reviewer undeliverable.
 */
async function requestByEmail(services: Services, task: ReviewTask, state: ReviewerState): Promise<void> {
  const email = reviewerEmail(services, task.reviewer);
  if (!email) throw new ReviewUndeliverableError(`${task.reviewer} has no Slack user and no email in people`);
  const outcome = await emailReviewTask(services, {
    campaignId: task.campaignId,
    reviewer: task.reviewer,
    email,
    grants: state.grants,
    dueAt: task.dueAt,
    grantCount: task.grantCount,
  });
  if (outcome === 'not_configured') {
    throw new ReviewUndeliverableError(
      `${task.reviewer} has no Slack user and ${services.email ? 'review tasks are not emailed' : 'no email is configured'}`,
    );
  }
  // Another attempt holds the send: retrying the step finds it sent (or its claim expired).
  if (outcome === 'in_progress')
    throw new TransientError(`the review task email to ${task.reviewer} is being sent`);
  if (outcome === 'sent')
    services.progress(`Asked ${task.reviewer} by email to review ${task.grantCount} grants`);
}

/** The reviewer cannot be reached by any channel: the workflow's Catch records it (MarkUnresponsive). */
export class ReviewUndeliverableError extends AccessReviewError {}

/** What reviewers.csv shows of a requested task, as the chain records it. */
function requestedEvent(task: ReviewTask): Record<string, unknown> {
  return {
    reviewer: task.reviewer,
    slackUserId: task.slackUserId,
    grantCount: task.grantCount,
    dueAt: task.dueAt,
    requestedAt: task.requestedAt,
  };
}
