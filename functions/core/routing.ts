import type { AccessReviewConfig } from './config';
import {
  accountOfArn,
  comparablePermission,
  type Grant,
  organizationOfResource,
  permissionAtLeast,
  permissionRank,
  repositoryOfResource,
} from './grant';

/**
 * Who holds what through teams and roles, read from the snapshot itself: team membership grants,
 * owner grants, and users' repository permissions (so a role bypass actor reaches its people).
 */
export interface TeamDirectory {
  /** `org/slug` → logins of members and maintainers. */
  members: Map<string, Set<string>>;
  /** `org/slug` → logins of maintainers, sorted. */
  maintainers: Map<string, string[]>;
  /** Logins of organisation owners (the `organization_admin` role). */
  owners?: Set<string>;
  /** Lower-cased `org/repo` → login → the strongest permission they hold on it, by any path. */
  repositoryPermissions?: Map<string, Map<string, string>>;
  /** Lower-cased `org/repo` → login → custom role names held there. */
  customRoles?: Map<string, Map<string, Set<string>>>;
  /** IAM role ARN → the GitHub OIDC subjects its trust policy admits (from oidc_role_trust grants). */
  trustedSubjects?: Map<string, string[]>;
  /** Lower-cased logins of organisation members (their `member` grants). */
  organizationMembers?: Set<string>;
  /**
   * The organisation's base permission (its `organization_base_permission` grant): every member
   * holds it on every repository, without a row per repository.
   */
  basePermission?: string;
}

export interface Route {
  reviewer: string | undefined;
  /** Why this reviewer, or why nobody: shown to the reviewer and kept in the evidence. */
  reason: string;
}

export function teamDirectoryOf(grants: Iterable<Grant>): TeamDirectory {
  const members = new Map<string, Set<string>>();
  const maintainers = new Map<string, string[]>();
  const owners = new Set<string>();
  const repositoryPermissions = new Map<string, Map<string, string>>();
  const customRoles = new Map<string, Map<string, Set<string>>>();
  const parents = new Map<string, string>();
  const trustedSubjects = new Map<string, string[]>();
  const organizationMembers = new Set<string>();
  let basePermission: string | undefined;
  for (const grant of grants) {
    if (grant.grantKind === 'organization_membership' && grant.entitlement === 'member') {
      organizationMembers.add(grant.principal.toLowerCase());
    }
    if (grant.grantKind === 'organization_base_permission') basePermission = grant.entitlement;
    if (grant.grantKind === 'oidc_role_trust') {
      trustedSubjects.set(grant.resource, [...(trustedSubjects.get(grant.resource) ?? []), grant.principal]);
    }
    if (grant.grantKind === 'organization_membership' && grant.entitlement === 'owner') {
      owners.add(grant.principal.toLowerCase());
    }
    if (grant.grantKind === 'user_repository') {
      const repository = grant.resource.toLowerCase();
      const held = repositoryPermissions.get(repository) ?? new Map<string, string>();
      const login = grant.principal.toLowerCase();
      // A custom role compares as its base role; its name is kept too, for bypass actors naming it.
      const comparable = comparablePermission(grant);
      const before = held.get(login);
      if (comparable && (before === undefined || permissionRank(comparable) > permissionRank(before))) {
        held.set(login, comparable);
      }
      if (comparable !== grant.entitlement) {
        const names = customRoles.get(repository) ?? new Map<string, Set<string>>();
        names.set(login, (names.get(login) ?? new Set()).add(grant.entitlement.toLowerCase()));
        customRoles.set(repository, names);
      }
      repositoryPermissions.set(repository, held);
    }
    if (grant.grantKind === 'team_membership' && typeof grant.raw.parentTeam === 'string') {
      parents.set(grant.resource.toLowerCase(), grant.raw.parentTeam.toLowerCase());
    }
    if (grant.resourceType !== 'team' || grant.principalType !== 'user') continue;
    const team = grant.resource.toLowerCase();
    const login = grant.principal.toLowerCase();
    if (!members.has(team)) members.set(team, new Set());
    members.get(team)?.add(login);
    if (grant.entitlement === 'maintainer')
      maintainers.set(team, [...(maintainers.get(team) ?? []), login].sort());
  }
  return {
    members: withChildTeamMembers(members, parents),
    maintainers,
    owners,
    repositoryPermissions,
    customRoles,
    trustedSubjects,
    organizationMembers,
    ...(basePermission ? { basePermission } : {}),
  };
}

/**
 * People who hold at least `wanted` on every repository through the organisation: owners (admin
 * everywhere) and, when the base permission is that high, every member.
 */
function organizationWide(teams: TeamDirectory, wanted: string): string[] {
  const people = new Set(teams.owners ?? []);
  if (teams.basePermission && permissionAtLeast(teams.basePermission, wanted)) {
    for (const login of teams.organizationMembers ?? []) people.add(login);
  }
  return [...people];
}

