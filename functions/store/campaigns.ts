import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AccessReviewError, NotFoundError } from '../core/errors';
import { EventLog } from './events';
import { HISTORY_INDEX_VERSION } from './history';
import { getItem, queryAll, withoutKeys } from './query';
import { GSI_CAMPAIGNS, isConditionalCheckFailed, keys, type TableRef } from './table';

/** The statuses a campaign moves through, in order. */
export const CAMPAIGN_PROGRESS = [
  'snapshotting',
  'assigning',
  'in_review',
  'revoking',
  'verifying',
  'completed',
] as const;
export type CampaignProgress = (typeof CAMPAIGN_PROGRESS)[number];

/**
 * `failed` is off the line: any status but `completed` can fail, and a redriven execution brings the
 * campaign back to the status it failed in (`failure.statusBefore`).
 */
export const CAMPAIGN_STATUSES = [...CAMPAIGN_PROGRESS, 'failed'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const FAILURE_CLASSIFICATIONS = [
  'authentication',
  'permission',
  'throttled',
  'timeout',
  'unavailable',
  'internal',
] as const;
export type FailureClassification = (typeof FAILURE_CLASSIFICATIONS)[number];

/** The last failure recorded on the campaign (kept after a resume, which it then names). */
export interface CampaignFailure {
  /** The workflow state whose error was caught (`RequestReview` etc. inside the reviewer Map). */
  state: string;
  reviewer?: string;
  /** The error name as Step Functions caught it. */
  error: string;
  /** The cause's message, clipped. */
  cause: string;
  classification: FailureClassification;
  at: string;
  /** `$$.Execution.RedriveCount` of the execution when it failed. */
  attempt: number;
  /** The status the campaign was in; a resume returns to it. */
  statusBefore: CampaignProgress;
  /** Who recorded it (state, and reviewer in the Map): the one writer of this attempt's event. */
  claim: string;
  /** The `campaign_failed` event, once appended. */
  eventSeq?: number;
  /** Set when a redriven execution resumed the campaign. */
  resumedAttempt?: number;
  resumedAt?: string;
  resumedEventSeq?: number;
}

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
  /** Present once a failure was recorded; see CampaignFailure. */
  failure?: CampaignFailure;
  /** What each connector's snapshot cost at its source (requests and rate-limit points). */
  sourceUsage?: Record<string, { requests: Record<string, number>; points: Record<string, number> }>;
  /**
   * Set when the campaign's items carry the principal and resource history keys (history.ts):
   * campaigns created by this release, or backfilled by `access-review reindex`.
   */
  historyIndex?: number;
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
            // Its grants, decisions and outcomes are written with their history keys (history.ts).
            historyIndex: HISTORY_INDEX_VERSION,
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
   * never backwards, so a late or replayed step cannot reopen a finished review. A `failed`
   * campaign may move on too when the status it failed in allows it (a redriven step that
   * advances before the failure path resumed it): that resume is recorded as `campaign_resumed`.
   */
  async advance(
    campaignId: string,
    status: CampaignProgress,
    extra: {
      counts?: Record<string, number>;
      completedAt?: string;
      sourceUsage?: Campaign['sourceUsage'];
    } = {},
  ): Promise<void> {
    const index = CAMPAIGN_PROGRESS.indexOf(status);
    const allowed = CAMPAIGN_PROGRESS.slice(Math.max(0, index - 1), index + 1);
    const names: Record<string, string> = {
      '#status': 'status',
      '#failure': 'failure',
      '#statusBefore': 'statusBefore',
    };
    const values: Record<string, unknown> = { ':status': status, ':failed': 'failed' };
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
    const allowedList = allowed.map((_, i) => `:allowed${i}`).join(', ');
    let previous: Record<string, unknown> | undefined;
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression:
            `attribute_exists(pk) AND (#status IN (${allowedList})` +
            ` OR (#status = :failed AND #failure.#statusBefore IN (${allowedList})))`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      previous = result.Attributes;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.find(campaignId);
      if (!current) throw new NotFoundError(`campaign ${campaignId} does not exist`, { cause: error });
      throw new CampaignStateError(
        `campaign ${campaignId} is ${current.status}; it cannot move to ${status}`,
        { cause: error },
      );
    }
    if (previous?.status === 'failed') {
      const failure = previous.failure as CampaignFailure;
      const at = new Date();
      const event = await new EventLog(this.table).append(
        campaignId,
        'campaign_resumed',
        { attempt: null, resumeAt: null, status, resumedBy: 'advance', failedState: failure.state },
        at,
      );
      await this.markResumed(campaignId, {
        attempt: failure.attempt,
        at: at.toISOString(),
        eventSeq: event.seq,
      });
    }
  }

  /**
   * Records that the campaign failed in attempt `failure.attempt`. Only one writer per attempt wins
   * (the first failure is the root cause; the reviewer Map's own Catch after its child's, say, adds
   * nothing): `recorded: false` tells the others who won. A completed campaign never fails.
   */
  async fail(
    campaignId: string,
    failure: CampaignFailure,
  ): Promise<{ recorded: boolean; campaign: Campaign }> {
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression: 'SET #status = :failed, #failure = :failure',
          ConditionExpression:
            'attribute_exists(pk) AND #status <> :completed AND ' +
            'NOT (#status = :failed AND #failure.#attempt = :attempt)',
          ExpressionAttributeNames: { '#status': 'status', '#failure': 'failure', '#attempt': 'attempt' },
          ExpressionAttributeValues: {
            ':failed': 'failed',
            ':completed': 'completed',
            ':failure': failure,
            ':attempt': failure.attempt,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { recorded: true, campaign: withoutKeys(result.Attributes ?? {}) as unknown as Campaign };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return { recorded: false, campaign: await this.get(campaignId) };
    }
  }

  /** Links the failure to its `campaign_failed` event and stores the counts taken with it. */
  async linkFailureEvent(
    campaignId: string,
    eventSeq: number,
    counts: Record<string, number>,
  ): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.meta },
        UpdateExpression: 'SET #failure.#eventSeq = :seq, #counts = :counts',
        ConditionExpression: 'attribute_exists(#failure)',
        ExpressionAttributeNames: { '#failure': 'failure', '#eventSeq': 'eventSeq', '#counts': 'counts' },
        ExpressionAttributeValues: { ':seq': eventSeq, ':counts': counts },
      }),
    );
  }

  /**
   * A redriven execution takes the campaign back to the status it failed in. Idempotent: a campaign
   * no longer failed is left as it is (a retried resume).
   */
  async resume(campaignId: string, attempt: number, at: Date): Promise<Campaign> {
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression:
            'SET #status = #failure.#statusBefore, #failure.#resumedAttempt = :attempt, #failure.#resumedAt = :at',
          ConditionExpression: '#status = :failed',
          ExpressionAttributeNames: {
            '#status': 'status',
            '#failure': 'failure',
            '#statusBefore': 'statusBefore',
            '#resumedAttempt': 'resumedAttempt',
            '#resumedAt': 'resumedAt',
          },
          ExpressionAttributeValues: { ':failed': 'failed', ':attempt': attempt, ':at': at.toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return withoutKeys(result.Attributes ?? {}) as unknown as Campaign;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return this.get(campaignId);
    }
  }

  /** Links the resume to its `campaign_resumed` event. */
  async markResumed(
    campaignId: string,
    resumed: { attempt: number; at: string; eventSeq: number },
  ): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.meta },
        UpdateExpression:
          'SET #failure.#resumedAttempt = if_not_exists(#failure.#resumedAttempt, :attempt), ' +
          '#failure.#resumedAt = if_not_exists(#failure.#resumedAt, :at), #failure.#resumedEventSeq = :seq',
        ConditionExpression: 'attribute_exists(#failure)',
        ExpressionAttributeNames: {
          '#failure': 'failure',
          '#resumedAttempt': 'resumedAttempt',
          '#resumedAt': 'resumedAt',
          '#resumedEventSeq': 'resumedEventSeq',
        },
        ExpressionAttributeValues: {
          ':attempt': resumed.attempt,
          ':at': resumed.at,
          ':seq': resumed.eventSeq,
        },
      }),
    );
  }

  /** The campaign a workflow execution started (StartCampaign failed before it returned the id). */
  async findByExecution(executionName: string): Promise<Campaign | undefined> {
    return (await this.list()).find((campaign) => campaign.executionName === executionName);
  }

  /** Newest first. */
  async list(): Promise<Campaign[]> {
    const items = await queryAll(this.table, 'CAMPAIGN', '', { indexName: GSI_CAMPAIGNS });
    return items.map((item) => withoutKeys(item) as unknown as Campaign).reverse();
  }
}

export class CampaignStateError extends AccessReviewError {}
