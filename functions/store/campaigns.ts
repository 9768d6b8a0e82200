import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AccessReviewError, NotFoundError } from '../core/errors';
import { getItem, queryAll, withoutKeys } from './query';
import { GSI_CAMPAIGNS, isConditionalCheckFailed, keys, type TableRef } from './table';

export const CAMPAIGN_STATUSES = [
  'snapshotting',
  'assigning',
  'in_review',
  'revoking',
  'verifying',
  'completed',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export interface Campaign {
  campaignId: string;
  organization: string;
  status: CampaignStatus;
  trigger: string;
  requestedBy: string;
  executionName: string;
  startedAt: string;
  completedAt?: string;
  counts: Record<string, number>;
  /** What each connector's snapshot cost at its source (requests and rate-limit points). */
  sourceUsage?: Record<string, { requests: Record<string, number>; points: Record<string, number> }>;
}

export class CampaignRepository {
  constructor(private readonly table: TableRef) {}

  /** Creates the campaign once; a retried StartCampaign for the same execution gets the same record. */
  async create(campaign: Campaign): Promise<{ created: boolean; campaign: Campaign }> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            pk: keys.campaign(campaign.campaignId),
            sk: keys.meta,
            kind: 'campaign',
            gsi2pk: 'CAMPAIGN',
            gsi2sk: `${campaign.startedAt}#${campaign.campaignId}`,
            ...campaign,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, campaign };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return { created: false, campaign: await this.get(campaign.campaignId) };
    }
  }

  async find(campaignId: string): Promise<Campaign | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), keys.meta);
    return item ? (withoutKeys(item) as unknown as Campaign) : undefined;
  }

  async get(campaignId: string): Promise<Campaign> {
    const campaign = await this.find(campaignId);
    if (!campaign) throw new NotFoundError(`campaign ${campaignId} does not exist`);
    return campaign;
  }

  /**
   * Moves the campaign forward. Allowed from the previous status or the same one (a retried step),
   * never backwards, so a late or replayed step cannot reopen a finished review.
   */
  async advance(
    campaignId: string,
    status: CampaignStatus,
    extra: {
      counts?: Record<string, number>;
      completedAt?: string;
      sourceUsage?: Campaign['sourceUsage'];
    } = {},
  ): Promise<void> {
    const index = CAMPAIGN_STATUSES.indexOf(status);
    const allowed = CAMPAIGN_STATUSES.slice(Math.max(0, index - 1), index + 1);
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':status': status };
    const sets = ['#status = :status'];
    allowed.forEach((value, position) => {
      values[`:allowed${position}`] = value;
    });
    for (const [name, value] of Object.entries(extra)) {
      if (value === undefined) continue;
      if (name === 'counts') {
        for (const [counter, count] of Object.entries(value as Record<string, number>)) {
          names[`#c_${counter}`] = counter;
          values[`:c_${counter}`] = count;
          sets.push(`counts.#c_${counter} = :c_${counter}`);
        }
      } else {
        names[`#${name}`] = name;
        values[`:${name}`] = value;
        sets.push(`#${name} = :${name}`);
      }
    }
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_exists(pk) AND #status IN (${allowed.map((_, i) => `:allowed${i}`).join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.find(campaignId);
      if (!current) throw new NotFoundError(`campaign ${campaignId} does not exist`, { cause: error });
      throw new CampaignStateError(
        `campaign ${campaignId} is ${current.status}; it cannot move to ${status}`,
        { cause: error },
      );
    }
  }

  /** Newest first. */
  async list(): Promise<Campaign[]> {
    const items = await queryAll(this.table, 'CAMPAIGN', '', { indexName: GSI_CAMPAIGNS });
    return items.map((item) => withoutKeys(item) as unknown as Campaign).reverse();
  }
}

export class CampaignStateError extends AccessReviewError {}
