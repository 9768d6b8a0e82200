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
    grantKind: 'organization_membership',
    resourceType: 'organization',
    resource: organization,
    principalType: 'user',
    principal: login,
    entitlement: role,
    via: { kind: 'direct' },
  };
}

/** The role that holds an organisation's base permission: every member. */
export const ALL_MEMBERS = 'members';

/**
 * The organisation's base permission as one grant: every member holds it on every repository.
 * The entitlement is the permission, so a widened base permission is a new grant to review.
 */
export function basePermissionKey(organization: string, permission: RepositoryPermission): GrantKey {
  return {
    connector: 'github',
    grantKind: 'organization_base_permission',
    resourceType: 'organization',
    resource: organization,
    principalType: 'role',
    principal: ALL_MEMBERS,
    entitlement: permission,
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
    grantKind: 'team_membership',
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
    grantKind: 'team_repository',
    resourceType: 'repository',
    resource: `${organization}/${repository}`,
    principalType: 'team',
    principal: `${organization}/${slug}`,
    entitlement: permission,
    via: { kind: 'direct' },
  };
}

/** A user's access to a repository; `permission` is a built-in role or a custom role's name. */
export function userRepositoryKey(
  organization: string,
  repository: string,
  login: string,
  permission: string,
  via: Via,
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'user_repository',
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

/** What a team-repository (or repository) body says about access: a role name and/or permission flags. */
export interface RepositoryAccessBody {
  role_name?: string;
  permissions?: { admin: boolean; maintain?: boolean; push: boolean; triage?: boolean; pull: boolean };
}

/**
 * The strongest built-in role a body describes: its `role_name` when built in, else what
 * `customRoleBase` makes of the name (a custom role's base role), else the permission flags.
 */
export function bodyPermission(
  body: RepositoryAccessBody,
  customRoleBase: (roleName: string) => RepositoryPermission | undefined = () => undefined,
): RepositoryPermission | undefined {
  if (body.role_name && isRepositoryPermission(body.role_name)) return body.role_name;
  const custom = body.role_name ? customRoleBase(body.role_name) : undefined;
  if (custom) return custom;
  const flags = body.permissions;
  if (!flags) return undefined;
  if (flags.admin) return 'admin';
  if (flags.maintain) return 'maintain';
  if (flags.push) return 'write';
  if (flags.triage) return 'triage';
  if (flags.pull) return 'read';
  return undefined;
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

/*
 * Keys of the CI/CD kinds. Resource names carry their repository first (`acme/api:production`,
 * `acme/api:main`, `acme/api/rulesets/42`) so routing finds the repository's owner, and org-wide
 * resources carry the org (`acme/secrets/NPM_TOKEN`, `acme/runner-groups/deploy`).
 */

export type InvitationRole = 'member' | 'owner' | 'billing_manager';

/** An org invitation: `invitee` is the login, or the email address when GitHub knows no login. */
export function organizationInvitationKey(
  organization: string,
  invitee: string,
  role: InvitationRole,
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'organization_invitation',
    resourceType: 'organization',
    resource: organization,
    principalType: 'invitee',
    principal: invitee,
    entitlement: role,
    via: { kind: 'direct' },
  };
}

/** A repository invitation; `role` is a built-in permission or a custom role's name. */
export function repositoryInvitationKey(
  organization: string,
  repository: string,
  invitee: string,
  role: string,
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'repository_invitation',
    resourceType: 'repository',
    resource: `${organization}/${repository}`,
    principalType: 'invitee',
    principal: invitee,
    entitlement: role,
    via: { kind: 'direct' },
  };
}

/** `deploy key 4711 (ci-deploy)`: the id addresses the key, the title is what people recognise. */
export function deployKeyPrincipal(id: number, title: string): string {
  return `deploy key ${id} (${title})`;
}

export function deployKeyKey(
  organization: string,
  repository: string,
  id: number,
  title: string,
  readOnly: boolean,
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'deploy_key',
    resourceType: 'repository',
    resource: `${organization}/${repository}`,
    principalType: 'deploy_key',
    principal: deployKeyPrincipal(id, title),
    entitlement: readOnly ? 'read' : 'write',
    via: { kind: 'direct' },
  };
}

/** A required reviewer of an environment: a user login or a team as `org/slug`. */
export function environmentReviewerKey(
  organization: string,
  repository: string,
  environment: string,
  principalType: 'user' | 'team',
  principal: string,
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'environment_reviewer',
    resourceType: 'environment',
    resource: `${organization}/${repository}:${environment}`,
    principalType,
    principal,
    entitlement: 'approve_deployments',
    via: { kind: 'direct' },
  };
}

/**
 * Someone allowed past a branch's classic protection: `push` (listed in its push restrictions)
 * or `bypass_pull_request_reviews` (may merge without the required reviews). A team is `org/slug`,
 * an app its slug. The role `admin` with `bypass_protection`: the repository's admins, while the
 * protection does not include administrators (enforce_admins off).
 */
export function branchBypassKey(
  organization: string,
  repository: string,
  branch: string,
  principalType: 'user' | 'team' | 'app' | 'role',
  principal: string,
  entitlement: 'push' | 'bypass_pull_request_reviews' | 'bypass_protection',
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'branch_protection_bypass',
    resourceType: 'branch',
    resource: `${organization}/${repository}:${branch}`,
    principalType,
    principal,
    entitlement,
    via: { kind: 'direct' },
  };
}

/** `acme/api/rulesets/42` (defined on a repository) or `acme/rulesets/7` (on the organisation). */
export function rulesetResource(organization: string, repository: string | null, id: number): string {
  return repository ? `${organization}/${repository}/rulesets/${id}` : `${organization}/rulesets/${id}`;
}

