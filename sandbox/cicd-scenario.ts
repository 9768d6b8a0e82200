import { z } from 'zod';
import { REPOSITORY_PERMISSIONS } from '../functions/core/grant';

/*
 * The scenario's description of GitHub's CI/CD surface: what can change, approve and ship code, and
 * which automation holds which credentials. Each shape follows the GitHub object it stands for, in
 * the scenario's friendlier names (logins, slugs and repository names instead of numeric ids).
 */

const isoDate = z.iso.datetime({ offset: true });

/** A built-in repository role, or the name of one of the organisation's custom repository roles. */
export const repositoryRole = z.string().regex(/^[A-Za-z0-9 _-]+$/, 'must be a repository role name');

export const customRole = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9 _-]+$/, 'must be a role name'),
  description: z.string().optional(),
  /** The built-in role it extends (GitHub allows read, triage, write, maintain). */
  baseRole: z.enum(REPOSITORY_PERMISSIONS).exclude(['admin']),
  permissions: z.array(z.string()).default([]),
});

/** An invitation that has not been accepted: access that will exist once it is. */
export const organizationInvitation = z.strictObject({
  login: z.string().min(1).optional(),
  email: z.email().optional(),
  role: z.enum(['member', 'admin', 'billing_manager']).default('member'),
  invitedBy: z.string().min(1),
  createdAt: isoDate.default('2026-11-20T10:00:00Z'),
  /** Team slugs the invitee joins on acceptance. */
  teams: z.array(z.string()).default([]),
});

export const repositoryInvitation = z.strictObject({
  login: z.string().min(1),
  permission: repositoryRole,
  invitedBy: z.string().min(1),
  createdAt: isoDate.default('2026-11-20T10:00:00Z'),
});

export const deployKey = z.strictObject({
  title: z.string().min(1),
  readOnly: z.boolean().default(true),
  /** Login of who added it; absent for keys added before GitHub recorded it. */
  addedBy: z.string().optional(),
  createdAt: isoDate,
  /** Null when the key was never used. */
  lastUsed: isoDate.nullable().default(null),
});

const actorLists = z.strictObject({
  users: z.array(z.string()).default([]),
  teams: z.array(z.string()).default([]),
  /** GitHub App slugs. */
  apps: z.array(z.string()).default([]),
});

export const environment = z.strictObject({
  name: z.string().regex(/^[^/:]+$/, 'must be an environment name without "/" or ":"'),
  /** Up to six users or teams, any one of whom can approve a deployment. */
  reviewers: z
    .strictObject({ users: z.array(z.string()).default([]), teams: z.array(z.string()).default([]) })
    .default({ users: [], teams: [] }),
  preventSelfReview: z.boolean().default(false),
  waitTimer: z.number().int().min(0).default(0),
  /** `protected`: only protected branches deploy; a list: those branch patterns; absent: any branch. */
  deploymentBranches: z.union([z.literal('protected'), z.array(z.string())]).optional(),
  /** Names of the environment's secrets. */
  secrets: z.array(z.string()).default([]),
});

export const branchProtection = z.strictObject({
  branch: z.string().min(1),
  requiredApprovals: z.number().int().min(0).max(6).default(1),
  enforceAdmins: z.boolean().default(false),
  /** Who may push to the branch (push restrictions); absent: anyone with write access. */
  pushAllowances: actorLists.optional(),
  /** Who may merge without the required reviews. */
  bypassPullRequestAllowances: actorLists.default({ users: [], teams: [], apps: [] }),
});

export const rulesetBypassActor = z.strictObject({
  type: z.enum(['Team', 'Integration', 'OrganizationAdmin', 'RepositoryRole', 'DeployKey']),
  /** Team slug, app slug, or repository role name (maintain, admin, or a custom role); none for the others. */
  actor: z.string().optional(),
  mode: z.enum(['always', 'pull_request']).default('always'),
});

export const ruleset = z.strictObject({
  name: z.string().min(1),
  enforcement: z.enum(['active', 'evaluate', 'disabled']).default('active'),
  /** Ref patterns such as `~DEFAULT_BRANCH` or `refs/heads/release/*`. */
  include: z.array(z.string()).default(['~DEFAULT_BRANCH']),
  bypassActors: z.array(rulesetBypassActor).default([]),
  /**
   * A pull_request rule requiring this many approving reviews; absent: the ruleset has no such rule
   * (it may block force pushes or deletions, which the sandbox does not model).
   */
  requiredApprovals: z.number().int().min(0).max(10).optional(),
  /** Org rulesets only: repository name patterns (`~ALL` for every repository). */
  repositories: z.array(z.string()).optional(),
});

