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
  /** Grants claimed for a decision (the claim comes first, while the task is open). */
  claimedGrantIds: string[];
  /** Grants whose decision is written: the task is complete when every grant is here. */
  decidedGrantIds: string[];
}

export type GrantClaim =
  | { outcome: 'claimed' }
  | { outcome: 'already_claimed'; task: ReviewTask }
  | { outcome: 'task_closed'; task: ReviewTask };

/** The token is kept apart from ReviewTask so it cannot travel with a task by accident. */
interface TaskItem extends ReviewTask {
  taskToken?: string;
}

export class TaskRepository {
  constructor(private readonly table: TableRef) {}

  /** Idempotent: a retried assignment leaves an existing task (and its progress) alone. */
  async create(task: Omit<ReviewTask, 'claimedGrantIds' | 'decidedGrantIds'>): Promise<boolean> {
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

  /**
   * Stores the token that resumes the workflow (only this table ever holds it) and starts the
   * reviewer's window, so a reviewer asked after others still gets all of it.
   */
  async storeToken(
    campaignId: string,
    reviewer: string,
    taskToken: string,
    at: Date,
    dueAt: Date,
  ): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
        UpdateExpression: 'SET taskToken = :token, #status = :awaiting, requestedAt = :at, dueAt = :due',
        ConditionExpression: 'attribute_exists(pk) AND #status IN (:pending, :awaiting)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':token': taskToken,
          ':awaiting': 'awaiting',
          ':pending': 'pending',
          ':at': at.toISOString(),
          ':due': dueAt.toISOString(),
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
   * the task is open, and only once per grant. This orders a last-second click against the review
   * window closing: a claim made before the close may still be decided, none can be made after.
   */
  async claimGrant(campaignId: string, reviewer: string, grantId: string): Promise<GrantClaim> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
          UpdateExpression: 'ADD claimedGrants :grants',
          ConditionExpression:
            'attribute_exists(pk) AND #status = :awaiting AND (attribute_not_exists(claimedGrants) OR NOT contains(claimedGrants, :grant))',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':grants': new Set([grantId]),
            ':grant': grantId,
            ':awaiting': 'awaiting',
          },
        }),
      );
      return { outcome: 'claimed' };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const task = await this.get(campaignId, reviewer);
      if (!task) throw error;
      // A claim on an open task whose decision may not be written yet (its click died): the
      // reviewer may finish it. On a closed task nothing more is decided.
      if (task.status === 'awaiting' && task.claimedGrantIds.includes(grantId))
        return { outcome: 'already_claimed', task };
      return { outcome: 'task_closed', task };
    }
  }

  /**
   * Marks a claimed grant's decision as written and returns how many grants are decided, read
   * from this item (strongly consistent): what says the task is complete.
   */
  async markDecided(campaignId: string, reviewer: string, grantId: string): Promise<number> {
    const result = await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
        UpdateExpression: 'ADD decidedGrants :grants',
        ConditionExpression: 'attribute_exists(pk) AND contains(claimedGrants, :grant)',
        ExpressionAttributeValues: { ':grants': new Set([grantId]), ':grant': grantId },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const decided = result.Attributes?.decidedGrants;
    return decided instanceof Set ? decided.size : 0;
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
  ): Promise<{ taskToken: string | undefined; task: ReviewTask } | undefined> {
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
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = (result.Attributes ?? {}) as TaskItem & Record<string, unknown>;
      return { taskToken: item.taskToken, task: publicTask(item) };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }
}

function publicTask(item: Record<string, unknown>): ReviewTask {
  const { taskToken: _token, kind: _kind, claimedGrants, decidedGrants, ...rest } = withoutKeys(item);
  const ids = (set: unknown) => (set instanceof Set ? [...(set as Set<string>)].sort() : []);
  return {
    ...(rest as unknown as Omit<ReviewTask, 'claimedGrantIds' | 'decidedGrantIds'>),
    claimedGrantIds: ids(claimedGrants),
    decidedGrantIds: ids(decidedGrants),
  };
}
