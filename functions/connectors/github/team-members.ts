import type { Grant } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import { type GitHubContext, now, runRest } from './context';
import { splitInOrganization } from './keys';

/** DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}: the user stays in the org. */
export async function revokeTeamMembership(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const [org, teamSlug] = splitInOrganization(grant.resource, context.organization, 'team');
  const username = grant.principal;
  const call = `DELETE /orgs/${org}/teams/${teamSlug}/memberships/${username}`;
  const answer = await runRest(context, call, () =>
    context.octokit.request('DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}', {
      org,
      team_slug: teamSlug,
      username,
    }),
  );
  if (answer === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${call}: ${username} was not in team ${grant.resource}`,
    };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: removed ${username} from team ${grant.resource}`,
  };
}

/**
 * GET the team membership again. `member` holds for any membership (active or pending);
 * `maintainer` only while the role is maintainer. GitHub reports org owners as maintainers of every
 * team they are in, so an owner's maintainer entitlement reads as present while they are in it.
 */
export async function checkTeamMembership(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const [org, teamSlug] = splitInOrganization(grant.resource, context.organization, 'team');
  const username = grant.principal;
  const answer = await runRest(context, `GET /orgs/${org}/teams/${teamSlug}/memberships/${username}`, () =>
    context.octokit.request('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', {
      org,
      team_slug: teamSlug,
      username,
    }),
  );
  const checkedAt = now();
  if (answer === 'not_found') return { status: 'absent', checkedAt };
  const role = answer.data.role;
  const holds = grant.entitlement === 'member' || role === grant.entitlement;
  return holds
    ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: role }] }
    : { status: 'absent', checkedAt };
}
