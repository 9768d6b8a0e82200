import { ConnectorError } from '../../core/errors';
import { type Grant, makeGrant } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import { type GitHubAccessKind, mayHave, type RepositoryInfo, type SnapshotIndex } from './access-kind';
import { type GitHubContext, now, runRest } from './context';
import { gitHubFailure, statusOf } from './errors';
import { rulesetBypassKey, rulesetResource } from './keys';

/*
 * Ruleset bypass actors, on organisation rulesets and on each repository's own rulesets: every
 * actor is a grant (a team, an app, a role, or every deploy key) that may push past the
 * ruleset's rules. Revoked by PUTting the ruleset back with that actor left out.
 * Token permissions: organisation "Administration: read" (org rulesets, teams, installations) and
 * repository "Administration: read" (repository rulesets); "write" of each to revoke.
 *
 * GitHub names actors by number only. Teams get their slug from GET /orgs/{org}/teams, apps from
 * GET /orgs/{org}/installations, custom roles from GET /orgs/{org}/custom-repository-roles.
 * Role ids GitHub does not document but that every IaC provider relies on: OrganizationAdmin 1,
 * repository roles maintain 2, write 4, admin 5 (read and triage cannot bypass). An id nothing
 * resolves is shown as `#<id>` (a team `acme/#42`, an app `app #42`, a role `role #42`).
 */

const BUILT_IN_ROLES: ReadonlyMap<number, string> = new Map([
  [2, 'maintain'],
  [4, 'write'],
  [5, 'admin'],
]);
const ORGANIZATION_ADMIN = 'organization_admin';
const DEPLOY_KEYS = 'deploy keys';

type ActorType = 'Integration' | 'OrganizationAdmin' | 'RepositoryRole' | 'Team' | 'DeployKey' | 'User';
type Mode = 'always' | 'pull_request' | 'exempt';
type Entitlement = 'bypass' | 'bypass_via_pull_request';

interface Actor {
  actor_id?: number | null;
  actor_type: ActorType;
  bypass_mode?: Mode;
}

interface Ruleset {
  id: number;
  name: string;
  enforcement: string;
  source_type?: string;
  bypass_actors?: Actor[];
  rules?: Array<{ type: string; parameters?: { required_approving_review_count?: number } }> | null;
  conditions?: {
    ref_name?: { include?: string[]; exclude?: string[] };
    repository_name?: { include?: string[]; exclude?: string[] };
  } | null;
}

/** Where a ruleset lives: `repository` null for an organisation ruleset. */
interface Location {
  repository: string | null;
  id: number;
}

/** Numeric actor ids → names, each list read on first need and kept for the rest of the call. */
export class ActorNames {
  private teams?: Promise<Map<number, string>>;
  private apps?: Promise<Map<number, string>>;
  private roles?: Promise<Map<number, string>>;

  constructor(private readonly context: GitHubContext) {}

  teamSlugs(): Promise<Map<number, string>> {
    const org = this.context.organization;
    this.teams ??= listAll(this.context, `GET /orgs/${org}/teams`, async () => {
      const teams = await this.context.octokit.paginate('GET /orgs/{org}/teams', { org, per_page: 100 });
      return new Map(teams.map((team) => [team.id, team.slug]));
    });
    return this.teams;
  }

  appSlugs(): Promise<Map<number, string>> {
    const org = this.context.organization;
    this.apps ??= listAll(this.context, `GET /orgs/${org}/installations`, async () => {
      const installations = await this.context.octokit.paginate('GET /orgs/{org}/installations', {
        org,
        per_page: 100,
      });
      return new Map(installations.map((installation) => [installation.app_id, installation.app_slug]));
    });
    return this.apps;
  }

