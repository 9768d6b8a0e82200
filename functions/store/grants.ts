import { BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Grant } from '../core/grant';
import type { Decision } from './decisions';
import { getItem, queryAll, queryPages, withoutKeys } from './query';
import { GSI_BY_REVIEWER, keys, type TableRef } from './table';

export interface StoredGrant extends Grant {
  campaignId: string;
  snapshotAt: string;
  /** GitHub login of the person asked to vouch for this grant; absent for non-reviewable grants. */
  reviewer?: string;
  /** Why this reviewer: "owner of acme/api (config)", "fallback: bob holds this access". */
  routingReason?: string;
  /**
   * Slack user ids of the grant's holders that were found in Slack when it was assigned. A click
   * from one of them is refused, whichever login (or alias email) it came through.
   */
  holderSlackUserIds?: string[];
}

const BATCH_SIZE = 25;

export class GrantRepository {
  constructor(private readonly table: TableRef) {}

  /**
   * Writes a page of snapshotted grants. Grant ids are stable, so a retried snapshot writes the
   * same items again instead of adding new ones.
   */
  async putMany(grants: readonly StoredGrant[]): Promise<void> {
    for (let start = 0; start < grants.length; start += BATCH_SIZE) {
      let requests = grants.slice(start, start + BATCH_SIZE).map((grant) => ({
        PutRequest: {
          Item: {
            pk: keys.campaign(grant.campaignId),
            sk: keys.grant(grant.grantId),
            kind: 'grant',
            ...grant,
          },
        },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        const result = await this.table.client.send(
          new BatchWriteCommand({ RequestItems: { [this.table.tableName]: requests } }),
        );
        requests = (result.UnprocessedItems?.[this.table.tableName] ?? []) as typeof requests;
        if (requests.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
  }

  async get(campaignId: string, grantId: string): Promise<StoredGrant | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), keys.grant(grantId));
    return item ? (withoutKeys(item) as unknown as StoredGrant) : undefined;
  }

  /**
   * The campaign's snapshot. A grant an interrupted snapshot attempt wrote, which the attempt
   * that completed did not find, is marked stale and left out (nothing is ever deleted).
   */
  async list(campaignId: string, options: { includeStale?: boolean } = {}): Promise<StoredGrant[]> {
    const items = await queryAll(this.table, keys.campaign(campaignId), 'GRANT#');
    return items
      .filter((item) => options.includeStale || item.stale !== true)
      .map((item) => withoutKeys(item) as unknown as StoredGrant);
  }

  /** Whether any grant is stored yet (one item read): an earlier snapshot attempt left some. */
  async any(campaignId: string): Promise<boolean> {
    for await (const page of queryPages(this.table, keys.campaign(campaignId), 'GRANT#', { pageSize: 1 })) {
      return page.length > 0;
    }
    return false;
  }

  async markStale(campaignId: string, grantId: string): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.grant(grantId) },
        UpdateExpression: 'SET stale = :stale',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':stale': true },
      }),
    );
  }

  /**
   * Records who reviews the grant and why (without a reviewer only the reason is kept: nobody
   * eligible), and the Slack user ids of its holders, which a decision is checked against.
   */
  async assign(
    campaignId: string,
    grantId: string,
    reviewer: string | undefined,
    routingReason: string,
    holderSlackUserIds: readonly string[] = [],
  ): Promise<void> {
    const values: Record<string, unknown> = {
      ':reason': routingReason,
      ':holderIds': [...new Set(holderSlackUserIds)].sort(),
    };
    // Always written, so a retried assignment replaces what an earlier attempt stored.
    let update = 'SET routingReason = :reason, holderSlackUserIds = :holderIds';
    if (reviewer) {
      update += ', reviewer = :reviewer, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk';
      values[':reviewer'] = reviewer;
      values[':gsi1pk'] = keys.reviewerGrants(campaignId, reviewer);
      values[':gsi1sk'] = keys.grant(grantId);
    }
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.grant(grantId) },
        UpdateExpression: update,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values,
      }),
    );
  }

  /**
   * A reviewer's grants and the decisions made on them so far, in one index query: decision items
   * carry the same index key as the grants they decide. The index is eventually consistent, so
   * callers that must not miss a decision re-read the missing ones from the table.
   */
  async reviewerView(
    campaignId: string,
    reviewer: string,
  ): Promise<{ grants: StoredGrant[]; decisions: Decision[] }> {
    const items = await queryAll(this.table, keys.reviewerGrants(campaignId, reviewer), '', {
      indexName: GSI_BY_REVIEWER,
    });
    const grants: StoredGrant[] = [];
    const decisions: Decision[] = [];
    for (const item of items) {
      const { kind, ...rest } = withoutKeys(item);
      if (kind === 'grant') grants.push(rest as unknown as StoredGrant);
      else if (kind === 'decision') decisions.push(rest as unknown as Decision);
    }
    return { grants, decisions };
  }
}
