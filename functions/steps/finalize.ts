import { type CampaignSummary, summarizeCampaign } from '../evidence/summary';
import type { Services } from '../runtime/services';
import type { CampaignEvent, EventType } from '../store/events';
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

/**
 * Each record names its event once it is in the chain. A record without one either lost its event
 * (a crash between the two writes: append it now, marked recovered) or lost only the link (a
 * crash after the append: link the event that is there, and write nothing twice).
 */
async function recoverMissingEvents(campaignId: string, services: Services): Promise<void> {
  const { store } = services;
  const existing = new Map<string, CampaignEvent>();
  for (const event of await store.events.list(campaignId)) {
    const subject = event.data.grantId ?? event.data.reviewer;
    if (typeof subject === 'string') existing.set(`${event.type}:${subject}`, event);
  }
  const ensure = async (type: EventType, subject: string, data: Record<string, unknown>): Promise<number> => {
    const found = existing.get(`${type}:${subject}`);
    if (found) return found.seq;
    const event = await store.events.append(campaignId, type, { ...data, recovered: true }, services.now());
    existing.set(`${type}:${subject}`, event);
    return event.seq;
  };

  for (const decision of await store.decisions.list(campaignId)) {
    if (decision.eventSeq !== undefined) continue;
    const seq = await ensure('decision_recorded', decision.grantId, {
      grantId: decision.grantId,
      decision: decision.decision,
      reviewer: decision.reviewer,
      decidedBySlackUserId: decision.decidedBySlackUserId,
      justification: decision.justification ?? null,
    });
    await store.decisions.linkEvent(campaignId, decision.grantId, seq);
  }
  for (const revocation of await store.outcomes.listRevocations(campaignId)) {
    if (revocation.eventSeq !== undefined || revocation.status === 'pending') continue;
    const type = revocation.status === 'failed' ? 'revocation_failed' : 'revocation_applied';
    const seq = await ensure(type, revocation.grantId, {
      grantId: revocation.grantId,
      status: revocation.status,
      action: revocation.action ?? null,
      error: revocation.error ?? null,
      at: revocation.at,
      interrupted: revocation.interrupted ?? false,
    });
    await store.outcomes.linkEvent('revocation', campaignId, revocation.grantId, seq);
  }
  for (const verification of await store.outcomes.listVerifications(campaignId)) {
    if (verification.eventSeq !== undefined) continue;
    const seq = await ensure('revocation_verified', verification.grantId, {
      grantId: verification.grantId,
      status: verification.status,
      paths: verification.paths,
      checkedAt: verification.checkedAt,
    });
    await store.outcomes.linkEvent('verification', campaignId, verification.grantId, seq);
  }
  // Task events have no link of their own: the task's state says which must exist.
  for (const task of await store.tasks.list(campaignId)) {
    const { reviewer } = task;
    if (task.messageTs) {
      await ensure('review_requested', reviewer, {
        reviewer,
        slackUserId: task.slackUserId,
        grantCount: task.grantCount,
        dueAt: task.dueAt,
      });
    }
    if (task.status === 'completed') {
      await ensure('review_completed', reviewer, { reviewer, decided: task.decidedGrantIds.length });
    }
    if (task.status === 'unresponsive') {
      await ensure('reviewer_unresponsive', reviewer, {
        reviewer,
        undecided: task.grantCount - task.decidedGrantIds.length,
        decided: task.decidedGrantIds.length,
      });
    }
  }
}
