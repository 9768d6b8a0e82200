import { createHash } from 'node:crypto';
import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AccessReviewError } from '../core/errors';
import { getItem, queryAll, queryPages } from './query';
import { isConditionalCheckFailed, keys, type TableRef } from './table';

export type EventType =
  | 'campaign_started'
  | 'remediations_rechecked'
  | 'snapshot_taken'
  | 'reviewers_assigned'
  | 'review_requested'
  | 'decision_recorded'
  | 'review_completed'
  | 'reviewer_unresponsive'
  | 'revocation_guard_evaluated'
  | 'revocation_approval_requested'
  | 'revocation_batch_approved'
  | 'revocation_batch_rejected'
  | 'revocation_batch_expired'
  | 'revocation_applied'
  | 'revocation_failed'
  | 'revocation_rejected'
  | 'revocation_refused'
  | 'revocation_verified'
  | 'campaign_failed'
  | 'campaign_resumed'
  | 'campaign_completed'
  // Issue 10: the reviewer's and the security team's day.
  | 'reminder_sent'
  | 'grant_reassigned'
  | 'window_policy_applied'
  | 'campaign_cancelled'
  | 'email_sent';

export interface CampaignEvent {
  campaignId: string;
  seq: number;
  type: EventType;
  at: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export class EventChainContentionError extends AccessReviewError {}

/**
 * JSON with keys sorted at every level, so the same event always hashes the same way no matter
 * which process wrote it or how a JSON library orders keys.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function eventHash(event: Omit<CampaignEvent, 'hash'>): string {
  const { campaignId, seq, type, at, data, prevHash } = event;
  return createHash('sha256')
    .update(prevHash)
    .update('\n')
    .update(canonicalJson({ campaignId, seq, type, at, data }))
    .digest('hex');
}

export type ChainCheck =
  | { ok: true; head: string; length: number }
  | { ok: false; seq: number; reason: string };

/**
 * Recomputes a chain one event at a time, so a chain of millions of events is checked as it is
 * read, never held. Past the first broken link it only counts.
 */
export class ChainVerifier {
  private prevHash = GENESIS_HASH;
  private length = 0;
  private broken: { seq: number; reason: string } | undefined;

  add(event: CampaignEvent): void {
    this.length++;
    if (this.broken) return;
    if (event.seq !== this.length) this.broken = { seq: event.seq, reason: `expected seq ${this.length}` };
    else if (event.prevHash !== this.prevHash)
      this.broken = { seq: event.seq, reason: 'prevHash does not match' };
    else if (eventHash(event) !== event.hash)
      this.broken = { seq: event.seq, reason: 'hash does not match content' };
    else this.prevHash = event.hash;
  }

  /**
   * A line that is not an event (not JSON, fields missing) where event `seq` should be: the chain
   * is broken there, and the length still counts it.
   */
  breakAt(seq: number, reason: string): void {
    this.length++;
    this.broken ??= { seq, reason };
  }

  result(): ChainCheck {
    return this.broken
      ? { ok: false, ...this.broken }
      : { ok: true, head: this.prevHash, length: this.length };
  }
}

/** Recomputes the chain; returns the first broken link, or the head hash when intact. */
export function verifyChain(events: readonly CampaignEvent[]): ChainCheck {
  const verifier = new ChainVerifier();
  for (const event of events) verifier.add(event);
  return verifier.result();
}

/**
 * The campaign's append-only log. Each event names the hash of the one before it; an append is a
 * conditional put of the next sequence number, so two writers racing for the same number cannot
 * both win, and the loser re-reads the head and tries again. Nothing is ever updated or deleted.
 */
export class EventLog {
  constructor(
    /** The campaign's table (the single table): evidence pages through the partition with it. */
    readonly table: TableRef,
    private readonly maxAttempts = 50,
  ) {}

  async append(
    campaignId: string,
    type: EventType,
    data: Record<string, unknown>,
    at: Date,
  ): Promise<CampaignEvent> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const head = await this.head(campaignId);
      const partial = {
        campaignId,
        seq: (head?.seq ?? 0) + 1,
        type,
        at: at.toISOString(),
        data,
        prevHash: head?.hash ?? GENESIS_HASH,
      };
      const event: CampaignEvent = { ...partial, hash: eventHash(partial) };
      try {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.tableName,
            Item: { pk: keys.campaign(campaignId), sk: keys.event(event.seq), kind: 'event', ...event },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return event;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // The SDK retries a put whose answer was lost; then the item in the way is our own event.
        const existing = await getItem(this.table, keys.campaign(campaignId), keys.event(event.seq));
        if (existing && existing.hash === event.hash) return toEvent(existing);
        // Someone else took this sequence number: back off a little (jittered) and re-read the head.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, attempt * 10)));
      }
    }
    throw new EventChainContentionError(
      `could not append ${type} to campaign ${campaignId} after ${this.maxAttempts} attempts`,
    );
  }

  /**
   * For events that happen once per campaign (a step finished): a retried or redriven step finds
   * the event it already wrote instead of writing a second one.
   */
  async appendOnce(
    campaignId: string,
    type: EventType,
    data: Record<string, unknown>,
    at: Date,
  ): Promise<CampaignEvent> {
    return (await this.findFirst(campaignId, type)) ?? this.append(campaignId, type, data, at);
  }

  async findFirst(campaignId: string, type: EventType): Promise<CampaignEvent | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          FilterExpression: '#type = :type',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':pk': keys.campaign(campaignId), ':prefix': 'EVENT#', ':type': type },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      const found = page.Items?.[0];
      if (found) return toEvent(found);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }

  async head(campaignId: string): Promise<CampaignEvent | undefined> {
    const result = await this.table.client.send(
      new QueryCommand({
        TableName: this.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.campaign(campaignId), ':prefix': 'EVENT#' },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = result.Items?.[0];
    return item ? toEvent(item) : undefined;
  }

  async list(campaignId: string): Promise<CampaignEvent[]> {
    const items = await queryAll(this.table, keys.campaign(campaignId), 'EVENT#');
    return items.map(toEvent);
  }

  /** The chain a page at a time, in sequence order: for readers that must not hold all of it. */
  async *pages(campaignId: string, pageSize?: number): AsyncGenerator<CampaignEvent[]> {
    for await (const page of queryPages(this.table, keys.campaign(campaignId), 'EVENT#', { pageSize })) {
      yield page.map(toEvent);
    }
  }
}

function toEvent(item: Record<string, unknown>): CampaignEvent {
  return {
    campaignId: item.campaignId as string,
    seq: item.seq as number,
    type: item.type as EventType,
    at: item.at as string,
    data: item.data as Record<string, unknown>,
    prevHash: item.prevHash as string,
    hash: item.hash as string,
  };
}

/**
 * Records on a decision, revocation or verification item the sequence number of its event in the
 * chain. Set once: a later call (a retry, Finalize's recovery) leaves the first link in place.
 */
export async function linkToEvent(
  table: TableRef,
  campaignId: string,
  sk: string,
  eventSeq: number,
): Promise<void> {
  try {
    await table.client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: keys.campaign(campaignId), sk },
        UpdateExpression: 'SET eventSeq = :seq',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(eventSeq)',
        ExpressionAttributeValues: { ':seq': eventSeq },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}
