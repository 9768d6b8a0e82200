import {
  comparablePermission,
  type Grant,
  type GrantKey,
  grantIdOf,
  permissionRank,
  REPOSITORY_PERMISSIONS,
  type RepositoryPermission,
} from './grant';

/**
 * Downgrade instead of revoke: which lower entitlements a grant can be lowered to at its source.
 * Pure (no I/O), so the review message, each click and the connector all ask the same question and
 * get the same answer.
 *
 * What can be lowered, and to what (strongest first):
 * - a direct repository collaborator (`user_repository`, via direct) with admin or maintain (or a
 *   custom role based on one of them): every built-in role below it, down to read
 *   (admin → maintain, write, triage, read). GitHub refuses to give an org member less than the
 *   organisation's base permission ("Cannot assign {member} permission of {role}"), so roles below
 *   the base permission the grant's own record shows are left out; an org owner's base is admin,
 *   so an owner's direct grant has none.
 * - a team's access to a repository (`team_repository`) with admin or maintain: the same roles.
 * - a team maintainer (`team_membership` maintainer) → member.
 * - an organisation owner (`organization_membership` owner) → member.
 * Nothing else: access that follows from another grant (a team's, the base permission's) is
 * changed where it comes from; invitations, deploy keys (GitHub keys cannot change their
 * read/write flag), bypass lists and tokens have no lower level to set; AWS grants have no
 * downgrade today (a narrower policy is a different document, not a lower level of the same one).
 */
export function downgradeOptions(grant: Grant): string[] {
  if (grant.connector !== 'github' || !grant.reviewable || grant.via.kind !== 'direct') return [];
  switch (grant.grantKind) {
    case 'organization_membership':
      return grant.entitlement === 'owner' ? ['member'] : [];
    case 'team_membership':
      return grant.entitlement === 'maintainer' ? ['member'] : [];
    case 'team_repository':
      return lowerRepositoryRoles(grant, undefined);
    case 'user_repository':
      return lowerRepositoryRoles(grant, basePermissionOf(grant));
    default:
      return [];
  }
}

/** True when `to` is one of the grant's downgrade options. */
export function canDowngrade(grant: Grant, to: string): boolean {
  return downgradeOptions(grant).includes(to);
}

/** Repository roles a grant can be lowered from: the two that administer the repository. */
const LOWERABLE: ReadonlySet<RepositoryPermission> = new Set(['admin', 'maintain']);

function lowerRepositoryRoles(grant: Grant, floor: RepositoryPermission | undefined): string[] {
  const held = comparablePermission(grant);
  if (!held || !LOWERABLE.has(held)) return [];
  // A custom role is lowered to the built-in roles below its base role: its base role itself is
  // a lower role too (the custom role's extra permissions go), so it is offered.
  const ceiling = permissionRank(held) - (grant.entitlement === held ? 1 : 0);
  const lowest = floor ? permissionRank(floor) : 0;
  return REPOSITORY_PERMISSIONS.filter((role, rank) => rank <= ceiling && rank >= lowest).reverse();
}

/**
 * The organisation base permission a user's repository grant records (its `permissionSources`, as
 * the snapshot kept them): what GitHub will not let a direct grant go below. Undefined for an
 * outside collaborator, or when the organisation's base is none.
 */
function basePermissionOf(grant: Grant): RepositoryPermission | undefined {
  const sources = grant.raw.permissionSources;
  if (!Array.isArray(sources)) return undefined;
  let best: RepositoryPermission | undefined;
  for (const source of sources) {
    if (typeof source !== 'object' || source === null) continue;
    const { source: label, permission } = source as { source?: unknown; permission?: unknown };
    if (typeof label !== 'string' || !label.startsWith('organization_base:')) continue;
    if (typeof permission !== 'string') continue;
    const role = permission.toLowerCase() as RepositoryPermission;
    if (permissionRank(role) < 0) continue;
    if (!best || permissionRank(role) > permissionRank(best)) best = role;
  }
  return best;
}

/**
 * The grant a downgrade leaves: the same key with the lower entitlement (a new grant id, since the
 * entitlement is part of the id). For an owner or a team maintainer it is the `member` grant they
 * also hold; for a repository role it is the direct grant a later snapshot reads.
 */
export function downgradedKey(grant: GrantKey, to: string): GrantKey {
  return { ...grant, entitlement: to };
}

export function downgradedGrantId(grant: GrantKey, to: string): string {
  return grantIdOf(downgradedKey(grant, to));
}
