import { type Grant, makeGrant, type RepositoryPermission } from '../../core/grant';
import { type GitHubContext, runQuery } from './context';
import { fromEnum, teamMembershipKey, teamRepositoryKey } from './keys';
import { allItems, type PageOf, present } from './paging';
import {
  ORGANIZATION_TEAMS,
  type OrganizationTeamsResult,
  TEAM_MEMBERS,
  TEAM_REPOSITORIES,
  type TeamMemberEdge,
  type TeamMembersResult,
  type TeamNode,
  type TeamRepositoriesResult,
  type TeamRepositoryEdge,
} from './queries';

/**
 * What the repository pass needs to link a user's team-given access to the grants it follows
 * from: who is an immediate member of each team, and each team's permission on each repository.
 * Keys are `slug/login` and `slug/repository`, lower-cased.
 */
export interface TeamIndex {
  members: Set<string>;
  repositories: Map<string, RepositoryPermission>;
}

export const teamIndexKey = (slug: string, name: string) => `${slug}/${name}`.toLowerCase();

const EMPTY = { hasNextPage: false, endCursor: null };

/**
 * Team memberships (IMMEDIATE only: a child team's members are reviewed on the child team) and
 * each team's own access to repositories. Every team member gets a `member` grant; maintainers
 * also get a `maintainer` grant, so the role can be taken away without removing them from the team.
 */
export async function* snapshotTeams(context: GitHubContext, index: TeamIndex): AsyncGenerator<Grant> {
  const { organization } = context;
  const teams = allItems<TeamNode>(`teams of ${organization}`, async (after) => {
    const result = await runQuery<OrganizationTeamsResult>(
      context,
      `list teams of ${organization}`,
      ORGANIZATION_TEAMS,
      { org: organization, after },
    );
    const connection = result.organization?.teams;
    return { pageInfo: connection?.pageInfo ?? EMPTY, items: present(connection?.nodes) };
  });
  for await (const team of teams) {
    const combined = `${organization}/${team.slug}`;
    const members = allItems<TeamMemberEdge>(
      `members of team ${combined}`,
      async (after) => {
        const result = await runQuery<TeamMembersResult>(
          context,
          `list members of team ${combined}`,
          TEAM_MEMBERS,
          {
            org: organization,
            slug: team.slug,
            after,
          },
        );
        const connection = result.organization?.team?.members;
        return { pageInfo: connection?.pageInfo ?? EMPTY, items: present(connection?.edges) };
      },
      firstPage(team.members),
    );
    for await (const edge of members) {
      const login = edge.node.login;
      const raw = { team: combined, role: edge.role };
      index.members.add(teamIndexKey(team.slug, login));
      yield makeGrant(teamMembershipKey(organization, team.slug, login, 'member'), { raw });
      if (edge.role === 'MAINTAINER') {
        yield makeGrant(teamMembershipKey(organization, team.slug, login, 'maintainer'), { raw });
      }
    }
    const repositories = allItems<TeamRepositoryEdge>(
      `repositories of team ${combined}`,
      async (after) => {
        const result = await runQuery<TeamRepositoriesResult>(
          context,
          `list repositories of team ${combined}`,
          TEAM_REPOSITORIES,
          { org: organization, slug: team.slug, after },
        );
        const connection = result.organization?.team?.repositories;
        return { pageInfo: connection?.pageInfo ?? EMPTY, items: present(connection?.edges) };
      },
      firstPage(team.repositories),
    );
    for await (const edge of repositories) {
      const permission = fromEnum(edge.permission);
      if (!permission) continue;
      index.repositories.set(teamIndexKey(team.slug, edge.node.name), permission);
      yield makeGrant(teamRepositoryKey(organization, team.slug, edge.node.name, permission), {
        raw: { team: combined, permission: edge.permission },
      });
    }
  }
}

function firstPage<E>(connection: { pageInfo: PageOf<E>['pageInfo']; edges: E[] | null }): PageOf<E> {
  return { pageInfo: connection.pageInfo, items: present(connection.edges) };
}
