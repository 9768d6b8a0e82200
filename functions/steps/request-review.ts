import { TransientError } from '../core/errors';
import type { Services } from '../runtime/services';
import { completeIfDone, loadReviewerState, redrawTaskMessage, reviewMessage } from './review-task';

export interface RequestReviewInput {
  campaignId: string;
  reviewer: string;
  /** `$$.Task.Token`. Stored in the table and nowhere else: not in Slack, not in logs. */
  taskToken: string;
}

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
    // Redelivered after the task closed: resume at once rather than wait for a window that is over.
    await services.tasks.succeed(taskToken, { reviewer, status: task.status });
    return {};
  }
  await store.tasks.storeToken(campaignId, reviewer, taskToken, services.now());
  const state = await loadReviewerState(services, campaignId, reviewer);
  if (task.messageTs && task.channelId) {
    // A retried request: the reviewer already has their DM; refresh it instead of sending a second.
    await redrawTaskMessage(services, task, state);
  } else {
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
    await store.events.append(
      campaignId,
      'review_requested',
      { reviewer, slackUserId: task.slackUserId, grantCount: state.grants.length, dueAt: task.dueAt },
      services.now(),
    );
    services.progress(`Asked ${reviewer} in Slack to review ${state.grants.length} grants`);
  }
  await completeIfDone(services, { ...task, status: 'awaiting' }, state);
  return {};
}
