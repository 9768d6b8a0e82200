import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import type { RepositoryPermission } from '../../functions/core/grant';
import { repositoryCicd } from './cicd/state';
import { type ConnectionArgs, gitHubError, paginate } from './connection';
import { graphQLPoints } from './graphql-cost';
import { graphql, graphqlTools } from './graphql-js';
import { gitHubSchema } from './schema';
import {
  compareKeys,
  effectivePermission,
  findMember,
  findRepository,
  findTeam,
  findUser,
  type GitHubState,
  isOrganization,
  type PermissionSourceRecord,
  permissionSources,
  type SandboxRepository,
  type SandboxTeam,
  type TeamRole,
  usersWithAccess,
} from './state';

/*
 * The values resolvers pass around are small plain objects; `kind` lets the unions and
 * interfaces (PermissionGranter, RepositoryOwner) pick their concrete type. Fields the sandbox
 * does not model resolve to null (or fail, if GitHub declares them non-null): only what the
 * connector reads is implemented.
 */
interface OrganizationValue {
  kind: 'Organization';
  id: string;
  login: string;
  name: string;
  url: string;
}
interface UserValue {
  kind: 'User';
  id: string;
  login: string;
  name: string | null;
  email: string;
}
interface TeamValue {
  kind: 'Team';
  id: string;
  slug: string;
  name: string;
  combinedSlug: string;
  organization: OrganizationValue;
}
interface RepositoryValue {
  kind: 'Repository';
  id: string;
  name: string;
  nameWithOwner: string;
  isPrivate: boolean;
  visibility: 'PRIVATE' | 'PUBLIC';
  owner: OrganizationValue;
}
type GranterValue = OrganizationValue | TeamValue | RepositoryValue;

export interface GraphQLContext {
  state: GitHubState;
  baseUrl: string;
}

type Args = Record<string, unknown>;

function nodeId(type: string, id: number): string {
  return Buffer.from(`04:${type}${id}`).toString('base64');
}

function organizationValue({ state, baseUrl }: GraphQLContext): OrganizationValue {
  return {
    kind: 'Organization',
    id: nodeId('Organization', state.id),
    login: state.login,
    name: state.login,
    url: `${baseUrl}/${state.login}`,
  };
}

function userValue(context: GraphQLContext, login: string): UserValue {
  const user = findUser(context.state, login);
  return {
    kind: 'User',
    id: nodeId('User', user?.id ?? 0),
    login: user?.login ?? login,
    name: user?.name ?? null,
    // GitHub answers "" when the user keeps their email private.
    email: user?.email ?? '',
  };
}

function teamValue(context: GraphQLContext, team: SandboxTeam): TeamValue {
  return {
    kind: 'Team',
    id: nodeId('Team', team.id),
    slug: team.slug,
    name: team.name,
    combinedSlug: `${context.state.login}/${team.slug}`,
    organization: organizationValue(context),
  };
}

function repositoryValue(context: GraphQLContext, repository: SandboxRepository): RepositoryValue {
  return {
    kind: 'Repository',
    id: nodeId('Repository', repository.id),
    name: repository.name,
    nameWithOwner: `${context.state.login}/${repository.name}`,
    isPrivate: repository.private,
    visibility: repository.private ? 'PRIVATE' : 'PUBLIC',
    owner: organizationValue(context),
  };
}

/**
 * Arguments the sandbox does not implement fail loudly: silently ignoring a filter would hand the
 * caller more rows than GitHub would and hide a bug. Arguments with schema defaults are allowed.
 */
function rejectUnsupported(args: Args, supported: readonly string[], field: string): void {
  for (const [name, value] of Object.entries(args)) {
    if (value !== undefined && value !== null && !supported.includes(name)) {
      throw gitHubError(
        'SANDBOX_UNSUPPORTED',
        `The sandbox does not implement argument \`${name}\` of ${field}`,
      );
    }
  }
}

const PAGING = ['first', 'last', 'after', 'before'] as const;

function pagingOf(args: Args): ConnectionArgs {
  return {
    first: args.first as number | null | undefined,
    last: args.last as number | null | undefined,
    after: args.after as string | null | undefined,
    before: args.before as string | null | undefined,
  };
}

const upper = (permission: RepositoryPermission) => permission.toUpperCase();

