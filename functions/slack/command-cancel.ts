import type { Services } from '../runtime/services';
import { cancelCampaign } from '../steps/cancel-campaign';
import { type CommandCaller, resolveCampaign } from './command-common';

/**
 * `/access-review cancel [campaignId] [-- reason]`: cancels the named campaign (or the only running
 * one) and says exactly what happened: cancelled (tasks closed, nothing will be revoked), already
 * cancelled by someone, or refused because revocations have begun (and then it finishes as usual).
 */
export async function runCancel(
  parsed: { campaignId: string | undefined; reason: string | null },
  caller: CommandCaller,
  services: Services,
): Promise<string> {
  const resolved = await resolveCampaign(parsed.campaignId, 'cancel', services);
  if ('text' in resolved) return resolved.text;
  const { campaignId } = resolved.campaign;
  const outcome = await cancelCampaign(
    { campaignId, slackUserId: caller.userId, name: caller.userName, reason: parsed.reason },
    services,
  );
  if (outcome.kind === 'refused') {
    services.log.info('cancel refused', { who: caller.userId, campaignId, reason: outcome.reason });
    return `Not cancelled: ${outcome.reason}`;
  }
  const unfinished =
    outcome.resumeFailures > 0
      ? ` ${outcome.resumeFailures} waiting step(s) could not be resumed now; they end when their wait times out.`
      : '';
  const approval = outcome.approvalClosed ? ' The pending approval of held revocations was closed.' : '';
  if (outcome.kind === 'already_cancelled') {
    const { cancellation } = outcome;
    return `Campaign ${campaignId} was already cancelled by <@${cancellation.by}> at ${cancellation.at}. ${outcome.tasksClosed} task(s) still open were closed now.${approval}${unfinished}`;
  }
  return `Campaign ${campaignId} is cancelled: ${outcome.tasksClosed} open review task(s) closed, nothing will be revoked, and the evidence records that you cancelled it${parsed.reason ? ` ("${parsed.reason}")` : ''}.${approval}${unfinished}`;
}
