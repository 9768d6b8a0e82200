import { evaluateRevocationGuard, type OwnIdentities, ownIdentitiesOf } from '../core/revocation-guard';
import type { Services } from '../runtime/services';
import type { StoredGuardSummary } from '../store/approvals';
import { finishCancellation } from './cancel-campaign';
import type { CampaignRef } from './snapshot';

export interface CheckRevocationsOutput extends CampaignRef {
  /**
   * The security team cancelled the campaign (`/access-review cancel`): nothing was evaluated and
   * nothing will be revoked; the workflow goes straight to Finalize. All counts are then 0.
   * Absent otherwise (the workflow's Choice tests presence and value).
   */
  cancelled?: true;
  revocations: number;
  allowed: number;
  /** Revocations waiting for the security team; the workflow asks for an approval when above 0. */
  held: number;
  forbidden: number;
}

/**
 * The revocation guard's step, between the reviews and ApplyRevocations: evaluates every revoke
 * decision against the configured limits and protected principals, stores the verdict (each
 * grant's and the figures) and records it in the chain. Evaluated once: a retried step finds the
 * stored verdict, so the batch the security team is asked about is the batch that is applied.
 */
export async function checkRevocations(
  input: CampaignRef,
  services: Services,
): Promise<CheckRevocationsOutput> {
  const { campaignId } = input;
  const { store, config } = services;
  // One read by key; a campaign record is absent only in tests that build the guard's input alone.
  const campaign = await store.campaigns.find(campaignId);
  if (campaign?.cancellation) {
    // Finishes what an interrupted cancel left undone (the chain's campaign_cancelled above all).
    await finishCancellation(campaignId, campaign.cancellation, services);
    services.progress(
      `Campaign ${campaignId} was cancelled by ${campaign.cancellation.byName ?? campaign.cancellation.by}: no revocation is evaluated or applied`,
    );
    return { campaignId, cancelled: true, revocations: 0, allowed: 0, held: 0, forbidden: 0 };
  }
  let summary = await store.approvals.getGuardSummary(campaignId);
  if (!summary) {
    const grants = await store.grants.list(campaignId);
    const decisions = await store.decisions.list(campaignId);
    const revoke = decisions.filter((d) => d.decision === 'revoke').map((d) => d.grantId);
    // A downgrade takes the higher entitlement away: the guard counts it like a revocation.
    const downgrade = decisions.filter((d) => d.decision === 'downgrade').map((d) => d.grantId);
    const ownIdentities = ownIdentitiesOf(config, await reportedIdentities(services));
    const guard = config.revocationGuard;
    const verdict = evaluateRevocationGuard({
      grants,
      revoke,
      downgrade,
      limits: guard,
      ownIdentities,
    });
    // Items first: a summary is only ever stored beside a complete set of items.
    for (const item of verdict.items) await store.approvals.putGuardItem({ campaignId, ...item });
    const { items: _items, ...figures } = verdict;
    const candidate: StoredGuardSummary = {
      campaignId,
      ...figures,
      evaluatedAt: services.now().toISOString(),
      limits: {
        maxRevokedPercent: guard.maxRevokedPercent,
        maxPerPrincipal: guard.maxPerPrincipal,
        approvalWindowHours: guard.approvalWindowHours,
      },
      ownIdentities,
      breakGlass: { github: [...guard.breakGlass.github], aws: [...guard.breakGlass.aws] },
    };
    summary = (await store.approvals.putGuardSummary(candidate))
      ? candidate
      : ((await store.approvals.getGuardSummary(campaignId)) ?? candidate);
  }
  if (summary.eventSeq === undefined) {
    const items = await store.approvals.listGuardItems(campaignId);
    const event = await store.events.appendOnce(
      campaignId,
      'revocation_guard_evaluated',
      {
        limits: summary.limits,
        reviewable: summary.reviewable,
        revocations: summary.revocations,
        downgrades: summary.downgrades ?? 0,
        percentAllowance: summary.percentAllowance,
        overPercentLimit: summary.overPercentLimit,
        principalsOverLimit: summary.principalsOverLimit,
        counts: summary.counts,
        ownIdentities: summary.ownIdentities,
        breakGlass: summary.breakGlass,
        // Every revocation that will not simply go ahead, and why; allowed ones are the rest.
        held: items
          .filter((item) => item.outcome !== 'allowed')
          .sort((a, b) => a.grantId.localeCompare(b.grantId))
          .map((item) => ({ grantId: item.grantId, outcome: item.outcome, reasons: item.reasons })),
      },
      services.now(),
    );
    await store.approvals.linkGuardEvent(campaignId, event.seq);
  }
  const { counts } = summary;
  services.progress(
    `Revocation guard: ${summary.revocations} revocations of ${summary.reviewable} reviewable grants (limit ${summary.limits.maxRevokedPercent}%: ${summary.percentAllowance}); ${counts.allowed} allowed, ${counts.held} held for the security team, ${counts.forbidden} refused (the tool's own identity)`,
  );
  return {
    campaignId,
    revocations: summary.revocations,
    allowed: counts.allowed,
    held: counts.held,
    forbidden: counts.forbidden,
  };
}

/**
 * What the connectors say they act as: GitHub answers who its token is. AWS is not asked here: its
 * identities are the configured read and revoke roles, which ownIdentitiesOf adds from
 * configuration, so this step needs no member-account role and builds no AWS connector.
 */
async function reportedIdentities(services: Services): Promise<Partial<OwnIdentities>> {
  const reported: { github: string[]; aws: string[] } = { github: [], aws: [] };
  if (!services.connectors.names.includes('github')) return reported;
  const connector = await services.connectors.get('github');
  if (connector.ownIdentities) reported.github.push(...(await connector.ownIdentities()));
  return reported;
}
