import type { SourceUsage } from '../connectors/connector';
import { withFlag } from '../core/grant';
import { GRANT_HASH_VERSION, grantContentHash, snapshotDigest } from '../evidence/grant-digest';
import type { Services } from '../runtime/services';
import type { StoredGrant } from '../store/grants';
import { recheckOpenRemediations } from './remediations';

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
  const openRemediations = await recheckOpenRemediations(campaignId, services);
  // Only a retried attempt can find grants already stored (and must then look for stale ones).
  const retried = await services.store.grants.any(campaignId);
  const connectors = await Promise.all(
    services.connectors.names.map((name) => services.connectors.get(name)),
  );
  const snapshotAt = services.now().toISOString();
  const hashes = new Map<string, string>();
  let reviewable = 0;
  let page: StoredGrant[] = [];
  const flush = async () => {
    await services.store.grants.putMany(page);
    page = [];
  };
  const usage: Record<string, SourceUsage> = {};
  const byKind: Record<string, number> = {};
  for (const connector of connectors) {
    // A connector outlives one step on a warm Lambda: count only what this snapshot spent.
    const before = connector.usage();
    for await (const found of connector.snapshot()) {
      if (hashes.has(found.grantId)) continue;
      const grant = openRemediations.has(found.grantId) ? withFlag(found, 'open_remediation') : found;
      hashes.set(grant.grantId, grantContentHash(grant));
      if (grant.reviewable) reviewable++;
      byKind[grant.grantKind] = (byKind[grant.grantKind] ?? 0) + 1;
      page.push({ ...grant, campaignId, snapshotAt });
      if (page.length >= PAGE) {
        await flush();
        services.progress(`Snapshot: ${hashes.size} grants read so far`);
      }
    }
    usage[connector.name] = usageSince(before, connector.usage());
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
      connectors: connectors.map((connector) => connector.name),
      grantCount: hashes.size,
      grantsByKind: sortedRecord(byKind),
      usage,
      reviewableCount: reviewable,
      digest,
      hashVersion: GRANT_HASH_VERSION,
      snapshotAt,
    },
    services.now(),
  );
  await services.store.campaigns.advance(campaignId, 'assigning', {
    counts: { grants: hashes.size, reviewable },
    sourceUsage: usage,
  });
  for (const [name, used] of Object.entries(usage)) {
    services.progress(`Snapshot: ${name} used ${describeUsage(used)}`);
  }
  services.progress(`Snapshot: ${hashes.size} grants (${reviewable} to review; the rest follow from those)`);
  return { campaignId, grantCount: hashes.size, reviewableCount: reviewable };
}

function sortedRecord(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** `12 requests (graphql 9, core 3), 14 rate-limit points (graphql 11, core 3)`. */
export function describeUsage(usage: SourceUsage): string {
  const part = (values: Record<string, number>, noun: string) => {
    const total = Object.values(values).reduce((sum, value) => sum + value, 0);
    const detail = Object.entries(values)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => `${name} ${value}`)
      .join(', ');
    return `${total} ${noun}${detail ? ` (${detail})` : ''}`;
  };
  return `${part(usage.requests, 'requests')}, ${part(usage.points, 'rate-limit points')}`;
}

function usageSince(before: SourceUsage, after: SourceUsage): SourceUsage {
  const minus = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(a)
        .map(([name, value]) => [name, value - (b[name] ?? 0)] as const)
        .filter(([, value]) => value > 0),
    );
  return { requests: minus(after.requests, before.requests), points: minus(after.points, before.points) };
}
