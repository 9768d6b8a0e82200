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
  /**
   * How teams nest, for access inherited from a parent team. Filled by the teams pass (optional so
   * an index built before it, or by hand, still type-checks; absent means "no nesting known").
   */
  tree?: TeamTree;
}

/** Lower-cased slugs throughout; `slugs` and `logins` keep GitHub's spelling for grant keys. */
export interface TeamTree {
  /** Team → its parent team. */
  parents: Map<string, string>;
  /** Team → its slug as GitHub spells it. */
  slugs: Map<string, string>;
  /** Team → logins of its immediate members. */
  logins: Map<string, string[]>;
}

export function emptyTeamTree(): TeamTree {
  return { parents: new Map(), slugs: new Map(), logins: new Map() };
}

/**
 * The team's ancestors, nearest first (lower-cased slugs). A cycle cannot happen on GitHub; if a
 * broken answer claimed one, the walk stops instead of looping.
 */
export function ancestorsInTree(tree: TeamTree, slug: string): string[] {
  const found: string[] = [];
  let parent = tree.parents.get(slug.toLowerCase());
  while (parent !== undefined && !found.includes(parent) && parent !== slug.toLowerCase()) {
    found.push(parent);
    parent = tree.parents.get(parent);
  }
  return found;
}

export const teamIndexKey = (slug: string, name: string) => `${slug}/${name}`.toLowerCase();

const EMPTY = { hasNextPage: false, endCursor: null };

/**
 * Team memberships (IMMEDIATE only: a child team's members are reviewed on the child team) and
 * each team's own access to repositories. Every team member gets a `member` grant; maintainers
 * also get a `maintainer` grant, so the role can be taken away without removing them from the team.
 * Each team's parent goes into the index: the repository pass gives child teams' members the
 * access of every ancestor team.
 */
export async function* snapshotTeams(context: GitHubContext, index: TeamIndex): AsyncGenerator<Grant> {
  const { organization } = context;
  index.tree ??= emptyTeamTree();
  const tree = index.tree;
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
    const slugKey = team.slug.toLowerCase();
    tree.slugs.set(slugKey, team.slug);
    if (team.parentTeam) tree.parents.set(slugKey, team.parentTeam.slug.toLowerCase());
    const logins: string[] = [];
    tree.logins.set(slugKey, logins);
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
      const raw = {
        team: combined,
        role: edge.role,
        ...(team.parentTeam ? { parentTeam: `${organization}/${team.parentTeam.slug}` } : {}),
      };
      index.members.add(teamIndexKey(team.slug, login));
      logins.push(login);
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