/**
 * PermissionSource.permission is GitHub's DefaultRepositoryPermissionField (NONE/READ/WRITE/ADMIN):
 * triage and maintain fold into READ and WRITE there, as in REST's legacy `permission`; the exact
 * role is in `roleName`.
 */
function legacyPermission(permission: RepositoryPermission): 'READ' | 'WRITE' | 'ADMIN' {
  switch (permission) {
    case 'read':
    case 'triage':
      return 'READ';
    case 'write':
    case 'maintain':
      return 'WRITE';
    case 'admin':
      return 'ADMIN';
  }
}

function granterOf(
  context: GraphQLContext,
  source: PermissionSourceRecord,
  repository: SandboxRepository,
): GranterValue {
  switch (source.kind) {
    case 'organization':
      return organizationValue(context);
    case 'repository':
      return repositoryValue(context, repository);
    case 'team': {
      const team = findTeam(context.state, source.team);
      if (!team) throw new Error(`sandbox state lost team ${source.team}`);
      return teamValue(context, team);
    }
  }
}

/**
 * PermissionSource.roleName as GitHub reports it: the custom role's name for a collaborator given
 * one (its `permission` is then the legacy form of the role's base role), else the built-in role.
 */
function roleNameOf(repository: SandboxRepository, login: string, source: PermissionSourceRecord): string {
  if (source.kind !== 'repository') return source.permission;
  return repository.collaborators.get(login.toLowerCase())?.customRole ?? source.permission;
}

/** Teams whose parent is `team`; with `immediateOnly` false, their children too, to any depth. */
function childTeamsOf(state: GitHubState, team: SandboxTeam, immediateOnly: boolean): SandboxTeam[] {
  const found: SandboxTeam[] = [];
  const visit = (parent: SandboxTeam) => {
    for (const candidate of state.teams.values()) {
      // The guard stops a cycle in a hand-written scenario from looping (GitHub forbids cycles).
      if (candidate.parent !== parent.slug.toLowerCase() || found.includes(candidate)) continue;
      found.push(candidate);
      if (!immediateOnly) visit(candidate);
    }
  };
  visit(team);
  return found.sort((a, b) => compareKeys(a.slug, b.slug));
}

/** The team's parent, grandparent … up to the root, nearest first. */
function ancestorsOf(state: GitHubState, team: SandboxTeam): SandboxTeam[] {
  const found: SandboxTeam[] = [];
  let parent = team.parent ? findTeam(state, team.parent) : undefined;
  while (parent && !found.includes(parent)) {
    found.push(parent);
    parent = parent.parent ? findTeam(state, parent.parent) : undefined;
  }
  return found;
}

function teamConnection(context: GraphQLContext, teams: SandboxTeam[], args: Args, name: string) {
  const page = paginate(teams, (team) => team.slug, pagingOf(args), name);
  const edges = page.items.map(({ cursor, item }) => ({ cursor, node: teamValue(context, item) }));
  return {
    totalCount: page.totalCount,
    pageInfo: page.pageInfo,
    edges,
    nodes: edges.map((edge) => edge.node),
  };
}

function collaboratorsConnection(context: GraphQLContext, repository: SandboxRepository, args: Args) {
  rejectUnsupported(args, [...PAGING, 'affiliation', 'login'], 'Repository.collaborators');
  const { state } = context;
  const affiliation = (args.affiliation as string | null | undefined) ?? 'ALL';
  // DIRECT (members and outside collaborators with an entry of their own) and OUTSIDE are read
  // from the repository's own list: an organisation of thousands of members answers in its size.
  let logins =
    affiliation === 'ALL'
      ? usersWithAccess(state, repository)
      : [...repository.collaborators.values()]
          .map((collaborator) => collaborator.login)
          .filter((login) => affiliation === 'DIRECT' || !findMember(state, login))
          .sort(compareKeys);
  if (typeof args.login === 'string') {
    const wanted = args.login.toLowerCase();
    logins = logins.filter((login) => login.toLowerCase() === wanted);
  }
  const page = paginate(logins, (login) => login, pagingOf(args), 'collaborators');
  const edges = page.items.map(({ cursor, item: login }) => {
    const sources = permissionSources(state, login, repository);
    return {
      cursor,
      node: userValue(context, login),
      permission: upper(effectivePermission(sources) ?? 'read'),
      permissionSources: sources.map((source) => ({
        organization: organizationValue(context),
        permission: legacyPermission(source.permission),
        roleName: roleNameOf(repository, login, source),
        source: granterOf(context, source, repository),
      })),
    };
  });
  return {
    totalCount: page.totalCount,
    pageInfo: page.pageInfo,
    edges,
    nodes: edges.map((edge) => edge.node),
  };
}

