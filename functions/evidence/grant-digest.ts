import { createHash } from 'node:crypto';
import type { Grant } from '../core/grant';
import { canonicalJson } from '../store/events';

/** What the access is. Routing and the raw source record are not part of a grant's content. */
const CONTENT_FIELDS = [
  'grantId',
  'connector',
  'grantKind',
  'resourceType',
  'resource',
  'principalType',
  'principal',
  'entitlement',
  'via',
  'reviewable',
  'derivedFrom',
  'flags',
  'holder',
] as const satisfies ReadonlyArray<keyof Grant>;

export function grantContentHash(grant: Grant): string {
  // An absent holder hashes as null, so the value read back from a CSV cell hashes the same.
  const content = Object.fromEntries(CONTENT_FIELDS.map((field) => [field, grant[field] ?? null]));
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
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
