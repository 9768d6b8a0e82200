import {
  permissionRank,
  REPOSITORY_PERMISSIONS,
  type RepositoryPermission,
  type Via,
  viaLabel,
} from '../../core/grant';

/**
 * Who can use which repository, worked out from the facts GitHub keeps rather than read from
 * GitHub once per member and repository: the organisation's base permission, who is a member or
 * an owner, each team's immediate members, parent and repository access, and each repository's
 * direct collaborators (members and outside collaborators). GitHub's own rules, applied here:
 * an owner administers every repository; every member has the base permission on every
 * repository; a team's members (and the members of its child teams, at any depth) have the
 * team's permission; a direct collaborator has their own. The strongest path wins.
 *
 * Pure: no GitHub call. The snapshot fills the facts once (a page of repositories at a time for
 * the direct collaborators); "what can alice reach" and the separation-of-duties finding ask it.
 */
export interface AccessFacts {
  organization: string;
  /** The organisation's base repository permission (`none`: members get nothing from it). */
  basePermission: RepositoryPermission | 'none';
  /** Lower-cased login → the member's login and role. */
  members: ReadonlyMap<string, { login: string; role: 'owner' | 'member' }>;
  /** Lower-cased slug → the team. */
  teams: ReadonlyMap<string, TeamFacts>;
  /** Lower-cased repository name → lower-cased login → the direct collaborator's entry. */
  directCollaborators: ReadonlyMap<string, ReadonlyMap<string, DirectCollaborator>>;
}

export interface TeamFacts {
  slug: string;
  /** Lower-cased slug of the parent team, if any. */
  parent?: string;
  /** Lower-cased logins of the immediate members. */
  members: ReadonlySet<string>;
  /** Lower-cased repository name → the team's permission on it. */
  repositories: ReadonlyMap<string, RepositoryPermission>;
}

export interface DirectCollaborator {
  login: string;
  /** The built-in role the entry amounts to (a custom role's base role). */
  permission: RepositoryPermission;
  /** What the entry says: the built-in role, or a custom role's name. */
  entitlement: string;
}

/** One way a person reaches a repository, with what it gives. */
export interface AccessPathOf {
  via: Via;
  /** The built-in role this path amounts to (compare with this). */
  permission: RepositoryPermission;
  /** What the path says: the built-in role, or a custom role's name. */
  entitlement: string;
}

/** A repository someone can use: the strongest permission and every path to it. */
export interface Reach {
  repository: string;
  permission: RepositoryPermission;
  paths: AccessPathOf[];
}

/**
 * Teams a login is an immediate member of, per lower-cased login, built once per facts object
 * (a WeakMap, so facts stay plain data anyone can build).
 */
const teamsByLogin = new WeakMap<AccessFacts, Map<string, string[]>>();

function teamsOf(facts: AccessFacts, login: string): string[] {
  let index = teamsByLogin.get(facts);
  if (!index) {
    index = new Map();
    for (const [slug, team] of facts.teams) {
      for (const member of team.members) index.set(member, [...(index.get(member) ?? []), slug]);
    }
    teamsByLogin.set(facts, index);
  }
  return index.get(login.toLowerCase()) ?? [];
}

/** The team's ancestors, nearest first; a (broken) cycle stops the walk. */
function ancestorsOf(facts: AccessFacts, slug: string): string[] {
  const found: string[] = [];
  let parent = facts.teams.get(slug)?.parent;
  while (parent !== undefined && parent !== slug && !found.includes(parent)) {
    found.push(parent);
    parent = facts.teams.get(parent)?.parent;
  }
  return found;
}

/**
 * Every path by which `login` can use `repository`, in a stable order: the organisation (an
 * owner's admin, or a member's base permission), a direct entry, then teams (the team itself,
 * then each ancestor `through` it).
 */
export function accessPaths(facts: AccessFacts, login: string, repository: string): AccessPathOf[] {
  const who = login.toLowerCase();
  const name = repository.toLowerCase();
  const org = facts.organization;
  const paths: AccessPathOf[] = [];
  const member = facts.members.get(who);
  const base: Via = { kind: 'organization_base', organization: org };
  if (member?.role === 'owner') {
    paths.push({ via: base, permission: 'admin', entitlement: 'admin' });
  } else if (member && facts.basePermission !== 'none') {
    paths.push({ via: base, permission: facts.basePermission, entitlement: facts.basePermission });
  }
  const direct = facts.directCollaborators.get(name)?.get(who);
  if (direct) {
    paths.push({ via: { kind: 'direct' }, permission: direct.permission, entitlement: direct.entitlement });
  }
  for (const slug of [...teamsOf(facts, who)].sort()) {
    const team = facts.teams.get(slug);
    if (!team) continue;
    const own = team.repositories.get(name);
    if (own)
      paths.push({ via: { kind: 'team', team: `${org}/${team.slug}` }, permission: own, entitlement: own });
    for (const ancestor of ancestorsOf(facts, slug)) {
      const parent = facts.teams.get(ancestor);
      const inherited = parent?.repositories.get(name);
      if (!parent || !inherited) continue;
      paths.push({
        via: { kind: 'team', team: `${org}/${parent.slug}`, through: `${org}/${team.slug}` },
        permission: inherited,
        entitlement: inherited,
      });
    }
  }
  return paths;
}

/** The strongest permission among the paths, or undefined when there is none. */
export function strongestPermission(paths: readonly AccessPathOf[]): RepositoryPermission | undefined {
  let best = -1;
  for (const path of paths) best = Math.max(best, permissionRank(path.permission));
  return best >= 0 ? REPOSITORY_PERMISSIONS[best] : undefined;
}

/** What `login` can use among `repositories` (names), each with its strongest permission and paths. */
export function reachOf(facts: AccessFacts, login: string, repositories: Iterable<string>): Reach[] {
  const reach: Reach[] = [];
  for (const repository of repositories) {
    const paths = accessPaths(facts, login, repository);
    const permission = strongestPermission(paths);
    if (permission) reach.push({ repository: `${facts.organization}/${repository}`, permission, paths });
  }
  return reach;
}

/** `team:acme/platform (through acme/sre)`: a path as checks and the evidence write it. */
export function pathLabel(path: AccessPathOf): string {
  return viaLabel(path.via);
}
