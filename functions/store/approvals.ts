import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { GuardItem, GuardVerdict, OwnIdentities } from '../core/revocation-guard';
import { linkToEvent } from './events';
import { getItem, queryAll, withoutKeys } from './query';
import { isConditionalCheckFailed, keys, type TableRef } from './table';

/*
 * The revocation guard's items, in the campaign's partition beside the others:
 *
 *   GUARD                 the verdict's figures (limits, counts, the tool's identities)
 *   GUARD#<grantId>       the verdict on one revoke decision (allowed / held / forbidden, reasons)
 *   APPROVAL              the security team's answer on the held batch (holds the task token)
 */
const GUARD_SK = 'GUARD';
const GUARD_ITEM_PREFIX = 'GUARD#';
const APPROVAL_SK = 'APPROVAL';

/** The verdict's figures as stored: what CheckRevocations decided, once per campaign. */
export interface StoredGuardSummary extends Omit<GuardVerdict, 'items'> {
  campaignId: string;
  evaluatedAt: string;
  limits: { maxRevokedPercent: number; maxPerPrincipal: number; approvalWindowHours: number };
  ownIdentities: OwnIdentities;
  breakGlass: OwnIdentities;
  eventSeq?: number;
}

export interface StoredGuardItem extends GuardItem {
  campaignId: string;
}

/**
 * awaiting: the message is out and the workflow waits; approved / rejected: a member of the
 * security team decided (once); expired: nobody decided within the window, or the request could
 * not be sent, so the held revocations are rejected.
 */
export type ApprovalStatus = 'awaiting' | 'approved' | 'rejected' | 'expired';

export interface Approver {
  login: string;
  slackUserId: string;
}

export interface ApprovalRequest {
  campaignId: string;
  status: ApprovalStatus;
  /** The security team as found in Slack when the request was sent; only they may decide. */
  approvers: Approver[];
  heldCount: number;
  /** Where the request was posted: one channel, or each approver's DM. */
  messages: Array<{ channelId: string; ts: string }>;
  requestedAt: string;
  dueAt: string;
  decidedAt?: string;
  /** The approver's GitHub login and Slack user id (approved / rejected). */
  decidedBy?: Approver;
  /** expired: why (no answer within the window, or the request failed). */
  expiredReason?: string;
  eventSeq?: number;
}

/** The token is kept apart from ApprovalRequest so it cannot travel with one by accident. */
interface ApprovalItem extends ApprovalRequest {
  taskToken?: string;
}

export class ApprovalRepository {
  constructor(private readonly table: TableRef) {}

  /** Stores one grant's verdict; a verdict already stored (an earlier attempt) is kept. */
  putGuardItem(item: StoredGuardItem): Promise<boolean> {
    return this.putOnce(`${GUARD_ITEM_PREFIX}${item.grantId}`, 'guard_item', { ...item });
  }

  /** Stores the verdict's figures once; false when an earlier attempt already did. */
  putGuardSummary(summary: StoredGuardSummary): Promise<boolean> {
    return this.putOnce(GUARD_SK, 'guard', { ...summary });
  }

