import { viaLabel } from '../core/grant';
import type { StoredGrant } from '../store/grants';
import { EvidenceOrderError, type GrantRecords } from './merge';

/**
 * What changed between two campaigns' snapshots, and which decisions flipped.
 *
 * Every grant of either snapshot lands in exactly one entry:
 * - `unchanged`: the same grant id in both, and the same flags, reviewable, holder and derived_from;
 * - `changed`: the same grant id with any of those different, or a grant of A that only B lacks
 *   paired with a grant of B that only A lacks, for the same principal on the same resource by the
 *   same kind of grant (connector, grant kind, resource and principal; GitHub names compared without
 *   case) with a different entitlement or via (a grant id is a hash of connector, resource,
 *   principal, entitlement and via, so those differences change the id). Within such a group,
 *   grants are paired first by the same via (the entitlement changed), then by the same entitlement
 *   (the via changed), each in grant-id order; the rest are new or removed;
 * - `new`: only in B; `removed`: only in A.
 *
 * The source's own details (`raw`: timestamps, ids) are not compared: they change every quarter.
 *
 * Findings on an entry with a grant in both campaigns:
 * - `kept_then_revoked`: kept in A, revoked in B;
 * - `revoked_then_present`: revoked in A and in B's snapshot taken after A's decision, revocation
 *   and verification (so a campaign compared with itself shows nothing): the access is back, or its
 *   revocation never took. The security team must see every one.
 *
 * Both campaigns are read in grant-id order (the table's key order) and merge-joined, so entries
 * of the same grant id stream out as they are read. Grants only one side has wait, keyed by the
 * pairing key, until both sides are read: memory grows with the number of new and removed grants,
 * not with the size of the snapshots.
 */
export type DeltaChange = 'new' | 'removed' | 'changed' | 'unchanged';
export type DeltaFinding = 'kept_then_revoked' | 'revoked_then_present';

export interface DeltaEntry {
  change: DeltaChange;
  /** What differs, in words: `entitlement write → admin`, `flags +two_factor_disabled`. */
  changes: string[];
  findings: DeltaFinding[];
  /** The grant (and what happened to it) in A; absent for `new`. */
  from?: DeltaSide;
  /** In B; absent for `removed`. */
  to?: DeltaSide;
}

/** One campaign's records of a grant; the grant is always there. */
export type DeltaSide = GrantRecords & { grant: StoredGrant };

export interface DeltaCounts {
  new: number;
  removed: number;
  changed: number;
  unchanged: number;
  keptThenRevoked: number;
  revokedThenPresent: number;
}

export function emptyDeltaCounts(): DeltaCounts {
  return { new: 0, removed: 0, changed: 0, unchanged: 0, keptThenRevoked: 0, revokedThenPresent: 0 };
}

export function countDelta(counts: DeltaCounts, entry: DeltaEntry): void {
  counts[entry.change]++;
  if (entry.findings.includes('kept_then_revoked')) counts.keptThenRevoked++;
  if (entry.findings.includes('revoked_then_present')) counts.revokedThenPresent++;
}

function fold(connector: string, value: string): string {
  return connector === 'github' ? value.toLowerCase() : value;
}

/** Same principal, same resource, same kind of grant: what a changed entitlement or via keeps. */
export function pairingKey(grant: StoredGrant): string {
  const c = grant.connector;
  return [
    c,
    grant.grantKind,
    grant.resourceType,
    fold(c, grant.resource),
    grant.principalType,
    fold(c, grant.principal),
  ].join('\u0000');
}

function sortedList(values: readonly string[] | undefined): string[] {
  return [...(values ?? [])].sort();
}

/** The differences the delta reports between two versions of a grant (raw excluded). */
export function grantChanges(a: StoredGrant, b: StoredGrant): string[] {
  const changes: string[] = [];
  if (a.entitlement !== b.entitlement) changes.push(`entitlement ${a.entitlement} → ${b.entitlement}`);
  const [viaA, viaB] = [viaLabel(a.via), viaLabel(b.via)];
  if (viaA !== viaB) changes.push(`via ${viaA} → ${viaB}`);
  const [flagsA, flagsB] = [new Set(a.flags), new Set(b.flags)];
  const flagChanges = [
    ...[...flagsB].filter((f) => !flagsA.has(f)).map((f) => `+${f}`),
    ...[...flagsA].filter((f) => !flagsB.has(f)).map((f) => `-${f}`),
  ].sort();
  if (flagChanges.length > 0) changes.push(`flags ${flagChanges.join(' ')}`);
  if (a.reviewable !== b.reviewable) changes.push(`reviewable ${a.reviewable} → ${b.reviewable}`);
  if ((a.holder ?? '') !== (b.holder ?? ''))
    changes.push(`holder ${a.holder ?? '(none)'} → ${b.holder ?? '(none)'}`);
  const [fromA, fromB] = [sortedList(a.derivedFrom), sortedList(b.derivedFrom)];
  if (fromA.join(',') !== fromB.join(','))
    changes.push(`derived_from ${fromA.join(';') || '(none)'} → ${fromB.join(';') || '(none)'}`);
  return changes;
}

