import { simpleUser } from '../bodies';
import { findTeam, findUser, type GitHubState, type SandboxRepository, type SandboxTeam } from '../state';
import type { SandboxDeployKey, SandboxEnvironment } from './state';

/*
 * REST bodies of deploy keys and deployment environments in the shapes of GitHub's OpenAPI
 * description (schemas deploy-key, environment, team, deployment-branch-policy). Every field a
 * schema requires is present: the sandbox checks each answer against that description.
 */

function nodeId(prefix: string, id: number): string {
  return Buffer.from(`${prefix}${id}`).toString('base64');
}

export function deployKeyBody(
  baseUrl: string,
  state: GitHubState,
  repository: SandboxRepository,
  key: SandboxDeployKey,
) {
  return {
    id: key.id,
    key: key.key,
    url: `${baseUrl}/repos/${state.login}/${repository.name}/keys/${key.id}`,
    title: key.title,
    verified: true,
    created_at: key.createdAt,
    read_only: key.readOnly,
    added_by: key.addedBy ?? null,
    last_used: key.lastUsed,
    enabled: true,
  };
}

/** GitHub's `team` schema (what an environment lists as a reviewer). */
export function teamBody(baseUrl: string, state: GitHubState, team: SandboxTeam) {
  const url = `${baseUrl}/organizations/${state.id}/team/${team.id}`;
  const parent = team.parent ? findTeam(state, team.parent) : undefined;
  return {
    id: team.id,
    node_id: nodeId('04:Team', team.id),
    url,
    html_url: `${baseUrl}/orgs/${state.login}/teams/${team.slug}`,
    name: team.name,
    slug: team.slug,
    description: null,
    privacy: 'closed',
    notification_setting: 'notifications_enabled',
    permission: 'pull',
    members_url: `${url}/members{/member}`,
    repositories_url: `${url}/repos`,
    type: 'organization',
    organization_id: state.id,
    parent: parent
      ? {
          id: parent.id,
          node_id: nodeId('04:Team', parent.id),
          url: `${baseUrl}/organizations/${state.id}/team/${parent.id}`,
          members_url: `${baseUrl}/organizations/${state.id}/team/${parent.id}/members{/member}`,
          name: parent.name,
          description: null,
          permission: 'pull',
          html_url: `${baseUrl}/orgs/${state.login}/teams/${parent.slug}`,
          repositories_url: `${baseUrl}/organizations/${state.id}/team/${parent.id}/repos`,
          slug: parent.slug,
          type: 'organization',
        }
      : null,
  };
}

/**
 * A branch policy has no id of its own in the sandbox state (the scenario lists patterns), so
 * its id is derived from the environment's id and the pattern's position: stable across reads.
 */
export function branchPolicyId(environment: SandboxEnvironment, index: number): number {
  return environment.id * 1000 + index + 1;
}

export function branchPolicyBody(environment: SandboxEnvironment, pattern: string, index: number) {
  const id = branchPolicyId(environment, index);
  return { id, node_id: nodeId('016:GateBranchPolicy', id), name: pattern, type: 'branch' as const };
}

/** `deployment_branch_policy` as GitHub renders it: null when any branch may deploy. */
export function branchPolicySettings(environment: SandboxEnvironment) {
  if (environment.deploymentBranches === undefined) return null;
  const isProtected = environment.deploymentBranches === 'protected';
  return { protected_branches: isProtected, custom_branch_policies: !isProtected };
}

/**
 * The environment with its built-in protection rules: wait_timer when one is set,
 * required_reviewers when anyone must approve (it carries prevent_self_review), branch_policy
 * when deployments are limited to some branches. Rule ids derive from the environment's id.
 */
export function environmentBody(
  baseUrl: string,
  state: GitHubState,
  repository: SandboxRepository,
  environment: SandboxEnvironment,
) {
  const fullName = `${state.login}/${repository.name}`;
  const rules: Array<Record<string, unknown>> = [];
  const rule = (offset: number, type: string, extra: Record<string, unknown>) => {
    const id = environment.id * 10 + offset;
    rules.push({ id, node_id: nodeId('04:Gate', id), type, ...extra });
  };
  if (environment.waitTimer > 0) rule(1, 'wait_timer', { wait_timer: environment.waitTimer });
  const reviewers = [
    ...environment.reviewers.users.flatMap((login) => {
      const user = findUser(state, login);
      return user ? [{ type: 'User', reviewer: simpleUser(baseUrl, user) }] : [];
    }),
    ...environment.reviewers.teams.flatMap((slug) => {
      const team = findTeam(state, slug);
      return team ? [{ type: 'Team', reviewer: teamBody(baseUrl, state, team) }] : [];
    }),
  ];
  if (reviewers.length > 0) {
    rule(2, 'required_reviewers', { prevent_self_review: environment.preventSelfReview, reviewers });
  }
  const settings = branchPolicySettings(environment);
  if (settings) rule(3, 'branch_policy', {});
  return {
    id: environment.id,
    node_id: nodeId('011:Environment', environment.id),
    name: environment.name,
    url: `${baseUrl}/repos/${fullName}/environments/${encodeURIComponent(environment.name)}`,
    html_url: `${baseUrl}/${fullName}/deployments/activity_log?environments_filter=${encodeURIComponent(environment.name)}`,
    created_at: environment.createdAt,
    updated_at: environment.createdAt,
    protection_rules: rules,
    deployment_branch_policy: settings,
  };
}
