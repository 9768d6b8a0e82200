import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Campaign } from './campaigns';
import type { CampaignEvent } from './events';
import { getItem, withoutKeys } from './query';
import { GSI_CAMPAIGNS, isConditionalCheckFailed, keys, type TableRef } from './table';

/**
 * The `failure_notified` marker: one item per failed execution (and per redrive of it) saying
 * which notice channels have been sent. EventBridge delivers at least once and Lambda retries a
 * failed asynchronous invocation, so the notify step claims a channel before sending and marks it
 * sent after; a redelivered event finds it sent and sends nothing twice. A claim that outlives
 * its invocation (a crash between claim and send) goes stale and may be taken again.
 *
 * The item lives in its own partition (`FAILURE_NOTICE#<executionArn>#<redrive>`): an execution
 * can fail before it has a campaign, and the campaign's partition is evidence that exports read
 * whole.
 */

export type NoticeChannel = 'email' | 'slack';

/** Longer than the notify function's timeout (60 s): a claim this old belongs to a dead invocation. */
export const STALE_CLAIM_MS = 5 * 60 * 1000;

export type ClaimResult = 'claimed' | 'already_sent' | 'in_progress';

export class FailureNoticeLedger {
  constructor(private readonly table: TableRef) {}

  private key(executionArn: string, redriveCount: number) {
    return { pk: `FAILURE_NOTICE#${executionArn}#${redriveCount}`, sk: keys.meta };
  }

  /** Takes `channel` for this invocation unless it was sent, or another invocation holds a fresh claim. */
  async claim(
    notice: { executionArn: string; redriveCount: number; campaignId: string | null; status: string },
    channel: NoticeChannel,
    now: Date,
  ): Promise<ClaimResult> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: this.key(notice.executionArn, notice.redriveCount),
          UpdateExpression:
            'SET #kind = :kind, executionArn = :arn, redriveCount = :redrive, campaignId = :campaign, #status = :status, #claimed = :now',
          ConditionExpression:
            'attribute_not_exists(#sent) AND (attribute_not_exists(#claimed) OR #claimed < :stale)',
          ExpressionAttributeNames: {
            '#kind': 'kind',
            '#status': 'status',
            '#claimed': `${channel}ClaimedAt`,
            '#sent': `${channel}SentAt`,
          },
          ExpressionAttributeValues: {
            ':kind': 'failure_notified',
            ':arn': notice.executionArn,
            ':redrive': notice.redriveCount,
            ':campaign': notice.campaignId,
            ':status': notice.status,
            ':now': now.toISOString(),
            ':stale': new Date(now.getTime() - STALE_CLAIM_MS).toISOString(),
          },
        }),
      );
      return 'claimed';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const sent = await this.sentAt(notice.executionArn, notice.redriveCount);
      return sent[channel] === undefined ? 'in_progress' : 'already_sent';
    }
  }

  async markSent(
    executionArn: string,
    redriveCount: number,
    channel: NoticeChannel,
    now: Date,
  ): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: this.key(executionArn, redriveCount),
        UpdateExpression: 'SET #sent = :now REMOVE #claimed',
        ExpressionAttributeNames: { '#sent': `${channel}SentAt`, '#claimed': `${channel}ClaimedAt` },
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
  }

  /** Gives a claim back after a failed send, so the retry of this event may send at once. */
  async release(executionArn: string, redriveCount: number, channel: NoticeChannel): Promise<void> {
    await this.table.client
      .send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: this.key(executionArn, redriveCount),
          UpdateExpression: 'REMOVE #claimed',
          ConditionExpression: 'attribute_not_exists(#sent)',
          ExpressionAttributeNames: { '#sent': `${channel}SentAt`, '#claimed': `${channel}ClaimedAt` },
        }),
      )
      .catch((error: unknown) => {
        // Sent meanwhile by another invocation: nothing to give back.
        if (!isConditionalCheckFailed(error)) throw error;
      });
  }

  /** When each channel was sent, as the marker records it. */
  async sentAt(executionArn: string, redriveCount: number): Promise<Partial<Record<NoticeChannel, string>>> {
    const { pk, sk } = this.key(executionArn, redriveCount);
    const item = (await getItem(this.table, pk, sk)) ?? {};
    const sent: Partial<Record<NoticeChannel, string>> = {};
    for (const channel of ['email', 'slack'] as const) {
      const at = item[`${channel}SentAt`];
      if (typeof at === 'string') sent[channel] = at;
    }
    return sent;
  }
}

/**
 * The campaign an execution created. StartCampaign records `$$.Execution.Name` on the campaign
 * and starts it after the execution started, so the campaigns index (by start time) is read from
 * a little before the execution's start (clock skew) and matched by name: no assumption about how
 * the campaign id is derived, and a handful of items read.
 */
export async function findCampaignByExecution(
  table: TableRef,
  executionName: string,
  executionStartedAt: Date,
): Promise<Campaign | undefined> {
  const from = new Date(executionStartedAt.getTime() - 5 * 60 * 1000).toISOString();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: GSI_CAMPAIGNS,
        KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk >= :from',
        FilterExpression: 'executionName = :name',
        ExpressionAttributeValues: { ':pk': 'CAMPAIGN', ':from': from, ':name': executionName },
        ExclusiveStartKey: startKey,
      }),
    );
    const found = page.Items?.[0];
    if (found) return withoutKeys(found) as unknown as Campaign;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return undefined;
}

/**
 * The newest event of a type: a campaign redriven and failed again has one `campaign_failed` per
 * failure, and the notice is about the last. Read from the head backwards, where a failure is.
 */
export async function latestEventOfType(
  table: TableRef,
  campaignId: string,
  type: string,
): Promise<CampaignEvent | undefined> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: '#type = :type',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':pk': keys.campaign(campaignId), ':prefix': 'EVENT#', ':type': type },
        ScanIndexForward: false,
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    const found = page.Items?.[0];
    if (found) return withoutKeys(found) as unknown as CampaignEvent;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return undefined;
}
