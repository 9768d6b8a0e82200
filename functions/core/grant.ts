import { createHash } from 'node:crypto';
import { MalformedRequestError } from './errors';

/** Systems a grant can come from. One connector per system. */
export type ConnectorName = 'github';

export type PrincipalType = 'user' | 'team';
export type ResourceType = 'organization' | 'repository' | 'team';

/** GitHub repository permissions, weakest first. */
export const REPOSITORY_PERMISSIONS = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type RepositoryPermission = (typeof REPOSITORY_PERMISSIONS)[number];

/**
 * How the principal obtained the entitlement. This is also where a revocation acts:
 * - direct: granted to the principal itself (direct collaborator, org membership, team membership,
 *   a team's own access to a repository);
 * - team: a user's repository access that exists because they are in `team` (revoked by removing
 *   the team membership or the team's access, both reviewed as grants of their own);
 * - organization_base: every org member's base repository permission.
 */
export type Via =
  | { kind: 'direct' }
  | { kind: 'team'; team: string }
  | { kind: 'organization_base'; organization: string };

export interface GrantKey {
  connector: ConnectorName;
  resourceType: ResourceType;
  /** `acme` for the org, `acme/api` for a repo, `acme/platform` for a team (org/slug). */
  resource: string;
  principalType: PrincipalType;
  /** A user's login, or a team as `org/slug`. */
  principal: string;
  /** owner | member (org); maintainer | member (team); read … admin (repository). */
  entitlement: string;
  via: Via;
}

export interface Grant extends GrantKey {
  grantId: string;
  /**
   * False for access that only follows from another grant (a user's repo access via a team, or
   * via the org base permission). Such rows are in the inventory with `derivedFrom`; the review
   * asks about the grant they follow from, so nobody is asked the same question twice.
   */
  reviewable: boolean;
  /** Grant ids this access follows from, for non-reviewable grants. */
  derivedFrom: string[];
  /** The source's own record that justified this grant (trimmed to what explains it). */
  raw: Record<string, unknown>;
}

/** `direct`, `team:acme/platform`, `organization_base:acme`: the form used in CSVs and messages. */
export function viaLabel(via: Via): string {
  switch (via.kind) {
    case 'direct':
      return 'direct';
    case 'team':
      return `team:${via.team}`;
    case 'organization_base':
      return `organization_base:${via.organization}`;
  }
}

/** The inverse of viaLabel, for reading evidence back. */
export function viaFromLabel(label: string): Via {
  if (label === 'direct') return { kind: 'direct' };
  if (label.startsWith('team:')) return { kind: 'team', team: label.slice('team:'.length) };
  if (label.startsWith('organization_base:')) {
    return { kind: 'organization_base', organization: label.slice('organization_base:'.length) };
  }
  throw new MalformedRequestError(`unknown via ${label}`);
}

/** Words a reviewer reads: "directly", "via team acme/platform", "via acme's base permission". */
export function describeVia(via: Via): string {
  switch (via.kind) {
    case 'direct':
      return 'directly';
    case 'team':
      return `via team ${via.team}`;
    case 'organization_base':
      return `via ${via.organization}'s base permission`;
  }
}

/**
 * Stable id: the same access (connector, resource, principal, entitlement, via) has the same id
 * every quarter, which is what makes idempotent writes and "new since last review" possible.
 * Lower-cased because GitHub logins and slugs are case-insensitive.
 */
export function grantIdOf(key: GrantKey): string {
  const parts = [
    key.connector,
    key.resourceType,
    key.resource.toLowerCase(),
    key.principalType,
    key.principal.toLowerCase(),
    key.entitlement,
    viaLabel(key.via).toLowerCase(),
  ];
  return `g_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}

export function makeGrant(
  key: GrantKey,
  extra: { reviewable?: boolean; derivedFrom?: string[]; raw?: Record<string, unknown> } = {},
): Grant {
  return {
    ...key,
    grantId: grantIdOf(key),
    reviewable: extra.reviewable ?? true,
    derivedFrom: extra.derivedFrom ?? [],
    raw: extra.raw ?? {},
  };
}

export function permissionRank(permission: string): number {
  return REPOSITORY_PERMISSIONS.indexOf(permission as RepositoryPermission);
}

/** True if `held` gives at least what `wanted` gives. Unknown permissions never satisfy. */
export function permissionAtLeast(held: string, wanted: string): boolean {
  const heldRank = permissionRank(held);
  const wantedRank = permissionRank(wanted);
  return heldRank >= 0 && wantedRank >= 0 && heldRank >= wantedRank;
}
