import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { linkToEvent } from './events';
import { getItem, queryAll, withoutKeys } from './query';
import { isConditionalCheckFailed, keys, type TableRef } from './table';

export type DecisionValue = 'keep' | 'revoke';

export interface Decision {
  campaignId: string;
  grantId: string;
  decision: DecisionValue;
  /** GitHub login of the assigned reviewer who decided. */
  reviewer: string;
  /** The Slack user who clicked (always the reviewer's own Slack id: others are refused). */
  decidedBySlackUserId: string;
  decidedAt: string;
  justification?: string;
  channel: 'slack';
  /** Sequence number of the decision_recorded event, once it is in the chain. */
  eventSeq?: number;
}

export class DecisionRepository {
  constructor(private readonly table: TableRef) {}

  /**
   * The decision on a grant is written once. A double click or a Slack retry finds the first
   * decision and gets it back with `recorded: false`; nothing is overwritten.
   */
  async record(decision: Decision): Promise<{ recorded: boolean; decision: Decision }> {
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

  /** Links the decision to its event in the chain (set once). */
  linkEvent(campaignId: string, grantId: string, eventSeq: number): Promise<void> {
    return linkToEvent(this.table, campaignId, keys.decision(grantId), eventSeq);
  }
}

function toDecision(item: Record<string, unknown>): Decision {
  const { kind: _kind, ...rest } = withoutKeys(item);
  return rest as unknown as Decision;
}