const visibility = z.enum(['all', 'private', 'selected']);

export const actionsSecret = z.strictObject({
  name: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an Actions secret name (A-Z, 0-9, _)'),
  visibility,
  /** For `selected`: repository names. */
  repositories: z.array(z.string()).default([]),
  updatedAt: isoDate.default('2026-06-01T00:00:00Z'),
});

export const actionsVariable = actionsSecret.extend({ value: z.string().default('') });

export const runnerGroup = z.strictObject({
  name: z.string().min(1),
  visibility,
  repositories: z.array(z.string()).default([]),
  allowsPublicRepositories: z.boolean().default(false),
});

const permissionLevel = z.enum(['read', 'write', 'admin']);

export const appInstallation = z.strictObject({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a GitHub App slug'),
  name: z.string().optional(),
  permissions: z.record(z.string(), permissionLevel).default({}),
  repositorySelection: z.enum(['all', 'selected']).default('selected'),
  repositories: z.array(z.string()).default([]),
  installedAt: isoDate.default('2025-01-15T00:00:00Z'),
});

export const personalAccessToken = z.strictObject({
  owner: z.string().min(1),
  name: z.string().min(1),
  permissions: z
    .strictObject({
      organization: z.record(z.string(), permissionLevel).default({}),
      repository: z.record(z.string(), permissionLevel).default({}),
    })
    .default({ organization: {}, repository: {} }),
  repositorySelection: z.enum(['all', 'subset', 'none']).default('subset'),
  repositories: z.array(z.string()).default([]),
  /** Null: the token never expires. */
  expiresAt: isoDate.nullable().default(null),
  lastUsedAt: isoDate.nullable().default(null),
  approvedAt: isoDate.default('2026-01-10T00:00:00Z'),
});

/** The CI/CD fields of a repository in the scenario. */
export const repositoryCicd = {
  defaultBranch: z.string().default('main'),
  invitations: z.array(repositoryInvitation).default([]),
  deployKeys: z.array(deployKey).default([]),
  environments: z.array(environment).default([]),
  branchProtection: z.array(branchProtection).default([]),
  rulesets: z.array(ruleset).default([]),
};

/** The CI/CD fields of the organisation in the scenario. */
export const organizationCicd = {
  customRoles: z.array(customRole).default([]),
  invitations: z.array(organizationInvitation).default([]),
  rulesets: z.array(ruleset).default([]),
  secrets: z.array(actionsSecret).default([]),
  variables: z.array(actionsVariable).default([]),
  runnerGroups: z.array(runnerGroup).default([]),
  apps: z.array(appInstallation).default([]),
  personalAccessTokens: z.array(personalAccessToken).default([]),
};

interface CicdReferences {
  repositories: Array<{
    name: string;
    invitations: Array<{ permission: string }>;
    collaborators: Record<string, string>;
    environments: Array<{ name: string; reviewers: { users: string[]; teams: string[] } }>;
    branchProtection: Array<{
      pushAllowances?: { teams: string[]; apps: string[] };
      bypassPullRequestAllowances: { teams: string[]; apps: string[] };
    }>;
    rulesets: Array<{ bypassActors: Array<{ type: string; actor?: string }> }>;
  }>;
  teams: Array<{ slug: string; parent?: string }>;
  customRoles: Array<{ name: string }>;
  rulesets: Array<{ bypassActors: Array<{ type: string; actor?: string }> }>;
  secrets: Array<{ name: string; repositories: string[] }>;
  variables: Array<{ name: string; repositories: string[] }>;
  runnerGroups: Array<{ repositories: string[] }>;
  apps: Array<{ slug: string; repositories: string[] }>;
  personalAccessTokens: Array<{ repositories: string[] }>;
  invitations: Array<{ login?: string; email?: string; teams: string[] }>;
}

/**
 * Cross references of the CI/CD part of a scenario: every repository, team, app and custom role
 * a record names must exist, so a typo fails when the scenario loads (naming the field), not as a
 * silently empty grant list. Users may be anyone (outside collaborators and invitees are not members).
 */
