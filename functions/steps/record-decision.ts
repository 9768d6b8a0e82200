import type { Services } from '../runtime/services';
import type { Decision, DecisionValue } from '../store/decisions';
import type { ReviewTask } from '../store/tasks';
import { completeIfDone } from './review-task';

export interface DecisionRequest {
  campaignId: string;
  grantId: string;
  decision: DecisionValue;
  /** The Slack user who clicked, as Slack reported it in the signed request. */
  slackUserId: string;
  justification?: string;
}

/**
 * `task` is the task as this click left it (its counters, and `completed` when this click or an
 * earlier one completed it): what the message redraw needs besides the message itself.
 */
export type DecisionOutcome =
  | { kind: 'recorded'; decision: Decision; task: ReviewTask; taskCompleted: boolean }
  | { kind: 'duplicate'; decision: Decision; task: ReviewTask; taskCompleted: boolean }
  | { kind: 'refused'; reason: string };

const NOT_IN_REVIEW = 'This grant is not part of an open review.';
const OWN_ACCESS = 'Nobody decides on their own access.';

/**
 * Checks that the click may decide this grant, then writes the decision once, counts it on the
 * task and, on the last decision, completes the task and resumes the workflow. A refusal writes
 * nothing. In order: the grant is in this campaign and assigned; the clicker is the assigned
 * reviewer's Slack user; neither the reviewer's login nor the clicker's Slack user holds the access
 * (holders' Slack user ids are stored with the grant when it is assigned); the task is open (read
 * strongly consistent: a click that finds it open may still be written after the window closes,
 * none that finds it closed is); then the decision (a conditional put: written once) and its event.
 *
 * Every read and write is of one item (or the event log's head), so a click costs the same for a
 * reviewer of 10 grants as of 10,000. Nothing here talks to Slack: the listener acknowledges the
 * click once this returns, and only then redraws the message.
 */
export async function recordDecision(request: DecisionRequest, services: Services): Promise<DecisionOutcome> {
  const { store } = services;
  const { campaignId, grantId } = request;
  const grant = await store.grants.get(campaignId, grantId);
  if (!grant?.reviewer) return { kind: 'refused', reason: NOT_IN_REVIEW };
  const task = await store.tasks.get(campaignId, grant.reviewer);
  if (!task) return { kind: 'refused', reason: NOT_IN_REVIEW };
  if (task.slackUserId !== request.slackUserId) {
    services.log.warn('decision refused: not the assigned reviewer', {
      campaignId,
      grantId,
      slackUserId: request.slackUserId,
    });
    return { kind: 'refused', reason: 'Only the assigned reviewer can decide on this grant.' };
  }
  // Routing never assigns a grant to its holder; this guards the table against anything that did,
  // by login and by Slack user (another login of the clicker's, reached through an alias email).
  const reviewer = grant.reviewer.toLowerCase();
  const ownByLogin =
    (grant.principalType === 'user' && grant.principal.toLowerCase() === reviewer) ||
    grant.holder?.toLowerCase() === reviewer;
  const ownBySlackUser = grant.holderSlackUserIds?.includes(request.slackUserId) === true;
  if (ownByLogin || ownBySlackUser) {
    services.log.warn('decision refused: the clicker holds this access', {
      campaignId,
      grantId,
      reviewer: grant.reviewer,
      slackUserId: request.slackUserId,
      matchedBy: ownByLogin ? 'login' : 'slack_user_id',
    });
    return { kind: 'refused', reason: OWN_ACCESS };
  }

  if (task.status !== 'awaiting') {
    const existing = await store.decisions.get(campaignId, grantId);
    if (existing)
      return { kind: 'duplicate', decision: existing, task, taskCompleted: task.status === 'completed' };
    return {
      kind: 'refused',
      reason:
        task.status === 'unresponsive'
          ? 'The review window for this task has closed; the grant was left undecided.'
          : 'This review is not open for decisions.',
    };
  }
  const now = services.now();
  const result = await store.decisions.record(
    {
      campaignId,
      grantId,
      decision: request.decision,
      reviewer: grant.reviewer,
      decidedBySlackUserId: request.slackUserId,
      decidedAt: now.toISOString(),
      justification: request.justification,
      channel: 'slack',
    },
    // The grant's principal and resource key the decision into the history index.
    grant,
  );
  let counted: boolean;
  if (result.recorded) {
    const event = await store.events.append(
      campaignId,
      'decision_recorded',
      {
        grantId,
        decision: request.decision,
        reviewer: grant.reviewer,
        decidedBySlackUserId: request.slackUserId,
        justification: request.justification ?? null,
      },
      now,
    );
    counted = await store.decisions.markCounted(campaignId, grantId, event.seq);
  } else {
    // A repeated click counts the decision only if the click that wrote it died before counting.
    counted = await store.decisions.markCounted(campaignId, grantId);
  }
  let current = task;
  let taskCompleted = false;
  if (counted) {
    current = await store.tasks.countDecision(campaignId, grant.reviewer, result.decision.decision);
    const closed = await completeIfDone(services, current, current.decidedCount, { resume: true });
    if (closed) {
      taskCompleted = true;
      current = { ...current, status: 'completed' };
    }
  }
  return result.recorded
    ? { kind: 'recorded', decision: result.decision, task: current, taskCompleted }
    : { kind: 'duplicate', decision: result.decision, task: current, taskCompleted };
}
