import { grantContentHash, snapshotDigest } from '../evidence/grant-digest';
import type { Services } from '../runtime/services';
import type { StoredGrant } from '../store/grants';

export interface CampaignRef {
  campaignId: string;
}

export interface SnapshotOutput extends CampaignRef {
  grantCount: number;
  reviewableCount: number;
}

const PAGE = 500;

/** Reads every grant from the connectors and writes them to the campaign, page by page. */
export async function takeSnapshot(input: CampaignRef, services: Services): Promise<SnapshotOutput> {
  const { campaignId } = input;
  const campaign = await services.store.campaigns.get(campaignId);
  if (campaign.status !== 'snapshotting') {
    // A retried step after the snapshot was recorded: report what was recorded, read nothing again.
    return {
      campaignId,
      grantCount: campaign.counts.grants ?? 0,
      reviewableCount: campaign.counts.reviewable ?? 0,
    };
  }
  const recorded = await services.store.events.findFirst(campaignId, 'snapshot_taken');
  if (recorded) {
    // Redriven after the snapshot was recorded but before the campaign moved on: keep that snapshot.
    const grantCount = recorded.data.grantCount as number;
    const reviewableCount = recorded.data.reviewableCount as number;
    await services.store.campaigns.advance(campaignId, 'assigning', {
      counts: { grants: grantCount, reviewable: reviewableCount },
    });
    return { campaignId, grantCount, reviewableCount };
  }
  // Only a retried attempt can find grants already stored (and must then look for stale ones).
  const retried = await services.store.grants.any(campaignId);
  const connector = await services.github();
  const snapshotAt = services.now().toISOString();
  const hashes = new Map<string, string>();
  let reviewable = 0;
  let page: StoredGrant[] = [];
  const flush = async () => {
    await services.store.grants.putMany(page);
    page = [];
  };
  for await (const grant of connector.snapshot()) {
    if (hashes.has(grant.grantId)) continue;
    hashes.set(grant.grantId, grantContentHash(grant));
    if (grant.reviewable) reviewable++;
    page.push({ ...grant, campaignId, snapshotAt });
    if (page.length >= PAGE) {
      await flush();
      services.progress(`Snapshot: ${hashes.size} grants read so far`);
    }
  }
  await flush();
  if (retried) {
    // The interrupted attempt may have written grants this attempt did not find.
    for (const grant of await services.store.grants.list(campaignId, { includeStale: true })) {
      if (!hashes.has(grant.grantId)) await services.store.grants.markStale(campaignId, grant.grantId);
    }
  }
  const digest = snapshotDigest(hashes);
  await services.store.events.append(
    campaignId,
    'snapshot_taken',
    {
      connectors: [connector.name],
      grantCount: hashes.size,
      reviewableCount: reviewable,
      digest,
      snapshotAt,
    },
    services.now(),
  );
  await services.store.campaigns.advance(campaignId, 'assigning', {
    counts: { grants: hashes.size, reviewable },
  });
  services.progress(`Snapshot: ${hashes.size} grants (${reviewable} to review; the rest follow from those)`);
  return { campaignId, grantCount: hashes.size, reviewableCount: reviewable };
}
