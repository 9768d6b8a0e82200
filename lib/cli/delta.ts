import type { Writable } from 'node:stream';
import { AccessReviewError } from '../../functions/core/errors';
import { viaLabel } from '../../functions/core/grant';
import {
  campaignDelta,
  countDelta,
  type DeltaCounts,
  type DeltaEntry,
  type DeltaSide,
  emptyDeltaCounts,
} from '../../functions/evidence/delta';
import { type GrantRecords, mergeByGrant } from '../../functions/evidence/merge';
import { storeEvidenceSource } from '../../functions/evidence/source';
import type { StoredGuardItem } from '../../functions/store/approvals';
import type { Campaign } from '../../functions/store/campaigns';
import type { Store } from '../../functions/store/index';
import { type Column, type OutputFormat, writeRows } from './output';

/** There are not two campaigns to compare, or one named does not exist. */
export class DeltaCampaignsError extends AccessReviewError {}

function either<T>(e: DeltaEntry, pick: (side: DeltaSide) => T): T {
  return pick((e.to ?? e.from) as DeltaSide);
}

function fromTo(e: DeltaEntry, pick: (side: DeltaSide) => string | undefined): string {
  const [a, b] = [e.from ? pick(e.from) : undefined, e.to ? pick(e.to) : undefined];
  if (e.from && e.to && a !== b) return `${a ?? ''} → ${b ?? ''}`;
  return (a ?? b) || '';
}

function decisionLabel(side: DeltaSide | undefined): string | undefined {
  if (!side) return undefined;
  return side.decision?.decision ?? (side.grant.reviewable ? 'undecided' : 'not reviewable');
}

export const DELTA_COLUMNS: ReadonlyArray<Column<DeltaEntry>> = [
  { name: 'change', value: (e) => e.change, inTable: true },
  { name: 'findings', value: (e) => e.findings, inTable: true },
  { name: 'connector', value: (e) => either(e, (s) => s.grant.connector) },
  { name: 'grant_kind', value: (e) => either(e, (s) => s.grant.grantKind) },
  { name: 'resource', value: (e) => either(e, (s) => s.grant.resource), inTable: true },
  { name: 'principal', value: (e) => either(e, (s) => s.grant.principal), inTable: true },
  { name: 'entitlement', value: (e) => fromTo(e, (s) => s.grant.entitlement), inTable: true },
  { name: 'via', value: (e) => fromTo(e, (s) => viaLabel(s.grant.via)) },
  { name: 'what_changed', value: (e) => e.changes, inTable: true },
  { name: 'decision_from', value: (e) => decisionLabel(e.from), inTable: true },
  { name: 'decided_by_from', value: (e) => e.from?.decision?.reviewer },
  { name: 'revocation_from', value: (e) => e.from?.revocation?.status, inTable: true },
  { name: 'verification_from', value: (e) => e.from?.verification?.status },
  { name: 'decision_to', value: (e) => decisionLabel(e.to), inTable: true },
  { name: 'decided_by_to', value: (e) => e.to?.decision?.reviewer },
  { name: 'revocation_to', value: (e) => e.to?.revocation?.status },
  { name: 'grant_id_from', value: (e) => e.from?.grantId },
  { name: 'grant_id_to', value: (e) => e.to?.grantId },
];

async function* none(): AsyncGenerator<StoredGuardItem[]> {}

/** A campaign's grants with their decision and outcomes, in grant-id order, a page at a time. */
function campaignRecords(store: Store, campaignId: string): AsyncIterable<GrantRecords> {
  const source = storeEvidenceSource(store, campaignId);
  return mergeByGrant({
    grant: source.grants(),
    decision: source.decisions(),
    revocation: source.revocations(),
    verification: source.verifications(),
    guardItem: none(),
  });
}

export interface DeltaOptions {
  from?: string;
  to?: string;
  /** Also list unchanged grants. */
  all?: boolean;
  format: OutputFormat;
}

/** `--from` / `--to`, or else the two latest completed campaigns (older → newer). */
export async function chooseCampaigns(store: Store, options: DeltaOptions): Promise<[Campaign, Campaign]> {
  if (options.from && options.to) {
    return [await store.campaigns.get(options.from), await store.campaigns.get(options.to)];
  }
  const completed = (await store.campaigns.list()).filter((c) => c.status === 'completed');
  if (options.from || options.to) {
    const given = await store.campaigns.get((options.from ?? options.to) as string);
    const other = completed.find(
      (c) =>
        c.campaignId !== given.campaignId &&
        (options.from ? c.startedAt > given.startedAt : c.startedAt < given.startedAt),
    );
    if (!other)
      throw new DeltaCampaignsError(
        `no completed campaign ${options.from ? 'after' : 'before'} ${given.campaignId} to compare with`,
      );
    return options.from ? [given, other] : [other, given];
  }
  const [newer, older] = completed;
  if (!newer || !older) {
    throw new DeltaCampaignsError(
      `delta needs two completed campaigns and the table has ${completed.length}: name them with --from and --to`,
    );
  }
  return [older, newer];
}

/**
 * `access-review delta`: both campaigns' partitions read in grant-id order and merge-joined
 * (functions/evidence/delta.ts). Unchanged grants are counted, and listed only with `--all`.
 */
export async function runDelta(
  store: Store,
  options: DeltaOptions,
  out: Writable,
  notes: (line: string) => void,
): Promise<DeltaCounts> {
  const [from, to] = await chooseCampaigns(store, options);
  const counts = emptyDeltaCounts();
  async function* entries(): AsyncGenerator<DeltaEntry> {
    for await (const entry of campaignDelta(
      campaignRecords(store, from.campaignId),
      campaignRecords(store, to.campaignId),
    )) {
      countDelta(counts, entry);
      if (options.all || entry.change !== 'unchanged' || entry.findings.length > 0) yield entry;
    }
  }
  notes(
    `delta from ${from.campaignId} (${from.startedAt}, ${from.status}) to ${to.campaignId} (${to.startedAt}, ${to.status})`,
  );
  if (from.startedAt > to.startedAt)
    notes(`note: --from started after --to; "new" and "removed" read backwards`);
  await writeRows(entries(), DELTA_COLUMNS, options.format, out);
  notes(
    `${counts.new} new, ${counts.removed} removed, ${counts.changed} changed, ${counts.unchanged} unchanged; ` +
      `${counts.keptThenRevoked} kept then revoked, ${counts.revokedThenPresent} revoked then present again`,
  );
  return counts;
}
