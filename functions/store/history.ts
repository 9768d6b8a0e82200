import { createHash } from 'node:crypto';
import { QueryCommand, type QueryCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AccessReviewError } from '../core/errors';
import type { Decision } from './decisions';
import type { StoredGrant } from './grants';
import type { Revocation, Verification } from './outcomes';
import { getItem, queryPages, withoutKeys } from './query';
import { GSI_BY_PRINCIPAL, GSI_BY_RESOURCE, isConditionalCheckFailed, keys, type TableRef } from './table';

/**
 * A principal's or a resource's grants across campaigns, one Query each.
 *
 * The grant, decision, revocation and verification items of a grant carry two index keys, both
 * written with the item (no extra item, no extra request):
 *
 *   gsi2pk = PRINCIPAL#<holder or principal>   gsi2sk = <snapshotAt>#<campaignId>#<grantId>#<KIND>
 *   gsi3pk = RESOURCE#<resource>               gsi3sk = the same
 *
 * so a principal's partition of gsi2 (a resource's of gsi3) holds, campaign after campaign in
 * snapshot order, each grant followed by what was decided and done about it, and one paginated
 * Query reads it back. gsi2 is the campaigns index, overloaded: its `CAMPAIGN` partition is the
 * campaign list and nothing else writes that partition key. Names are lower-cased in the key (GitHub
 * logins and repositories are case-insensitive); the reader compares AWS names exactly, so two AWS
 * names that differ only in case share a partition but not an answer.
 *
 * The principal is the grant's holder when it has one (a token's owner, an invitee): "everything
 * alice could do" includes the token she owns. A query by the token's own name finds nothing.
 */
export type HistoryItemKind = 'GRANT' | 'DECISION' | 'REVOCATION' | 'VERIFICATION';

export type HistoryKeySource = Pick<
  StoredGrant,
  'campaignId' | 'grantId' | 'snapshotAt' | 'connector' | 'principal' | 'resource' | 'holder'
>;

export interface HistoryKeys {
  gsi2pk: string;
  gsi2sk: string;
  gsi3pk: string;
  gsi3sk: string;
}

/** Recorded on a campaign whose items carry the history keys (new campaigns, or after `reindex`). */
export const HISTORY_INDEX_VERSION = 1;

/** DynamoDB refuses a partition key over 2048 bytes; a longer name is keyed by its hash. */
const MAX_NAME_BYTES = 1000;

/** A write meant for one grant was given another grant's keys. */
export class HistoryKeyMismatchError extends AccessReviewError {}

function partitionKey(prefix: 'PRINCIPAL' | 'RESOURCE', name: string): string {
  const folded = name.toLowerCase();
  return Buffer.byteLength(folded) > MAX_NAME_BYTES
    ? `${prefix}#sha256:${createHash('sha256').update(folded).digest('hex')}`
    : `${prefix}#${folded}`;
}

export const historyPartition = {
  principal: (name: string) => partitionKey('PRINCIPAL', name),
  resource: (name: string) => partitionKey('RESOURCE', name),
} as const;

/** Who a grant's history is filed under: the person who benefits when that is not the principal. */
export function historyPrincipal(grant: Pick<StoredGrant, 'principal' | 'holder'>): string {
  return grant.holder ?? grant.principal;
}

export function historyKeys(
  grant: HistoryKeySource,
  kind: HistoryItemKind,
  record?: { campaignId: string; grantId: string },
): HistoryKeys {
  if (record && (record.campaignId !== grant.campaignId || record.grantId !== grant.grantId)) {
    throw new HistoryKeyMismatchError(
      `history keys of grant ${grant.grantId} (campaign ${grant.campaignId}) given for ${record.grantId} (campaign ${record.campaignId})`,
    );
  }
  const sk = `${grant.snapshotAt}#${grant.campaignId}#${grant.grantId}#${kind}`;
  return {
    gsi2pk: historyPartition.principal(historyPrincipal(grant)),
    gsi2sk: sk,
    gsi3pk: historyPartition.resource(grant.resource),
    gsi3sk: sk,
  };
}

