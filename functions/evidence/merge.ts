import { AccessReviewError } from '../core/errors';
import type { StoredGuardItem } from '../store/approvals';
import type { Decision } from '../store/decisions';
import type { StoredGrant } from '../store/grants';
import type { Revocation, Verification } from '../store/outcomes';

/** A per-grant stream that did not come in grant-id order: a merge join over it would be wrong. */
export class EvidenceOrderError extends AccessReviewError {}

/** One grant id and whatever each stream holds for it. */
export interface GrantRecords {
  grantId: string;
  grant?: StoredGrant;
  decision?: Decision;
  revocation?: Revocation;
  verification?: Verification;
  guardItem?: StoredGuardItem;
}

type Streams = {
  [K in Exclude<keyof GrantRecords, 'grantId'>]: AsyncIterable<Array<NonNullable<GrantRecords[K]>>>;
};

/** Reads a paged stream one record at a time, and checks that its grant ids only go up. */
class Cursor<T extends { grantId: string }> {
  private page: T[] = [];
  private index = 0;
  private done = false;
  private last: string | undefined;
  private readonly pages: AsyncIterator<T[]>;

  constructor(
    readonly name: string,
    pages: AsyncIterable<T[]>,
  ) {
    this.pages = pages[Symbol.asyncIterator]();
  }

  async head(): Promise<T | undefined> {
    while (this.index >= this.page.length) {
      if (this.done) return undefined;
      const next = await this.pages.next();
      if (next.done) {
        this.done = true;
        return undefined;
      }
      this.page = next.value;
      this.index = 0;
    }
    return this.page[this.index];
  }

  /** Only after head() answered a record. */
  take(): T {
    const record = this.page[this.index++] as T;
    if (this.last !== undefined && !(this.last < record.grantId)) {
      throw new EvidenceOrderError(
        `${this.name} came out of grant-id order: ${record.grantId} after ${this.last}`,
      );
    }
    this.last = record.grantId;
    return record;
  }
}

/**
 * A full outer merge join on grant id of streams that each come in ascending grant-id order: one
 * GrantRecords per grant id found in any of them, in grant-id order. It holds one page of each
 * stream and nothing per grant. The evidence files list grants in `localeCompare` order (as they
 * always have); for the ids the tool makes (`g_` and hex) that is the table's order, and an id for
 * which it is not stops the export rather than write rows in another order than before.
 */
export async function* mergeByGrant(streams: Streams): AsyncGenerator<GrantRecords> {
  const cursors = (
    Object.entries(streams) as Array<[keyof Streams, AsyncIterable<Array<{ grantId: string }>>]>
  ).map(([field, pages]) => ({ field, cursor: new Cursor(field, pages) }));
  let previous: string | undefined;
  for (;;) {
    let next: string | undefined;
    for (const { cursor } of cursors) {
      const head = await cursor.head();
      if (head && (next === undefined || head.grantId < next)) next = head.grantId;
    }
    if (next === undefined) return;
    if (previous !== undefined && previous.localeCompare(next) >= 0) {
      throw new EvidenceOrderError(
        `grant ids ${previous} and ${next} sort differently in the table and in the evidence files`,
      );
    }
    const records: GrantRecords = { grantId: next };
    for (const { field, cursor } of cursors) {
      if ((await cursor.head())?.grantId === next) {
        (records as unknown as Record<string, unknown>)[field] = cursor.take();
      }
    }
    previous = next;
    yield records;
  }
}
