import { type Grant, grantIdOf, makeGrant, permissionAtLeast, type Via, viaLabel } from '../../core/grant';
import type { AccessPath, CheckResult, RevokeResult } from '../connector';
import { type GitHubContext, now, runQuery, runRest } from './context';
import {
  fromEnum,
  orgMembershipKey,
  sourcePermission,
  splitInOrganization,
  teamMembershipKey,
  teamRepositoryKey,
  userRepositoryKey,
} from './keys';
import type { SnapshotIndex } from './access-kind';
import type { MemberIndex } from './organization-members';
import { allItems, present } from './paging';
import {
  type CollaboratorEdge,
  ORGANIZATION_REPOSITORIES,
  type OrganizationRepositoriesResult,
  type PermissionSource,
  REPOSITORY_COLLABORATORS,
  type RepositoryCollaboratorsResult,
  type RepositoryNode,
  USER_REPOSITORY_ACCESS,
  type UserRepositoryAccessResult,
} from './queries';
import { type TeamIndex, teamIndexKey } from './teams';

const EMPTY = { hasNextPage: false, endCursor: null };

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
): Grant[] {
  const { organization } = context;
  const login = edge.node.login;
  const member = members.get(login.toLowerCase());
  const raw = {
    permission: edge.permission,
    permissionSources: rawSources(edge),
    outsideCollaborator: member === undefined,
  };
  const grants: Grant[] = [];
  for (const source of edge.permissionSources ?? []) {
    const permission = sourcePermission(source);
    if (!permission) continue;
    const via = viaOf(source.source);
    const key = userRepositoryKey(organization, repository, login, permission, via);
    if (via.kind === 'direct') {
      grants.push(makeGrant(key, { raw }));
    } else if (via.kind === 'team') {
      const slug = via.team.slice(via.team.indexOf('/') + 1);
      const derivedFrom: string[] = [];
      // No immediate membership means the access comes from a child team; its own grant is reviewed there.
      if (teams.members.has(teamIndexKey(slug, login))) {
        derivedFrom.push(grantIdOf(teamMembershipKey(organization, slug, login, 'member')));
      }
      const teamPermission = teams.repositories.get(teamIndexKey(slug, repository)) ?? permission;
      derivedFrom.push(grantIdOf(teamRepositoryKey(organization, slug, repository, teamPermission)));
      grants.push(makeGrant(key, { reviewable: false, derivedFrom, raw }));
    } else {
      // Base permission follows from being a member; an owner's admin everywhere also from the role.
      const derivedFrom: string[] = [];
      if (member) {
        derivedFrom.push(grantIdOf(orgMembershipKey(organization, member.login, 'member')));
        if (member.role === 'owner') {
          derivedFrom.push(grantIdOf(orgMembershipKey(organization, member.login, 'owner')));
        }
      }
      grants.push(makeGrant(key, { reviewable: false, derivedFrom, raw }));
    }
  }
  return grants;
}

/**
 * Users' access to every repository, from Repository.collaborators { permissionSources }: one
 * query answers what would take a REST call per user and team. Needs the member and team indexes
 * filled by the earlier passes.
 */
export async function* snapshotRepositoryAccess(
  context: GitHubContext,
  index: SnapshotIndex,
): AsyncGenerator<Grant> {
  const { organization } = context;
  const { members, teams } = index;
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
      for (const grant of grantsOfCollaborator(context, repository.name, edge, members, teams)) {
        if (seen.has(grant.grantId)) continue;
        seen.add(grant.grantId);
        yield grant;
      }
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
 * Whether the user still holds the entitlement on the repository by ANY path: every permission
 * source at or above it is reported, so a direct grant removed while a team still gives the same
 * access reads as present via `team:org/slug`.
 */
export async function checkRepositoryAccess(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const [owner, repo] = splitInOrganization(grant.resource, context.organization, 'repository');
  const edge = await readUserAccess(context, owner, repo, grant.principal);
  const checkedAt = now();
  if (!edge) return { status: 'absent', checkedAt };
  const paths: AccessPath[] = [];
  for (const source of edge.permissionSources ?? []) {
    const permission = sourcePermission(source);
    if (permission && permissionAtLeast(permission, grant.entitlement)) {
      paths.push({ via: viaLabel(viaOf(source.source)), permission });
    }
  }
  // The effective permission is authoritative; if no listed source explains it, say so, never "absent".
  const effective = fromEnum(edge.permission);
  if (paths.length === 0 && effective && permissionAtLeast(effective, grant.entitlement)) {
    paths.push({ via: 'unattributed', permission: effective });
  }
  return paths.length > 0 ? { status: 'present', checkedAt, paths } : { status: 'absent', checkedAt };
}