/** GitHub names are case-insensitive; AWS names (ARNs, secret names, OIDC subjects) are not. */
export function sameName(connector: string, a: string, b: string): boolean {
  return connector === 'github' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

export interface HistoryQuery {
  by: 'principal' | 'resource';
  name: string;
  connector?: string;
  /** An ISO date or time: only campaigns snapshotted at or after it. */
  since?: string;
  /** Only these campaigns (the CLI's `--last N`). */
  campaignIds?: ReadonlySet<string>;
  pageSize?: number;
}

/** One grant of one campaign with what was decided and done about it. */
export interface HistoryEntry {
  campaignId: string;
  snapshotAt: string;
  grant: StoredGrant;
  decision?: Decision;
  revocation?: Revocation;
  verification?: Verification;
}

/** What the query read, for the command to report honestly. */
export interface HistoryStats {
  pages: number;
  items: number;
  /** Campaigns with a decision or outcome in the index whose grant is not (run `reindex`). */
  withoutGrant: Set<string>;
}

export function emptyHistoryStats(): HistoryStats {
  return { pages: 0, items: 0, withoutGrant: new Set() };
}

interface Group {
  prefix: string;
  campaignId: string;
  snapshotAt: string;
  grant?: StoredGrant & { stale?: boolean };
  decision?: Decision;
  revocation?: Revocation;
  verification?: Verification;
}

function record<T>(item: Record<string, unknown>): T {
  // `kind` and `counted` are the table's bookkeeping; null means cleared (no action, no error).
  const { kind: _kind, counted: _counted, ...rest } = withoutKeys(item);
  for (const [name, value] of Object.entries(rest)) if (value === null) delete rest[name];
  return rest as unknown as T;
}

/**
 * The query's entries in index order (campaign by campaign, in snapshot order; grants by id within
 * one), read a page at a time: one Query on gsi2 (principal) or gsi3 (resource), following
 * LastEvaluatedKey. Stale grants (an interrupted snapshot's leftovers) are left out.
 */
export async function* queryHistory(
  table: TableRef,
  query: HistoryQuery,
  stats: HistoryStats = emptyHistoryStats(),
): AsyncGenerator<HistoryEntry> {
  const indexName = query.by === 'principal' ? GSI_BY_PRINCIPAL : GSI_BY_RESOURCE;
  const partition = historyPartition[query.by](query.name);
  const matches = (group: Group): group is Group & { grant: StoredGrant } => {
    const grant = group.grant;
    if (!grant) {
      stats.withoutGrant.add(group.campaignId);
      return false;
    }
    if (grant.stale === true) return false;
    if (query.connector && grant.connector !== query.connector) return false;
    if (query.campaignIds && !query.campaignIds.has(group.campaignId)) return false;
    const name = query.by === 'principal' ? historyPrincipal(grant) : grant.resource;
    return sameName(grant.connector, name, query.name);
  };
  const entry = (group: Group & { grant: StoredGrant }): HistoryEntry => {
    const { stale: _stale, ...grant } = group.grant as StoredGrant & { stale?: boolean };
    return {
      campaignId: group.campaignId,
      snapshotAt: group.snapshotAt,
      grant,
      ...(group.decision ? { decision: group.decision } : {}),
      ...(group.revocation ? { revocation: group.revocation } : {}),
      ...(group.verification ? { verification: group.verification } : {}),
    };
  };
  let current: Group | undefined;
  let startKey: Record<string, unknown> | undefined;
  do {
    const input: QueryCommandInput = {
      TableName: table.tableName,
      IndexName: indexName,
      KeyConditionExpression: query.since ? '#pk = :pk AND #sk >= :since' : '#pk = :pk',
      ExpressionAttributeNames: query.since
        ? { '#pk': `${indexName}pk`, '#sk': `${indexName}sk` }
        : { '#pk': `${indexName}pk` },
      ExpressionAttributeValues: query.since
        ? { ':pk': partition, ':since': query.since }
        : { ':pk': partition },
      ExclusiveStartKey: startKey,
      Limit: query.pageSize,
    };
    const page = await table.client.send(new QueryCommand(input));
    stats.pages++;
    for (const item of page.Items ?? []) {
      stats.items++;
      const sk = String(item[`${indexName}sk`]);
      const cut = sk.lastIndexOf('#');
      const prefix = sk.slice(0, cut);
      const kind = sk.slice(cut + 1) as HistoryItemKind;
      if (current?.prefix !== prefix) {
        if (current && matches(current)) yield entry(current);
        current = {
          prefix,
          campaignId: String(item.campaignId),
          snapshotAt: sk.slice(0, sk.indexOf('#')),
        };
      }
      if (kind === 'GRANT') current.grant = record<StoredGrant & { stale?: boolean }>(item);
      else if (kind === 'DECISION') current.decision = record<Decision>(item);
      else if (kind === 'REVOCATION') current.revocation = record<Revocation>(item);
      else if (kind === 'VERIFICATION') current.verification = record<Verification>(item);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  if (current && matches(current)) yield entry(current);
}

// ---------------------------------------------------------------------------------------------
// Backfill: campaigns snapshotted before the history keys existed
// ---------------------------------------------------------------------------------------------

export interface ReindexResult {
  campaignId: string;
  grants: number;
  /** Items that already carried the right keys (a second run writes nothing). */
  alreadyIndexed: number;
  /** Items given their keys now (one UpdateItem each). */
  written: number;
  /** Decisions or outcomes whose grant item is missing: they cannot be keyed. */
  withoutGrant: number;
}

/** The campaign to reindex does not exist. */
export class ReindexCampaignNotFoundError extends AccessReviewError {}

type Item = Record<string, unknown>;

/** Reads a paged stream in step with the grants (both in grant-id order). */
class Follower {
  private page: Item[] = [];
  private index = 0;
  private done = false;
  private readonly pages: AsyncIterator<Item[]>;

  constructor(pages: AsyncIterable<Item[]>) {
    this.pages = pages[Symbol.asyncIterator]();
  }

  private async head(): Promise<Item | undefined> {
    while (this.index >= this.page.length) {
      if (this.done) return undefined;
      const next = await this.pages.next();
      if (next.done) {
        this.done = true;
        return undefined;
      }
      this.page = next.value;
      this.index = 0;
    }
    return this.page[this.index];
  }

  /** Items before `grantId` (no grant to key them by), then the item of `grantId` if there is one. */
  async upTo(grantId: string | undefined): Promise<{ orphans: number; item?: Item }> {
    let orphans = 0;
    for (;;) {
      const head = await this.head();
      if (!head) return { orphans };
      const id = String(head.grantId);
      if (grantId !== undefined && id > grantId) return { orphans };
      this.index++;
      if (id === grantId) return { orphans, item: head };
      orphans++;
    }
  }
}

const KINDS: ReadonlyArray<[HistoryItemKind, string]> = [
  ['DECISION', 'DECISION#'],
  ['REVOCATION', 'REVOCATION#'],
  ['VERIFICATION', 'VERIFICATION#'],
];

/**
 * Gives a campaign's grant, decision, revocation and verification items their history keys, and
 * marks the campaign indexed. Idempotent: an item that already has the right keys is not written,
 * so a second run (or a run over a campaign written by this release) writes only the campaign mark.
 * It reads the partition once (grants and each outcome kind in grant-id order, merge-joined) and
 * holds one page of each; writes go `concurrency` at a time.
 */
export async function reindexCampaign(
  table: TableRef,
  campaignId: string,
  options: { concurrency?: number } = {},
): Promise<ReindexResult> {
  const partition = keys.campaign(campaignId);
  if (!(await getItem(table, partition, keys.meta)))
    throw new ReindexCampaignNotFoundError(`campaign ${campaignId} does not exist`);
  const result: ReindexResult = { campaignId, grants: 0, alreadyIndexed: 0, written: 0, withoutGrant: 0 };
  const followers = KINDS.map(
    ([kind, prefix]) => [kind, new Follower(queryPages(table, partition, prefix))] as const,
  );
  const pending: Array<() => Promise<void>> = [];
  const flush = async () => {
    const concurrency = Math.max(1, options.concurrency ?? 16);
    let next = 0;
    const worker = async () => {
      while (next < pending.length) await pending[next++]!();
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
    pending.length = 0;
  };
  const key = (item: Item, grant: HistoryKeySource, kind: HistoryItemKind) => {
    const wanted = historyKeys(grant, kind);
    if ((Object.keys(wanted) as Array<keyof HistoryKeys>).every((name) => item[name] === wanted[name])) {
      result.alreadyIndexed++;
      return;
    }
    result.written++;
    pending.push(() => setKeys(table, partition, String(item.sk), wanted));
  };
  for await (const page of queryPages(table, partition, 'GRANT#')) {
    for (const item of page) {
      const grant = item as unknown as StoredGrant;
      result.grants++;
      key(item, grant, 'GRANT');
      for (const [kind, follower] of followers) {
        const { orphans, item: outcome } = await follower.upTo(grant.grantId);
        result.withoutGrant += orphans;
        if (outcome) key(outcome, grant, kind);
      }
    }
    await flush();
  }
  for (const [, follower] of followers) result.withoutGrant += (await follower.upTo(undefined)).orphans;
  await table.client.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { pk: partition, sk: keys.meta },
      UpdateExpression: 'SET historyIndex = :version',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':version': HISTORY_INDEX_VERSION },
    }),
  );
  return result;
}

async function setKeys(table: TableRef, pk: string, sk: string, wanted: HistoryKeys): Promise<void> {
  try {
    await table.client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk, sk },
        UpdateExpression: 'SET gsi2pk = :a, gsi2sk = :b, gsi3pk = :c, gsi3sk = :d',
        // Only keys are added: an item that vanished meanwhile is not recreated as a stub.
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: {
          ':a': wanted.gsi2pk,
          ':b': wanted.gsi2sk,
          ':c': wanted.gsi3pk,
          ':d': wanted.gsi3sk,
        },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}
