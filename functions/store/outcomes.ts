import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AccessPath, PolicyChange } from '../connectors/connector';
import type { GuardReason } from '../core/revocation-guard';
import type { EventType } from './events';
import { linkToEvent } from './events';
import { type HistoryKeySource, historyKeys } from './history';
import { getItem, queryAll, withoutKeys } from './query';
import { isConditionalCheckFailed, keys, type TableRef } from './table';

export interface Revocation {
  campaignId: string;
  grantId: string;
  /**
   * pending: about to call the source (written first, so a crash mid-call is known on retry);
   * removed / already_absent: what the source answered; failed: the source refused or errored.
   * rejected: the revocation guard held it and the security team rejected the batch (or nobody
   * answered in time); refused_protected: it would revoke the tool's own identity, which no
   * approval can allow. Neither calls the source; both are recorded so nothing is silently dropped.
   */
  status:
    | 'pending'
    | 'removed'
    | 'already_absent'
    | 'failed'
    | 'remediation_required'
    | 'rejected'
    | 'refused_protected';
  /** When the attempt started (pending) or finished. */
  at: string;
  /** True when an earlier attempt was interrupted between calling the source and recording it. */
  interrupted?: boolean;
  action?: string;
  /** For remediation_required: what a person must do to remove the access. */
  remediation?: string;
  error?: string;
  /** Policy documents the revocation changed, before and after, exactly (AWS). */
  policyChanges?: PolicyChange[];
  /**
   * On a pending revocation: the changes the connector said it would make, recorded before the
   * source was called. A retry after an interrupted attempt falls back on them when the source no
   * longer shows what the first attempt changed.
   */
  plannedPolicyChanges?: PolicyChange[];
  /** rejected / refused_protected: why the guard held or forbade it. */
  guardReasons?: GuardReason[];
  /**
   * Set for a downgrade decision: the grant is lowered to `to` instead of removed (status
   * `removed` = the source took the higher entitlement away; `already_absent` = it was already at
   * or below `to`, or gone). `toGrantId` is the grant the downgrade leaves (the same key with
   * entitlement `to`). Absent for a revocation.
   */
  operation?: 'downgrade';
  to?: string;
  toGrantId?: string;
  eventSeq?: number;
}

/** What a downgrade adds to its revocation and verification records and events. */
export interface DowngradeFields {
  operation: 'downgrade';
  to: string;
  toGrantId: string;
}

/** Statuses that mean the source was never called: the guard kept the revocation from happening. */
export const NOT_APPLIED_STATUSES: ReadonlySet<Revocation['status']> = new Set([
  'rejected',
  'refused_protected',
]);

/** The chain event a finished revocation is recorded with. */
export function revocationEventType(status: Revocation['status']): EventType {
  if (status === 'failed') return 'revocation_failed';
  if (status === 'rejected') return 'revocation_rejected';
  if (status === 'refused_protected') return 'revocation_refused';
  return 'revocation_applied';
}

/**
 * The data of a revocation's event in the chain. ApplyRevocations and Finalize's recovery both
 * write it from here, so a recovered event says exactly what the lost one would have.
 */
export function revocationEventData(revocation: Revocation): Record<string, unknown> {
  return {
    grantId: revocation.grantId,
    status: revocation.status,
    action: revocation.action ?? null,
    remediation: revocation.remediation ?? null,
    error: revocation.error ?? null,
    at: revocation.at,
    interrupted: revocation.interrupted ?? false,
    ...(revocation.guardReasons ? { guardReasons: revocation.guardReasons } : {}),
    // Only for a downgrade, so events of revocations keep their shape.
    ...(revocation.operation === 'downgrade'
      ? {
          operation: revocation.operation,
          to: revocation.to ?? null,
          toGrantId: revocation.toGrantId ?? null,
        }
      : {}),
    // Only where a document changed, so events of grants without policies keep their shape.
    ...(revocation.policyChanges && revocation.policyChanges.length > 0
      ? { policyChanges: revocation.policyChanges }
      : {}),
  };
}

export interface Verification {
  campaignId: string;
  grantId: string;
  status: 'absent' | 'present';
  checkedAt: string;
  /** Every path that still gives the access, when present. */
  paths: AccessPath[];
  /**
   * For a downgrade: `status`/`paths` are about the old entitlement (absent = no path gives it any
   * more; present = what still does, such as a team's access the downgrade cannot touch), and
   * `toHeld` says whether the grant now holds `to` directly (`toPaths`: every path giving `to`).
   */
  operation?: 'downgrade';
  to?: string;
  toGrantId?: string;
  toHeld?: boolean;
  toPaths?: AccessPath[];
  eventSeq?: number;
}

