import { ConnectorError } from '../../core/errors';
import {
  type Grant,
  type GrantFlag,
  grantIdOf,
  makeGrant,
  permissionAtLeast,
  type RepositoryPermission,
  type Via,
  viaLabel,
} from '../../core/grant';
import type { AccessPath, CheckResult, RevokeResult } from '../connector';
import type { RepositoryInfo, SnapshotIndex } from './access-kind';
import { type GitHubContext, now, runQuery, runRest } from './context';
import {
  bodyPermission,
  fromEnum,
  isRepositoryPermission,
  orgMembershipKey,
  sourcePermission,
  splitInOrganization,
  teamMembershipKey,
  teamRepositoryKey,
  userRepositoryKey,
} from './keys';
import type { MemberIndex } from './organization-members';
import { allItems, present } from './paging';
import {
  type CollaboratorEdge,
  ORGANIZATION_REPOSITORIES,
  type OrganizationRepositoriesResult,
  PAGE_SIZE,
  type PermissionSource,
  REPOSITORY_COLLABORATORS,
  type RepositoryCollaboratorsResult,
  type RepositoryNode,
  USER_REPOSITORY_ACCESS,
  USER_TEAM_ANCESTORS,
  type UserRepositoryAccessResult,
  type UserTeamAncestorsResult,
  type UserTeamNode,
} from './queries';
import { ancestorsInTree, type TeamIndex, type TeamTree, teamIndexKey } from './teams';

const EMPTY = { hasNextPage: false, endCursor: null };

/** The media type that makes GitHub answer the team-repository check with a body, not a bare 204. */
const REPOSITORY_MEDIA_TYPE = 'application/vnd.github.v3.repository+json';

/** A custom repository role as the access review needs it: its name and the built-in role it extends. */
export interface CustomRole {
  name: string;
  baseRole: RepositoryPermission;
}

/** Lower-cased role name → the organisation's custom repository role. */
export type CustomRoles = Map<string, CustomRole>;

interface CustomRolesBody {
  total_count?: number;
  custom_roles?: Array<{ name: string; base_role: string }>;
}

/**
 * GET /orgs/{org}/custom-repository-roles: custom roles are a GitHub Enterprise Cloud feature, and
 * GitHub answers 404 for an organisation without them, which means there are none.
 */
export async function readCustomRoles(context: GitHubContext): Promise<CustomRoles> {
  const org = context.organization;
  const answer = await runRest(context, `GET /orgs/${org}/custom-repository-roles`, () =>
    context.octokit.request('GET /orgs/{org}/custom-repository-roles', { org }),
  );
  const roles: CustomRoles = new Map();
  if (answer === 'not_found') return roles;
  const body = answer.data as CustomRolesBody;
  for (const role of body.custom_roles ?? []) {
    if (isRepositoryPermission(role.base_role)) {
      roles.set(role.name.toLowerCase(), { name: role.name, baseRole: role.base_role });
    }
  }
  return roles;
}

/** True when some source names a role that is not built in: only then are custom roles read. */
export function namesCustomRole(edge: CollaboratorEdge | undefined): boolean {
  return (edge?.permissionSources ?? []).some(
    (source) => source.roleName !== null && !isRepositoryPermission(source.roleName.toLowerCase()),
  );
}

/**
 * What one source gives: the entitlement a reviewer reads (a built-in role, or the custom role's
 * name) and the built-in role it amounts to, which is what permissions are compared by.
 */
interface SourceAccess {
  entitlement: string;
  base: RepositoryPermission;
  customRole: boolean;
}

function sourceAccess(source: PermissionSource, customRoles: CustomRoles): SourceAccess | undefined {
  const custom = source.roleName ? customRoles.get(source.roleName.toLowerCase()) : undefined;
  if (custom) return { entitlement: custom.name, base: custom.baseRole, customRole: true };
  const permission = sourcePermission(source);
  return permission ? { entitlement: permission, base: permission, customRole: false } : undefined;
}

