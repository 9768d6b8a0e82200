import { isSnapshotCheckpoint, type SnapshotCheckpoint, type SourceUsage } from '../connectors/connector';
import { type Grant, withFlag } from '../core/grant';
import { connectorsToRead, describeScope, isWholeScope, type Scope, scopeMatcher } from '../core/scope';
import { GRANT_HASH_VERSION, grantContentHash, snapshotDigest } from '../evidence/grant-digest';
import type { Services } from '../runtime/services';
import type { SnapshotProgress, StoredGrant } from '../store/grants';
import { isRoutingFact } from '../store/routing-facts';
import { recheckOpenRemediations } from './remediations';
import { campaignScope } from './start-campaign';
import { timeIsShort } from './time-budget';

export interface CampaignRef {
  campaignId: string;
}

export interface SnapshotOutput extends CampaignRef {
  grantCount: number;
  reviewableCount: number;
  /**
   * False when the step stopped at a connector checkpoint before its Lambda's time ran out: the
   * workflow calls it again and it resumes there. Counts are then the running counts so far.
   */
  complete: boolean;
}

const PAGE = 500;
/**
 * Time kept for the closing pass (reading every grant back for the digest), per grant written: about
 * 0.05 ms per grant on dynalite on a 2-core machine (bench/campaign-cost.ts); twenty times that
 * leaves room for a slower table.
 */
const CLOSING_PASS_MS_PER_GRANT = 1;

/**
 * Reads every grant from the connectors and writes them to the campaign, page by page. A connector
 * with `resumableSnapshot` is read in shards: at each of its checkpoints the grants so far are
 * written and the checkpoint stored (SnapshotProgress), and when the Lambda's time runs short the
 * step returns `complete: false` and the next invocation resumes from there. A retried invocation
 * resumes from the last stored checkpoint the same way. The digest and the `snapshot_taken` event
 * are computed at the end from the stored grants, so they are the same however many invocations
 * the snapshot took.
 */
