import { organizationAsOwner, simpleUser } from '../bodies';
import { findTeam, findUser, type GitHubState, type SandboxTeam, type SandboxUser } from '../state';
import type { SandboxAppInstallation, SandboxBranchProtection, SandboxRuleset } from './state';

/*
 * REST bodies of branch protection and rulesets in the shapes of GitHub's OpenAPI description
 * (schemas branch-protection, protected-branch-pull-request-review, team, integration,
 * repository-ruleset). Every field a schema requires is present; the sandbox checks
 * each exchange against the description while tests run.
 */

function nodeId(prefix: string, id: number): string {
  return Buffer.from(`${prefix}${id}`).toString('base64');
}

/** A login the scenario names but the sandbox has not seen yet becomes a known user, as knowUser does. */
export function userFor(state: GitHubState, login: string): SandboxUser {
  const known = findUser(state, login);
  if (known) return known;
  const user: SandboxUser = { login, id: state.nextId() };
  state.users.set(login.toLowerCase(), user);
  return user;
}

/** A team by slug; a scenario naming a team that does not exist is a scenario error, loudly. */
export function teamFor(state: GitHubState, slug: string): SandboxTeam {
  const team = findTeam(state, slug);
  if (!team)
    throw new Error(`scenario names team "${slug}", which organization ${state.login} does not have`);
  return team;
}

/** An installed app by slug; GitHub only lets installed apps into push and bypass lists. */
export function appFor(state: GitHubState, slug: string): SandboxAppInstallation {
  for (const app of state.cicd.apps.values()) {
    if (app.slug.toLowerCase() === slug.toLowerCase()) return app;
  }
  throw new Error(`scenario names app "${slug}", which is not installed on organization ${state.login}`);
}

function teamSimple(baseUrl: string, state: GitHubState, team: SandboxTeam) {
  const url = `${baseUrl}/organizations/${state.id}/team/${team.id}`;
  return {
    id: team.id,
    node_id: nodeId('04:Team', team.id),
    url,
    members_url: `${url}/members{/member}`,
    name: team.name,
    description: null,
    permission: 'pull',
    privacy: 'closed',
    notification_setting: 'notifications_enabled',
    html_url: `${baseUrl}/orgs/${state.login}/teams/${team.slug}`,
    repositories_url: `${url}/repos`,
    slug: team.slug,
    type: 'organization' as const,
    organization_id: state.id,
  };
}

/** The `team` schema: a team-simple plus its permissions and parent. */
export function teamBody(baseUrl: string, state: GitHubState, team: SandboxTeam) {
  const parent = team.parent ? findTeam(state, team.parent) : undefined;
  return {
    ...teamSimple(baseUrl, state, team),
    permissions: { pull: true, triage: false, push: false, maintain: false, admin: false },
    parent: parent ? teamSimple(baseUrl, state, parent) : null,
  };
}

/** The `integration` schema (a GitHub App), owned by the organisation in the sandbox. */
export function integrationBody(baseUrl: string, state: GitHubState, app: SandboxAppInstallation) {
  return {
    id: app.appId,
    slug: app.slug,
    node_id: nodeId('03:Integration', app.appId),
    client_id: `Iv1.${app.appId.toString(16).padStart(16, '0')}`,
    owner: organizationAsOwner(baseUrl, state),
    name: app.name ?? app.slug,
    // A string, not null: the restriction list's schema allows only a string here.
    description: '',
    external_url: `https://${app.slug}.example.com`,
    html_url: `${baseUrl}/apps/${app.slug}`,
    created_at: app.installedAt,
    updated_at: app.installedAt,
    permissions: app.permissions,
    events: [],
  };
}

function protectionUrl(baseUrl: string, state: GitHubState, repository: string, branch: string) {
  return `${baseUrl}/repos/${state.login}/${repository}/branches/${encodeURIComponent(branch)}/protection`;
}

/** The users, teams and apps of a list, as full GitHub objects. */
function actorObjects(
  baseUrl: string,
  state: GitHubState,
  lists: { users: string[]; teams: string[]; apps: string[] },
) {
  return {
    users: lists.users.map((login) => simpleUser(baseUrl, userFor(state, login))),
    teams: lists.teams.map((slug) => teamBody(baseUrl, state, teamFor(state, slug))),
    apps: lists.apps.map((slug) => integrationBody(baseUrl, state, appFor(state, slug))),
  };
}

/** `protected-branch-pull-request-review`: present on GitHub only while reviews are required. */
export function pullRequestReviewBody(
  baseUrl: string,
  state: GitHubState,
  repository: string,
  protection: SandboxBranchProtection,
) {
  return {
    url: `${protectionUrl(baseUrl, state, repository, protection.branch)}/required_pull_request_reviews`,
    dismiss_stale_reviews: false,
    require_code_owner_reviews: false,
    required_approving_review_count: protection.requiredApprovals,
    require_last_push_approval: false,
    bypass_pull_request_allowances: actorObjects(baseUrl, state, protection.bypassPullRequestAllowances),
  };
}

/** `branch-protection`: restrictions only when push allowances exist, reviews only when required. */
export function branchProtectionBody(
  baseUrl: string,
  state: GitHubState,
  repository: string,
  protection: SandboxBranchProtection,
) {
  const url = protectionUrl(baseUrl, state, repository, protection.branch);
  const restrictions = protection.pushAllowances
    ? {
        url: `${url}/restrictions`,
        users_url: `${url}/restrictions/users`,
        teams_url: `${url}/restrictions/teams`,
        apps_url: `${url}/restrictions/apps`,
        ...actorObjects(baseUrl, state, protection.pushAllowances),
      }
    : undefined;
  return {
    url,
    enabled: true,
    name: protection.branch,
    protection_url: url,
    enforce_admins: { url: `${url}/enforce_admins`, enabled: protection.enforceAdmins },
    ...(protection.requiredApprovals >= 1
      ? { required_pull_request_reviews: pullRequestReviewBody(baseUrl, state, repository, protection) }
      : {}),
    ...(restrictions ? { restrictions } : {}),
    required_linear_history: { enabled: false },
    allow_force_pushes: { enabled: false },
    allow_deletions: { enabled: false },
    block_creations: { enabled: false },
    required_conversation_resolution: { enabled: false },
    lock_branch: { enabled: false },
    allow_fork_syncing: { enabled: false },
  };
}