  async getGuardSummary(campaignId: string): Promise<StoredGuardSummary | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), GUARD_SK);
    return item ? strip<StoredGuardSummary>(item) : undefined;
  }

  async listGuardItems(campaignId: string): Promise<StoredGuardItem[]> {
    return (await queryAll(this.table, keys.campaign(campaignId), GUARD_ITEM_PREFIX)).map(
      strip<StoredGuardItem>,
    );
  }

  linkGuardEvent(campaignId: string, eventSeq: number): Promise<void> {
    return linkToEvent(this.table, campaignId, GUARD_SK, eventSeq);
  }

  /**
   * Creates the approval request with the workflow's task token (only this table holds it), or,
   * on a retried request that is still awaiting, replaces the token with the new one.
   */
  async open(
    request: Omit<ApprovalRequest, 'status' | 'messages'>,
    taskToken: string,
  ): Promise<ApprovalRequest> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            pk: keys.campaign(request.campaignId),
            sk: APPROVAL_SK,
            kind: 'approval',
            ...request,
            status: 'awaiting',
            messages: [],
            taskToken,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { ...request, status: 'awaiting', messages: [] };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(request.campaignId), sk: APPROVAL_SK },
          UpdateExpression: 'SET taskToken = :token',
          ConditionExpression: '#status = :awaiting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':token': taskToken, ':awaiting': 'awaiting' },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const existing = await this.get(request.campaignId);
    if (!existing) throw new Error(`approval request of campaign ${request.campaignId} vanished`);
    return existing;
  }

  async recordMessages(
    campaignId: string,
    messages: Array<{ channelId: string; ts: string }>,
  ): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: APPROVAL_SK },
        UpdateExpression: 'SET messages = :messages',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':messages': messages },
      }),
    );
  }

  async get(campaignId: string): Promise<ApprovalRequest | undefined> {
    const item = await getItem<Record<string, unknown>>(this.table, keys.campaign(campaignId), APPROVAL_SK);
    return item ? publicApproval(item) : undefined;
  }

  /**
   * Records the security team's answer once: only while the request awaits one. Hands back the
   * task token to whoever wrote the decision, so exactly one caller resumes the workflow.
   * Undefined when the request was already decided or expired.
   */
  async decide(
    campaignId: string,
    decision: 'approved' | 'rejected',
    by: Approver,
    at: Date,
  ): Promise<{ taskToken: string | undefined; approval: ApprovalRequest } | undefined> {
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: APPROVAL_SK },
          UpdateExpression: 'SET #status = :decision, decidedBy = :by, decidedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND #status = :awaiting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':decision': decision,
            ':by': by,
            ':at': at.toISOString(),
            ':awaiting': 'awaiting',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = (result.Attributes ?? {}) as ApprovalItem & Record<string, unknown>;
      return { taskToken: item.taskToken, approval: publicApproval(item) };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Closes a request still awaiting an answer because the campaign was cancelled: recorded as
   * expired with `reason`, like `decide`, once, and hands back the token so exactly one caller
   * resumes the workflow. Undefined when there is no waiting request (none, decided or expired).
   */
  async cancel(
    campaignId: string,
    reason: string,
    at: Date,
  ): Promise<{ taskToken: string | undefined; approval: ApprovalRequest } | undefined> {
    try {
      const result = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: APPROVAL_SK },
          UpdateExpression: 'SET #status = :expired, expiredReason = :reason, decidedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND #status = :awaiting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':expired': 'expired',
            ':reason': reason,
            ':at': at.toISOString(),
            ':awaiting': 'awaiting',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = (result.Attributes ?? {}) as ApprovalItem & Record<string, unknown>;
      return { taskToken: item.taskToken, approval: publicApproval(item) };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  /**
   * Closes an undecided request as expired (the window ended, or the request could not be sent),
   * creating it when it was never written. A decision that won the race stays. Returns the
   * request as it now stands and whether this call expired it.
   */
  async expire(
    campaignId: string,
    reason: string,
    at: Date,
  ): Promise<{ approval: ApprovalRequest; expiredNow: boolean }> {
    const key = { pk: keys.campaign(campaignId), sk: APPROVAL_SK };
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: key,
          UpdateExpression: 'SET #status = :expired, expiredReason = :reason, decidedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND #status = :awaiting',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':expired': 'expired',
            ':reason': reason,
            ':at': at.toISOString(),
            ':awaiting': 'awaiting',
          },
        }),
      );
      const approval = await this.get(campaignId);
      if (approval) return { approval, expiredNow: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const existing = await this.get(campaignId);
    if (existing) return { approval: existing, expiredNow: false };
    const approval: ApprovalRequest = {
      campaignId,
      status: 'expired',
      approvers: [],
      heldCount: 0,
      messages: [],
      requestedAt: at.toISOString(),
      dueAt: at.toISOString(),
      decidedAt: at.toISOString(),
      expiredReason: reason,
    };
    const created = await this.putOnce(APPROVAL_SK, 'approval', { ...approval });
    if (created) return { approval, expiredNow: true };
    return this.expire(campaignId, reason, at);
  }

  linkApprovalEvent(campaignId: string, eventSeq: number): Promise<void> {
    return linkToEvent(this.table, campaignId, APPROVAL_SK, eventSeq);
  }

  private async putOnce(sk: string, kind: string, record: Record<string, unknown>): Promise<boolean> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { pk: keys.campaign(String(record.campaignId)), sk, kind, ...record },
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

function publicApproval(item: Record<string, unknown>): ApprovalRequest {
  const { taskToken: _token, ...rest } = strip<ApprovalItem>(item);
  return rest;
}

function strip<T>(item: Record<string, unknown>): T {
  const { kind: _kind, ...rest } = withoutKeys(item);
  return rest as unknown as T;
}