export function cicdProblems(org: CicdReferences): string[] {
  const problems: string[] = [];
  const lower = (values: string[]) => new Set(values.map((value) => value.toLowerCase()));
  const repositories = lower(org.repositories.map((r) => r.name));
  const teams = lower(org.teams.map((t) => t.slug));
  const apps = lower(org.apps.map((a) => a.slug));
  const roles = lower([...REPOSITORY_PERMISSIONS, ...org.customRoles.map((r) => r.name)]);
  const checkRepositories = (path: string, names: string[]) =>
    names.forEach((name, index) => {
      if (!repositories.has(name.toLowerCase())) problems.push(`${path}[${index}]: no repository "${name}"`);
    });
  const checkTeams = (path: string, slugs: string[]) =>
    slugs.forEach((slug, index) => {
      if (!teams.has(slug.toLowerCase())) problems.push(`${path}[${index}]: no team "${slug}"`);
    });
  const checkApps = (path: string, slugs: string[]) =>
    slugs.forEach((slug, index) => {
      if (!apps.has(slug.toLowerCase())) problems.push(`${path}[${index}]: no installed app "${slug}"`);
    });
  const checkActors = (path: string, actors: Array<{ type: string; actor?: string }>) =>
    actors.forEach((actor, index) => {
      const at = `${path}.bypassActors[${index}]`;
      if (actor.type === 'Team') checkTeams(`${at}.actor`, [actor.actor ?? '']);
      else if (actor.type === 'Integration') checkApps(`${at}.actor`, [actor.actor ?? '']);
      else if (actor.type === 'RepositoryRole' && !roles.has((actor.actor ?? '').toLowerCase())) {
        problems.push(`${at}.actor: "${actor.actor ?? ''}" is not a repository role`);
      } else if (
        (actor.type === 'OrganizationAdmin' || actor.type === 'DeployKey') &&
        actor.actor !== undefined
      ) {
        problems.push(`${at}.actor: a ${actor.type} bypass actor names no one`);
      }
    });
  org.teams.forEach((team, index) => {
    if (team.parent === undefined) return;
    if (!teams.has(team.parent.toLowerCase())) {
      problems.push(`organization.teams[${index}].parent: no team "${team.parent}"`);
    }
    // A cycle would make "inherits from its parent" endless.
    const seen = new Set([team.slug.toLowerCase()]);
    let parent: string | undefined = team.parent.toLowerCase();
    while (parent) {
      if (seen.has(parent)) {
        problems.push(`organization.teams[${index}].parent: teams form a cycle through "${team.slug}"`);
        break;
      }
      seen.add(parent);
      parent = org.teams.find((t) => t.slug.toLowerCase() === parent)?.parent?.toLowerCase();
    }
  });
  org.invitations.forEach((invitation, index) => {
    if (!invitation.login === !invitation.email) {
      problems.push(`organization.invitations[${index}]: give exactly one of login or email`);
    }
    checkTeams(`organization.invitations[${index}].teams`, invitation.teams);
  });
  org.repositories.forEach((repository, r) => {
    const at = `organization.repositories[${r}]`;
    for (const [login, role] of Object.entries(repository.collaborators)) {
      if (!roles.has(role.toLowerCase())) {
        problems.push(`${at}.collaborators.${login}: "${role}" is neither a built-in nor a custom role`);
      }
    }
    repository.invitations.forEach((invitation, index) => {
      if (!roles.has(invitation.permission.toLowerCase())) {
        problems.push(`${at}.invitations[${index}].permission: "${invitation.permission}" is not a role`);
      }
    });
    repository.environments.forEach((environment, index) => {
      checkTeams(`${at}.environments[${index}].reviewers.teams`, environment.reviewers.teams);
    });
    repository.branchProtection.forEach((protection, index) => {
      const base = `${at}.branchProtection[${index}]`;
      checkTeams(`${base}.pushAllowances.teams`, protection.pushAllowances?.teams ?? []);
      checkApps(`${base}.pushAllowances.apps`, protection.pushAllowances?.apps ?? []);
      checkTeams(`${base}.bypassPullRequestAllowances.teams`, protection.bypassPullRequestAllowances.teams);
      checkApps(`${base}.bypassPullRequestAllowances.apps`, protection.bypassPullRequestAllowances.apps);
    });
    repository.rulesets.forEach((set, index) => {
      checkActors(`${at}.rulesets[${index}]`, set.bypassActors);
    });
  });
  org.rulesets.forEach((set, index) => {
    checkActors(`organization.rulesets[${index}]`, set.bypassActors);
  });
  org.secrets.forEach((secret, index) => {
    checkRepositories(`organization.secrets[${index}].repositories`, secret.repositories);
  });
  org.variables.forEach((variable, index) => {
    checkRepositories(`organization.variables[${index}].repositories`, variable.repositories);
  });
  org.runnerGroups.forEach((group, index) => {
    checkRepositories(`organization.runnerGroups[${index}].repositories`, group.repositories);
  });
  org.apps.forEach((app, index) => {
    checkRepositories(`organization.apps[${index}].repositories`, app.repositories);
  });
  org.personalAccessTokens.forEach((token, index) => {
    checkRepositories(`organization.personalAccessTokens[${index}].repositories`, token.repositories);
  });
  return problems;
}
