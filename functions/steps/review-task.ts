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
 * A reviewer's grants and decisions. The index behind the view may lag a write by a moment, so
 * any grant it shows as undecided is re-read from the table: completion must never be missed.
 */
export async function loadReviewerState(
  services: Services,
  campaignId: string,
  reviewer: string,
  justRecorded?: Decision,
): Promise<ReviewerState> {
  const view = await services.store.grants.reviewerView(campaignId, reviewer);
  const decisions = new Map(view.decisions.map((d) => [d.grantId, d]));
  if (justRecorded) decisions.set(justRecorded.grantId, justRecorded);
  for (const grant of view.grants) {
    if (decisions.has(grant.grantId)) continue;
    const decision = await services.store.decisions.get(campaignId, grant.grantId);
    if (decision) decisions.set(grant.grantId, decision);
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
        decision: decision ? { decision: decision.decision, decidedAt: decision.decidedAt } : undefined,
      };
    }),
    closed: closed ? { reason: closed } : undefined,
  });
}

export function allDecided(state: ReviewerState): boolean {
  return state.grants.every((grant) => state.decisions.has(grant.grantId));
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
 * Closes the task once every grant is decided and resumes the workflow. Only the caller that wins
 * the conditional close sends the token, so a double click on the last grant resumes it once.
 */
export async function completeIfDone(
  services: Services,
  task: ReviewTask,
  state: ReviewerState,
): Promise<boolean> {
  if (!allDecided(state)) return false;
  const closed = await services.store.tasks.close(
    task.campaignId,
    task.reviewer,
    'completed',
    services.now(),
  );
  if (!closed) return false;
  const counts = countDecisions(state);
  await services.store.events.append(
    task.campaignId,
    'review_completed',
    { reviewer: task.reviewer, ...counts },
    services.now(),
  );
  if (closed.taskToken) {
    await services.tasks.succeed(closed.taskToken, { reviewer: task.reviewer, ...counts });
  }
  services.progress(`Review by ${task.reviewer} complete: ${counts.kept} kept, ${counts.revoked} to revoke`);
  return true;
}

export function countDecisions(state: ReviewerState): { decided: number; kept: number; revoked: number } {
  let kept = 0;
  let revoked = 0;
  for (const grant of state.grants) {
    const decision = state.decisions.get(grant.grantId)?.decision;
    if (decision === 'keep') kept++;
    if (decision === 'revoke') revoked++;
  }
  return { decided: kept + revoked, kept, revoked };
}
