import { ConnectorError } from '../../core/errors';
import type { Grant } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import { type GitHubContext, now, runRest } from './context';
import { isTeamRole, splitInOrganization, type TeamRole } from './keys';

function target(context: GitHubContext, grant: Grant) {
  const [org, teamSlug] = splitInOrganization(grant.resource, context.organization, 'team');
  if (!isTeamRole(grant.entitlement)) {
    throw new ConnectorError(
      `grant ${grant.grantId}: "${grant.entitlement}" on team ${grant.resource} is not an entitlement the GitHub connector knows (member, maintainer)`,
    );
  }
  const entitlement: TeamRole = grant.entitlement;
  const username = grant.principal;
  return {
    org,
    teamSlug,
    username,
    entitlement,
    path: `/orgs/${org}/teams/${teamSlug}/memberships/${username}`,
  };
}

function readTeamMembership(context: GitHubContext, org: string, teamSlug: string, username: string) {
  return runRest(context, `GET /orgs/${org}/teams/${teamSlug}/memberships/${username}`, () =>
    context.octokit.request('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', {
      org,
      team_slug: teamSlug,
      username,
    }),
  );
}

/**
 * `member`: DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}; the user stays in the org.
 * `maintainer`: PUT the team membership with role `member`, which demotes and keeps the membership.
 */
export async function revokeTeamMembership(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const { entitlement } = target(context, grant);
  return entitlement === 'maintainer' ? demoteMaintainer(context, grant) : removeTeamMember(context, grant);
}

async function removeTeamMember(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const { org, teamSlug, username, path } = target(context, grant);
  const call = `DELETE ${path}`;
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
 * GET the team membership first: PUT for someone who is not in the team adds them (or invites a
 * non-member to the org), so it is only sent while GitHub reports them as maintainer.
 *
 * GitHub reports an org owner as maintainer of every team they are in, whatever role is stored.
 * Demoting an owner therefore still sends the PUT (the stored role does change), and the check
 * keeps reading `maintainer` as present for as long as they are an owner: they do keep a
 * maintainer's powers over the team. Revoking their org `owner` grant too ends it.
 */
async function demoteMaintainer(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const { org, teamSlug, username, path } = target(context, grant);
  const call = `PUT ${path} {"role":"member"}`;
  const before = await readTeamMembership(context, org, teamSlug, username);
  if (before === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET ${path}: ${username} is not in team ${grant.resource}; ${call} not sent (it would add them)`,
    };
  }
  if (before.data.role !== 'maintainer') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET ${path}: ${username} is a ${before.data.role}, not a maintainer, of team ${grant.resource}; nothing to demote`,
    };
  }
  const answer = await runRest(context, call, () =>
    context.octokit.request('PUT /orgs/{org}/teams/{team_slug}/memberships/{username}', {
      org,
      team_slug: teamSlug,
      username,
      role: 'member',
    }),
  );
  if (answer === 'not_found') {
    return { outcome: 'already_absent', appliedAt: now(), action: `${call}: team or user is gone` };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: demoted ${username} from maintainer to member of team ${grant.resource}; the membership is kept`,
  };
}

/**
 * GET the team membership again. `member` holds for any membership (active or pending);
 * `maintainer` only while GitHub reports the role as maintainer. GitHub reports org owners as
 * maintainers of every team they are in (see demoteMaintainer), so an owner's maintainer
 * entitlement reads as present while they are in the team and an owner.
 */
export async function checkTeamMembership(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const { org, teamSlug, username, entitlement } = target(context, grant);
  const answer = await readTeamMembership(context, org, teamSlug, username);
  const checkedAt = now();
  if (answer === 'not_found') return { status: 'absent', checkedAt };
  const role = answer.data.role;
  const holds = entitlement === 'member' || role === 'maintainer';
  return holds
    ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: role }] }
    : { status: 'absent', checkedAt };
}