export async function takeSnapshot(input: CampaignRef, services: Services): Promise<SnapshotOutput> {
  const { campaignId } = input;
  const { store } = services;
  const campaign = await store.campaigns.get(campaignId);
  if (campaign.status !== 'snapshotting') {
    // A retried step after the snapshot was recorded: report what was recorded, read nothing again.
    return {
      campaignId,
      grantCount: campaign.counts.grants ?? 0,
      reviewableCount: campaign.counts.reviewable ?? 0,
      complete: true,
    };
  }
  const recorded = await store.events.findFirst(campaignId, 'snapshot_taken');
  if (recorded) {
    // Redriven after the snapshot was recorded but before the campaign moved on: keep that snapshot.
    const grantCount = recorded.data.grantCount as number;
    const reviewableCount = recorded.data.reviewableCount as number;
    await store.campaigns.advance(campaignId, 'assigning', {
      counts: { grants: grantCount, reviewable: reviewableCount },
    });
    return { campaignId, grantCount, reviewableCount, complete: true };
  }
  const openRemediations = await recheckOpenRemediations(campaignId, services);
  // An ad-hoc campaign reviews its scope only: grants outside it are not written, not counted and
  // not in the evidence. Those routing needs to know who holds what are kept apart for it.
  const scope = campaignScope(campaign);
  const inScope = scopeMatcher(scope, services.config);
  let progress = await startInvocation(campaignId, scope, services);
  const save = async (next: SnapshotProgress) => {
    progress = await store.grants.saveSnapshotProgress(next, progress.version);
  };
  // Grants seen by this invocation: a connector yielding one twice keeps the first.
  const seen = new Set<string>();
  let page: StoredGrant[] = [];
  let facts: Grant[] = [];
  let outOfScope = 0;
  let pending = { grants: 0, reviewable: 0 };
  const flush = async () => {
    await store.grants.putMany(page);
    page = [];
    if (facts.length > 0) await store.routingFacts.putMany(campaignId, facts);
    facts = [];
  };
  // Each checkpoint commits the open segment and opens the next, so a later failure of this
  // invocation abandons only what it wrote after its last checkpoint.
  let segment = progress.openSegment!;

  while (progress.current < progress.connectors.length) {
    const name = progress.connectors[progress.current] as Grant['connector'];
    const connector = await services.connectors.get(name);
    // A connector outlives one step on a warm Lambda: count only what this snapshot spent.
    let mark = connector.usage();
    /** Writes what was read up to here and stores where to resume; true when it is time to stop. */
    const commit = async (cursor: string | undefined, connectorDone: boolean): Promise<boolean> => {
      await flush();
      const now = connector.usage();
      const usage = { ...progress.usage, [name]: addUsage(progress.usage[name], usageSince(mark, now)) };
      mark = now;
      const stop = timeIsShort(services);
      const next: SnapshotProgress = {
        ...progress,
        usage,
        lastSegment: segment,
        grantsWritten: progress.grantsWritten + pending.grants,
        reviewableWritten: progress.reviewableWritten + pending.reviewable,
        current: connectorDone ? progress.current + 1 : progress.current,
        cursor: connectorDone ? undefined : cursor,
      };
      // A clean stop leaves no open segment: the next invocation abandons nothing.
      if (stop) delete next.openSegment;
      else next.openSegment = segment + 1;
      await save(next);
      segment++;
      pending = { grants: 0, reviewable: 0 };
      return stop;
    };
    const source: AsyncIterable<Grant | SnapshotCheckpoint> = connector.resumableSnapshot
      ? connector.resumableSnapshot(progress.cursor)
      : connector.snapshot();
    for await (const found of source) {
      if (isSnapshotCheckpoint(found)) {
        if (await commit(found.cursor, false)) {
          services.progress(
            `Snapshot: ${progress.grantsWritten} grants so far; stopping at a ${name} checkpoint before the Lambda's time runs out (the workflow resumes it)`,
          );
          return { ...countsOf(progress), campaignId, complete: false };
        }
        continue;
      }
      if (seen.has(found.grantId)) continue;
      seen.add(found.grantId);
      if (!inScope(found)) {
        outOfScope++;
        if (isRoutingFact(found)) facts.push(found);
        if (facts.length >= PAGE) await flush();
        continue;
      }
      const grant = openRemediations.has(found.grantId) ? withFlag(found, 'open_remediation') : found;
      pending.grants++;
      if (grant.reviewable) pending.reviewable++;
      page.push({ ...grant, campaignId, snapshotAt: progress.snapshotAt, snapshotSegment: segment });
      if (page.length >= PAGE) {
        await flush();
        services.progress(`Snapshot: ${progress.grantsWritten + pending.grants} grants read so far`);
      }
    }
    if ((await commit(undefined, true)) && progress.current < progress.connectors.length) {
      services.progress(
        `Snapshot: ${name} read; the next connector starts in the next invocation (the Lambda's time runs short)`,
      );
      return { ...countsOf(progress), campaignId, complete: false };
    }
  }
  if (timeIsShort(services, progress.grantsWritten * CLOSING_PASS_MS_PER_GRANT)) {
    const { openSegment: _written, ...cleanStop } = progress;
    if (_written !== undefined) await save(cleanStop);
    services.progress('Snapshot: every connector read; the closing pass runs in the next invocation');
    return { ...countsOf(progress), campaignId, complete: false };
  }
  if (!isWholeScope(scope)) {
    services.progress(
      `Snapshot: scope ${describeScope(scope)}; ${outOfScope} grants read outside it were left out` +
        (progress.invocations > 1 ? ' (this invocation)' : ''),
    );
  }
  return closeSnapshot(campaignId, progress, services);
}

/**
 * Loads (or creates) the progress item and opens a new segment for this invocation. An open
 * segment left by the previous invocation means it stopped without committing it: it is abandoned.
 */