function teamOf(context: GraphQLContext, value: TeamValue): SandboxTeam {
  const team = findTeam(context.state, value.slug);
  if (!team) throw gitHubError('NOT_FOUND', `Could not resolve to a Team with the slug of '${value.slug}'.`);
  return team;
}

function repositoryOf(context: GraphQLContext, value: RepositoryValue): SandboxRepository {
  const repository = findRepository(context.state, value.name);
  if (!repository) {
    throw gitHubError(
      'NOT_FOUND',
      `Could not resolve to a Repository with the name '${value.nameWithOwner}'.`,
    );
  }
  return repository;
}

const resolvers = {
  Query: {
    organization: (_: unknown, args: Args, context: GraphQLContext) => {
      const login = String(args.login);
      if (!isOrganization(context.state, login)) {
        throw gitHubError('NOT_FOUND', `Could not resolve to an Organization with the login of '${login}'.`);
      }
      return organizationValue(context);
    },
    repository: (_: unknown, args: Args, context: GraphQLContext) => {
      const owner = String(args.owner);
      const name = String(args.name);
      const repository = isOrganization(context.state, owner)
        ? findRepository(context.state, name)
        : undefined;
      if (!repository) {
        throw gitHubError('NOT_FOUND', `Could not resolve to a Repository with the name '${owner}/${name}'.`);
      }
      return repositoryValue(context, repository);
    },
  },
  Organization: {
    membersWithRole: (_: OrganizationValue, args: Args, context: GraphQLContext) => {
      rejectUnsupported(args, PAGING, 'Organization.membersWithRole');
      const members = [...context.state.members.values()].sort((a, b) => compareKeys(a.login, b.login));
      const page = paginate(members, (member) => member.login, pagingOf(args), 'membersWithRole');
      const edges = page.items.map(({ cursor, item }) => ({
        cursor,
        node: userValue(context, item.login),
        role: item.role === 'owner' ? 'ADMIN' : 'MEMBER',
        hasTwoFactorEnabled: null,
      }));
      return {
        totalCount: page.totalCount,
        pageInfo: page.pageInfo,
        edges,
        nodes: edges.map((edge) => edge.node),
      };
    },
    teams: (_: OrganizationValue, args: Args, context: GraphQLContext) => {
      // rootTeamsOnly has a schema default (false); with it, only teams without a parent are listed.
      const { rootTeamsOnly, ...rest } = args;
      rejectUnsupported(rest, [...PAGING, 'userLogins'], 'Organization.teams');
      let teams = [...context.state.teams.values()].sort((a, b) => compareKeys(a.slug, b.slug));
      if (rootTeamsOnly === true) teams = teams.filter((team) => !team.parent);
      if (Array.isArray(args.userLogins)) {
        // Teams the users are immediate members of: membership of a child team is not membership here.
        const logins = args.userLogins.map((login) => String(login).toLowerCase());
        teams = teams.filter((team) => logins.some((login) => team.members.has(login)));
      }
      return teamConnection(context, teams, args, 'teams');
    },
    team: (_: OrganizationValue, args: Args, context: GraphQLContext) => {
      const team = findTeam(context.state, String(args.slug));
      return team ? teamValue(context, team) : null;
    },
    repositories: (_: OrganizationValue, args: Args, context: GraphQLContext) => {
      // ownerAffiliations has a schema default; every repository here is owned by the org.
      const { ownerAffiliations: _owner, ...rest } = args;
      rejectUnsupported(rest, PAGING, 'Organization.repositories');
      const repositories = [...context.state.repositories.values()].sort((a, b) =>
        compareKeys(a.name, b.name),
      );
      const page = paginate(repositories, (repository) => repository.name, pagingOf(args), 'repositories');
      const edges = page.items.map(({ cursor, item }) => ({ cursor, node: repositoryValue(context, item) }));
      return {
        totalCount: page.totalCount,
        totalDiskUsage: 0,
        pageInfo: page.pageInfo,
        edges,
        nodes: edges.map((edge) => edge.node),
      };
    },
  },
  Team: {
    members: (parent: TeamValue, args: Args, context: GraphQLContext) => {
      const { membership, role, query, ...rest } = args;
      rejectUnsupported(rest, PAGING, 'Team.members');
      const team = teamOf(context, parent);
      // GitHub's default (ALL) counts members of child teams, at any depth, as members of the team.
      const immediate = [...team.members.values()];
      const inherited = new Map<string, { login: string; role: TeamRole }>();
      for (const child of childTeamsOf(context.state, team, false)) {
        for (const [login, member] of child.members) {
          if (!team.members.has(login) && !inherited.has(login)) {
            inherited.set(login, { login: member.login, role: 'member' });
          }
        }
      }
      let members =
        membership === 'IMMEDIATE'
          ? immediate
          : membership === 'CHILD_TEAM'
            ? [...inherited.values()]
            : [...immediate, ...inherited.values()];
      if (typeof query === 'string' && query !== '') {
        const wanted = query.toLowerCase();
        members = members.filter((member) => member.login.toLowerCase().includes(wanted));
      }
      if (role === 'MAINTAINER' || role === 'MEMBER') {
        members = members.filter((member) => member.role.toUpperCase() === role);
      }
      members.sort((a, b) => compareKeys(a.login, b.login));
      const page = paginate(members, (member) => member.login, pagingOf(args), 'members');
      const edges = page.items.map(({ cursor, item }) => ({
        cursor,
        node: userValue(context, item.login),
        role: item.role === 'maintainer' ? 'MAINTAINER' : 'MEMBER',
        memberAccessResourcePath: `/orgs/${context.state.login}/teams/${team.slug}/members`,
        memberAccessUrl: `${context.baseUrl}/orgs/${context.state.login}/teams/${team.slug}/members`,
      }));
      return {
        totalCount: page.totalCount,
        pageInfo: page.pageInfo,
        edges,
        nodes: edges.map((edge) => edge.node),
      };
    },
    repositories: (parent: TeamValue, args: Args, context: GraphQLContext) => {
      rejectUnsupported(args, [...PAGING, 'query'], 'Team.repositories');
      const team = teamOf(context, parent);
      // `query` searches repository names; GitHub matches parts of names, so callers filter exactly.
      const wanted = typeof args.query === 'string' ? args.query.toLowerCase() : '';
      const granted = [...team.repositories.entries()]
        .map(([name, permission]) => ({ repository: findRepository(context.state, name), permission }))
        .filter(
          (entry): entry is { repository: SandboxRepository; permission: RepositoryPermission } =>
            entry.repository?.name.toLowerCase().includes(wanted) === true,
        )
        .sort((a, b) => compareKeys(a.repository.name, b.repository.name));
      const page = paginate(granted, (entry) => entry.repository.name, pagingOf(args), 'repositories');
      const edges = page.items.map(({ cursor, item }) => ({
        cursor,
        node: repositoryValue(context, item.repository),
        permission: upper(item.permission),
      }));
      return {
        totalCount: page.totalCount,
        pageInfo: page.pageInfo,
        edges,
        nodes: edges.map((edge) => edge.node),
      };
    },
    parentTeam: (parent: TeamValue, _args: Args, context: GraphQLContext) => {
      const team = teamOf(context, parent);
      const parentTeam = team.parent ? findTeam(context.state, team.parent) : undefined;
      return parentTeam ? teamValue(context, parentTeam) : null;
    },
    childTeams: (parent: TeamValue, args: Args, context: GraphQLContext) => {
      const { immediateOnly, ...rest } = args;
      rejectUnsupported(rest, PAGING, 'Team.childTeams');
      const team = teamOf(context, parent);
      // immediateOnly defaults to true in GitHub's schema.
      return teamConnection(
        context,
        childTeamsOf(context.state, team, immediateOnly !== false),
        args,
        'childTeams',
      );
    },
    ancestors: (parent: TeamValue, args: Args, context: GraphQLContext) => {
      rejectUnsupported(args, PAGING, 'Team.ancestors');
      return teamConnection(context, ancestorsOf(context.state, teamOf(context, parent)), args, 'ancestors');
    },
  },
  Repository: {
    collaborators: (parent: RepositoryValue, args: Args, context: GraphQLContext) =>
      collaboratorsConnection(context, repositoryOf(context, parent), args),
    defaultBranchRef: (parent: RepositoryValue, _args: Args, context: GraphQLContext) => {
      const repository = repositoryOf(context, parent);
      return {
        id: nodeId('Ref', repository.id),
        name: repository.defaultBranch,
        prefix: 'refs/heads/',
      };
    },
    // The sandbox's token acts as an organisation owner: it administers every repository.
    viewerPermission: () => 'ADMIN',
    // The CI/CD records of a repository, as far as the connector reads them here: how many there
    // are (it reads their details over REST), and each one's identity.
    branchProtectionRules: (parent: RepositoryValue, args: Args, context: GraphQLContext) => {
      rejectUnsupported(args, PAGING, 'Repository.branchProtectionRules');
      const rules = [...(repositoryCicd(context.state, parent.name)?.branchProtection.values() ?? [])];
      return recordConnection(
        rules,
        (rule) => rule.branch,
        args,
        'branchProtectionRules',
        (rule) => ({
          id: Buffer.from(`04:BranchProtectionRule${parent.nameWithOwner}:${rule.branch}`).toString('base64'),
          pattern: rule.branch,
          requiredApprovingReviewCount: rule.requiredApprovals,
          isAdminEnforced: rule.enforceAdmins,
        }),
      );
    },
    rulesets: (parent: RepositoryValue, args: Args, context: GraphQLContext) => {
      const { includeParents, ...rest } = args;
      rejectUnsupported(rest, PAGING, 'Repository.rulesets');
      const own = [...(repositoryCicd(context.state, parent.name)?.rulesets.values() ?? [])];
      const inherited =
        includeParents === false
          ? []
          : [...context.state.cicd.rulesets.values()].filter((ruleset) =>
              (ruleset.repositories ?? ['~ALL']).some(
                (pattern) => pattern === '~ALL' || pattern.toLowerCase() === parent.name.toLowerCase(),
              ),
            );
      return recordConnection(
        [...own, ...inherited],
        (ruleset) => String(ruleset.id).padStart(12, '0'),
        args,
        'rulesets',
        (ruleset) => ({
          id: nodeId('RepositoryRuleset', ruleset.id),
          databaseId: ruleset.id,
          name: ruleset.name,
          enforcement: ruleset.enforcement.toUpperCase(),
        }),
      );
    },
    environments: (parent: RepositoryValue, args: Args, context: GraphQLContext) => {
      // orderBy and pinnedEnvironmentFilter have schema defaults; the sandbox orders by name either way.
      const { orderBy: _orderBy, pinnedEnvironmentFilter: _pinned, names, ...rest } = args;
      rejectUnsupported(rest, PAGING, 'Repository.environments');
      // `names` defaults to an empty list, which means every environment.
      const wanted = Array.isArray(names) && names.length > 0 ? new Set(names.map(String)) : undefined;
      const environments = [
        ...(repositoryCicd(context.state, parent.name)?.environments.values() ?? []),
      ].filter((environment) => !wanted || wanted.has(environment.name));
      return recordConnection(
        environments,
        (environment) => environment.name,
        args,
        'environments',
        (environment) => ({
          id: nodeId('Environment', environment.id),
          databaseId: environment.id,
          name: environment.name,
        }),
      );
    },
    deployKeys: (parent: RepositoryValue, args: Args, context: GraphQLContext) => {
      rejectUnsupported(args, PAGING, 'Repository.deployKeys');
      const keys = [...(repositoryCicd(context.state, parent.name)?.deployKeys.values() ?? [])];
      return recordConnection(
        keys,
        (key) => String(key.id).padStart(12, '0'),
        args,
        'deployKeys',
        (key) => ({
          id: nodeId('DeployKey', key.id),
          title: key.title,
          readOnly: key.readOnly,
          createdAt: key.createdAt,
          key: key.key,
          verified: true,
        }),
      );
    },
  },
  PermissionGranter: {
    __resolveType: (value: GranterValue) => value.kind,
  },
  RepositoryOwner: {
    __resolveType: (value: OrganizationValue | UserValue) => value.kind,
  },
};