/** The path a permission source describes, in our Via terms. */
function viaOf(source: PermissionSource['source']): Via {
  switch (source.__typename) {
    case 'Repository':
      return { kind: 'direct' };
    case 'Team':
      return { kind: 'team', team: `${source.organization.login}/${source.slug}` };
    case 'Organization':
      return { kind: 'organization_base', organization: source.login };
  }
}

/** The source record kept as `raw`: small, and enough for an auditor to see why the row exists. */
function rawSources(edge: CollaboratorEdge) {
  return (edge.permissionSources ?? []).map((source) => ({
    permission: source.permission,
    roleName: source.roleName,
    source: viaLabel(viaOf(source.source)),
  }));
}

/** `user_repository` key whose entitlement may be a custom role's name (keys take a built-in role). */
function userRepositoryGrantKey(
  organization: string,
  repository: string,
  login: string,
  access: SourceAccess,
  via: Via,
) {
  return {
    ...userRepositoryKey(organization, repository, login, access.base, via),
    entitlement: access.entitlement,
  };
}

/** True when `login` is an immediate member of a team below `slug` (so the nested pass explains it). */
function reachesThroughChildTeam(tree: TeamTree | undefined, slug: string, login: string): boolean {
  if (!tree) return false;
  const wanted = login.toLowerCase();
  for (const [team, logins] of tree.logins) {
    if (!ancestorsInTree(tree, team).includes(slug.toLowerCase())) continue;
    if (logins.some((member) => member.toLowerCase() === wanted)) return true;
  }
  return false;
}

/**
 * One repository's user grants, one per permission source: direct (reviewable), via a team and via
 * the org base permission (not reviewable, linked to the grants they follow from).
 */
function grantsOfCollaborator(
  context: GitHubContext,
  repository: string,
  edge: CollaboratorEdge,
  members: MemberIndex,
  teams: TeamIndex,
  customRoles: CustomRoles,
): Grant[] {
  const { organization } = context;
  const login = edge.node.login;
  const member = members.get(login.toLowerCase());
  const outside = member === undefined;
  const raw = {
    permission: edge.permission,
    permissionSources: rawSources(edge),
    outsideCollaborator: outside,
  };
  const grants: Grant[] = [];
  for (const source of edge.permissionSources ?? []) {
    const access = sourceAccess(source, customRoles);
    if (!access) continue;
    const via = viaOf(source.source);
    const key = userRepositoryGrantKey(organization, repository, login, access, via);
    const flags: GrantFlag[] = [];
    if (outside) flags.push('outside_collaborator');
    if (access.customRole) flags.push('custom_role');
    const rawOfSource = access.customRole ? { ...raw, baseRole: access.base } : raw;
    if (via.kind === 'direct') {
      grants.push(makeGrant(key, { raw: rawOfSource, flags }));
    } else if (via.kind === 'team') {
      const slug = via.team.slice(via.team.indexOf('/') + 1);
      const immediate = teams.members.has(teamIndexKey(slug, login));
      // Listed for a parent team the user is only in through a child team: the nested pass gives
      // that access its own row, naming the child team, so it is not reported twice.
      if (!immediate && reachesThroughChildTeam(teams.tree, slug, login)) continue;
      const derivedFrom: string[] = [];
      if (immediate) {
        derivedFrom.push(grantIdOf(teamMembershipKey(organization, slug, login, 'member')));
      }
      const teamPermission = teams.repositories.get(teamIndexKey(slug, repository)) ?? access.base;
      derivedFrom.push(grantIdOf(teamRepositoryKey(organization, slug, repository, teamPermission)));
      grants.push(makeGrant(key, { reviewable: false, derivedFrom, raw: rawOfSource, flags }));
    } else {
      // Base permission follows from being a member; an owner's admin everywhere also from the role.
      const derivedFrom: string[] = [];
      if (member) {
        derivedFrom.push(grantIdOf(orgMembershipKey(organization, member.login, 'member')));
        if (member.role === 'owner') {
          derivedFrom.push(grantIdOf(orgMembershipKey(organization, member.login, 'owner')));
        }
      }
      grants.push(makeGrant(key, { reviewable: false, derivedFrom, raw: rawOfSource, flags }));
    }
  }
  return grants;
}