/** The last thing A recorded about a grant: its decision, revocation or verification. */
function settledAt(side: DeltaSide): string {
  const times = [side.decision?.decidedAt, side.revocation?.at, side.verification?.checkedAt];
  return (
    times
      .filter((at): at is string => typeof at === 'string')
      .sort()
      .at(-1) ?? ''
  );
}

export function deltaFindings(from: DeltaSide, to: DeltaSide): DeltaFinding[] {
  const findings: DeltaFinding[] = [];
  if (from.decision?.decision === 'keep' && to.decision?.decision === 'revoke')
    findings.push('kept_then_revoked');
  if (from.decision?.decision === 'revoke' && to.grant.snapshotAt > settledAt(from)) {
    findings.push('revoked_then_present');
  }
  return findings;
}

function both(from: DeltaSide, to: DeltaSide): DeltaEntry {
  const changes = grantChanges(from.grant, to.grant);
  return {
    change: changes.length > 0 ? 'changed' : 'unchanged',
    changes,
    findings: deltaFindings(from, to),
    from,
    to,
  };
}

/** Reads GrantRecords one at a time, skipping records without a grant, checking the order. */
class Side {
  private readonly records: AsyncIterator<GrantRecords>;
  private current: DeltaSide | undefined;
  private done = false;
  private last: string | undefined;

  constructor(
    readonly name: string,
    records: AsyncIterable<GrantRecords>,
  ) {
    this.records = records[Symbol.asyncIterator]();
  }

  async head(): Promise<DeltaSide | undefined> {
    while (!this.current && !this.done) {
      const next = await this.records.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const records = next.value;
      if (this.last !== undefined && !(this.last < records.grantId)) {
        throw new EvidenceOrderError(
          `${this.name} came out of grant-id order: ${records.grantId} after ${this.last}`,
        );
      }
      this.last = records.grantId;
      // A decision or outcome whose grant is not in the snapshot (stale) is not part of it.
      if (records.grant) this.current = records as DeltaSide;
    }
    return this.current;
  }

  take(): DeltaSide {
    const taken = this.current as DeltaSide;
    this.current = undefined;
    return taken;
  }
}

function pairUp(removed: DeltaSide[], added: DeltaSide[]): DeltaEntry[] {
  const entries: DeltaEntry[] = [];
  const byId = (x: DeltaSide, y: DeltaSide) => (x.grantId < y.grantId ? -1 : 1);
  const left = [...removed].sort(byId);
  const right = [...added].sort(byId);
  const match = (same: (a: StoredGrant, b: StoredGrant) => boolean) => {
    for (let i = 0; i < left.length; ) {
      const a = left[i]!;
      const j = right.findIndex((b) => same(a.grant, b.grant));
      if (j < 0) {
        i++;
        continue;
      }
      const [b] = right.splice(j, 1);
      left.splice(i, 1);
      entries.push(both(a, b!));
    }
  };
  match((a, b) => viaLabel(a.via) === viaLabel(b.via));
  match((a, b) => a.entitlement === b.entitlement);
  for (const a of left) entries.push({ change: 'removed', changes: [], findings: [], from: a });
  for (const b of right) entries.push({ change: 'new', changes: [], findings: [], to: b });
  return entries;
}

/**
 * The delta from campaign A (`from`) to campaign B (`to`), each given as its GrantRecords in
 * grant-id order (mergeByGrant over the campaign's partition). Entries of grant ids in both come
 * first, in grant-id order; then the paired, removed and new ones, group by group.
 */
export async function* campaignDelta(
  from: AsyncIterable<GrantRecords>,
  to: AsyncIterable<GrantRecords>,
): AsyncGenerator<DeltaEntry> {
  const a = new Side('campaign A', from);
  const b = new Side('campaign B', to);
  const unmatched = new Map<string, { removed: DeltaSide[]; added: DeltaSide[] }>();
  const park = (side: DeltaSide, as: 'removed' | 'added') => {
    const key = pairingKey(side.grant);
    let group = unmatched.get(key);
    if (!group) {
      group = { removed: [], added: [] };
      unmatched.set(key, group);
    }
    group[as].push(side);
  };
  for (;;) {
    const [headA, headB] = [await a.head(), await b.head()];
    if (!headA && !headB) break;
    if (headA && headB && headA.grantId === headB.grantId) {
      yield both(a.take(), b.take());
    } else if (headA && (!headB || headA.grantId < headB.grantId)) {
      park(a.take(), 'removed');
    } else {
      park(b.take(), 'added');
    }
  }
  for (const group of unmatched.values()) yield* pairUp(group.removed, group.added);
}