/** A connection over a repository's records, paged like every GitHub connection, with totalCount. */
function recordConnection<T>(
  records: T[],
  sortKey: (record: T) => string,
  args: Args,
  name: string,
  node: (record: T) => Record<string, unknown>,
) {
  const sorted = [...records].sort((a, b) => compareKeys(sortKey(a), sortKey(b)));
  const page = paginate(sorted, sortKey, pagingOf(args), name);
  const edges = page.items.map(({ cursor, item }) => ({ cursor, node: node(item) }));
  return {
    totalCount: page.totalCount,
    pageInfo: page.pageInfo,
    edges,
    nodes: edges.map((edge) => edge.node),
  };
}

let executable: GraphQLSchema | undefined;

/** GitHub's real schema with the sandbox's resolvers attached; built once per process. */
export function sandboxSchema(): GraphQLSchema {
  executable ??= graphqlTools.addResolversToSchema({ schema: gitHubSchema(), resolvers });
  return executable;
}

/** A GraphQL error as GitHub prints it: `type` at the top level, GitHub's own wording. */
export interface GitHubGraphQLError {
  message: string;
  type?: string;
  path?: ReadonlyArray<string | number>;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  extensions?: Record<string, unknown>;
}

export interface GraphQLResponse {
  data?: Record<string, unknown> | null;
  errors?: GitHubGraphQLError[];
}