/**
 * Access inherited through nested teams: GitHub gives a child team's members the repository access
 * of every ancestor team, but Repository.collaborators does not list them under the ancestor. One
 * row per (member of a team, ancestor with access): via the ancestor, through the team the user is
 * an immediate member of, following from that membership and the ancestor's access.
 */
function nestedTeamGrants(organization: string, repository: string, teams: TeamIndex): Grant[] {
  const tree = teams.tree;
  if (!tree) return [];
  const grants: Grant[] = [];
  for (const [team, logins] of tree.logins) {
    const through = tree.slugs.get(team) ?? team;
    for (const ancestor of ancestorsInTree(tree, team)) {
      const permission = teams.repositories.get(teamIndexKey(ancestor, repository));
      if (!permission) continue;
      const parent = tree.slugs.get(ancestor) ?? ancestor;
      const via: Via = {
        kind: 'team',
        team: `${organization}/${parent}`,
        through: `${organization}/${through}`,
      };
      for (const login of logins) {
        grants.push(
          makeGrant(userRepositoryKey(organization, repository, login, permission, via), {
            reviewable: false,
            derivedFrom: [
              grantIdOf(teamMembershipKey(organization, through, login, 'member')),
              grantIdOf(teamRepositoryKey(organization, parent, repository, permission)),
            ],
            raw: { team: via.team, through: via.through, teamPermission: permission },
          }),
        );
      }
    }
  }
  return grants;
}

/**
 * What GraphQL counted of a repository's CI/CD records, when the count can be trusted: GitHub
 * answers a count of 0 for protection rules and deploy keys a token may not administer, so below
 * ADMIN nothing is counted and every REST pass reads (and fails loudly if refused).
 */
export function cicdCountsOf(repository: RepositoryNode): Pick<RepositoryInfo, 'cicd'> {
  if (repository.viewerPermission !== 'ADMIN') return {};
  return {
    cicd: {
      branchProtectionRules: repository.branchProtectionRules.totalCount,
      // Null when the token may not see rulesets: unknown, so the REST pass reads them.
      rulesets: repository.rulesets?.totalCount ?? Number.POSITIVE_INFINITY,
      environments: repository.environments.totalCount,
      deployKeys: repository.deployKeys.totalCount,
    },
  };
}

/**
 * Users' access to every repository, from Repository.collaborators { permissionSources }: one
 * query answers what would take a REST call per user and team. Needs the member and team indexes
 * filled by the earlier passes. Access through nested teams, which that list leaves out, is
 * worked out from the team index.
 */
export async function* snapshotRepositoryAccess(
  context: GitHubContext,
  index: SnapshotIndex,
): AsyncGenerator<Grant> {
  const { organization } = context;
  const { members, teams } = index;
  // Read on first need: most organisations have no custom roles (and without Enterprise Cloud, no endpoint).
  let customRoles: CustomRoles | undefined;
  const repositories = allItems<RepositoryNode>(`repositories of ${organization}`, async (after) => {
    const result = await runQuery<OrganizationRepositoriesResult>(
      context,
      `list repositories of ${organization}`,
      ORGANIZATION_REPOSITORIES,
      { org: organization, after },
    );
    const connection = result.organization?.repositories;
    return { pageInfo: connection?.pageInfo ?? EMPTY, items: present(connection?.nodes) };
  });
  for await (const repository of repositories) {
    index.repositories.push({
      name: repository.name,
      isPrivate: repository.isPrivate,
      defaultBranch: repository.defaultBranchRef?.name ?? null,
      ...cicdCountsOf(repository),
    });
    const nested = repository.collaborators;
    const collaborators = allItems<CollaboratorEdge>(
      `collaborators of ${organization}/${repository.name}`,
      async (after) => {
        const result = await runQuery<RepositoryCollaboratorsResult>(
          context,
          `list collaborators of ${organization}/${repository.name}`,
          REPOSITORY_COLLABORATORS,
          { owner: organization, name: repository.name, after },
        );
        const connection = result.repository?.collaborators;
        return { pageInfo: connection?.pageInfo ?? EMPTY, items: present(connection?.edges) };
      },
      nested ? { pageInfo: nested.pageInfo, items: present(nested.edges) } : undefined,
    );
    // Ids already yielded for this repository: a source listed twice must not give two rows.
    const seen = new Set<string>();
    for await (const edge of collaborators) {
      if (!customRoles && namesCustomRole(edge)) customRoles = await readCustomRoles(context);
      for (const grant of grantsOfCollaborator(
        context,
        repository.name,
        edge,
        members,
        teams,
        customRoles ?? new Map(),
      )) {
        if (seen.has(grant.grantId)) continue;
        seen.add(grant.grantId);
        yield grant;
      }
    }
    for (const grant of nestedTeamGrants(organization, repository.name, teams)) {
      if (seen.has(grant.grantId)) continue;
      seen.add(grant.grantId);
      yield grant;
    }
  }
}

