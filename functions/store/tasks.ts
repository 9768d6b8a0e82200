import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DecisionValue } from './decisions';
import type { StoredGrant } from './grants';
import { getItem, queryAll, withoutKeys } from './query';
import { GSI_BY_REVIEWER, isConditionalCheckFailed, keys, type TableRef } from './table';

/**
 * pending: assigned, not yet sent; awaiting: DM sent, task token stored; completed: every grant
 * decided; unresponsive: the review window closed first; cancelled: the campaign was cancelled.
 */
export type TaskStatus = 'pending' | 'awaiting' | 'completed' | 'unresponsive' | 'cancelled';

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
  /**
   * Decisions counted on this task: each decision is counted once (the decision item carries the
   * flag that says so), and the task is complete when this reaches grantCount. Counters, not sets
   * of grant ids, so the item stays the same size however many grants the reviewer decides.
   */
  decidedCount: number;
  /** Of decidedCount, how many kept and how many revoke requested (the message's summary line). */
  keptCount: number;
  revokedCount: number;
  /** Of decidedCount, how many were lowered to a smaller entitlement (a downgrade is not a revoke). */
  downgradedCount: number;
  /** The highest reminder number recorded (`reminder_sent`); absent: none yet. */
  remindersSent?: number;
  /** When the task's undecided grants were escalated (review.escalateAfterHours); absent: not yet. */
  escalatedAt?: string;
  /** `review_requested` is in the chain (set after the event, so a retry does not record it twice). */
  requestRecorded?: boolean;
}

/** The token is kept apart from ReviewTask so it cannot travel with a task by accident. */
interface TaskItem extends ReviewTask {
  taskToken?: string;
}

type NewTask = Omit<ReviewTask, 'decidedCount' | 'keptCount' | 'revokedCount' | 'downgradedCount'>;

const COUNTER_OF: Record<DecisionValue, 'keptCount' | 'revokedCount' | 'downgradedCount'> = {
  keep: 'keptCount',
  revoke: 'revokedCount',
  downgrade: 'downgradedCount',
};

export class TaskRepository {
  constructor(private readonly table: TableRef) {}