/**
 * A ruleset bypass actor. Principals: a team `org/slug` (team), an app slug (app), a role
 * (`organization_admin`, or a repository role name such as `maintain`), or `deploy keys`
 * (deploy_key, meaning every deploy key). Entitlement: `bypass` (always) or
 * `bypass_via_pull_request` (only when merging a pull request).
 */
export function rulesetBypassKey(
  resource: string,
  principalType: 'team' | 'app' | 'role' | 'deploy_key',
  principal: string,
  mode: 'always' | 'pull_request',
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'ruleset_bypass',
    resourceType: 'ruleset',
    resource,
    principalType,
    principal,
    entitlement: mode === 'always' ? 'bypass' : 'bypass_via_pull_request',
    via: { kind: 'direct' },
  };
}

/** Every repository (`acme/*`) or every private one (`acme/* (private)`), for visibility grants. */
export function allRepositoriesPrincipal(organization: string, visibility: 'all' | 'private'): string {
  return visibility === 'all' ? `${organization}/*` : `${organization}/* (private)`;
}

/**
 * A repository that can use an org secret or variable: `repository` is a name for a selected
 * repository (via direct), or null with `visibility` for everything the visibility lets in.
 */
export function actionsAccessKey(
  organization: string,
  what: 'secret' | 'variable',
  name: string,
  repository: string | null,
  visibility: 'all' | 'private' | 'selected',
): GrantKey {
  const everyone = repository === null && visibility !== 'selected';
  return {
    connector: 'github',
    grantKind: what === 'secret' ? 'actions_secret_access' : 'actions_variable_access',
    resourceType: what,
    resource: `${organization}/${what === 'secret' ? 'secrets' : 'variables'}/${name}`,
    principalType: 'repository',
    principal: everyone
      ? allRepositoriesPrincipal(organization, visibility)
      : `${organization}/${repository ?? ''}`,
    entitlement: 'read',
    via: everyone ? { kind: 'visibility', visibility } : { kind: 'direct' },
  };
}

/** The deployments to an environment can read its secret. */
export function environmentSecretKey(
  organization: string,
  repository: string,
  environment: string,
  name: string,
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'environment_secret',
    resourceType: 'secret',
    resource: `${organization}/${repository}:${environment}/secrets/${name}`,
    principalType: 'environment',
    principal: `${organization}/${repository}:${environment}`,
    entitlement: 'read',
    via: { kind: 'direct' },
  };
}

/** A repository that can run jobs on a self-hosted runner group (or every repository, by visibility). */
export function runnerGroupKey(
  organization: string,
  group: string,
  repository: string | null,
  visibility: 'all' | 'private' | 'selected',
): GrantKey {
  const everyone = repository === null && visibility !== 'selected';
  return {
    connector: 'github',
    grantKind: 'runner_group_access',
    resourceType: 'runner_group',
    resource: `${organization}/runner-groups/${group}`,
    principalType: 'repository',
    principal: everyone
      ? allRepositoriesPrincipal(organization, visibility)
      : `${organization}/${repository ?? ''}`,
    entitlement: 'use',
    via: everyone ? { kind: 'visibility', visibility } : { kind: 'direct' },
  };
}

/**
 * `contents:write, metadata:read`: a permission map as one stable entitlement, so a widened
 * permission set is a new grant that a reviewer sees as new.
 */
export function permissionSummary(permissions: Record<string, string>): string {
  const entries = Object.entries(permissions).sort(([a], [b]) => a.localeCompare(b));
  return entries.length > 0
    ? entries.map(([name, level]) => `${name}:${level}`).join(', ')
    : 'no permissions';
}

const LEVELS = ['read', 'write', 'admin'] as const;

/** The inverse of permissionSummary: `contents:write, metadata:read` → { contents: 'write', … }. */
export function parsePermissionSummary(summary: string): Record<string, string> {
  if (summary === 'no permissions') return {};
  return Object.fromEntries(
    summary
      .split(', ')
      .map(
        (entry) => [entry.slice(0, entry.lastIndexOf(':')), entry.slice(entry.lastIndexOf(':') + 1)] as const,
      ),
  );
}

/**
 * Whether `held` gives at least every permission of the reviewed summary (read < write < admin):
 * an app whose permissions grew since the review still holds what was reviewed.
 */
export function coversPermissions(held: Record<string, string>, reviewed: string): boolean {
  const rank = (level: string | undefined) => LEVELS.indexOf((level ?? '') as (typeof LEVELS)[number]);
  // A level outside read < write < admin is compared as it is: only the same level covers it.
  return Object.entries(parsePermissionSummary(reviewed)).every(([name, level]) =>
    rank(level) >= 0 ? rank(held[name]) >= rank(level) : held[name] === level,
  );
}

export function appInstallationKey(
  organization: string,
  appSlug: string,
  permissions: Record<string, string>,
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'app_installation',
    resourceType: 'organization',
    resource: organization,
    principalType: 'app',
    principal: appSlug,
    entitlement: permissionSummary(permissions),
    via: { kind: 'direct' },
  };
}

/** A fine-grained token approved for the org: `alice's token 77 (release-bot)`; its owner is the grant's holder. */
export function personalAccessTokenKey(
  organization: string,
  id: number,
  owner: string,
  name: string,
  permissions: Record<string, string>,
): GrantKey {
  return {
    connector: 'github',
    grantKind: 'personal_access_token',
    resourceType: 'organization',
    resource: organization,
    principalType: 'personal_access_token',
    principal: `${owner}'s token ${id} (${name})`,
    entitlement: permissionSummary(permissions),
    via: { kind: 'direct' },
  };
}
