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
  | { kind: 'duplicate'; decision: Decision }
  | { kind: 'refused'; reason: string };

/**
 * Checks that the click may decide this grant, then writes the decision once. A refusal writes
 * nothing. Checks, in order: the grant exists in this campaign and is assigned; the clicker is
 * the assigned reviewer's Slack user; the reviewer does not hold the access; the task is open.
 */
export async function recordDecision(request: DecisionRequest, services: Services): Promise<DecisionOutcome> {
  const { store } = services;
  const { campaignId, grantId } = request;
  const grant = await store.grants.get(campaignId, grantId);
  if (!grant?.reviewer) return { kind: 'refused', reason: 'This grant is not part of an open review.' };
  const task = await store.tasks.get(campaignId, grant.reviewer);
  if (!task) return { kind: 'refused', reason: 'This grant is not part of an open review.' };
  if (task.slackUserId !== request.slackUserId) {
    services.log.warn('decision refused: not the assigned reviewer', {
      campaignId,
      grantId,
      slackUserId: request.slackUserId,
    });
    return { kind: 'refused', reason: 'Only the assigned reviewer can decide on this grant.' };
  }
  if (grant.principalType === 'user' && grant.principal.toLowerCase() === grant.reviewer.toLowerCase()) {
    return { kind: 'refused', reason: 'Nobody decides on their own access.' };
  }
  const existing = await store.decisions.get(campaignId, grantId);
  if (existing) return { kind: 'duplicate', decision: existing };
  if (task.status !== 'awaiting') {
    return {
      kind: 'refused',
      reason:
        task.status === 'unresponsive'
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
  if (!result.recorded) return { kind: 'duplicate', decision: result.decision };
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
  const state = await loadReviewerState(services, campaignId, grant.reviewer, result.decision);
  const taskCompleted = await completeIfDone(services, task, state);
  await redrawTaskMessage(services, task, state, taskCompleted ? 'completed' : undefined);
  return { kind: 'recorded', decision: result.decision, taskCompleted };
}
