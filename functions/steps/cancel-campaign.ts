import type { Services } from '../runtime/services';
import type { Campaign, CampaignCancellation, CancellationPhase } from '../store/campaigns';
import { mapConcurrently } from './time-budget';

/** Tasks closed (and tokens resumed) at once. */
const CLOSE_CONCURRENCY = 8;

export interface CancelCampaignRequest {
  campaignId: string;
  /** Slack user id of the member of the security team (from the signed request, never its text). */
  slackUserId: string;
  /** Their Slack name, for people reading the evidence; null when Slack did not send one. */
  name: string | null;
  reason: string | null;
}

/** What closing a cancelled campaign's open work did (the same on a repeated cancel). */
export interface CancellationWork {
  /** Tasks this call closed as `cancelled` (pending or awaiting before). */
  tasksClosed: number;
  /** Of those, how many had a workflow waiting on their token, resumed now. */
  tokensResumed: number;
  /** The security team's approval of held revocations was waiting and is closed now. */
  approvalClosed: boolean;
  /**
   * Resumes that failed (logged). The task is closed either way, so that branch ends when its wait
   * times out and the review checkpoint finds the task closed.
   */
  resumeFailures: number;
  eventSeq: number;
}

export type CancelCampaignOutcome =
  | ({ kind: 'cancelled'; cancellation: CampaignCancellation } & CancellationWork)
  /** Someone cancelled it before; whatever that cancel left unfinished was finished now. */
  | ({ kind: 'already_cancelled'; cancellation: CampaignCancellation } & CancellationWork)
  | { kind: 'refused'; campaign: Campaign | undefined; reason: string };

/**
 * `/access-review cancel`: ends a campaign truthfully. One conditional write on the campaign
 * decides between the cancel and ApplyRevocations' beginRevoking: either the cancel wins before any
 * revocation began (then nothing is revoked: ApplyRevocations finds the cancellation and stops) or
 * revocations began and the cancel is refused, saying so. A won cancel is recorded in the chain
 * (`campaign_cancelled`, who and why), closes every open task as `cancelled` and resumes the
 * workflow waiting on it (so the reviewer Map ends), and closes a waiting approval of held
 * revocations the same way; CheckRevocations then sends the workflow straight to Finalize, which
 * closes the campaign as cancelled. Every part is idempotent: cancelling again finishes what an
 * interrupted cancel left undone.
 */
export async function cancelCampaign(
  request: CancelCampaignRequest,
  services: Services,
): Promise<CancelCampaignOutcome> {
  const { store } = services;
  const { campaignId } = request;
  const campaign = await store.campaigns.find(campaignId);
  if (!campaign) return { kind: 'refused', campaign, reason: `there is no campaign ${campaignId}.` };
  const approval = await store.approvals.get(campaignId);
  const phase: CancellationPhase = approval?.status === 'awaiting' ? 'awaiting_approval' : 'in_review';
  const result = await store.campaigns.cancel(campaignId, {
    by: request.slackUserId,
    byName: request.name,
    reason: request.reason,
    phase,
    at: services.now().toISOString(),
  });
  if (result.cancelled) {
    const cancellation = result.campaign.cancellation as CampaignCancellation;
    const work = await finishCancellation(campaignId, cancellation, services);
    services.log.info('campaign cancelled', {
      campaignId,
      by: cancellation.by,
      phase,
      tasksClosed: work.tasksClosed,
      approvalClosed: work.approvalClosed,
    });
    services.progress(
      `Campaign ${campaignId} cancelled by ${cancellation.byName ?? cancellation.by} (Slack ${cancellation.by}): ${work.tasksClosed} open task(s) closed, nothing will be revoked`,
    );
    return { kind: 'cancelled', cancellation, ...work };
  }
  if (result.reason === 'already_cancelled') {
    const cancellation = result.campaign.cancellation as CampaignCancellation;
    const work = await finishCancellation(campaignId, cancellation, services);
    return { kind: 'already_cancelled', cancellation, ...work };
  }
  return { kind: 'refused', campaign: result.campaign, reason: refusalText(result.campaign, result.reason) };
}

