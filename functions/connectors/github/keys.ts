import { ConnectorError } from '../../core/errors';
import { type GrantKey, REPOSITORY_PERMISSIONS, type RepositoryPermission, type Via } from '../../core/grant';
import type { PermissionSource } from './queries';

/*
 * The identity of each kind of GitHub grant, in one place: snapshot builds grants with these and
 * derived grants point at their parents by the same keys, so the ids always line up.
 */

/**
 * Membership and the elevated role are separate grants, so a reviewer can keep someone in the org
 * (or team) and still take the role away: every member holds `member`, owners also hold `owner`,
 * team maintainers also hold `maintainer`.
 */
export type OrgRole = 'owner' | 'member';
export type TeamRole = 'maintainer' | 'member';

export function isOrgRole(value: string): value is OrgRole {
  return value === 'owner' || value === 'member';
}

export function isTeamRole(value: string): value is TeamRole {
  return value === 'maintainer' || value === 'member';
}

export function orgMembershipKey(organization: string, login: string, role: OrgRole): GrantKey {
  return {
    connector: 'github',
    resourceType: 'organization',
    resource: organization,
    principalType: 'user',
    principal: login,
    entitlement: role,
    via: { kind: 'direct' },
  };
}

export function teamMembershipKey(
  organization: string,
  slug: string,
  login: string,
  role: TeamRole,
): GrantKey {
  return {
    connector: 'github',
    resourceType: 'team',
    resource: `${organization}/${slug}`,
    principalType: 'user',
    principal: login,
    entitlement: role,
    via: { kind: 'direct' },
  };
}

export function teamRepositoryKey(
  organization: string,
  slug: string,
  repository: string,
  permission: RepositoryPermission,
): GrantKey {
  return {
    connector: 'github',
    resourceType: 'repository',
    resource: `${organization}/${repository}`,
    principalType: 'team',
    principal: `${organization}/${slug}`,
    entitlement: permission,
    via: { kind: 'direct' },
  };
}

export function userRepositoryKey(
  organization: string,
  repository: string,
  login: string,
  permission: RepositoryPermission,
  via: Via,
): GrantKey {
  return {
    connector: 'github',
    resourceType: 'repository',
    resource: `${organization}/${repository}`,
    principalType: 'user',
    principal: login,
    entitlement: permission,
    via,
  };
}

export function isRepositoryPermission(value: string): value is RepositoryPermission {
  return (REPOSITORY_PERMISSIONS as readonly string[]).includes(value);
}

/** GraphQL's RepositoryPermission enum (READ … ADMIN) in our lower-case form. */
export function fromEnum(value: string): RepositoryPermission | undefined {
  const lower = value.toLowerCase();
  return isRepositoryPermission(lower) ? lower : undefined;
}

/**
 * The permission one source gives. PermissionSource.permission only knows NONE/READ/WRITE/ADMIN,
 * so triage and maintain appear as READ and WRITE there; `roleName` carries the exact role when it
 * is one of the built-in ones. NONE (a base permission of "none") gives nothing.
 */
export function sourcePermission(source: PermissionSource): RepositoryPermission | undefined {
  const role = source.roleName?.toLowerCase();
  if (role && isRepositoryPermission(role)) return role;
  return fromEnum(source.permission);
}

/** `acme/api` → ['acme', 'api'], refusing resources of another organisation. */
export function splitInOrganization(value: string, organization: string, what: string): [string, string] {
  const slash = value.indexOf('/');
  const owner = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (slash <= 0 || name === '' || name.includes('/')) {
    throw new ConnectorError(`${what} "${value}" is not of the form organization/name`);
  }
  if (owner.toLowerCase() !== organization.toLowerCase()) {
    throw new ConnectorError(`${what} "${value}" is not in organization ${organization}`);
  }
  return [owner, name];
}
