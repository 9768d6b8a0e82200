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
import type { DirectCollaborator } from './effective-access';
import {
  bodyPermission,
  fromEnum,
  isRepositoryPermission,
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
import { ancestorsInTree, type TeamIndex, teamIndexKey } from './teams';

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
export interface SourceAccess {
  entitlement: string;
  base: RepositoryPermission;
  customRole: boolean;
}

export function sourceAccess(source: PermissionSource, customRoles: CustomRoles): SourceAccess | undefined {
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

/**
 * A direct collaborator's grant: the Repository source of an edge listed with affiliation DIRECT
 * (members and outside collaborators alike). Team and base permission sources on the same edge are
 * not rows of their own: team access comes from the team index, the base permission is one grant.
 */
function directGrant(
  context: GitHubContext,
  repository: string,
  edge: CollaboratorEdge,
  members: MemberIndex,
  customRoles: CustomRoles,
): { grant: Grant; collaborator: DirectCollaborator } | undefined {
  const { organization } = context;
  const login = edge.node.login;
  const outside = !members.has(login.toLowerCase());
  const source = (edge.permissionSources ?? []).find(
    (candidate) => candidate.source.__typename === 'Repository',
  );
  const access = source ? sourceAccess(source, customRoles) : undefined;
  if (!access) return undefined;
  const flags: GrantFlag[] = [];
  if (outside) flags.push('outside_collaborator');
  if (access.customRole) flags.push('custom_role');
  const raw = {
    permission: edge.permission,
    permissionSources: rawSources(edge),
    outsideCollaborator: outside,
    ...(access.customRole ? { baseRole: access.base } : {}),
  };
  const key = userRepositoryGrantKey(organization, repository, login, access, { kind: 'direct' });
  return {
    grant: makeGrant(key, { raw, flags }),
    collaborator: { login, permission: access.base, entitlement: access.entitlement },
  };
}

/** Lower-cased repository name → the teams with access to it (GitHub's spelling) and their permission. */
const teamsByRepository = new WeakMap<
  TeamIndex,
  { size: number; map: Map<string, Array<{ slug: string; permission: RepositoryPermission }>> }
>();

function teamsOfRepository(teams: TeamIndex, repository: string) {
  let cached = teamsByRepository.get(teams);
  if (!cached || cached.size !== teams.repositories.size) {
    const map = new Map<string, Array<{ slug: string; permission: RepositoryPermission }>>();
    for (const [key, permission] of teams.repositories) {
      const slash = key.indexOf('/');
      const slugKey = key.slice(0, slash);
      const name = key.slice(slash + 1);
      const slug = teams.tree?.slugs.get(slugKey) ?? slugKey;
      map.set(name, [...(map.get(name) ?? []), { slug, permission }]);
    }
    cached = { size: teams.repositories.size, map };
    teamsByRepository.set(teams, cached);
  }
  return cached.map.get(repository.toLowerCase()) ?? [];
}

/**
 * Access given by a team to its immediate members, from the team index: one row per member and
 * team, following from the membership and the team's access (not reviewable on its own).
 */
function teamGrants(organization: string, repository: string, teams: TeamIndex): Grant[] {
  const grants: Grant[] = [];
  for (const { slug, permission } of teamsOfRepository(teams, repository)) {
    const via: Via = { kind: 'team', team: `${organization}/${slug}` };
    for (const login of teams.tree?.logins.get(slug.toLowerCase()) ?? []) {
      grants.push(
        makeGrant(userRepositoryKey(organization, repository, login, permission, via), {
          reviewable: false,
          derivedFrom: [
            grantIdOf(teamMembershipKey(organization, slug, login, 'member')),
            grantIdOf(teamRepositoryKey(organization, slug, repository, permission)),
          ],
          raw: { team: via.team, teamPermission: permission },
        }),
      );
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

/** One page of the organisation's repositories, with their direct collaborators and CI/CD counts. */
export interface RepositoryPage {
  repositories: RepositoryNode[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export async function readRepositoryPage(
  context: GitHubContext,
  after: string | null,
): Promise<RepositoryPage> {
  const { organization } = context;
  const result = await runQuery<OrganizationRepositoriesResult>(
    context,
    `list repositories of ${organization}`,
    ORGANIZATION_REPOSITORIES,
    { org: organization, first: Math.min(PAGE_SIZE, context.repositoriesPerPage ?? PAGE_SIZE), after },
  );
  const connection = result.organization?.repositories;
  return { repositories: present(connection?.nodes), pageInfo: connection?.pageInfo ?? EMPTY };
}

/** The repository as later passes see it: name, visibility, default branch and CI/CD counts. */
export function repositoryInfoOf(repository: RepositoryNode): RepositoryInfo {
  return {
    name: repository.name,
    isPrivate: repository.isPrivate,
    defaultBranch: repository.defaultBranchRef?.name ?? null,
    ...cicdCountsOf(repository),
  };
}

/**
 * The user grants of one page of repositories: each direct collaborator (reviewable), and what
 * teams give their members (derived, from the team index, with nested teams). Direct collaborators
 * are also noted in `index.directCollaborators`, for effective access. Needs the member and team
 * indexes filled by the earlier passes. Nobody gets a row for the base permission: it is one grant
 * of its own, and effective access applies it on demand.
 */
export async function* repositoryPageGrants(
  context: GitHubContext,
  index: SnapshotIndex,
  repositories: readonly RepositoryNode[],
): AsyncGenerator<Grant> {
  const { organization } = context;
  const { members, teams } = index;
  for (const repository of repositories) {
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
    const direct = new Map<string, DirectCollaborator>();
    index.directCollaborators?.set(repository.name.toLowerCase(), direct);
    for await (const edge of collaborators) {
      if (!index.customRoles && namesCustomRole(edge)) index.customRoles = await readCustomRoles(context);
      const found = directGrant(context, repository.name, edge, members, index.customRoles ?? new Map());
      if (!found || seen.has(found.grant.grantId)) continue;
      seen.add(found.grant.grantId);
      direct.set(found.collaborator.login.toLowerCase(), found.collaborator);
      yield found.grant;
    }
    for (const grant of [
      ...teamGrants(organization, repository.name, teams),
      ...nestedTeamGrants(organization, repository.name, teams),
    ]) {
      if (seen.has(grant.grantId)) continue;
      seen.add(grant.grantId);
      yield grant;
    }
  }
}

/** Every repository's user grants, page after page (the one-go form of repositoryPageGrants). */
export async function* snapshotRepositoryAccess(
  context: GitHubContext,
  index: SnapshotIndex,
): AsyncGenerator<Grant> {
  let after: string | null = null;
  const seenCursors = new Set<string>();
  for (;;) {
    const page = await readRepositoryPage(context, after);
    index.repositories.push(...page.repositories.map(repositoryInfoOf));
    yield* repositoryPageGrants(context, index, page.repositories);
    if (!page.pageInfo.hasNextPage) return;
    after = nextCursor(page.pageInfo, seenCursors, `repositories of ${context.organization}`);
  }
}

/** The cursor of the next page; a missing or repeated one would loop forever, so it is refused. */
export function nextCursor(pageInfo: { endCursor: string | null }, seen: Set<string>, what: string): string {
  const cursor = pageInfo.endCursor;
  if (!cursor || seen.has(cursor)) {
    throw new ConnectorError(`GitHub paged ${what} with a missing or repeated cursor (${cursor ?? 'none'})`);
  }
  seen.add(cursor);
  return cursor;
}

/** The user's collaborator edge on the repository (every permission source), or undefined without access. */
export async function readUserAccess(
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
