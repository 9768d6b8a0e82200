import type { ApprovalRequest, StoredGuardItem, StoredGuardSummary } from '../store/approvals';
import type { Campaign } from '../store/campaigns';
import type { Decision } from '../store/decisions';
import type { CampaignEvent, EventType } from '../store/events';
import type { StoredGrant } from '../store/grants';
import type { Store } from '../store/index';
import type { Revocation, Verification } from '../store/outcomes';
import { queryPages, withoutKeys } from '../store/query';
import { keys } from '../store/table';
import type { ReviewTask } from '../store/tasks';
import { type SignatureSource, storeSignatureSource } from './signing/evidence';

/** What reviewers.csv and the summary need of a task (never its token or its per-grant sets). */
export type TaskLine = Pick<
  ReviewTask,
  'reviewer' | 'slackUserId' | 'grantCount' | 'status' | 'requestedAt' | 'completedAt' | 'dueAt'
>;

/**
 * Where evidence is read from, a page at a time. Every per-grant stream comes in ascending
 * grant-id order (the table's key order: `GRANT#<id>`, `DECISION#<id>` …), which is what lets the
 * export join them by merging instead of holding any of them. The table is the source; a
 * benchmark can give generated pages instead.
 */
export interface EvidenceSource {
  readonly campaignId: string;
  campaign(): Promise<Campaign>;
  guardSummary(): Promise<StoredGuardSummary | undefined>;
  approval(): Promise<ApprovalRequest | undefined>;
  /** The first event of a type (the snapshot event, which says how its grants were hashed). */
  firstEvent(type: EventType): Promise<CampaignEvent | undefined>;
  /** The snapshot without stale grants (an interrupted attempt's leftovers), by grant id. */
  grants(): AsyncIterable<StoredGrant[]>;
  decisions(): AsyncIterable<Decision[]>;
  revocations(): AsyncIterable<Revocation[]>;
  verifications(): AsyncIterable<Verification[]>;
  guardItems(): AsyncIterable<StoredGuardItem[]>;
  tasks(): AsyncIterable<TaskLine[]>;
  /** The chain, in sequence order. */
  events(): AsyncIterable<CampaignEvent[]>;
  /** The chain heads' signatures and the keys they were made with (signatures.jsonl, signing-key.pem). */
  signatures(): SignatureSource;
}

const TASK_FIELDS = [
  'reviewer',
  'slackUserId',
  'grantCount',
  'status',
  'requestedAt',
  'completedAt',
  'dueAt',
] as const satisfies ReadonlyArray<keyof TaskLine>;

/** The campaign's partition in the table, read page by page. */
export function storeEvidenceSource(store: Store, campaignId: string): EvidenceSource {
  const { table } = store.events;
  const partition = keys.campaign(campaignId);
  async function* records<T>(prefix: string, options: { projection?: readonly string[] } = {}) {
    for await (const page of queryPages(table, partition, prefix, options)) {
      yield page.map((item) => {
        const { kind: _kind, ...rest } = withoutKeys(item);
        return rest as unknown as T;
      });
    }
  }
  return {
    campaignId,
    campaign: () => store.campaigns.get(campaignId),
    guardSummary: () => store.approvals.getGuardSummary(campaignId),
    approval: () => store.approvals.get(campaignId),
    firstEvent: (type) => store.events.findFirst(campaignId, type),
    async *grants() {
      for await (const page of records<StoredGrant & { stale?: boolean }>('GRANT#')) {
        yield page.filter((grant) => grant.stale !== true);
      }
    },
    decisions: () => records<Decision>('DECISION#'),
    revocations: () => records<Revocation>('REVOCATION#'),
    verifications: () => records<Verification>('VERIFICATION#'),
    guardItems: () => records<StoredGuardItem>('GUARD#'),
    // Only the task's own fields: the item may also hold per-grant sets and the task token.
    tasks: () => records<TaskLine>('TASK#', { projection: TASK_FIELDS }),
    events: () => store.events.pages(campaignId),
    signatures: () => storeSignatureSource(store, campaignId),
  };
}
