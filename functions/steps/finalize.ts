import { type CampaignSummary, summarizeCampaign } from '../evidence/summary';
import type { Services } from '../runtime/services';
import type { CampaignRef } from './snapshot';

/**
 * Closes the campaign. A record whose event did not make it into the chain (a crash between the
 * two writes) is appended now, marked as recovered, so the chain accounts for every decision,
 * revocation and verification. Then the counts are recorded in a final event.
 */
export async function finalizeCampaign(input: CampaignRef, services: Services): Promise<CampaignSummary> {
  const { campaignId } = input;
  const { store } = services;
  const campaign = await store.campaigns.get(campaignId);
  if (campaign.status !== 'completed') {
    await recoverMissingEvents(campaignId, services);
    const before = await summarizeCampaign(store, campaignId);
    const {
      campaignId: _id,
      organization: _organization,
      status: _status,
      trigger: _trigger,
      requestedBy: _requestedBy,
      startedAt: _startedAt,
      completedAt: _completedAt,
      chainHead: _head,
      chainIntact: _intact,
      ...counts
    } = before;
    await store.events.appendOnce(campaignId, 'campaign_completed', { counts }, services.now());
    await store.campaigns.advance(campaignId, 'completed', {
      counts,
      completedAt: services.now().toISOString(),
    });
    services.progress(`Campaign ${campaignId} complete`);
  }
  return summarizeCampaign(store, campaignId);
}

async function recoverMissingEvents(campaignId: string, services: Services): Promise<void> {
  const { store } = services;
  for (const decision of await store.decisions.list(campaignId)) {
    if (decision.eventSeq !== undefined) continue;
    const event = await store.events.append(
      campaignId,
      'decision_recorded',
      {
        grantId: decision.grantId,
        decision: decision.decision,
        reviewer: decision.reviewer,
        decidedBySlackUserId: decision.decidedBySlackUserId,
        justification: decision.justification ?? null,
        recovered: true,
      },
      services.now(),
    );
    await store.decisions.linkEvent(campaignId, decision.grantId, event.seq);
  }
  for (const revocation of await store.outcomes.listRevocations(campaignId)) {
    if (revocation.eventSeq !== undefined || revocation.status === 'pending') continue;
    const event = await store.events.append(
      campaignId,
      revocation.status === 'failed' ? 'revocation_failed' : 'revocation_applied',
      {
        grantId: revocation.grantId,
        status: revocation.status,
        action: revocation.action ?? null,
        error: revocation.error ?? null,
        at: revocation.at,
        interrupted: revocation.interrupted ?? false,
        recovered: true,
      },
      services.now(),
    );
    await store.outcomes.linkEvent('revocation', campaignId, revocation.grantId, event.seq);
  }
  for (const verification of await store.outcomes.listVerifications(campaignId)) {
    if (verification.eventSeq !== undefined) continue;
    const event = await store.events.append(
      campaignId,
      'revocation_verified',
      {
        grantId: verification.grantId,
        status: verification.status,
        paths: verification.paths,
        checkedAt: verification.checkedAt,
        recovered: true,
      },
      services.now(),
    );
    await store.outcomes.linkEvent('verification', campaignId, verification.grantId, event.seq);
  }
}