  /** Custom repository roles are a GitHub Enterprise Cloud feature; elsewhere GitHub answers 404: none. */
  roleNames(): Promise<Map<number, string>> {
    const org = this.context.organization;
    this.roles ??= listAll(this.context, `GET /orgs/${org}/custom-repository-roles`, async () => {
      const answer = await this.context.octokit.request('GET /orgs/{org}/custom-repository-roles', { org });
      const body = answer.data as { custom_roles?: Array<{ id: number; name: string }> };
      return new Map([
        ...BUILT_IN_ROLES,
        ...(body.custom_roles ?? []).map((role) => [role.id, role.name] as const),
      ]);
    }).then((roles) => (roles.size > 0 ? roles : new Map(BUILT_IN_ROLES)));
    return this.roles;
  }

  /** The grant's principal type and principal for one actor. */
  async principalOf(actor: Actor): Promise<{ type: 'team' | 'app' | 'role' | 'deploy_key'; name: string }> {
    const org = this.context.organization;
    const id = actor.actor_id ?? null;
    switch (actor.actor_type) {
      case 'Team': {
        const slug = id === null ? undefined : (await this.teamSlugs()).get(id);
        return { type: 'team', name: `${org}/${slug ?? `#${id}`}` };
      }
      case 'Integration': {
        const slug = id === null ? undefined : (await this.appSlugs()).get(id);
        return { type: 'app', name: slug ?? `app #${id}` };
      }
      case 'OrganizationAdmin':
        return { type: 'role', name: ORGANIZATION_ADMIN };
      case 'RepositoryRole': {
        const role = id === null ? undefined : (BUILT_IN_ROLES.get(id) ?? (await this.roleNames()).get(id));
        return { type: 'role', name: role ?? `role #${id}` };
      }
      case 'DeployKey':
        return { type: 'deploy_key', name: DEPLOY_KEYS };
      default:
        // GitHub's newer `User` actors (and anything later) have no grant shape here yet: stop loudly
        // rather than leave an actor out of the review.
        throw new ConnectorError(
          `a ruleset of ${org} has a bypass actor of type ${String(actor.actor_type)} (id ${id}), which the GitHub connector cannot review yet`,
        );
    }
  }
}

/** A paginated list where 404 means "none" (a feature the organisation lacks); other failures are named. */
async function listAll<T>(context: GitHubContext, action: string, read: () => Promise<Map<number, T>>) {
  try {
    return await read();
  } catch (error) {
    if (statusOf(error) === 404) return new Map<number, T>();
    throw gitHubFailure(error, action, context.token);
  }
}

function rulesetPath(org: string, location: Location): string {
  return location.repository
    ? `/repos/${org}/${location.repository}/rulesets/${location.id}`
    : `/orgs/${org}/rulesets/${location.id}`;
}

/** GET one ruleset (a repository's own only, never its parents'); 'not_found' when it is gone. */
async function readRuleset(context: GitHubContext, location: Location): Promise<Ruleset | 'not_found'> {
  const org = context.organization;
  const answer = await runRest(context, `GET ${rulesetPath(org, location)}`, () =>
    location.repository
      ? context.octokit.request('GET /repos/{owner}/{repo}/rulesets/{ruleset_id}', {
          owner: org,
          repo: location.repository,
          ruleset_id: location.id,
          includes_parents: false,
        })
      : context.octokit.request('GET /orgs/{org}/rulesets/{ruleset_id}', { org, ruleset_id: location.id }),
  );
  return answer === 'not_found' ? 'not_found' : (answer.data as Ruleset);
}

/** `refs/heads/release/*`-style patterns: `*` stays within a path segment, `**` crosses them. */
function refPatternMatches(pattern: string, ref: string): boolean {
  const source = pattern
    .split(/(\*\*|\*|\?)/)
    .map((part) =>
      part === '**'
        ? '.*'
        : part === '*'
          ? '[^/]*'
          : part === '?'
            ? '[^/]'
            : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`).test(ref);
}

/** Repository name patterns (`~ALL`, `api-*`), matched without regard to case as GitHub does. */
function namePatternMatches(pattern: string, name: string): boolean {
  return pattern === '~ALL' || refPatternMatches(pattern.toLowerCase(), name.toLowerCase());
}

/** Whether the ruleset's ref conditions take in the repository's default branch. */
function targetsDefaultBranch(ruleset: Ruleset, defaultBranch: string | null): boolean {
  const include = ruleset.conditions?.ref_name?.include ?? [];
  const exclude = ruleset.conditions?.ref_name?.exclude ?? [];
  const ref = defaultBranch ? `refs/heads/${defaultBranch}` : null;
  const hits = (patterns: string[]) =>
    patterns.some(
      (pattern) =>
        pattern === '~ALL' ||
        pattern === '~DEFAULT_BRANCH' ||
        (ref !== null && refPatternMatches(pattern, ref)),
    );
  return hits(include) && !hits(exclude);
}

/**
 * Repositories of the index an org ruleset applies to. Conditions by repository id or custom
 * property cannot be evaluated from here and count as none.
 */
function repositoriesOf(ruleset: Ruleset, repositories: RepositoryInfo[]): RepositoryInfo[] {
  const names = ruleset.conditions?.repository_name;
  if (!names) return [];
  return repositories.filter(
    (repository) =>
      (names.include ?? []).some((pattern) => namePatternMatches(pattern, repository.name)) &&
      !(names.exclude ?? []).some((pattern) => namePatternMatches(pattern, repository.name)),
  );
}

function entitlementOfMode(mode: Mode | undefined): Entitlement {
  return mode === 'pull_request' ? 'bypass_via_pull_request' : 'bypass';
}

/** Whether the ruleset requires at least one approving review on a pull request. */
function requiresReview(ruleset: Ruleset): boolean {
  return (ruleset.rules ?? []).some(
    (rule) => rule.type === 'pull_request' && (rule.parameters?.required_approving_review_count ?? 0) >= 1,
  );
}

/**
 * An active ruleset that requires pull request reviews on the default branch: that branch needs
 * review (for separation of duties), and this ruleset's bypass actors can skip it. A ruleset that
 * only blocks force pushes or deletions does not count.
 */
function noteReview(index: SnapshotIndex, ruleset: Ruleset, repository: RepositoryInfo, resource: string) {
  if (
    ruleset.enforcement === 'active' &&
    requiresReview(ruleset) &&
    targetsDefaultBranch(ruleset, repository.defaultBranch)
  ) {
    const key = repository.name.toLowerCase();
    index.defaultBranchRequiresReview.set(key, true);
    index.reviewRulesets.set(key, [...(index.reviewRulesets.get(key) ?? []), resource]);
  }
}

async function* grantsOf(
  context: GitHubContext,
  names: ActorNames,
  location: Location,
  ruleset: Ruleset,
  targetsDefault: boolean,
  /** For an org ruleset: how many repositories of the snapshot it applies to. */
  appliesTo = 0,
): AsyncGenerator<Grant> {
  const resource = rulesetResource(context.organization, location.repository, location.id);
  for (const actor of ruleset.bypass_actors ?? []) {
    const principal = await names.principalOf(actor);
    const mode = actor.bypass_mode ?? 'always';
    // `exempt` is `always` without the audit entry: reviewed as a bypass, its mode kept in raw.
    yield makeGrant(
      rulesetBypassKey(
        resource,
        principal.type,
        principal.name,
        mode === 'pull_request' ? 'pull_request' : 'always',
      ),
      {
        raw: {
          rulesetName: ruleset.name,
          enforcement: ruleset.enforcement,
          include: ruleset.conditions?.ref_name?.include ?? [],
          targetsDefaultBranch: targetsDefault,
          actorType: actor.actor_type,
          actorId: actor.actor_id ?? null,
          bypassMode: mode,
          requiresReview: requiresReview(ruleset),
          ...(location.repository
            ? {}
            : { repositories: ruleset.conditions?.repository_name?.include ?? [], appliesTo }),
        },
      },
    );
  }
}

/** Where a grant's ruleset is, refusing resources of another organisation. */
function locate(context: GitHubContext, grant: Grant): Location {
  const match = /^([^/]+)\/(?:([^/]+)\/)?rulesets\/(\d+)$/.exec(grant.resource);
  if (!match) {
    throw new ConnectorError(
      `ruleset "${grant.resource}" is not of the form organization/rulesets/id or organization/repository/rulesets/id`,
    );
  }
  if ((match[1] ?? '').toLowerCase() !== context.organization.toLowerCase()) {
    throw new ConnectorError(`ruleset "${grant.resource}" is not in organization ${context.organization}`);
  }
  return { repository: match[2] ?? null, id: Number(match[3]) };
}

function entitlementOf(grant: Grant): Entitlement {
  if (grant.entitlement === 'bypass' || grant.entitlement === 'bypass_via_pull_request')
    return grant.entitlement;
  throw new ConnectorError(
    `grant ${grant.grantId}: "${grant.entitlement}" on ruleset ${grant.resource} is not an entitlement the GitHub connector knows (bypass, bypass_via_pull_request)`,
  );
}

/** `#42` at the end of an unresolved principal. */
const unresolvedId = (name: string) => {
  const match = /#(\d+)$/.exec(name);
  return match ? Number(match[1]) : undefined;
};

/**
 * The actor a grant is about, as GitHub writes it: its type and (where it has one) its id, found
 * by name now, or the id the snapshot saw when the name no longer resolves.
 */
async function wantedActor(
  context: GitHubContext,
  names: ActorNames,
  grant: Grant,
): Promise<{ type: ActorType; id?: number }> {
  const seenId = typeof grant.raw.actorId === 'number' ? grant.raw.actorId : undefined;
  const byName = (map: Map<number, string>, name: string) =>
    [...map.entries()].find(([, candidate]) => candidate.toLowerCase() === name.toLowerCase())?.[0];
  switch (grant.principalType) {
    case 'team': {
      const slash = grant.principal.indexOf('/');
      if (
        slash <= 0 ||
        grant.principal.slice(0, slash).toLowerCase() !== context.organization.toLowerCase()
      ) {
        throw new ConnectorError(`team "${grant.principal}" is not of the form ${context.organization}/slug`);
      }
      const slug = grant.principal.slice(slash + 1);
      return { type: 'Team', id: unresolvedId(slug) ?? byName(await names.teamSlugs(), slug) ?? seenId };
    }
    case 'app':
      return {
        type: 'Integration',
        id: unresolvedId(grant.principal) ?? byName(await names.appSlugs(), grant.principal) ?? seenId,
      };
    case 'role':
      if (grant.principal === ORGANIZATION_ADMIN) return { type: 'OrganizationAdmin' };
      return {
        type: 'RepositoryRole',
        id:
          unresolvedId(grant.principal) ??
          byName(new Map(BUILT_IN_ROLES), grant.principal) ??
          byName(await names.roleNames(), grant.principal) ??
          seenId,
      };
    case 'deploy_key':
      return { type: 'DeployKey' };
    default:
      throw new ConnectorError(
        `grant ${grant.grantId}: a ${grant.principalType} cannot be a ruleset bypass actor here (team, app, role, deploy_key)`,
      );
  }
}

/** Same actor: same type, and the same id where the type has ids that tell actors apart. */
function sameActor(actor: Actor, wanted: { type: ActorType; id?: number }): boolean {
  if (actor.actor_type !== wanted.type) return false;
  if (wanted.type === 'OrganizationAdmin' || wanted.type === 'DeployKey') return true;
  return wanted.id !== undefined && actor.actor_id === wanted.id;
}

const normalised = (actor: Actor) => ({
  actor_id: actor.actor_id ?? null,
  actor_type: actor.actor_type,
  bypass_mode: actor.bypass_mode ?? 'always',
});

/** An organisation ruleset as read by id. */
export interface OrganizationRuleset {
  id: number;
  ruleset: Ruleset;
}

/** What the repository pages found of one org ruleset: how many repositories it applies to, and whether it targets any default branch. */
export interface RulesetTally {
  applies: number;
  targetsDefault: boolean;
}

/** The organisation's rulesets: the list, then each by id (its actors and conditions). */
export async function readOrganizationRulesets(context: GitHubContext): Promise<OrganizationRuleset[]> {
  const org = context.organization;
  const summaries = await listRulesets(context, `GET /orgs/${org}/rulesets`, () =>
    context.octokit.paginate('GET /orgs/{org}/rulesets', { org, per_page: 100 }),
  );
  const found: OrganizationRuleset[] = [];
  for (const summary of summaries) {
    const ruleset = await readRuleset(context, { repository: null, id: summary.id });
    if (ruleset !== 'not_found') found.push({ id: summary.id, ruleset });
  }
  return found;
}

/**
 * Notes, for the repositories given (a page of them), which org rulesets require reviews on their
 * default branch (for separation of duties), and adds them to each ruleset's tally.
 */
export function noteOrganizationRulesets(
  organization: string,
  index: SnapshotIndex,
  rulesets: readonly OrganizationRuleset[],
  repositories: RepositoryInfo[],
  tally: Map<number, RulesetTally>,
): void {
  for (const { id, ruleset } of rulesets) {
    const applies = repositoriesOf(ruleset, repositories);
    const resource = rulesetResource(organization, null, id);
    for (const repository of applies) noteReview(index, ruleset, repository, resource);
    const before = tally.get(id) ?? { applies: 0, targetsDefault: false };
    tally.set(id, {
      applies: before.applies + applies.length,
      targetsDefault:
        before.targetsDefault ||
        applies.some((repository) => targetsDefaultBranch(ruleset, repository.defaultBranch)),
    });
  }
}

/** The bypass grants of the org rulesets, with what the tally found over every repository. */
export async function* organizationRulesetGrants(
  context: GitHubContext,
  rulesets: readonly OrganizationRuleset[],
  tally: ReadonlyMap<number, RulesetTally>,
  names: ActorNames = new ActorNames(context),
): AsyncGenerator<Grant> {
  for (const { id, ruleset } of rulesets) {
    const include = ruleset.conditions?.ref_name?.include ?? [];
    const counted = tally.get(id) ?? { applies: 0, targetsDefault: false };
    const targetsDefault =
      include.includes('~DEFAULT_BRANCH') || include.includes('~ALL') || counted.targetsDefault;
    yield* grantsOf(context, names, { repository: null, id }, ruleset, targetsDefault, counted.applies);
  }
}

export const rulesets: GitHubAccessKind = {
  grantKinds: ['ruleset_bypass'],

  /**
   * Org rulesets once (list, then each by id for its actors and conditions), then each
   * repository's own (`includes_parents=false`, so org rulesets are not counted twice). A paged
   * snapshot reads the org rulesets before its repository pages (readOrganizationRulesets) and the
   * repositories' own with scope `repositories`.
   */
  async *snapshot(context, index, scope = 'all') {
    const org = context.organization;
    const names = new ActorNames(context);
    if (scope !== 'repositories') {
      const rulesets = await readOrganizationRulesets(context);
      const tally = new Map<number, RulesetTally>();
      noteOrganizationRulesets(org, index, rulesets, index.repositories, tally);
      yield* organizationRulesetGrants(context, rulesets, tally, names);
    }
    if (scope === 'organization') return;
    for (const repository of index.repositories) {
      if (!mayHave(repository, 'rulesets')) continue;
      const summaries = await listRulesets(context, `GET /repos/${org}/${repository.name}/rulesets`, () =>
        context.octokit.paginate('GET /repos/{owner}/{repo}/rulesets', {
          owner: org,
          repo: repository.name,
          includes_parents: false,
          per_page: 100,
        }),
      );
      for (const summary of summaries) {
        if (summary.source_type !== undefined && summary.source_type !== 'Repository') continue;
        const location: Location = { repository: repository.name, id: summary.id };
        const ruleset = await readRuleset(context, location);
        if (ruleset === 'not_found') continue;
        noteReview(index, ruleset, repository, rulesetResource(org, repository.name, summary.id));
        yield* grantsOf(
          context,
          names,
          location,
          ruleset,
          targetsDefaultBranch(ruleset, repository.defaultBranch),
        );
      }
    }
  },

  /**
   * GET the ruleset, then PUT it with `bypass_actors` only: the other actors as they were, this
   * one left out; GitHub keeps every field a PUT does not carry (name, rules, conditions).
   */
  async revoke(context, grant): Promise<RevokeResult> {
    const location = locate(context, grant);
    const entitlement = entitlementOf(grant);
    const path = rulesetPath(context.organization, location);
    const before = await readRuleset(context, location);
    if (before === 'not_found') {
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `GET ${path}: the ruleset no longer exists; nothing to remove`,
      };
    }
    const wanted = await wantedActor(context, new ActorNames(context), grant);
    const actors = before.bypass_actors ?? [];
    const same = actors.filter((actor) => sameActor(actor, wanted));
    const removed = same.filter((actor) => entitlementOfMode(actor.bypass_mode) === entitlement);
    if (removed.length === 0) {
      const other = same[0];
      const why = other
        ? `${grant.principal} bypasses ruleset "${before.name}" with mode ${other.bypass_mode ?? 'always'}, which is reviewed as its own grant`
        : `${grant.principal} is not a bypass actor of ruleset "${before.name}"`;
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `GET ${path}: ${why}; nothing to remove`,
      };
    }
    const remaining = actors.filter((actor) => !removed.includes(actor)).map(normalised);
    const call = `PUT ${path} ${JSON.stringify({ bypass_actors: remaining })}`;
    const org = context.organization;
    const answer = await runRest(context, call, () =>
      location.repository
        ? context.octokit.request('PUT /repos/{owner}/{repo}/rulesets/{ruleset_id}', {
            owner: org,
            repo: location.repository,
            ruleset_id: location.id,
            bypass_actors: remaining,
          })
        : context.octokit.request('PUT /orgs/{org}/rulesets/{ruleset_id}', {
            org,
            ruleset_id: location.id,
            bypass_actors: remaining,
          }),
    );
    if (answer === 'not_found') {
      return { outcome: 'already_absent', appliedAt: now(), action: `${call}: the ruleset is gone` };
    }
    return {
      outcome: 'removed',
      appliedAt: now(),
      action: `${call}: removed ${grant.principal} (${wanted.type}) from the bypass actors of ruleset "${before.name}"; the other actors are kept`,
    };
  },

  /** GET the ruleset again: present while the actor bypasses it with this mode or a stronger one. */
  async check(context, grant): Promise<CheckResult> {
    const location = locate(context, grant);
    const entitlement = entitlementOf(grant);
    const ruleset = await readRuleset(context, location);
    const checkedAt = now();
    if (ruleset === 'not_found') return { status: 'absent', checkedAt };
    const wanted = await wantedActor(context, new ActorNames(context), grant);
    const holding = (ruleset.bypass_actors ?? []).filter(
      (actor) =>
        sameActor(actor, wanted) &&
        (entitlement === 'bypass_via_pull_request' || entitlementOfMode(actor.bypass_mode) === 'bypass'),
    );
    if (holding.length === 0) return { status: 'absent', checkedAt };
    return {
      status: 'present',
      checkedAt,
      paths: holding.map((actor) => ({ via: 'direct', permission: entitlementOfMode(actor.bypass_mode) })),
    };
  },
};

/** A ruleset list where 404 means none (the repository or organisation is gone, or has no rulesets feature). */
async function listRulesets(
  context: GitHubContext,
  action: string,
  read: () => Promise<Array<{ id: number; source_type?: string }>>,
): Promise<Array<{ id: number; source_type?: string }>> {
  try {
    return await read();
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw gitHubFailure(error, action, context.token);
  }
}
