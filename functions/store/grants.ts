import { BatchWriteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SourceUsage } from '../connectors/connector';
import { AccessReviewError } from '../core/errors';
import type { Grant } from '../core/grant';
import type { GrantContext } from '../core/grant-context';
import type { Decision } from './decisions';
import { historyKeys } from './history';
import { getItem, queryAll, queryPages, withoutKeys } from './query';
import { GSI_BY_REVIEWER, isConditionalCheckFailed, keys, type TableRef } from './table';

export interface StoredGrant extends Grant {
  campaignId: string;
  snapshotAt: string;
  /** GitHub login of the person asked to vouch for this grant; absent for non-reviewable grants. */
  reviewer?: string;
  /** Why this reviewer: "owner of acme/api (config)", "fallback: bob holds this access". */
  routingReason?: string;
  /**
   * Slack user ids of the grant's holders that were found in Slack when it was assigned. A click
   * from one of them is refused, whichever login (or alias email) it came through.
   */
  holderSlackUserIds?: string[];
  /**
   * The snapshot segment (the grants between two connector checkpoints) that last wrote this grant.
   * A grant written only by a segment that was never committed (its Lambda stopped before the next
   * checkpoint) is not part of the snapshot: see SnapshotProgress.
   */
  snapshotSegment?: number;
  /**
   * GitHub login of the person who may decide this grant now, when it is not `reviewer`: the grant
   * was handed over by delegation or escalation. The grant stays on `reviewer`'s task.
   */
  assignee?: string;
  /** The assignee's Slack user id, as found when the grant was handed over. */
  assigneeSlackUserId?: string;
  assignedBy?: 'escalation' | 'delegation';
  /** What the reviewer is shown beside the grant (functions/steps/grant-context.ts). */
  context?: GrantContext;
  /**
   * The `grant_reassigned` event of a handover whose event is not in the chain yet (an outbox: set
   * with the handover, removed once the event is appended; see reassignGrants).
   */
  reassignPending?: Record<string, unknown>;
}

/** Where a person's handover DM of a campaign is (functions/steps/handover-message.ts). */
export interface HandoverMessageHead {
  channelId?: string;
  messageTs?: string;
  claimedAt?: string;
}

/** What a handover changes on a grant (functions/steps/reassign-grants.ts). */
export interface Reassignment {
  taskReviewer: string;
  from: string;
  to: string;
  toSlackUserId: string | null;
  by: 'escalation' | 'delegation';
  pendingEvent: Record<string, unknown>;
}

/**
 * A handover DM being posted is claimed this long: a claim older than this, with no message, was
 * left by an attempt that stopped, and the next handover may post instead.
 */
const HANDOVER_CLAIM_MS = 30_000;

const handoverKeys = {
  head: (assignee: string) => `HANDOVER#${assignee.toLowerCase()}`,
  /** `#` never occurs in a login, so one person's prefix never matches another's. */
  grantPrefix: (assignee: string) => `HANDOVER#${assignee.toLowerCase()}#`,
  grant: (assignee: string, grantId: string) => `HANDOVER#${assignee.toLowerCase()}#${grantId}`,
};

/**
 * Where a snapshot that spans several Lambda invocations stands, in one item per campaign
 * (`SNAPSHOT#PROGRESS`). Segments are numbered and never reused: an invocation writes its grants
 * under `openSegment` and commits it at each connector checkpoint (`lastSegment`, `cursor`). An
 * invocation that dies leaves `openSegment` set; the next one records it as abandoned, so grants
 * only the dead invocation wrote after its last checkpoint are told apart from those the resumed
 * read finds again (which are rewritten under a new segment).
 */
export interface SnapshotProgress {
  campaignId: string;
  /** One time for the whole snapshot, however many invocations it takes. */
  snapshotAt: string;
  /** The connectors read, in order (fixed when the snapshot starts). */
  connectors: string[];
  /** Index in `connectors` of the one being read; `connectors.length` once all are read. */
  current: number;
  /** Where `connectors[current]` resumes (its SnapshotCheckpoint cursor); absent: from the start. */
  cursor?: string;
  /** The last committed segment (0: none yet). */
  lastSegment: number;
  /** The segment an invocation is writing now; absent after a clean stop. */
  openSegment?: number;
  /** Segments whose invocation stopped without committing them. */
  abandonedSegments: number[];
  /** Grants written in committed segments (a grant found again after a resume counts again). */
  grantsWritten: number;
  reviewableWritten: number;
  /** What each connector's committed reads cost at its source, summed over invocations. */
  usage: Record<string, SourceUsage>;
  invocations: number;
  /** Optimistic lock: each save expects the version it read. */
  version: number;
}

