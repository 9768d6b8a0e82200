import { createHash } from 'node:crypto';
import type { Grant } from '../core/grant';
import { canonicalJson } from '../store/events';

/**
 * What the access is. Routing and the raw source record are not part of a grant's content.
 * Version 1 (the first release) hashed the fields before `grantKind`, `flags` and `holder`
 * existed; version 2 hashes them all. The snapshot event records the version it used, so evidence
 * exported by either release verifies for as long as it is kept.
 */
const CONTENT_FIELDS_V1 = [
  'grantId',
  'connector',
  'resourceType',
  'resource',
  'principalType',
  'principal',
  'entitlement',
  'via',
  'reviewable',
  'derivedFrom',
] as const satisfies ReadonlyArray<keyof Grant>;

/** Keys are hashed sorted, so the order here is only for the reader. */
const CONTENT_FIELDS = [
  ...CONTENT_FIELDS_V1,
  'grantKind',
  'flags',
  'holder',
] as const satisfies ReadonlyArray<keyof Grant>;

export const GRANT_HASH_VERSION = 2;
export type GrantHashVersion = 1 | 2;

export function grantContentHash(grant: Grant, version: GrantHashVersion = GRANT_HASH_VERSION): string {
  if (version === 1) {
    const content = Object.fromEntries(CONTENT_FIELDS_V1.map((field) => [field, grant[field]]));
    return createHash('sha256').update(canonicalJson(content)).digest('hex');
  }
  // An absent holder hashes as null, so the value read back from a CSV cell hashes the same.
  const content = Object.fromEntries(CONTENT_FIELDS.map((field) => [field, grant[field] ?? null]));
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/**
 * The version a snapshot event used: events written before versions were recorded are version 1.
 * Any other recorded value is one this release does not know: undefined, never a weaker guess.
 */
export function hashVersionOf(
  snapshotEventData: Record<string, unknown> | undefined,
): GrantHashVersion | undefined {
  const recorded = snapshotEventData?.hashVersion;
  if (recorded === undefined) return 1;
  return recorded === 2 ? 2 : undefined;
}

/**
 * SHA-256 over `<grantId>:<content hash>\n` lines in grant-id order: recorded by the snapshot
 * event, it anchors grants.csv in the hash chain.
 */
export function snapshotDigest(grantHashes: Map<string, string>): string {
  const digest = createHash('sha256');
  for (const id of [...grantHashes.keys()].sort()) digest.update(`${id}:${grantHashes.get(id)}\n`);
  return digest.digest('hex');
}

/** One grant's line of the assignment digest: who was asked about it and why (empty when nobody). */
export function assignmentLine(
  grantId: string,
  reviewer: string | undefined,
  routingReason: string | undefined,
): string {
  return `${grantId}:${reviewer ?? ''}:${routingReason ?? ''}\n`;
}

/**
 * SHA-256 over `<grant_id>:<reviewer>:<routing_reason>\n` lines, one per grant of the snapshot
 * (empty reviewer and reason where there is none), in grant-id order as the snapshot digest sorts
 * them: recorded by the reviewers_assigned event, it anchors grants.csv's reviewer and
 * routing_reason columns in the hash chain.
 */
export function assignmentDigest(
  grants: Iterable<{ grantId: string; reviewer?: string; routingReason?: string }>,
): string {
  const lines = new Map<string, string>();
  for (const grant of grants)
    lines.set(grant.grantId, assignmentLine(grant.grantId, grant.reviewer, grant.routingReason));
  const digest = createHash('sha256');
  for (const id of [...lines.keys()].sort()) digest.update(lines.get(id) as string);
  return digest.digest('hex');
}
