import { type Grant, permissionAtLeast } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import { type GitHubContext, now, runRest } from './context';
import { bodyPermission, splitInOrganization } from './keys';

/** The media type that makes GitHub answer the team-repository check with a body, not a bare 204. */
const REPOSITORY_MEDIA_TYPE = 'application/vnd.github.v3.repository+json';

function target(context: GitHubContext, grant: Grant) {
  const [org, teamSlug] = splitInOrganization(grant.principal, context.organization, 'team');
  const [owner, repo] = splitInOrganization(grant.resource, context.organization, 'repository');
  return { org, team_slug: teamSlug, owner, repo };
}

/**
 * DELETE /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}. GitHub answers 204 whether or not the
 * team had access, so a GET first tells "removed" from "already absent" honestly.
 */
export async function revokeTeamRepository(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const params = target(context, grant);
  const path = `/orgs/${params.org}/teams/${params.team_slug}/repos/${params.owner}/${params.repo}`;
  const before = await runRest(context, `GET ${path}`, () =>
    context.octokit.request('GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', params),
  );
  if (before === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET ${path}: team ${grant.principal} had no access to ${grant.resource}; nothing to DELETE`,
    };
  }
  const answer = await runRest(context, `DELETE ${path}`, () =>
    context.octokit.request('DELETE /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', params),
  );
  if (answer === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `DELETE ${path}: team or repository is gone`,
    };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `DELETE ${path}: removed team ${grant.principal}'s access to ${grant.resource}`,
  };
}

/** GET the team's access with the repository media type: present while its permission ≥ the entitlement. */
export async function checkTeamRepository(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const params = target(context, grant);
  const path = `/orgs/${params.org}/teams/${params.team_slug}/repos/${params.owner}/${params.repo}`;
  const answer = await runRest(context, `GET ${path}`, () =>
    context.octokit.request('GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', {
      ...params,
      headers: { accept: REPOSITORY_MEDIA_TYPE },
    }),
  );
  const checkedAt = now();
  if (answer === 'not_found') return { status: 'absent', checkedAt };
  // Without a body (a 204 from a server that ignored the media type) access exists at an unknown level.
  // A custom role name is not looked up here: its permission flags tell the level.
  const held =
    typeof answer.data === 'object' && answer.data !== null ? bodyPermission(answer.data) : undefined;
  if (held === undefined) {
    return { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'unknown' }] };
  }
  return permissionAtLeast(held, grant.entitlement)
    ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: held }] }
    : { status: 'absent', checkedAt };
}
