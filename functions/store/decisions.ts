import { BatchGetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AccessReviewError } from '../core/errors';
import { linkToEvent } from './events';
import { type HistoryKeySource, historyKeys } from './history';
import { getItem, queryAll, withoutKeys } from './query';
import { GSI_BY_REVIEWER, isConditionalCheckFailed, keys, type TableRef } from './table';

export type DecisionValue = 'keep' | 'revoke' | 'downgrade';

export interface Decision {
  campaignId: string;
  grantId: string;
  decision: DecisionValue;
  /** GitHub login of the task's reviewer (the task the grant belongs to; it never moves). */
  reviewer: string;
  /**
   * GitHub login of the person who decided, when not the task's reviewer: the assignee of a grant
   * handed over by delegation or escalation.
   */
  decidedBy?: string;
  /**
   * The Slack user who clicked (the decider's own Slack id: others are refused); empty for a
   * decision the end-of-window policy took.
   */
  decidedBySlackUserId: string;
  decidedAt: string;
  justification?: string;
  /** The entitlement a `downgrade` decision lowers the grant to. */
  downgradeTo?: string;
  /** Taken by "Keep all remaining". */
  bulk?: boolean;
  /** slack: a person's click; policy: the end-of-window policy (an exception, not a review). */
  channel: 'slack' | 'policy';
  /** Sequence number of the decision_recorded event, once it is in the chain. */
  eventSeq?: number;
}

/** BatchGetItem reads at most 100 keys per request. */
const BATCH_GET_MAX = 100;
const BATCH_GET_ATTEMPTS = 5;

/** DynamoDB kept leaving reads unprocessed (throttling). */
export class DecisionReadError extends AccessReviewError {}

export class DecisionRepository {
  constructor(private readonly table: TableRef) {}

  /**
   * The decision on a grant is written once. A double click or a Slack retry finds the first
   * decision and gets it back with `recorded: false`; nothing is overwritten. With the grant, the
   * item is also keyed for the principal and resource history (history.ts); without it, it is left
   * out of the history until `reindex`.
   */
  async record(
    decision: Decision,
    grant?: HistoryKeySource,
  ): Promise<{ recorded: boolean; decision: Decision }> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            pk: keys.campaign(decision.campaignId),
            sk: keys.decision(decision.grantId),
            kind: 'decision',
            // Indexed beside the reviewer's grants so one query renders their whole task.
            gsi1pk: keys.reviewerGrants(decision.campaignId, decision.reviewer),
            gsi1sk: keys.decision(decision.grantId),
            ...(grant ? historyKeys(grant, 'DECISION', decision) : {}),
            ...decision,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { recorded: true, decision };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.get(decision.campaignId, decision.grantId);
      if (!existing) throw error;
      return { recorded: false, decision: existing };
    }
  }

  async get(campaignId: string, grantId: string): Promise<Decision | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), keys.decision(grantId));
    return item ? toDecision(item) : undefined;
  }

  async list(campaignId: string): Promise<Decision[]> {
    return (await queryAll(this.table, keys.campaign(campaignId), 'DECISION#')).map(toDecision);
  }

  /**
   * The decisions on these grants (absent ones are left out), read by key in one BatchGetItem per
   * 100 grants: what the click redraw reads for the grants its message shows, never a whole task.
   */
  async getMany(campaignId: string, grantIds: readonly string[]): Promise<Map<string, Decision>> {
    const found = new Map<string, Decision>();
    const unique = [...new Set(grantIds)];
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX) {
      let requested: Record<string, unknown>[] = unique
        .slice(start, start + BATCH_GET_MAX)
        .map((grantId) => ({ pk: keys.campaign(campaignId), sk: keys.decision(grantId) }));
      for (let attempt = 0; requested.length > 0; attempt++) {
        if (attempt >= BATCH_GET_ATTEMPTS) {
          throw new DecisionReadError(
            `DynamoDB left ${requested.length} decision reads unprocessed after ${BATCH_GET_ATTEMPTS} attempts`,
          );
        }
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        const result = await this.table.client.send(
          new BatchGetCommand({
            RequestItems: { [this.table.tableName]: { Keys: requested, ConsistentRead: true } },
          }),
        );
        for (const item of result.Responses?.[this.table.tableName] ?? []) {
          const decision = toDecision(item);
          found.set(decision.grantId, decision);
        }
        requested = (result.UnprocessedKeys?.[this.table.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }

  /**
   * Sets the decision's counted flag, once: true for the one caller that set it, which then counts
   * the decision on the task. The click that wrote the decision calls it with the decision's event
   * (linking the event in the same write); a repeated click calls it without, in case the first
   * click died before counting. Whoever loses leaves the count alone, so no decision counts twice.
   */
  async markCounted(campaignId: string, grantId: string, eventSeq?: number): Promise<boolean> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.decision(grantId) },
          UpdateExpression:
            eventSeq === undefined
              ? 'SET counted = :true'
              : 'SET counted = :true, eventSeq = if_not_exists(eventSeq, :seq)',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(counted)',
          ExpressionAttributeValues:
            eventSeq === undefined ? { ':true': true } : { ':true': true, ':seq': eventSeq },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      if (eventSeq !== undefined) await this.linkEvent(campaignId, grantId, eventSeq);
      return false;
    }
  }

  /**
   * How many of the reviewer's grants have a decision, counted on the by-reviewer index (one item
   * read per decision): only for the end of a review window, to find decisions a click wrote but
   * died before counting.
   */
  async countForReviewer(campaignId: string, reviewer: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.tableName,
          IndexName: GSI_BY_REVIEWER,
          KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
          ExpressionAttributeValues: {
            ':pk': keys.reviewerGrants(campaignId, reviewer),
            ':prefix': 'DECISION#',
          },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  /** Links the decision to its event in the chain (set once). */
  linkEvent(campaignId: string, grantId: string, eventSeq: number): Promise<void> {
    return linkToEvent(this.table, campaignId, keys.decision(grantId), eventSeq);
  }
}

function toDecision(item: Record<string, unknown>): Decision {
  // `counted` is bookkeeping of the task's counter, not part of the decision.
  const { kind: _kind, counted: _counted, ...rest } = withoutKeys(item);
  return rest as unknown as Decision;
}