/** Two invocations of one campaign's snapshot ran at once; the later save lost. */
export class SnapshotProgressConflictError extends AccessReviewError {}

/** One reviewer assignment, as AssignReviewers computes it. */
export interface GrantAssignment {
  grantId: string;
  reviewer: string | undefined;
  routingReason: string;
  holderSlackUserIds: readonly string[];
  /** Written with the assignment when given. */
  context?: GrantContext;
}

const BATCH_SIZE = 25;
const SNAPSHOT_PROGRESS_SK = 'SNAPSHOT#PROGRESS';

export class GrantRepository {
  constructor(private readonly table: TableRef) {}

  /**
   * Writes a page of snapshotted grants. Grant ids are stable, so a retried snapshot writes the
   * same items again instead of adding new ones.
   */
  async putMany(grants: readonly StoredGrant[]): Promise<void> {
    for (let start = 0; start < grants.length; start += BATCH_SIZE) {
      let requests = grants.slice(start, start + BATCH_SIZE).map((grant) => ({
        PutRequest: {
          Item: {
            pk: keys.campaign(grant.campaignId),
            sk: keys.grant(grant.grantId),
            kind: 'grant',
            ...historyKeys(grant, 'GRANT'),
            ...grant,
          },
        },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        const result = await this.table.client.send(
          new BatchWriteCommand({ RequestItems: { [this.table.tableName]: requests } }),
        );
        requests = (result.UnprocessedItems?.[this.table.tableName] ?? []) as typeof requests;
        if (requests.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
  }

  async get(campaignId: string, grantId: string): Promise<StoredGrant | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), keys.grant(grantId));
    return item ? (withoutKeys(item) as unknown as StoredGrant) : undefined;
  }

  /**
   * The campaign's snapshot. A grant an interrupted snapshot attempt wrote, which the attempt
   * that completed did not find, is marked stale and left out (nothing is ever deleted).
   */
  async list(campaignId: string, options: { includeStale?: boolean } = {}): Promise<StoredGrant[]> {
    const items = await queryAll(this.table, keys.campaign(campaignId), 'GRANT#');
    return items
      .filter((item) => options.includeStale || item.stale !== true)
      .map((item) => withoutKeys(item) as unknown as StoredGrant);
  }

  /** Whether any grant is stored yet (one item read): an earlier snapshot attempt left some. */
  async any(campaignId: string): Promise<boolean> {
    for await (const page of queryPages(this.table, keys.campaign(campaignId), 'GRANT#', { pageSize: 1 })) {
      return page.length > 0;
    }
    return false;
  }

  /**
   * Every grant item of the campaign, stale ones included, a page (up to 1 MB) at a time: the
   * snapshot's closing pass reads them back this way rather than holding them all in memory.
   */
  async *pages(campaignId: string): AsyncGenerator<Array<StoredGrant & { stale?: boolean }>> {
    for await (const page of queryPages(this.table, keys.campaign(campaignId), 'GRANT#')) {
      yield page.map((item) => withoutKeys(item) as unknown as StoredGrant & { stale?: boolean });
    }
  }

  async getSnapshotProgress(campaignId: string): Promise<SnapshotProgress | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), SNAPSHOT_PROGRESS_SK);
    if (!item) return undefined;
    const { kind: _kind, ...rest } = withoutKeys(item);
    return rest as unknown as SnapshotProgress;
  }

  /**
   * Stores `progress` as version `expectedVersion + 1`, only if the stored one is still
   * `expectedVersion` (0: none stored yet). Returns the saved progress.
   */
  async saveSnapshotProgress(progress: SnapshotProgress, expectedVersion: number): Promise<SnapshotProgress> {
    const saved = { ...progress, version: expectedVersion + 1 };
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            pk: keys.campaign(progress.campaignId),
            sk: SNAPSHOT_PROGRESS_SK,
            kind: 'snapshot_progress',
            ...saved,
          },
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :expected',
          ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':expected': expectedVersion },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      throw new SnapshotProgressConflictError(
        `snapshot progress of campaign ${progress.campaignId} changed under this invocation (expected version ${expectedVersion}): another invocation is snapshotting it`,
        { cause: error },
      );
    }
    return saved;
  }

  async markStale(campaignId: string, grantId: string): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.grant(grantId) },
        UpdateExpression: 'SET stale = :stale',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':stale': true },
      }),
    );
  }

  /**
   * Records who reviews the grant and why (without a reviewer only the reason is kept: nobody
   * eligible), and the Slack user ids of its holders, which a decision is checked against.
   */
  async assign(
    campaignId: string,
    grantId: string,
    reviewer: string | undefined,
    routingReason: string,
    holderSlackUserIds: readonly string[] = [],
    context?: GrantContext,
  ): Promise<void> {
    const values: Record<string, unknown> = {
      ':reason': routingReason,
      ':holderIds': [...new Set(holderSlackUserIds)].sort(),
    };
    // Always written, so a retried assignment replaces what an earlier attempt stored.
    let update = 'SET routingReason = :reason, holderSlackUserIds = :holderIds';
    if (context !== undefined) {
      update += ', #context = :context';
      values[':context'] = context;
    }
    if (reviewer) {
      update += ', reviewer = :reviewer, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk';
      values[':reviewer'] = reviewer;
      values[':gsi1pk'] = keys.reviewerGrants(campaignId, reviewer);
      values[':gsi1sk'] = keys.grant(grantId);
    }
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.grant(grantId) },
        UpdateExpression: update,
        ConditionExpression: 'attribute_exists(pk)',
        // Aliased, so no reserved word of DynamoDB's can ever clash with the field.
        ...(context !== undefined ? { ExpressionAttributeNames: { '#context': 'context' } } : {}),
        ExpressionAttributeValues: values,
      }),
    );
  }

  /**
   * Writes many assignments, `concurrency` UpdateItem calls at a time (each as `assign`). An
   * update rather than a BatchWriteItem put: it cannot overwrite a grant's snapshot fields, and it
   * needs no permission beyond what the step has.
   */
  async assignMany(
    campaignId: string,
    assignments: readonly GrantAssignment[],
    concurrency = 16,
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < assignments.length) {
        const a = assignments[next++]!;
        await this.assign(
          campaignId,
          a.grantId,
          a.reviewer,
          a.routingReason,
          a.holderSlackUserIds,
          a.context,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, assignments.length) }, worker));
  }

  /**
   * A reviewer's grants and the decisions made on them so far, in one index query: decision items
   * carry the same index key as the grants they decide. The index is eventually consistent, so
   * callers that must not miss a decision re-read the missing ones from the table.
   */
  async reviewerView(
    campaignId: string,
    reviewer: string,
  ): Promise<{ grants: StoredGrant[]; decisions: Decision[] }> {
    const items = await queryAll(this.table, keys.reviewerGrants(campaignId, reviewer), '', {
      indexName: GSI_BY_REVIEWER,
    });
    const grants: StoredGrant[] = [];
    const decisions: Decision[] = [];
    for (const item of items) {
      const { kind, ...rest } = withoutKeys(item);
      if (kind === 'grant') grants.push(rest as unknown as StoredGrant);
      else if (kind === 'decision') decisions.push(rest as unknown as Decision);
    }
    return { grants, decisions };
  }

  /**
   * Hands the grant over: sets who may decide it now, only if that is still `from` (its assignee, or
   * its reviewer when it has none) and it is still on `taskReviewer`'s task. Handing it back to the
   * task's reviewer removes the assignee. The event goes in the same write as an outbox copy.
   * True when this call moved it.
   */
  async reassign(campaignId: string, grantId: string, change: Reassignment): Promise<boolean> {
    const back = change.to.toLowerCase() === change.taskReviewer.toLowerCase();
    const values: Record<string, unknown> = {
      ':from': change.from,
      ':taskReviewer': change.taskReviewer,
      ':pending': change.pendingEvent,
    };
    let update: string;
    if (back) {
      update = 'SET reassignPending = :pending REMOVE assignee, assigneeSlackUserId, assignedBy';
    } else {
      update = 'SET assignee = :to, assignedBy = :by, reassignPending = :pending';
      values[':to'] = change.to;
      values[':by'] = change.by;
      if (change.toSlackUserId) {
        update += ', assigneeSlackUserId = :toSlack';
        values[':toSlack'] = change.toSlackUserId;
      } else {
        update += ' REMOVE assigneeSlackUserId';
      }
    }
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.grant(grantId) },
          UpdateExpression: update,
          ConditionExpression:
            'attribute_exists(pk) AND reviewer = :taskReviewer AND ' +
            '(assignee = :from OR (attribute_not_exists(assignee) AND reviewer = :from))',
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Removes the outbox copy once its `grant_reassigned` event is in the chain. */
  async clearReassignPending(campaignId: string, grantId: string): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.grant(grantId) },
        UpdateExpression: 'REMOVE reassignPending',
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  /**
   * Notes that `grantId` was handed to `assignee`: one small item per handover, under the
   * campaign's partition (`HANDOVER#<login>#<grantId>`), so a person's handover DM reads what was
   * handed to them with one Query of their own items and a read of each grant, whatever the size of
   * the campaign. An index on `assignee` would do the same with a new GSI on every grant write; a
   * filter over the campaign's grants would read all of them (a million, at the largest) per DM.
   */
  async recordHandover(campaignId: string, assignee: string, grantId: string, at: Date): Promise<void> {
    await this.table.client.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: {
          pk: keys.campaign(campaignId),
          sk: handoverKeys.grant(assignee, grantId),
          kind: 'handover',
          campaignId,
          assignee: assignee.toLowerCase(),
          grantId,
          at: at.toISOString(),
        },
      }),
    );
  }

  /**
   * The grants of the campaign handed to `assignee` that are still theirs to decide (a grant
   * handed on again, or back, is left out). One Query, then one strongly consistent read per grant.
   */
  async handedTo(campaignId: string, assignee: string): Promise<StoredGrant[]> {
    const who = assignee.toLowerCase();
    const notes = await queryAll(this.table, keys.campaign(campaignId), handoverKeys.grantPrefix(who));
    const grants = await Promise.all(notes.map((note) => this.get(campaignId, String(note.grantId))));
    return grants.filter((grant): grant is StoredGrant => grant?.assignee?.toLowerCase() === who);
  }

  async getHandoverMessage(campaignId: string, assignee: string): Promise<HandoverMessageHead | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), handoverKeys.head(assignee));
    if (!item) return undefined;
    return {
      ...(typeof item.channelId === 'string' ? { channelId: item.channelId } : {}),
      ...(typeof item.messageTs === 'string' ? { messageTs: item.messageTs } : {}),
      ...(typeof item.claimedAt === 'string' ? { claimedAt: item.claimedAt } : {}),
    };
  }

  /**
   * Claims the posting of a person's handover DM: true for one caller (two escalations to the same
   * person at once post one message), or when an earlier claim is stale (its poster stopped).
   */
  async claimHandoverMessage(campaignId: string, assignee: string, now = new Date()): Promise<boolean> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: handoverKeys.head(assignee) },
          UpdateExpression: 'SET kind = :kind, claimedAt = :now',
          ConditionExpression:
            'attribute_not_exists(messageTs) AND (attribute_not_exists(claimedAt) OR claimedAt < :stale)',
          ExpressionAttributeValues: {
            ':kind': 'handover_message',
            ':now': now.toISOString(),
            ':stale': new Date(now.getTime() - HANDOVER_CLAIM_MS).toISOString(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async recordHandoverMessage(
    campaignId: string,
    assignee: string,
    channelId: string,
    messageTs: string,
  ): Promise<void> {
    await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: handoverKeys.head(assignee) },
        UpdateExpression: 'SET kind = :kind, channelId = :channel, messageTs = :ts',
        ExpressionAttributeValues: { ':kind': 'handover_message', ':channel': channelId, ':ts': messageTs },
      }),
    );
  }
}