/**
 * Team → logins, with every child team's (and grandchild's) members added to its ancestors: GitHub
 * gives a child team's members the parent team's access. Keys are lower-cased `org/slug`;
 * `parents` maps a team to its parent. The maps given are not changed.
 */
export function withChildTeamMembers(
  members: ReadonlyMap<string, ReadonlySet<string>>,
  parents: ReadonlyMap<string, string>,
): Map<string, Set<string>> {
  const expanded = new Map([...members].map(([team, logins]) => [team, new Set(logins)] as const));
  for (const [team, logins] of members) {
    const seen = new Set([team]);
    for (let parent = parents.get(team); parent && !seen.has(parent); parent = parents.get(parent)) {
      seen.add(parent);
      const inherited = expanded.get(parent) ?? new Set<string>();
      for (const login of logins) inherited.add(login);
      expanded.set(parent, inherited);
    }
  }
  return expanded;
}

/**
 * The people a role bypass actor stands for: `organization_admin` is every owner; a repository
 * role is everyone holding at least that role on the ruleset's repository (or, for an org
 * ruleset, on any repository). A custom role counts only for those holding it by name.
 */
function peopleInRole(grant: Grant, teams: TeamDirectory): string[] {
  if (grant.principal === 'organization_admin') return [...(teams.owners ?? [])];
  const repository = repositoryOfResource(grant)?.toLowerCase();
  const tables = repository
    ? [teams.repositoryPermissions?.get(repository) ?? new Map<string, string>()]
    : [...(teams.repositoryPermissions?.values() ?? [])];
  const wanted = grant.principal.toLowerCase();
  const people: string[] = [];
  if (permissionRank(wanted) >= 0) {
    for (const table of tables) {
      for (const [login, held] of table) if (permissionAtLeast(held, wanted)) people.push(login);
    }
    return [...new Set([...people, ...organizationWide(teams, wanted)])];
  }
  const named = repository
    ? [teams.customRoles?.get(repository) ?? new Map<string, Set<string>>()]
    : [...(teams.customRoles?.values() ?? [])];
  for (const table of named) {
    for (const [login, roles] of table) if (roles.has(wanted)) people.push(login);
  }
  return people;
}

/**
 * Everyone who benefits from the grant: the user, every member of the team that holds it, and the
 * person behind a principal that is not a login (a token's owner, an invitee).
 */
export function holdersOf(grant: Grant, teams: TeamDirectory): Set<string> {
  const holders = new Set<string>();
  if (grant.principalType === 'user' || grant.principalType === 'invitee') {
    holders.add(grant.principal.toLowerCase());
  } else if (grant.principalType === 'team') {
    for (const login of teams.members.get(grant.principal.toLowerCase()) ?? []) holders.add(login);
  } else if (grant.grantKind === 'organization_base_permission') {
    // Every member benefits from the base permission, except owners, whose admin does not come from it.
    for (const login of teams.organizationMembers ?? []) {
      if (!teams.owners?.has(login)) holders.add(login);
    }
  } else if (grant.principalType === 'role') {
    for (const login of peopleInRole(grant, teams)) holders.add(login);
  }
  if (grant.holder) holders.add(grant.holder.toLowerCase());
  if (grant.principalType === 'oidc_subject') {
    for (const login of writersOfSubject(grant.principal, teams)) holders.add(login);
  }
  // A role GitHub workflows can assume acts for everyone who can push to a repository it trusts.
  if (grant.principalType === 'iam_role') {
    for (const subject of teams.trustedSubjects?.get(grant.principal) ?? []) {
      for (const login of writersOfSubject(subject, teams)) holders.add(login);
    }
  }
  return holders;
}

/**
 * People who act as an IAM principal, from `people[].aws`: an IAM user or role ARN, or an
 * assumed-role session ARN (which stands for its role). Keys are `<account>:user/<name>` or
 * `<account>:role/<name>`, lower-cased and without the IAM path, as IAM names are unique per
 * account regardless of case and path.
 */
export function awsIdentityKey(arn: string): string | undefined {
  const [prefix, , service, , account, ...rest] = arn.split(':');
  if (prefix !== 'arn' || !account || !/^\d{12}$/.test(account)) return undefined;
  const [type, ...segments] = rest.join(':').split('/');
  if (service === 'sts' && type === 'assumed-role' && segments.length === 2) {
    return `${account}:role/${(segments[0] ?? '').toLowerCase()}`;
  }
  const name = segments.at(-1);
  if (service !== 'iam' || (type !== 'user' && type !== 'role') || !name) return undefined;
  return `${account}:${type}/${name.toLowerCase()}`;
}