async function readUserAccess(
  context: GitHubContext,
  owner: string,
  name: string,
  login: string,
): Promise<CollaboratorEdge | undefined> {
  const result = await runQuery<UserRepositoryAccessResult>(
    context,
    `read ${login}'s access to ${owner}/${name}`,
    USER_REPOSITORY_ACCESS,
    { owner, name, login },
    { notFoundIsAnswer: true },
  );
  return present(result.repository?.collaborators?.edges).find(
    (edge) => edge.node.login.toLowerCase() === login.toLowerCase(),
  );
}

/**
 * DELETE /repos/{owner}/{repo}/collaborators/{username}, only if the user is a direct collaborator.
 * GitHub answers 204 even for someone who is not, and the call also unassigns the user's issues and
 * cancels invitations, so it is not sent when there is nothing to remove.
 */
export async function revokeDirectRepositoryAccess(
  context: GitHubContext,
  grant: Grant,
): Promise<RevokeResult> {
  const [owner, repo] = splitInOrganization(grant.resource, context.organization, 'repository');
  const username = grant.principal;
  const call = `DELETE /repos/${owner}/${repo}/collaborators/${username}`;
  const edge = await readUserAccess(context, owner, repo, username);
  const direct = (edge?.permissionSources ?? []).some((source) => source.source.__typename === 'Repository');
  if (!direct) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${username} is not a direct collaborator on ${grant.resource}; ${call} not needed`,
    };
  }
  const answer = await runRest(context, call, () =>
    context.octokit.request('DELETE /repos/{owner}/{repo}/collaborators/{username}', {
      owner,
      repo,
      username,
    }),
  );
  if (answer === 'not_found') {
    return { outcome: 'already_absent', appliedAt: now(), action: `${call}: repository or user is gone` };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: removed ${username}'s direct access to ${grant.resource}`,
  };
}

/**
 * Every path by which `login` reaches the repository through a child team: the teams they are an
 * immediate member of (GraphQL teams(userLogins:) with each team's ancestors), then each ancestor's
 * access to the repository (GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}).
 */
