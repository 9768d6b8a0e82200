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
  /** Grants the reviewer has decided, claimed on this item before each decision is written. */
  decidedGrantIds: string[];
}

export type GrantClaim =
  | { outcome: 'claimed'; decidedCount: number; grantCount: number }
  | { outcome: 'already_claimed'; task: ReviewTask }
  | { outcome: 'task_closed'; task: ReviewTask };

/** The token is kept apart from ReviewTask so it cannot travel with a task by accident. */
interface TaskItem extends ReviewTask {
  taskToken?: string;
}

export class TaskRepository {
  constructor(private readonly table: TableRef) {}

  /** Idempotent: a retried assignment leaves an existing task (and its progress) alone. */
  async create(task: Omit<ReviewTask, 'decidedGrantIds'>): Promise<boolean> {
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
   * Claims a grant for a decision on the task item itself, in one conditional update: only while
   * the task is open, and only once per grant. This is what orders a last-second click against
   * the review window closing: a claim made before the close counts, none can be made after.
   * The item's own count of claims (strongly consistent) is what says the task is complete.
   */
  async claimGrant(campaignId: string, reviewer: string, grantId: string): Promise<GrantClaim> {
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
          UpdateExpression: 'ADD decidedGrants :grants',
          ConditionExpression:
            'attribute_exists(pk) AND #status = :awaiting AND (attribute_not_exists(decidedGrants) OR NOT contains(decidedGrants, :grant))',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':grants': new Set([grantId]),
            ':grant': grantId,
            ':awaiting': 'awaiting',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const task = publicTask(result.Attributes ?? {});
      return { outcome: 'claimed', decidedCount: task.decidedGrantIds.length, grantCount: task.grantCount };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const task = await this.get(campaignId, reviewer);
      if (!task) throw error;
      if (task.decidedGrantIds.includes(grantId)) return { outcome: 'already_claimed', task };
      return { outcome: 'task_closed', task };
    }
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
  const { taskToken: _token, kind: _kind, decidedGrants, ...rest } = withoutKeys(item);
  const decidedGrantIds = decidedGrants instanceof Set ? [...(decidedGrants as Set<string>)].sort() : [];
  return { ...(rest as unknown as Omit<ReviewTask, 'decidedGrantIds'>), decidedGrantIds };
}