function awsHolders(grant: Grant, config: AccessReviewConfig): string[] {
  if (grant.principalType !== 'iam_user' && grant.principalType !== 'iam_role') return [];
  const key = awsIdentityKey(grant.principal);
  if (!key) return [];
  return config.people
    .filter((person) => person.aws.some((arn) => awsIdentityKey(arn) === key))
    .map((person) => person.github.toLowerCase());
}

/**
 * Everyone who can push to a repository a GitHub OIDC subject pattern covers
 * (`repo:acme/api:environment:production`, `repo:acme/*`, `*`): they can run a workflow that
 * assumes the role, so they benefit from the trust under review.
 */
function writersOfSubject(subject: string, teams: TeamDirectory): string[] {
  const repository = /^repo:([^:]+)/.exec(subject)?.[1];
  const pattern = globToRegExp(repository ?? '*');
  const people = new Set<string>();
  let coversRepository = false;
  for (const [name, table] of teams.repositoryPermissions ?? []) {
    if (!pattern.test(name)) continue;
    coversRepository = true;
    for (const [login, held] of table) if (permissionAtLeast(held, 'write')) people.add(login);
  }
  // Owners (and every member, with a base permission of write or more) can push to any of them.
  if (coversRepository) for (const login of organizationWide(teams, 'write')) people.add(login);
  return [...people];
}

/** IAM StringLike semantics: `*` any run of characters, `?` one; case-insensitive like GitHub names. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * Where an owner is looked for, nearest first: the resource itself, then the repository it belongs
 * to (an environment, a branch, a repository ruleset, an environment secret), then, for
 * organisation-wide CI/CD resources (org secrets, variables, runner groups, org rulesets, apps,
 * tokens), the organisation. An AWS secret: its ARN, then the longest configured name prefix in
 * its account, then the account; an IAM role: its ARN, then the account.
 */
function ownerScopes(
  grant: Grant,
  config: AccessReviewConfig,
): Array<{ resourceType: string; resource: string }> {
  const scopes = [{ resourceType: grant.resourceType as string, resource: grant.resource }];
  if (grant.connector === 'aws') {
    const account = accountOfArn(grant.resource);
    if (grant.resourceType === 'aws_secret' && account) {
      const name =
        typeof grant.raw.secretName === 'string' ? grant.raw.secretName : secretNameOfArn(grant.resource);
      const prefix = config.routing.owners
        .filter(
          (rule) =>
            rule.resourceType === 'aws_secret_prefix' &&
            rule.resource.startsWith(`${account}:`) &&
            name.startsWith(rule.resource.slice(account.length + 1)),
        )
        .sort((a, b) => b.resource.length - a.resource.length)[0];
      if (prefix) scopes.push({ resourceType: 'aws_secret_prefix', resource: prefix.resource });
    }
    if (account) scopes.push({ resourceType: 'aws_account', resource: account });
    return scopes;
  }
  const repository = repositoryOfResource(grant);
  if (repository && grant.resourceType !== 'repository') {
    scopes.push({ resourceType: 'repository', resource: repository });
  }
  if (!repository && grant.resourceType !== 'organization' && grant.resourceType !== 'team') {
    scopes.push({ resourceType: 'organization', resource: organizationOfResource(grant.resource) });
  }
  return scopes;
}

/** `prod/db` of `arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf` (AWS adds six characters). */
function secretNameOfArn(arn: string): string {
  const name = arn.split(':secret:')[1] ?? '';
  return /-[A-Za-z0-9]{6}$/.test(name) ? name.slice(0, -7) : name;
}

/**
 * Lower-cased GitHub login → the Slack user id `users.lookupByEmail` found for their email. Two
 * logins with one Slack user id are one person: two emails can be aliases of one Slack account,
 * and whoever clicks in Slack is known only by that id.
 */
export type SlackIdentities = ReadonlyMap<string, string>;

export const CASE_SENSITIVE_OWNER_TYPES: ReadonlySet<string> = new Set(['aws_secret', 'aws_secret_prefix']);

interface Candidate {
  login: string;
  role: string;
}

/**
 * Everyone who benefits from the grant (see holdersOf), and the people configured as acting as
 * its IAM principal (`people[].aws`). Lower-cased logins.
 */
export function allHoldersOf(grant: Grant, config: AccessReviewConfig, teams: TeamDirectory): Set<string> {
  const holders = holdersOf(grant, teams);
  for (const login of awsHolders(grant, config)) holders.add(login);
  return holders;
}

/**
 * Who may be asked about a grant, in the order they are tried: the configured owner of its
 * resource (nearest scope first), then (for team memberships) the team's maintainers, then the
 * fallback reviewers. `preferred` counts the owner and maintainers.
 */