/**
 * The data of a verification's event in the chain (VerifyRevocations writes it from here, and so
 * should Finalize's recovery, so a recovered event says what the lost one would have).
 */
export function verificationEventData(verification: Verification): Record<string, unknown> {
  return {
    grantId: verification.grantId,
    status: verification.status,
    paths: verification.paths,
    checkedAt: verification.checkedAt,
    ...(verification.operation === 'downgrade'
      ? {
          operation: verification.operation,
          to: verification.to ?? null,
          toGrantId: verification.toGrantId ?? null,
          toHeld: verification.toHeld ?? false,
          toPaths: verification.toPaths ?? [],
        }
      : {}),
  };
}

/** What happened after a revoke decision: one revocation and one verification per grant, each written once. */
export class OutcomeRepository {
  constructor(private readonly table: TableRef) {}

  /**
   * Writes the pending intent; false (and nothing written) when an attempt was already made. Given
   * the grant, here and in the other first writes, the item is keyed for the history (history.ts).
   */
  beginRevocation(
    campaignId: string,
    grantId: string,
    at: string,
    grant?: HistoryKeySource,
    downgrade?: DowngradeFields,
  ): Promise<boolean> {
    return this.putOnce(
      keys.revocation(grantId),
      'revocation',
      { campaignId, grantId, status: 'pending', at, ...(downgrade ?? {}) },
      grant,
    );
  }

  /**
   * Records a revocation the guard kept from happening (rejected, refused_protected), once: no
   * source is called, so there is no pending intent to write first. False when already recorded.
   */
  recordNotApplied(revocation: Revocation, grant?: HistoryKeySource): Promise<boolean> {
    return this.putOnce(keys.revocation(revocation.grantId), 'revocation', revocation, grant);
  }

  /** Records, on a pending revocation, the policy changes the connector plans; set once. */
  async recordPlan(campaignId: string, grantId: string, planned: PolicyChange[]): Promise<void> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.revocation(grantId) },
          UpdateExpression: 'SET plannedPolicyChanges = :planned',
          ConditionExpression:
            'attribute_exists(pk) AND #status = :pending AND attribute_not_exists(plannedPolicyChanges)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':planned': planned, ':pending': 'pending' },
        }),
      );
    } catch (error) {
      // A plan already recorded by an earlier attempt stays: it describes that attempt's writes.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** Records the source's answer on a pending revocation; a finished one is never changed. */
  async finishRevocation(revocation: Revocation): Promise<void> {
    const { campaignId, grantId, status, at, action, remediation, error, interrupted, policyChanges } =
      revocation;
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.revocation(grantId) },
        UpdateExpression:
          'SET #status = :status, #at = :at, #action = :action, remediation = :remediation, #error = :error, interrupted = :interrupted, policyChanges = :policyChanges',
        ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#at': 'at',
          '#action': 'action',
          '#error': 'error',
        },
        ExpressionAttributeValues: {
          ':status': status,
          ':at': at,
          ':action': action ?? null,
          ':remediation': remediation ?? null,
          ':error': error ?? null,
          ':interrupted': interrupted ?? false,
          ':policyChanges': policyChanges && policyChanges.length > 0 ? policyChanges : null,
          ':pending': 'pending',
        },
      }),
    );
  }

  /** Links an outcome to its event in the chain; set once. */
  linkEvent(kind: 'revocation' | 'verification', campaignId: string, grantId: string, eventSeq: number) {
    const sk = kind === 'revocation' ? keys.revocation(grantId) : keys.verification(grantId);
    return linkToEvent(this.table, campaignId, sk, eventSeq);
  }

  recordVerification(verification: Verification, grant?: HistoryKeySource): Promise<boolean> {
    return this.putOnce(keys.verification(verification.grantId), 'verification', verification, grant);
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

  private async putOnce(
    sk: string,
    kind: 'revocation' | 'verification',
    record: Revocation | Verification,
    grant: HistoryKeySource | undefined,
  ): Promise<boolean> {
    const indexed = grant
      ? historyKeys(grant, kind === 'revocation' ? 'REVOCATION' : 'VERIFICATION', record)
      : {};
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { pk: keys.campaign(record.campaignId), sk, kind, ...indexed, ...record },
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
  // Attributes cleared to null (no action, no error) read back as absent.
  for (const [name, value] of Object.entries(rest)) if (value === null) delete rest[name];
  return rest as unknown as T;
}
