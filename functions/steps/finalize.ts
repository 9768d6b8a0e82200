import { type CampaignSummary, summarizeCampaign } from '../evidence/summary';
import type { Services } from '../runtime/services';
import type { CampaignRef } from './snapshot';

/**
 * Closes the campaign: any decision whose event did not make it into the chain (a crash between
 * the two writes) is appended now, then the counts are recorded in a final event.
 */
export async function finalizeCampaign(input: CampaignRef, services: Services): Promise<CampaignSummary> {
  const { campaignId } = input;
  const { store } = services;
  const campaign = await store.campaigns.get(campaignId);
  if (campaign.status === 'completed') return summarizeCampaign(store, campaignId);
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
        recoveredAt: 'finalize',
      },
      new Date(decision.decidedAt),
    );
    await store.decisions.linkEvent(campaignId, decision.grantId, event.seq);
  }
  const before = await summarizeCampaign(store, campaignId);
  const completedAt = services.now().toISOString();
  const {
    campaignId: _id,
    organization: _o,
    status: _s,
    trigger: _t,
    requestedBy: _r,
    startedAt: _st,
    completedAt: _c,
    chainHead: _h,
    chainIntact: _i,
    ...counts
  } = before;
  await store.events.append(
    campaignId,
    'campaign_completed',
    { counts, chainHeadBefore: before.chainHead },
    services.now(),
  );
  await store.campaigns.advance(campaignId, 'completed', { counts, completedAt });
  services.progress(`Campaign ${campaignId} complete`);
  return summarizeCampaign(store, campaignId);
}