export function candidatesFor(
  grant: Grant,
  config: AccessReviewConfig,
  teams: TeamDirectory,
): { candidates: Candidate[]; preferred: number } {
  const candidates: Candidate[] = [];
  for (const scope of ownerScopes(grant, config)) {
    const owner = config.routing.owners.find(
      (rule) =>
        rule.resourceType === scope.resourceType &&
        // GitHub and IAM names ignore case; Secrets Manager names do not (`Prod/` and `prod/` differ).
        (CASE_SENSITIVE_OWNER_TYPES.has(scope.resourceType)
          ? rule.resource === scope.resource
          : rule.resource.toLowerCase() === scope.resource.toLowerCase()),
    );
    if (owner) {
      candidates.push({ login: owner.reviewer, role: `owner of ${scope.resourceType} ${scope.resource}` });
      break;
    }
  }
  if (grant.grantKind === 'organization_base_permission' && candidates.length === 0) {
    // The base permission is a setting only owners can change: they vouch for it.
    for (const owner of [...(teams.owners ?? [])].sort()) {
      candidates.push({ login: owner, role: `owner of organization ${grant.resource}` });
    }
  }
  if (config.routing.teamMaintainersReview && grant.resourceType === 'team') {
    for (const maintainer of teams.maintainers.get(grant.resource.toLowerCase()) ?? []) {
      candidates.push({ login: maintainer, role: `maintainer of team ${grant.resource}` });
    }
  }
  const preferred = candidates.length;
  for (const fallback of config.routing.fallbackReviewers) {
    candidates.push({ login: fallback, role: 'fallback reviewer' });
  }
  return { candidates, preferred };
}

/**
 * A holder of the grant who is the same Slack user as `login` under another login (first in
 * login order, so the reason reads the same every run), or undefined.
 */
function holderAlias(
  login: string,
  holders: ReadonlySet<string>,
  identities: SlackIdentities,
): string | undefined {
  const slackUserId = identities.get(login);
  if (slackUserId === undefined) return undefined;
  return [...identities]
    .filter(([other, id]) => id === slackUserId && other !== login && holders.has(other))
    .map(([other]) => other)
    .sort()[0];
}

/**
 * Picks the person who vouches for a grant: the configured owner of the resource, else (for team
 * memberships) the team's maintainers, else the fallback reviewers in order. Nobody reviews access
 * they hold, directly or through a team, nor access another login of theirs holds (the same Slack
 * user in `identities`); such a candidate is passed over and the reason says so.
 */
export function routeGrant(
  grant: Grant,
  config: AccessReviewConfig,
  teams: TeamDirectory,
  identities: SlackIdentities = new Map(),
): Route {
  const reachable = new Set(config.people.map((person) => person.github.toLowerCase()));
  const holders = allHoldersOf(grant, config, teams);
  const { candidates, preferred } = candidatesFor(grant, config, teams);

  const passedOver: string[] = [];
  const considered = new Set<string>();
  for (const [index, candidate] of candidates.entries()) {
    const login = candidate.login.toLowerCase();
    // Someone listed twice (owner and fallback, say) is passed over once, with the first reason.
    if (considered.has(login)) continue;
    considered.add(login);
    if (holders.has(login)) {
      passedOver.push(
        grant.principalType === 'team'
          ? `${candidate.login} (${candidate.role}) is in team ${grant.principal}, which holds this access`
          : grant.principalType === 'role'
            ? `${candidate.login} (${candidate.role}) has role ${grant.principal}, which holds this access`
            : grant.principalType === 'oidc_subject'
              ? `${candidate.login} (${candidate.role}) can push to a repository subject ${grant.principal} covers`
              : grant.principalType === 'iam_user' || grant.principalType === 'iam_role'
                ? `${candidate.login} (${candidate.role}) acts as ${grant.principal}${
                    teams.trustedSubjects?.has(grant.principal)
                      ? ', or can push to a repository it trusts through GitHub OIDC'
                      : ''
                  }`
                : `${candidate.login} (${candidate.role}) holds this access`,
      );
      continue;
    }
    const alias = holderAlias(login, holders, identities);
    if (alias) {
      passedOver.push(
        `${candidate.login} (${candidate.role}) is the same Slack user as ${alias}, who holds this access`,
      );
      continue;
    }
    if (!reachable.has(login)) {
      passedOver.push(
        `${candidate.login} (${candidate.role}) is not listed in people, so cannot be reached in Slack`,
      );
      continue;
    }
    const notes = index >= preferred && preferred === 0 ? [`no owner configured for ${grant.resource}`] : [];
    notes.push(...passedOver);
    return {
      reviewer: login,
      reason: notes.length > 0 ? `${candidate.role}: ${notes.join('; ')}` : candidate.role,
    };
  }
  return {
    reviewer: undefined,
    reason: `no eligible reviewer: ${passedOver.join('; ') || 'no owner and no fallback configured'}`,
  };
}
