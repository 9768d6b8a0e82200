/**
 * Every GraphQL document the connector sends. They are plain exported strings so a unit test can
 * validate each one against GitHub's published schema: a typo fails there, not in production.
 *
 * Page sizes: 100 is GitHub's maximum for `first`. Pages that nest a second connection (teams with
 * their members and repositories, repositories with their collaborators) ask for 50 outer nodes,
 * which keeps one response well under GitHub's node limit and its 10-second query timeout; any
 * nested connection longer than one page is followed up with its own query.
 */
export const PAGE_SIZE = 100;
export const NESTED_PAGE_SIZE = 50;

const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';

const TEAM_MEMBER_EDGES = `edges { role node { login } }`;
const TEAM_REPOSITORY_EDGES = `edges { permission node { name } }`;

/** Why a user can use a repository, source by source (direct, each team, the organisation). */
export const COLLABORATOR_FIELDS = `
fragment CollaboratorAccess on RepositoryCollaboratorEdge {
  permission
  node { login }
  permissionSources {
    permission
    roleName
    source {
      __typename
      ... on Organization { login }
      ... on Repository { nameWithOwner }
      ... on Team { slug organization { login } }
    }
  }
}`;

export const ORGANIZATION_MEMBERS = `
query OrganizationMembers($org: String!, $after: String) {
  organization(login: $org) {
    membersWithRole(first: ${PAGE_SIZE}, after: $after) {
      totalCount
      ${PAGE_INFO}
      edges { role node { login } }
    }
  }
}`;

export const ORGANIZATION_TEAMS = `
query OrganizationTeams($org: String!, $after: String) {
  organization(login: $org) {
    teams(first: ${NESTED_PAGE_SIZE}, after: $after) {
      ${PAGE_INFO}
      nodes {
        slug
        name
        parentTeam { slug }
        members(first: ${PAGE_SIZE}, membership: IMMEDIATE) { ${PAGE_INFO} ${TEAM_MEMBER_EDGES} }
        repositories(first: ${PAGE_SIZE}) { ${PAGE_INFO} ${TEAM_REPOSITORY_EDGES} }
      }
    }
  }
}`;

export const TEAM_MEMBERS = `
query TeamMembers($org: String!, $slug: String!, $after: String) {
  organization(login: $org) {
    team(slug: $slug) {
      members(first: ${PAGE_SIZE}, after: $after, membership: IMMEDIATE) { ${PAGE_INFO} ${TEAM_MEMBER_EDGES} }
    }
  }
}`;

export const TEAM_REPOSITORIES = `
query TeamRepositories($org: String!, $slug: String!, $after: String) {
  organization(login: $org) {
    team(slug: $slug) {
      repositories(first: ${PAGE_SIZE}, after: $after) { ${PAGE_INFO} ${TEAM_REPOSITORY_EDGES} }
    }
  }
}`;

/**
 * Repositories a page of 100 at a time, each with what GraphQL can count of its CI/CD records and
 * its direct collaborators (members and outside collaborators with an entry of their own:
 * affiliation DIRECT). Not ALL: that lists every member who reaches the repository only through
 * the base permission, members × repositories rows for one fact of the organisation. By GitHub's
 * formula a page of 100 (`$first`) costs 5 points (1 request for the page, 100 for each of the
 * five nested connections, divided by 100), whatever the number of collaborators.
 */
export const ORGANIZATION_REPOSITORIES = `
query OrganizationRepositories($org: String!, $first: Int!, $after: String) {
  organization(login: $org) {
    repositories(first: $first, after: $after) {
      ${PAGE_INFO}
      nodes {
        name
        isPrivate
        defaultBranchRef { name }
        viewerPermission
        branchProtectionRules(first: 1) { totalCount }
        rulesets(first: 1, includeParents: false) { totalCount }
        environments(first: 1) { totalCount }
        deployKeys(first: 1) { totalCount }
        collaborators(first: ${PAGE_SIZE}, affiliation: DIRECT) { totalCount ${PAGE_INFO} edges { ...CollaboratorAccess } }
      }
    }
  }
}
${COLLABORATOR_FIELDS}`;

/** Further pages of a repository's direct collaborators (a repository with more than 100). */
export const REPOSITORY_COLLABORATORS = `
query RepositoryCollaborators($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    collaborators(first: ${PAGE_SIZE}, after: $after, affiliation: DIRECT) { ${PAGE_INFO} edges { ...CollaboratorAccess } }
  }
}
${COLLABORATOR_FIELDS}`;

/** One user's access to one repository, by every path: what `check` reads after a revocation. */
export const USER_REPOSITORY_ACCESS = `
query UserRepositoryAccess($owner: String!, $name: String!, $login: String!) {
  repository(owner: $owner, name: $name) {
    collaborators(login: $login, first: 1, affiliation: ALL) { edges { ...CollaboratorAccess } }
  }
}
${COLLABORATOR_FIELDS}`;

