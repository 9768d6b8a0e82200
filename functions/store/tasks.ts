import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getItem, queryAll, withoutKeys } from './query';
import { isConditionalCheckFailed, keys, type TableRef } from './table';

/**
 * pending: assigned, not yet sent; awaiting: DM sent, task token stored; completed: every grant
 * decided; unresponsive: the review window closed first.
 */
export type TaskStatus = 'pending' | 'awaiting' | 'completed' | 'unresponsive';

export interface ReviewTask {
  campaignId: string;
  reviewer: string;
  slackUserId: string;
  grantCount: number;
  status: TaskStatus;
  dueAt: string;
  channelId?: string;
  messageTs?: string;
  requestedAt?: string;
  completedAt?: string;
}

/** The token is kept apart from ReviewTask so it cannot travel with a task by accident. */
interface TaskItem extends ReviewTask {
  taskToken?: string;
}

export class TaskRepository {
  constructor(private readonly table: TableRef) {}

  /** Idempotent: a retried assignment leaves an existing task (and its progress) alone. */
  async create(task: ReviewTask): Promise<boolean> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { pk: keys.campaign(task.campaignId), sk: keys.task(task.reviewer), kind: 'task', ...task },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async get(campaignId: string, reviewer: string): Promise<ReviewTask | undefined> {
    const item = await getItem<Record<string, unknown>>(
      this.table,
      keys.campaign(campaignId),
      keys.task(reviewer),
    );
    return item ? publicTask(item) : undefined;
  }

  async list(campaignId: string): Promise<ReviewTask[]> {
    const items = await queryAll(this.table, keys.campaign(campaignId), 'TASK#');
    return items.map(publicTask);
  }

  /** Stores the token that resumes the workflow; only this table ever holds it. */
  async storeToken(campaignId: string, reviewer: string, taskToken: string, at: Date): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
        UpdateExpression: 'SET taskToken = :token, #status = :awaiting, requestedAt = :at',
        ConditionExpression: 'attribute_exists(pk) AND #status IN (:pending, :awaiting)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':token': taskToken,
          ':awaiting': 'awaiting',
          ':pending': 'pending',
          ':at': at.toISOString(),
        },
      }),
    );
  }

  async recordMessage(
    campaignId: string,
    reviewer: string,
    channelId: string,
    messageTs: string,
  ): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
        UpdateExpression: 'SET channelId = :channel, messageTs = :ts',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':channel': channelId, ':ts': messageTs },
      }),
    );
  }

  /**
   * Closes an awaiting task exactly once and hands back its token, so only one caller (the last
   * click, or the timeout) resumes the workflow. Undefined when someone else already closed it.
   */
  async close(
    campaignId: string,
    reviewer: string,
    status: 'completed' | 'unresponsive',
    at: Date,
  ): Promise<{ taskToken: string | undefined } | undefined> {
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
          UpdateExpression: 'SET #status = :status, completedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND #status IN (:pending, :awaiting)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ':at': at.toISOString(),
            ':pending': 'pending',
            ':awaiting': 'awaiting',
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { taskToken: (result.Attributes as TaskItem | undefined)?.taskToken };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }
}

function publicTask(item: Record<string, unknown>): ReviewTask {
  const { taskToken: _token, kind: _kind, ...rest } = withoutKeys(item);
  return rest as unknown as ReviewTask;
}