  /** Idempotent: a retried assignment leaves an existing task (and its progress) alone. */
  async create(task: NewTask): Promise<boolean> {
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
   * Starts the reviewer's window: the first call sets `requestedAt` and `dueAt` and moves the task
   * from pending to awaiting (a click is accepted from then on, before the token is stored: the
   * last click then closes the task without a token, and AwaitReview resumes itself). Later calls
   * (a retried request) change nothing. Returns the task as stored.
   */
  async markRequested(campaignId: string, reviewer: string, at: Date, dueAt: Date): Promise<ReviewTask> {
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
          UpdateExpression: 'SET #status = :awaiting, requestedAt = :at, dueAt = :due',
          ConditionExpression:
            'attribute_exists(pk) AND attribute_not_exists(requestedAt) AND #status IN (:pending, :awaiting)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':awaiting': 'awaiting',
            ':pending': 'pending',
            ':at': at.toISOString(),
            ':due': dueAt.toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return publicTask(result.Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const task = await this.get(campaignId, reviewer);
      if (!task) throw error;
      return task;
    }
  }

  /**
   * Stores the token that resumes the workflow (only this table ever holds it) for the next stretch
   * of the window, only while the task is open; false when it is closed (completed, unresponsive,
   * cancelled), and then nobody will send this token: the caller resumes it itself. The window does
   * not move: `at`/`dueAt` are only for callers that request and wait in one go (test fixtures),
   * which start the window with them.
   */
  async storeToken(
    campaignId: string,
    reviewer: string,
    taskToken: string,
    at?: Date,
    dueAt?: Date,
  ): Promise<boolean> {
    const window = at && dueAt;
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
          UpdateExpression: `SET taskToken = :token, #status = :awaiting${window ? ', requestedAt = :at, dueAt = :due' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND #status IN (:pending, :awaiting)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':token': taskToken,
            ':awaiting': 'awaiting',
            ':pending': 'pending',
            ...(window ? { ':at': at.toISOString(), ':due': dueAt.toISOString() } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Marks `review_requested` as recorded for the task. */
  async markRequestRecorded(campaignId: string, reviewer: string): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
        UpdateExpression: 'SET requestRecorded = :yes',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':yes': true },
      }),
    );
  }

  /**
   * Claims reminder `number` for the record: true once per number (and never for a number at or
   * below one already claimed), so `reminder_sent` is appended once however often a step retries.
   */
  async claimReminder(campaignId: string, reviewer: string, number: number): Promise<boolean> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
          UpdateExpression: 'SET remindersSent = :n',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(remindersSent) OR remindersSent < :n)',
          ExpressionAttributeValues: { ':n': number },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Records that the task was escalated (once: a later call keeps the first time). */
  async markEscalated(campaignId: string, reviewer: string, at: Date): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
        UpdateExpression: 'SET escalatedAt = if_not_exists(escalatedAt, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at.toISOString() },
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
   * Counts one decision on the task and returns the task as it is after the count (strongly
   * consistent: what says the task is complete). The caller counts a decision only after winning
   * its decision item's counted flag (DecisionRepository.markCounted), so a repeated click never
   * counts twice. One update of a fixed-size item, whatever the number of grants.
   */
  async countDecision(campaignId: string, reviewer: string, decision: DecisionValue): Promise<ReviewTask> {
    const result = await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.task(reviewer) },
        UpdateExpression: 'ADD decidedCount :one, #kind :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#kind': COUNTER_OF[decision] },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return publicTask(result.Attributes ?? {});
  }

  /**
   * A page of the reviewer's grants in the task's order (grant id, the by-reviewer index's sort
   * key), starting after `afterGrantId`: what the review message shows next once the reviewer has
   * decided every grant it lists. One Query of at most `limit` grants, however many the task has.
   */
  async grantsAfter(
    campaignId: string,
    reviewer: string,
    afterGrantId: string | undefined,
    limit: number,
  ): Promise<StoredGrant[]> {
    const pk = keys.reviewerGrants(campaignId, reviewer);
    const result = await this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        IndexName: GSI_BY_REVIEWER,
        // Decisions share the index partition under DECISION#: the range keeps to grants.
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':from': keys.grant(''),
          ':to': `${keys.grant('')}\uffff`,
        },
        ...(afterGrantId
          ? {
              // Index pagination: the item to start after, named by its table and index keys.
              ExclusiveStartKey: {
                pk: keys.campaign(campaignId),
                sk: keys.grant(afterGrantId),
                gsi1pk: pk,
                gsi1sk: keys.grant(afterGrantId),
              },
            }
          : {}),
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => {
      const { kind: _kind, ...rest } = withoutKeys(item);
      return rest as unknown as StoredGrant;
    });
  }

  /**
   * Closes an open task exactly once and hands back its token, so only one caller (the last click,
   * the window's end, a cancel) resumes the workflow. Undefined when someone else already closed
   * it. The token may be one whose wait already timed out (between two stretches of the window):
   * sending it then fails, and the next AwaitReview finds the task closed and resumes itself.
   */
  async close(
    campaignId: string,
    reviewer: string,
    status: 'completed' | 'unresponsive' | 'cancelled',
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
  // claimedGrants / decidedGrants: the sets a task item held before the counters; no longer read.
  const {
    taskToken: _token,
    kind: _kind,
    claimedGrants: _claimed,
    decidedGrants: _decided,
    decidedCount,
    keptCount,
    revokedCount,
    downgradedCount,
    ...rest
  } = withoutKeys(item);
  const count = (value: unknown) => (typeof value === 'number' ? value : 0);
  return {
    ...(rest as unknown as NewTask),
    decidedCount: count(decidedCount),
    keptCount: count(keptCount),
    revokedCount: count(revokedCount),
    downgradedCount: count(downgradedCount),
  };
}