/**
 * The teams `login` is an immediate member of, each with its ancestors: what `check` reads to find
 * access that reaches the user through a child team, which Repository.collaborators does not list.
 * `userLogins` may also match teams the user is in only through a child team, so each node says
 * whether the membership is immediate. Teams nest only a few levels deep; 20 ancestors is plenty,
 * and a longer chain is refused rather than read in part.
 */
export const USER_TEAM_ANCESTORS = `
query UserTeamAncestors($org: String!, $login: String!, $after: String) {
  organization(login: $org) {
    teams(first: ${NESTED_PAGE_SIZE}, after: $after, userLogins: [$login]) {
      ${PAGE_INFO}
      nodes {
        slug
        members(first: ${PAGE_SIZE}, membership: IMMEDIATE, query: $login) { pageInfo { hasNextPage } nodes { login } }
        ancestors(first: 20) { pageInfo { hasNextPage } nodes { slug } }
      }
    }
  }
}`;

/** The queries above by name, for tests that check each one against GitHub's schema. */
export const ALL_QUERIES = {
  ORGANIZATION_MEMBERS,
  ORGANIZATION_TEAMS,
  TEAM_MEMBERS,
  TEAM_REPOSITORIES,
  ORGANIZATION_REPOSITORIES,
  REPOSITORY_COLLABORATORS,
  USER_REPOSITORY_ACCESS,
  USER_TEAM_ANCESTORS,
} as const;

/* Response shapes of the queries above (only the fields they select). */
export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Connection<E> {
  pageInfo: PageInfo;
  edges: E[] | null;
}

export interface OrganizationMemberEdge {
  role: 'ADMIN' | 'MEMBER' | null;
  node: { login: string } | null;
}

export interface TeamMemberEdge {
  role: 'MAINTAINER' | 'MEMBER';
  node: { login: string };
}

export interface TeamRepositoryEdge {
  permission: 'READ' | 'TRIAGE' | 'WRITE' | 'MAINTAIN' | 'ADMIN';
  node: { name: string };
}

export type PermissionGranter =
  | { __typename: 'Organization'; login: string }
  | { __typename: 'Repository'; nameWithOwner: string }
  | { __typename: 'Team'; slug: string; organization: { login: string } };

export interface PermissionSource {
  permission: 'NONE' | 'READ' | 'WRITE' | 'ADMIN';
  roleName: string | null;
  source: PermissionGranter;
}

export interface CollaboratorEdge {
  permission: TeamRepositoryEdge['permission'];
  node: { login: string };
  permissionSources: PermissionSource[] | null;
}

export interface TeamNode {
  slug: string;
  name: string;
  parentTeam: { slug: string } | null;
  members: Connection<TeamMemberEdge>;
  repositories: Connection<TeamRepositoryEdge>;
}

export interface RepositoryNode {
  name: string;
  isPrivate: boolean;
  defaultBranchRef: { name: string } | null;
  /** What the token may do on the repository: counts of admin-only records are trusted only at ADMIN. */
  viewerPermission: 'ADMIN' | 'MAINTAIN' | 'WRITE' | 'TRIAGE' | 'READ' | null;
  branchProtectionRules: { totalCount: number };
  rulesets: { totalCount: number } | null;
  environments: { totalCount: number };
  deployKeys: { totalCount: number };
  collaborators: (Connection<CollaboratorEdge> & { totalCount: number }) | null;
}

export interface OrganizationMembersResult {
  organization: { membersWithRole: Connection<OrganizationMemberEdge> & { totalCount: number } } | null;
}

export interface OrganizationTeamsResult {
  organization: { teams: { pageInfo: PageInfo; nodes: Array<TeamNode | null> | null } } | null;
}

export interface TeamMembersResult {
  organization: { team: { members: Connection<TeamMemberEdge> } | null } | null;
}

export interface TeamRepositoriesResult {
  organization: { team: { repositories: Connection<TeamRepositoryEdge> } | null } | null;
}

export interface OrganizationRepositoriesResult {
  organization: { repositories: { pageInfo: PageInfo; nodes: Array<RepositoryNode | null> | null } } | null;
}

export interface RepositoryCollaboratorsResult {
  repository: { collaborators: Connection<CollaboratorEdge> | null } | null;
}

export interface UserRepositoryAccessResult {
  repository: { collaborators: { edges: CollaboratorEdge[] | null } | null } | null;
}

export interface UserTeamNode {
  slug: string;
  /** `query` matches logins and names as a search: more than one page means the answer is unknown. */
  members: { pageInfo: { hasNextPage: boolean }; nodes: Array<{ login: string } | null> | null };
  ancestors: { pageInfo: { hasNextPage: boolean }; nodes: Array<{ slug: string } | null> | null };
}

export interface UserTeamAncestorsResult {
  organization: { teams: { pageInfo: PageInfo; nodes: Array<UserTeamNode | null> | null } } | null;
}
