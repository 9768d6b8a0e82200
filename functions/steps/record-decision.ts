import type { Services } from '../runtime/services';
import type { Decision, DecisionValue } from '../store/decisions';
import { completeIfDone, loadReviewerState, redrawTaskMessage } from './review-task';

export interface DecisionRequest {
  campaignId: string;
  grantId: string;
  decision: DecisionValue;
  /** The Slack user who clicked, as Slack reported it in the signed request. */
  slackUserId: string;
  justification?: string;
}

export type DecisionOutcome =
  | { kind: 'recorded'; decision: Decision; taskCompleted: boolean }
  | { kind: 'duplicate'; decision: Decision; taskCompleted: boolean }
  | { kind: 'refused'; reason: string };

const NOT_IN_REVIEW = 'This grant is not part of an open review.';
const OWN_ACCESS = 'Nobody decides on their own access.';

/**
 * Checks that the click may decide this grant, then writes the decision once. A refusal writes
 * nothing. In order: the grant is in this campaign and assigned; the clicker is the assigned
 * reviewer's Slack user; neither the reviewer's login nor the clicker's Slack user holds the access
 * (holders' Slack user ids are stored with the grant when it is assigned); the grant is claimed on
 * the open task (once per grant, only while the task is open); then the decision and its event are
 * written.
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

  const claim = await store.tasks.claimGrant(campaignId, grant.reviewer, grantId);
  if (claim.outcome === 'task_closed') {
    const existing = await store.decisions.get(campaignId, grantId);
    if (existing)
      return { kind: 'duplicate', decision: existing, taskCompleted: claim.task.status === 'completed' };
    return {
      kind: 'refused',
      reason:
        claim.task.status === 'unresponsive'
          ? 'The review window for this task has closed; the grant was left undecided.'
          : 'This review is not open for decisions.',
    };
  }
  const now = services.now();
  const result = await store.decisions.record({
    campaignId,
    grantId,
    decision: request.decision,
    reviewer: grant.reviewer,
    decidedBySlackUserId: request.slackUserId,
    decidedAt: now.toISOString(),
    justification: request.justification,
    channel: 'slack',
  });
  if (result.recorded) {
    // Also reached when an earlier click claimed the grant and died before writing the decision.
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
    await store.decisions.linkEvent(campaignId, grantId, event.seq);
  }
  // Counted only once the decision is written; a duplicate click counts it too, in case the
  // first click died before it could (and then also completes the task).
  const decidedCount = await store.tasks.markDecided(campaignId, grant.reviewer, grantId);
  const taskCompleted = await completeIfDone(services, task, decidedCount, { resume: true });
  await redrawTaskMessage(
    services,
    task,
    await loadReviewerState(services, task, result.decision),
    taskCompleted ? 'completed' : undefined,
  );
  return result.recorded
    ? { kind: 'recorded', decision: result.decision, taskCompleted }
    : { kind: 'duplicate', decision: result.decision, taskCompleted };
}
