import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessPath } from '../connectors/connector';
import { getItem, queryAll, withoutKeys } from './query';
import { isConditionalCheckFailed, keys, type TableRef } from './table';

export interface Revocation {
  campaignId: string;
  grantId: string;
  /** removed / already_absent come from the source; failed means the source refused or errored. */
  status: 'removed' | 'already_absent' | 'failed';
  at: string;
  action?: string;
  error?: string;
  eventSeq?: number;
}

export interface Verification {
  campaignId: string;
  grantId: string;
  status: 'absent' | 'present';
  checkedAt: string;
  /** Every path that still gives the access, when present. */
  paths: AccessPath[];
  eventSeq?: number;
}

/** What happened after a revoke decision: one revocation and one verification per grant, each written once. */
export class OutcomeRepository {
  constructor(private readonly table: TableRef) {}

  recordRevocation(revocation: Revocation): Promise<boolean> {
    return this.putOnce(keys.revocation(revocation.grantId), 'revocation', revocation);
  }

  recordVerification(verification: Verification): Promise<boolean> {
    return this.putOnce(keys.verification(verification.grantId), 'verification', verification);
  }

  async getRevocation(campaignId: string, grantId: string): Promise<Revocation | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), keys.revocation(grantId));
    return item ? strip<Revocation>(item) : undefined;
  }

  async getVerification(campaignId: string, grantId: string): Promise<Verification | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), keys.verification(grantId));
    return item ? strip<Verification>(item) : undefined;
  }

  async listRevocations(campaignId: string): Promise<Revocation[]> {
    return (await queryAll(this.table, keys.campaign(campaignId), 'REVOCATION#')).map(strip<Revocation>);
  }

  async listVerifications(campaignId: string): Promise<Verification[]> {
    return (await queryAll(this.table, keys.campaign(campaignId), 'VERIFICATION#')).map(strip<Verification>);
  }

  private async putOnce(sk: string, kind: string, record: { campaignId: string }): Promise<boolean> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { pk: keys.campaign(record.campaignId), sk, kind, ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

function strip<T>(item: Record<string, unknown>): T {
  const { kind: _kind, ...rest } = withoutKeys(item);
  return rest as unknown as T;
}