function refusalText(campaign: Campaign, why: 'revocations_begun' | 'not_in_review'): string {
  const id = campaign.campaignId;
  if (why === 'revocations_begun') {
    return `campaign ${id} began applying revocations at ${campaign.revocationsBegunAt}, so it can no longer be cancelled: stopping now would leave some revocations done and others not. It will finish, verify and record every revocation as usual.`;
  }
  switch (campaign.status) {
    case 'snapshotting':
    case 'assigning':
      return `campaign ${id} is still being set up (${campaign.status}); it can be cancelled once the review requests are sent (see \`/access-review status ${id}\`).`;
    case 'completed':
      return `campaign ${id} is already completed (${campaign.completedAt ?? 'time unknown'}); there is nothing to cancel.`;
    case 'failed':
      return `campaign ${id} failed in ${campaign.failure?.state ?? 'a step'} and is not running; there is nothing to cancel (a resumed run would continue it).`;
    default:
      return `campaign ${id} is ${campaign.status}: revocations have begun, so it can no longer be cancelled.`;
  }
}

/**
 * Records the cancellation in the chain (once) and closes what is still open: the tasks, resuming
 * each workflow branch waiting on one, and a waiting approval of held revocations. Safe to run any
 * number of times; CheckRevocations runs it too, so a cancel interrupted after its conditional write
 * still ends up recorded.
 */
export async function finishCancellation(
  campaignId: string,
  cancellation: CampaignCancellation,
  services: Services,
): Promise<CancellationWork> {
  const { store } = services;
  const event = await store.events.appendOnce(
    campaignId,
    'campaign_cancelled',
    {
      by: cancellation.by,
      byName: cancellation.byName,
      reason: cancellation.reason,
      phase: cancellation.phase,
    },
    new Date(cancellation.at),
  );
  await store.campaigns.linkCancellationEvent(campaignId, event.seq);
  // Tasks close at the event's own time: reviewers.csv rebuilds a cancelled task's completed_at from it.
  const at = new Date(event.at);

  const work: CancellationWork = {
    tasksClosed: 0,
    tokensResumed: 0,
    approvalClosed: false,
    resumeFailures: 0,
    eventSeq: event.seq,
  };
  const open = (await store.tasks.list(campaignId)).filter(
    (task) => task.status === 'pending' || task.status === 'awaiting',
  );
  // A few at a time: hundreds of reviewers must close within the Slack endpoint's invocation.
  await mapConcurrently(open, CLOSE_CONCURRENCY, async (task) => {
    const closed = await store.tasks.close(campaignId, task.reviewer, 'cancelled', at);
    if (!closed) return; // the last click or the window's end closed it first
    work.tasksClosed++;
    if (!closed.taskToken) return; // AwaitReview finds it closed and resumes its own token
    const resumed = await resume(services, closed.taskToken, {
      reviewer: task.reviewer,
      decided: closed.task.decidedCount,
      cancelled: true,
    });
    if (resumed) work.tokensResumed++;
    else work.resumeFailures++;
  });
  const who = `${cancellation.byName ?? 'the security team'} (Slack ${cancellation.by})`;
  const approval = await store.approvals.cancel(campaignId, `the campaign was cancelled by ${who}`, at);
  if (approval) {
    work.approvalClosed = true;
    if (approval.taskToken) {
      const resumed = await resume(services, approval.taskToken, { decision: 'expired', cancelled: true });
      if (!resumed) work.resumeFailures++;
    }
  }
  return work;
}

async function resume(services: Services, token: string, output: Record<string, unknown>): Promise<boolean> {
  try {
    await services.tasks.succeed(token, output);
    return true;
  } catch (error) {
    // The cancel is recorded and the task closed; the branch then ends at its window's checkpoint
    // (which finds the task closed), or a repeated cancel resumes it.
    services.log.error('could not resume the workflow after cancelling', {
      error: error instanceof Error ? error.name : String(error),
    });
    return false;
  }
}
