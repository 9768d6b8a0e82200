import type { Writable } from 'node:stream';
import { AccessReviewError } from '../../functions/core/errors';
import { viaLabel } from '../../functions/core/grant';
import { type Campaign, CampaignRepository } from '../../functions/store/campaigns';
import {
  emptyHistoryStats,
  type HistoryEntry,
  type HistoryQuery,
  queryHistory,
} from '../../functions/store/history';
import type { TableRef } from '../../functions/store/table';
import { type Column, type OutputFormat, writeRows } from './output';

/** The options were contradictory or malformed (commander checks the rest). */
export class HistoryOptionsError extends AccessReviewError {}

function decisionOf(entry: HistoryEntry): string {
  if (entry.decision) return entry.decision.decision;
  return entry.grant.reviewable ? 'undecided' : 'not reviewable (derived)';
}

export const HISTORY_COLUMNS: ReadonlyArray<Column<HistoryEntry>> = [
  { name: 'campaign', value: (e) => e.campaignId, inTable: true },
  { name: 'snapshot_at', value: (e) => e.snapshotAt },
  { name: 'connector', value: (e) => e.grant.connector },
  { name: 'grant_kind', value: (e) => e.grant.grantKind },
  { name: 'resource', value: (e) => e.grant.resource, inTable: true },
  { name: 'principal', value: (e) => e.grant.principal, inTable: true },
  { name: 'holder', value: (e) => e.grant.holder },
  { name: 'entitlement', value: (e) => e.grant.entitlement, inTable: true },
  { name: 'via', value: (e) => viaLabel(e.grant.via), inTable: true },
  { name: 'flags', value: (e) => e.grant.flags },
  { name: 'reviewable', value: (e) => e.grant.reviewable },
  { name: 'derived_from', value: (e) => e.grant.derivedFrom },
  { name: 'reviewer', value: (e) => e.grant.reviewer },
  { name: 'routing_reason', value: (e) => e.grant.routingReason },
  { name: 'decision', value: decisionOf, inTable: true },
  { name: 'decided_by', value: (e) => e.decision?.reviewer, inTable: true },
  { name: 'decided_by_slack_user', value: (e) => e.decision?.decidedBySlackUserId },
  { name: 'decided_at', value: (e) => e.decision?.decidedAt, inTable: true },
  { name: 'justification', value: (e) => e.decision?.justification, inTable: true },
  { name: 'revocation', value: (e) => e.revocation?.status, inTable: true },
  { name: 'revoked_at', value: (e) => e.revocation?.at },
  { name: 'revocation_action', value: (e) => e.revocation?.action },
  { name: 'remediation', value: (e) => e.revocation?.remediation },
  { name: 'revocation_error', value: (e) => e.revocation?.error },
  { name: 'verification', value: (e) => e.verification?.status, inTable: true },
  { name: 'verified_at', value: (e) => e.verification?.checkedAt },
  {
    name: 'still_present_via',
    value: (e) => e.verification?.paths.map((p) => p.via),
  },
  { name: 'grant_id', value: (e) => e.grant.grantId },
];

export interface HistoryOptions {
  principal?: string;
  resource?: string;
  connector?: string;
  since?: string;
  last?: number;
  format: OutputFormat;
}

/** The `--since` forms accepted: a date, or a date and time (UTC), as the index's sort key sorts. */
const SINCE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?)?$/;

/**
 * `access-review history`: one Query on the principal or resource index (plus the campaign list,
 * one small Query on the campaigns index, to name campaigns the history does not cover and for
 * `--last`). Rows go to `out`; what the answer covers goes to `notes` (stderr), so CSV and JSON
 * stay clean.
 */
export async function runHistory(
  table: TableRef,
  options: HistoryOptions,
  out: Writable,
  notes: (line: string) => void,
): Promise<number> {
  if ((options.principal === undefined) === (options.resource === undefined)) {
    throw new HistoryOptionsError('give exactly one of --principal NAME and --resource NAME');
  }
  if (options.since !== undefined && options.last !== undefined) {
    throw new HistoryOptionsError('give --since or --last, not both');
  }
  if (options.since !== undefined && !SINCE.test(options.since)) {
    throw new HistoryOptionsError(
      `--since ${options.since}: expected a date (2026-01-01) or a UTC time (2026-01-01T09:00Z)`,
    );
  }
  const campaigns = await new CampaignRepository(table).list();
  const query: HistoryQuery = options.principal
    ? { by: 'principal', name: options.principal }
    : { by: 'resource', name: options.resource as string };
  if (options.connector) query.connector = options.connector;
  let covered: Campaign[] = campaigns;
  if (options.last !== undefined) {
    covered = campaigns.slice(0, options.last);
    query.campaignIds = new Set(covered.map((c) => c.campaignId));
    // A campaign's grants are snapshotted after it starts: its start bounds the Query's range.
    const oldest = covered.at(-1);
    if (oldest) query.since = oldest.startedAt;
  } else if (options.since !== undefined) {
    query.since = options.since;
    covered = campaigns.filter((c) => c.startedAt >= (options.since as string));
  }
  const stats = emptyHistoryStats();
  const rows = await writeRows(queryHistory(table, query, stats), HISTORY_COLUMNS, options.format, out);
  const subject = options.principal ? `principal ${options.principal}` : `resource ${options.resource}`;
  notes(
    `${rows} grant(s) of ${subject}${options.connector ? ` (${options.connector})` : ''} over ${covered.length} campaign(s); ` +
      `${stats.items} index item(s) read in ${stats.pages} page(s) of one Query`,
  );
  const unindexed = covered.filter((c) => c.historyIndex === undefined).map((c) => c.campaignId);
  if (unindexed.length > 0) {
    notes(
      `not covered (snapshotted before the history index): ${unindexed.join(', ')}; ` +
        `backfill with: access-review reindex --campaign ID`,
    );
  }
  if (stats.withoutGrant.size > 0) {
    notes(
      `decisions or outcomes without their grant in the index in ${[...stats.withoutGrant].join(', ')}; ` +
        'backfill with: access-review reindex --campaign ID',
    );
  }
  return rows;
}