async function nestedTeamPaths(
  context: GitHubContext,
  owner: string,
  repo: string,
  login: string,
  satisfies: (permission: RepositoryPermission) => boolean,
  customRoles: () => Promise<CustomRoles>,
): Promise<AccessPath[]> {
  const org = context.organization;
  const teams = allItems<UserTeamNode>(`teams of ${login} in ${org}`, async (after) => {
    const result = await runQuery<UserTeamAncestorsResult>(
      context,
      `list teams of ${login} in ${org}`,
      USER_TEAM_ANCESTORS,
      { org, login, after },
    );
    const connection = result.organization?.teams;
    return { pageInfo: connection?.pageInfo ?? EMPTY, items: present(connection?.nodes) };
  });
  const ancestorPermissions = new Map<string, RepositoryPermission | undefined>();
  const paths: AccessPath[] = [];
  for await (const team of teams) {
    const immediate = present(team.members.nodes).some(
      (member) => member.login.toLowerCase() === login.toLowerCase(),
    );
    if (!immediate && team.members.pageInfo.hasNextPage) {
      // GitHub's member `query` is a search over logins and names, not an exact match: with more
      // matches than one page, "not found" is unknown, and reporting absent could hide access.
      throw new ConnectorError(
        `team ${org}/${team.slug} has more than ${PAGE_SIZE} members matching "${login}"; cannot check ${login}'s access to ${owner}/${repo}`,
      );
    }
    if (!immediate) continue;
    if (team.ancestors.pageInfo.hasNextPage) {
      throw new ConnectorError(
        `team ${org}/${team.slug} has more ancestors than one page; cannot check ${login}'s access to ${owner}/${repo}`,
      );
    }
    for (const ancestor of present(team.ancestors.nodes)) {
      const cacheKey = ancestor.slug.toLowerCase();
      if (!ancestorPermissions.has(cacheKey)) {
        const path = `/orgs/${org}/teams/${ancestor.slug}/repos/${owner}/${repo}`;
        const answer = await runRest(context, `GET ${path}`, () =>
          context.octokit.request('GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', {
            org,
            team_slug: ancestor.slug,
            owner,
            repo,
            headers: { accept: REPOSITORY_MEDIA_TYPE },
          }),
        );
        const body = answer === 'not_found' ? undefined : answer.data;
        let permission: RepositoryPermission | undefined;
        if (typeof body === 'object' && body !== null) {
          const builtIn = !body.role_name || isRepositoryPermission(body.role_name);
          const roles: CustomRoles = builtIn ? new Map() : await customRoles();
          permission = bodyPermission(body, (name) => roles.get(name.toLowerCase())?.baseRole);
        }
        ancestorPermissions.set(cacheKey, permission);
      }
      const permission = ancestorPermissions.get(cacheKey);
      if (permission && satisfies(permission)) {
        const via: Via = { kind: 'team', team: `${org}/${ancestor.slug}`, through: `${org}/${team.slug}` };
        paths.push({ via: viaLabel(via), permission });
      }
    }
  }
  return paths;
}

/**
 * Whether the user still holds the entitlement on the repository by ANY path: every permission
 * source at or above it is reported, so a direct grant removed while a team still gives the same
 * access reads as present via `team:org/slug`, and access inherited from a parent team as
 * `team:org/parent (through org/child)`. A custom role is compared by its base role.
 */
export async function checkRepositoryAccess(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const [owner, repo] = splitInOrganization(grant.resource, context.organization, 'repository');
  let roles: Promise<CustomRoles> | undefined;
  const customRoles = () => {
    roles ??= readCustomRoles(context);
    return roles;
  };
  const wanted = isRepositoryPermission(grant.entitlement)
    ? grant.entitlement
    : (await customRoles()).get(grant.entitlement.toLowerCase())?.baseRole;
  // A custom role that no longer exists is still held by whoever GitHub reports with that role name.
  const satisfies = (permission: RepositoryPermission, roleName?: string | null) =>
    wanted !== undefined
      ? permissionAtLeast(permission, wanted)
      : roleName?.toLowerCase() === grant.entitlement.toLowerCase();

  const edge = await readUserAccess(context, owner, repo, grant.principal);
  const paths: AccessPath[] = [];
  const known = namesCustomRole(edge) ? await customRoles() : new Map<string, CustomRole>();
  for (const source of edge?.permissionSources ?? []) {
    const access = sourceAccess(source, known);
    if (access && satisfies(access.base, source.roleName)) {
      paths.push({ via: viaLabel(viaOf(source.source)), permission: access.entitlement });
    }
  }
  paths.push(
    ...(await nestedTeamPaths(context, owner, repo, grant.principal, (p) => satisfies(p), customRoles)),
  );
  // The effective permission is authoritative; if no path explains it, say so, never "absent".
  const effective = edge ? fromEnum(edge.permission) : undefined;
  if (paths.length === 0 && effective && satisfies(effective)) {
    paths.push({ via: 'unattributed', permission: effective });
  }
  const checkedAt = now();
  return paths.length > 0 ? { status: 'present', checkedAt, paths } : { status: 'absent', checkedAt };
}
