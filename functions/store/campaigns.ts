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

/**
 * Where a campaign was when the security team cancelled it: in review (tasks open), or after the
 * reviews with held revocations waiting for the team's approval. Cancelling is refused once
 * revocations began (beginRevoking), so no later phase exists.
 */
export type CancellationPhase = 'in_review' | 'awaiting_approval';

/** Who cancelled the campaign, why, and the `campaign_cancelled` event once appended. */
export interface CampaignCancellation {
  /** Slack user id of the member of the security team who ran `/access-review cancel`. */
  by: string;
  byName: string | null;
  reason: string | null;
  phase: CancellationPhase;
  at: string;
  eventSeq?: number;
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
  /** Scope terms (functions/core/scope.ts) of an ad-hoc campaign; absent or [] = everything. */
  scope?: string[];
  /** Why an ad-hoc campaign was started (`/access-review start … -- reason`); null or absent: not given. */
  reason?: string | null;
  /** Set once by cancel(); from then on nothing is revoked and Finalize closes it as cancelled. */
  cancellation?: CampaignCancellation;
  /** Set once by beginRevoking(), the first thing ApplyRevocations does: a cancel is refused after it. */
  revocationsBegunAt?: string;
}

/** Why cancel() did not cancel: what the campaign is doing instead. */
export type CancelRefusal =
  | { reason: 'already_cancelled'; campaign: Campaign }
  | { reason: 'revocations_begun'; campaign: Campaign }
  | { reason: 'not_in_review'; campaign: Campaign };

export type CancelResult = { cancelled: true; campaign: Campaign } | ({ cancelled: false } & CancelRefusal);

export type BeginRevokingResult = { begun: true } | { begun: false; cancellation: CampaignCancellation };

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
    // A cancelled campaign skips the revocation steps: Finalize closes it from wherever it stopped.
    let cancelledMayComplete = '';
    if (status === 'completed') {
      names['#cancellation'] = 'cancellation';
      cancelledMayComplete = ' OR attribute_exists(#cancellation)';
    }
    let previous: Record<string, unknown> | undefined;
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression:
            `attribute_exists(pk) AND (#status IN (${allowedList})` +
            ` OR (#status = :failed AND #failure.#statusBefore IN (${allowedList}))${cancelledMayComplete})`,
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

  /**
   * Cancels the campaign, once, and only while it is in review (tasks open, or held revocations
   * waiting for the security team) and before ApplyRevocations began: one conditional write decides
   * between this and beginRevoking(), so either nothing is revoked or the cancel is refused. The
   * caller then appends `campaign_cancelled` and links it (linkCancellationEvent).
   */
  async cancel(
    campaignId: string,
    cancellation: Omit<CampaignCancellation, 'eventSeq'>,
  ): Promise<CancelResult> {
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression: 'SET #cancellation = :cancellation',
          ConditionExpression:
            'attribute_exists(pk) AND attribute_not_exists(#cancellation) AND ' +
            'attribute_not_exists(#begun) AND #status = :inReview',
          ExpressionAttributeNames: {
            '#cancellation': 'cancellation',
            '#begun': 'revocationsBegunAt',
            '#status': 'status',
          },
          ExpressionAttributeValues: { ':cancellation': cancellation, ':inReview': 'in_review' },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { cancelled: true, campaign: withoutKeys(result.Attributes ?? {}) as unknown as Campaign };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const campaign = await this.find(campaignId);
      if (!campaign) throw new NotFoundError(`campaign ${campaignId} does not exist`, { cause: error });
      if (campaign.cancellation) return { cancelled: false, reason: 'already_cancelled', campaign };
      if (campaign.revocationsBegunAt) return { cancelled: false, reason: 'revocations_begun', campaign };
      return { cancelled: false, reason: 'not_in_review', campaign };
    }
  }

  /**
   * The first write of ApplyRevocations: marks that revocations began, unless the campaign was
   * cancelled (then `begun: false` and nothing may be revoked). Idempotent: a retried or sharded
   * ApplyRevocations gets `begun: true` again and the first time stays.
   */
  async beginRevoking(campaignId: string, at: Date): Promise<BeginRevokingResult> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression: 'SET #begun = if_not_exists(#begun, :at)',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#cancellation)',
          ExpressionAttributeNames: { '#begun': 'revocationsBegunAt', '#cancellation': 'cancellation' },
          ExpressionAttributeValues: { ':at': at.toISOString() },
        }),
      );
      return { begun: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const campaign = await this.find(campaignId);
      if (!campaign) throw new NotFoundError(`campaign ${campaignId} does not exist`, { cause: error });
      if (!campaign.cancellation) {
        throw new CampaignStateError(`campaign ${campaignId}: beginRevoking refused without a cancellation`, {
          cause: error,
        });
      }
      return { begun: false, cancellation: campaign.cancellation };
    }
  }

  /** Links the cancellation to its `campaign_cancelled` event (set once). */
  async linkCancellationEvent(campaignId: string, eventSeq: number): Promise<void> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression: 'SET #cancellation.#eventSeq = :seq',
          ConditionExpression:
            'attribute_exists(#cancellation) AND attribute_not_exists(#cancellation.#eventSeq)',
          ExpressionAttributeNames: { '#cancellation': 'cancellation', '#eventSeq': 'eventSeq' },
          ExpressionAttributeValues: { ':seq': eventSeq },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
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