async function startInvocation(
  campaignId: string,
  scope: Scope,
  services: Services,
): Promise<SnapshotProgress> {
  const stored = await services.store.grants.getSnapshotProgress(campaignId);
  const base: SnapshotProgress = stored ?? {
    campaignId,
    snapshotAt: services.now().toISOString(),
    // A connector that cannot have a grant in scope is not read at all (a team costs AWS nothing).
    connectors: connectorsToRead(scope, services.connectors.names, services.config),
    current: 0,
    lastSegment: 0,
    abandonedSegments: [],
    grantsWritten: 0,
    reviewableWritten: 0,
    usage: {},
    invocations: 0,
    version: 0,
  };
  const abandoned =
    base.openSegment === undefined ? base.abandonedSegments : [...base.abandonedSegments, base.openSegment];
  if (stored) {
    services.progress(
      `Snapshot: resuming at ${base.connectors[base.current] ?? 'the closing pass'} after ${base.grantsWritten} grants` +
        (base.openSegment !== undefined ? ' (the previous invocation stopped without a checkpoint)' : ''),
    );
  }
  const next: SnapshotProgress = {
    ...base,
    abandonedSegments: abandoned,
    openSegment: Math.max(base.lastSegment, ...abandoned) + 1,
    invocations: base.invocations + 1,
  };
  return services.store.grants.saveSnapshotProgress(next, base.version);
}

/**
 * Reads the stored grants back: those written by a committed segment are the snapshot; those only
 * an abandoned segment (or an earlier release's interrupted attempt) wrote are marked stale (nothing
 * is ever deleted). The digest, counts and event come from what is stored, not from memory.
 */
async function closeSnapshot(
  campaignId: string,
  progress: SnapshotProgress,
  services: Services,
): Promise<SnapshotOutput> {
  const { store } = services;
  const abandoned = new Set(progress.abandonedSegments);
  const hashes = new Map<string, string>();
  const byKind: Record<string, number> = {};
  let reviewable = 0;
  for await (const page of store.grants.pages(campaignId)) {
    for (const grant of page) {
      if (grant.stale === true) continue;
      const segment = grant.snapshotSegment;
      if (segment === undefined || abandoned.has(segment) || segment > progress.lastSegment) {
        await store.grants.markStale(campaignId, grant.grantId);
        continue;
      }
      hashes.set(grant.grantId, grantContentHash(grant));
      if (grant.reviewable) reviewable++;
      byKind[grant.grantKind] = (byKind[grant.grantKind] ?? 0) + 1;
    }
  }
  const usage = Object.fromEntries(
    progress.connectors.map((name) => [name, progress.usage[name] ?? emptyUsage()]),
  );
  await store.events.append(
    campaignId,
    'snapshot_taken',
    {
      connectors: progress.connectors,
      grantCount: hashes.size,
      grantsByKind: sortedRecord(byKind),
      usage,
      reviewableCount: reviewable,
      digest: snapshotDigest(hashes),
      hashVersion: GRANT_HASH_VERSION,
      snapshotAt: progress.snapshotAt,
    },
    services.now(),
  );
  await store.campaigns.advance(campaignId, 'assigning', {
    counts: { grants: hashes.size, reviewable },
    sourceUsage: usage,
  });
  for (const [name, used] of Object.entries(usage)) {
    services.progress(`Snapshot: ${name} used ${describeUsage(used)}`);
  }
  services.progress(
    `Snapshot: ${hashes.size} grants (${reviewable} to review; the rest follow from those)` +
      (progress.invocations > 1 ? `, read in ${progress.invocations} invocations` : ''),
  );
  return { campaignId, grantCount: hashes.size, reviewableCount: reviewable, complete: true };
}

function countsOf(progress: SnapshotProgress): { grantCount: number; reviewableCount: number } {
  return { grantCount: progress.grantsWritten, reviewableCount: progress.reviewableWritten };
}

function emptyUsage(): SourceUsage {
  return { requests: {}, points: {} };
}

function addUsage(a: SourceUsage | undefined, b: SourceUsage): SourceUsage {
  const plus = (x: Record<string, number>, y: Record<string, number>) => {
    const sum = { ...x };
    for (const [name, value] of Object.entries(y)) sum[name] = (sum[name] ?? 0) + value;
    return sum;
  };
  return { requests: plus(a?.requests ?? {}, b.requests), points: plus(a?.points ?? {}, b.points) };
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