/** The answer and what GitHub charges for it: a call that does not parse or validate costs 1 point. */
export interface GraphQLExecution {
  response: GraphQLResponse;
  points: number;
}

const CANNOT_QUERY = /^Cannot query field "([^"]+)" on type "([^"]+)"\./;

function toGitHubError(error: GraphQLError): GitHubGraphQLError {
  const out: GitHubGraphQLError = { message: error.message };
  const undefinedField = CANNOT_QUERY.exec(error.message);
  if (undefinedField) {
    const [, fieldName, typeName] = undefinedField;
    out.message = `Field '${fieldName}' doesn't exist on type '${typeName}'`;
    out.extensions = { code: 'undefinedField', typeName, fieldName };
  }
  const type = error.extensions?.type;
  if (typeof type === 'string') out.type = type;
  if (error.path) out.path = error.path;
  if (error.locations) out.locations = error.locations.map(({ line, column }) => ({ line, column }));
  return out;
}

/* GitHub checks paging bounds before running anything, so such a query returns no data at all. */
const STATIC_ERROR_TYPES = new Set([
  'MISSING_PAGINATION_BOUNDARIES',
  'EXCESSIVE_PAGINATION',
  'INVALID_PAGINATION',
]);

/**
 * Runs one GraphQL request against the sandbox state. Like GitHub, every GraphQL-level problem
 * (syntax, unknown field, bad variables, not found) is an HTTP 200 whose body holds `errors`.
 */
export async function executeGraphQL(
  context: GraphQLContext,
  request: { query?: unknown; variables?: unknown; operationName?: unknown },
): Promise<GraphQLExecution> {
  if (typeof request.query !== 'string' || request.query.trim() === '') {
    return {
      response: { errors: [{ message: 'A query attribute must be specified and must be a string.' }] },
      points: 1,
    };
  }
  const schema = sandboxSchema();
  let document: DocumentNode;
  try {
    document = graphql.parse(new graphql.Source(request.query, 'GraphQL request'));
  } catch (error) {
    return { response: { errors: [toGitHubError(error as GraphQLError)] }, points: 1 };
  }
  const problems = graphql.validate(schema, document);
  if (problems.length > 0) return { response: { errors: problems.map(toGitHubError) }, points: 1 };
  const variables =
    typeof request.variables === 'object' && request.variables !== null && !Array.isArray(request.variables)
      ? (request.variables as Record<string, unknown>)
      : undefined;
  const operationName = typeof request.operationName === 'string' ? request.operationName : undefined;
  const points = graphQLPoints(document, variables, operationName);
  const result = await graphql.execute({
    schema,
    document,
    contextValue: context,
    variableValues: variables,
    operationName,
  });
  const errors = result.errors?.map(toGitHubError);
  if (errors?.some((error) => error.type !== undefined && STATIC_ERROR_TYPES.has(error.type))) {
    return { response: { errors }, points: 1 };
  }
  return {
    response: errors ? { data: result.data ?? null, errors } : { data: result.data ?? null },
    points,
  };
}