/*
 * Ruleset bypass actors address roles by number. GitHub does not document these ids, but they are
 * stable and every infrastructure-as-code provider uses them: OrganizationAdmin is 1, and the
 * built-in repository roles that can bypass are maintain 2, write 4, admin 5 (read and triage
 * cannot be bypass actors). A custom repository role is addressed by its own id.
 */
export const ORGANIZATION_ADMIN_ACTOR_ID = 1;
export const REPOSITORY_ROLE_ACTOR_IDS: Readonly<Record<string, number>> = {
  maintain: 2,
  write: 4,
  admin: 5,
};

export interface BypassActorBody {
  actor_id: number | null;
  actor_type: 'Team' | 'Integration' | 'OrganizationAdmin' | 'RepositoryRole' | 'DeployKey';
  bypass_mode: 'always' | 'pull_request';
}

/** A scenario bypass actor as GitHub writes it, with the numeric id GitHub would use. */
export function bypassActorBody(
  state: GitHubState,
  actor: SandboxRuleset['bypassActors'][number],
): BypassActorBody {
  const base = { actor_type: actor.type, bypass_mode: actor.mode };
  switch (actor.type) {
    case 'Team':
      return { ...base, actor_id: teamFor(state, actor.actor ?? '').id };
    case 'Integration':
      return { ...base, actor_id: appFor(state, actor.actor ?? '').appId };
    case 'OrganizationAdmin':
      return { ...base, actor_id: ORGANIZATION_ADMIN_ACTOR_ID };
    case 'DeployKey':
      return { ...base, actor_id: null };
    case 'RepositoryRole': {
      const name = (actor.actor ?? '').toLowerCase();
      const builtIn = REPOSITORY_ROLE_ACTOR_IDS[name];
      if (builtIn !== undefined) return { ...base, actor_id: builtIn };
      const custom = state.cicd.customRoles.find((role) => role.name.toLowerCase() === name);
      if (!custom)
        throw new Error(`scenario names repository role "${actor.actor}", which cannot bypass rulesets`);
      return { ...base, actor_id: custom.id };
    }
  }
}

function rulesetLinks(baseUrl: string, state: GitHubState, ruleset: SandboxRuleset) {
  const self =
    ruleset.sourceType === 'Repository'
      ? `${baseUrl}/repos/${ruleset.source}/rulesets/${ruleset.id}`
      : `${baseUrl}/orgs/${state.login}/rulesets/${ruleset.id}`;
  const html =
    ruleset.sourceType === 'Repository'
      ? `${baseUrl}/${ruleset.source}/rules/${ruleset.id}`
      : `${baseUrl}/organizations/${state.login}/settings/rules/${ruleset.id}`;
  return { self: { href: self }, html: { href: html } };
}

/** What GitHub's list endpoints show of a ruleset: no conditions, rules or bypass actors. */
export function rulesetSummaryBody(baseUrl: string, state: GitHubState, ruleset: SandboxRuleset) {
  return {
    id: ruleset.id,
    name: ruleset.name,
    target: 'branch' as const,
    source_type: ruleset.sourceType,
    source: ruleset.source,
    enforcement: ruleset.enforcement,
    node_id: nodeId('012:RepositoryRuleset', ruleset.id),
    _links: rulesetLinks(baseUrl, state, ruleset),
    created_at: ruleset.createdAt,
    updated_at: ruleset.updatedAt,
  };
}

/**
 * The whole ruleset. Of its rules only a pull_request rule is modelled (from the scenario's
 * `requiredApprovals`); without one, `rules` is left out rather than shown empty (an empty list
 * would claim the ruleset enforces nothing).
 */
export function rulesetBody(baseUrl: string, state: GitHubState, ruleset: SandboxRuleset) {
  const refName = { include: ruleset.include, exclude: [] as string[] };
  return {
    ...rulesetSummaryBody(baseUrl, state, ruleset),
    bypass_actors: ruleset.bypassActors.map((actor) => bypassActorBody(state, actor)),
    ...(ruleset.requiredApprovals === undefined
      ? {}
      : {
          rules: [
            {
              type: 'pull_request' as const,
              parameters: {
                dismiss_stale_reviews_on_push: false,
                require_code_owner_review: false,
                require_last_push_approval: false,
                required_approving_review_count: ruleset.requiredApprovals,
                required_review_thread_resolution: false,
              },
            },
          ],
        }),
    conditions:
      ruleset.sourceType === 'Repository'
        ? { ref_name: refName }
        : {
            ref_name: refName,
            repository_name: { include: organizationRulesetRepositories(ruleset), exclude: [] },
          },
  };
}

/** An org ruleset's repository name patterns; a scenario that names none means every repository. */
export function organizationRulesetRepositories(ruleset: SandboxRuleset): string[] {
  return ruleset.repositories ?? ['~ALL'];
}

/** fnmatch-style name patterns as GitHub applies them to repository names (`*`, `?`, `~ALL`). */
export function matchesRepositoryPattern(pattern: string, name: string): boolean {
  if (pattern === '~ALL') return true;
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(name);
}
