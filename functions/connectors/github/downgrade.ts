import { canDowngrade, downgradeOptions } from '../../core/downgrade';
import { ConnectorError } from '../../core/errors';
import { type Grant, permissionRank, type RepositoryPermission } from '../../core/grant';
import type { RevokeResult } from '../connector';
import { type GitHubContext, now, runRest } from './context';
import { bodyPermission, isRepositoryPermission, splitInOrganization } from './keys';
import { revokeOrganizationMembership } from './organization-members';
import { namesCustomRole, readCustomRoles, readUserAccess, sourceAccess } from './repository-access';
import { revokeTeamMembership } from './team-members';

/** A downgrade to an entitlement downgradeOptions does not offer for the grant (nothing is sent). */
export class DowngradeNotOfferedError extends ConnectorError {}

/** The media type that makes GitHub answer the team-repository check with a body, not a bare 204. */
const REPOSITORY_MEDIA_TYPE = 'application/vnd.github.v3.repository+json';

/** GitHub's REST names for the built-in roles: the API still says pull and push for read and write. */
const API_PERMISSION: Record<RepositoryPermission, string> = {
  read: 'pull',
  triage: 'triage',
  write: 'push',
  maintain: 'maintain',
  admin: 'admin',
};

/**
 * Lowers a grant to `to` at GitHub. `removed`: GitHub accepted the lower role (the higher one is
 * gone from this grant); `already_absent`: the grant was already at or below `to`, or gone, and
 * nothing was sent. Every write is preceded by a read because each PUT here also ADDS access when
 * there is none: to a collaborator it sends an invitation, to a team it adds the repository, to a
 * non-member it sends an org invitation.
 */
export async function downgradeGitHubGrant(
  context: GitHubContext,
  grant: Grant,
  to: string,
): Promise<RevokeResult> {
  if (!canDowngrade(grant, to)) {
    const offered = downgradeOptions(grant);
    throw new DowngradeNotOfferedError(
      `grant ${grant.grantId} (${grant.principal} ${grant.entitlement} on ${grant.resource}) cannot be downgraded to "${to}": ${
        offered.length > 0
          ? `it can be lowered to ${offered.join(', ')}`
          : 'GitHub offers no lower level for it'
      }`,
    );
  }
  switch (grant.grantKind) {
    // The owner and maintainer roles are grants of their own beside the membership: lowering them
    // to member is what revoking them does (a PUT with role member, after a GET).
    case 'organization_membership':
    case 'team_membership': {
      const result =
        grant.grantKind === 'organization_membership'
          ? await revokeOrganizationMembership(context, grant)
          : await revokeTeamMembership(context, grant);
      return result;
    }
    case 'user_repository':
      return lowerCollaborator(context, grant, to as RepositoryPermission);
    case 'team_repository':
      return lowerTeamRepository(context, grant, to as RepositoryPermission);
    default:
      // canDowngrade offers nothing else; a new kind there must be handled here first.
      throw new DowngradeNotOfferedError(`grant kind ${grant.grantKind} has no downgrade at GitHub`);
  }
}

/**
 * PUT /repos/{owner}/{repo}/collaborators/{username} with the lower permission, only for a current
 * direct collaborator above it. GitHub answers 204 for an existing collaborator; a 201 means the
 * user was not one any more (removed between the read and the write) and GitHub invited them:
 * that invitation is cancelled at once, and nothing is reported as downgraded. An org member
 * removed in that same instant is added back at the lower role with a 204 GitHub does not tell
 * apart (it offers no conditional update); the verify step's read shows what they hold.
 */
async function lowerCollaborator(
  context: GitHubContext,
  grant: Grant,
  to: RepositoryPermission,
): Promise<RevokeResult> {
  const [owner, repo] = splitInOrganization(grant.resource, context.organization, 'repository');
  const username = grant.principal;
  const path = `/repos/${owner}/${repo}/collaborators/${username}`;
  const call = `PUT ${path} {"permission":"${API_PERMISSION[to]}"}`;
  const edge = await readUserAccess(context, owner, repo, username);
  const source = (edge?.permissionSources ?? []).find((s) => s.source.__typename === 'Repository');
  if (!source) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${username} is not a direct collaborator on ${grant.resource}; ${call} not sent (it would invite them)`,
    };
  }
  const roles = namesCustomRole(edge) ? await readCustomRoles(context) : new Map();
  const held = sourceAccess(source, roles);
  // A custom role based on `to` is still above it (its extra permissions go with the PUT).
  const notAbove =
    held !== undefined &&
    (permissionRank(held.base) < permissionRank(to) ||
      (permissionRank(held.base) === permissionRank(to) && !held.customRole));
  if (held && notAbove) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${username} is a direct collaborator on ${grant.resource} with ${held.entitlement}, not above ${to}; nothing to lower`,
    };
  }
  const answer = await runRest(context, call, () =>
    context.octokit.request('PUT /repos/{owner}/{repo}/collaborators/{username}', {
      owner,
      repo,
      username,
      permission: API_PERMISSION[to],
    }),
  );
  if (answer === 'not_found') {
    return { outcome: 'already_absent', appliedAt: now(), action: `${call}: repository or user is gone` };
  }
  if (answer.status === 201) {
    const invitation = answer.data;
    const id = typeof invitation === 'object' && invitation !== null ? invitation.id : undefined;
    if (id === undefined) {
      throw new ConnectorError(`${call}: GitHub created an invitation without an id; cancel it by hand`);
    }
    const cancel = `DELETE /repos/${owner}/${repo}/invitations/${id}`;
    await runRest(context, cancel, () =>
      context.octokit.request('DELETE /repos/{owner}/{repo}/invitations/{invitation_id}', {
        owner,
        repo,
        invitation_id: Number(id),
      }),
    );
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${call}: ${username} was no longer a collaborator and GitHub invited them instead; ${cancel} cancelled the invitation`,
    };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: lowered ${username}'s direct access to ${grant.resource} from ${held?.entitlement ?? grant.entitlement} to ${to}`,
  };
}

/**
 * PUT /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo} with the lower permission, only while the
 * team has access above it (a PUT for a team without access would add the repository to it).
 */
async function lowerTeamRepository(
  context: GitHubContext,
  grant: Grant,
  to: RepositoryPermission,
): Promise<RevokeResult> {
  const [org, teamSlug] = splitInOrganization(grant.principal, context.organization, 'team');
  const [owner, repo] = splitInOrganization(grant.resource, context.organization, 'repository');
  const params = { org, team_slug: teamSlug, owner, repo };
  const path = `/orgs/${org}/teams/${teamSlug}/repos/${owner}/${repo}`;
  const call = `PUT ${path} {"permission":"${API_PERMISSION[to]}"}`;
  const before = await runRest(context, `GET ${path}`, () =>
    context.octokit.request('GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', {
      ...params,
      headers: { accept: REPOSITORY_MEDIA_TYPE },
    }),
  );
  if (before === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET ${path}: team ${grant.principal} has no access to ${grant.resource}; ${call} not sent (it would add it)`,
    };
  }
  const body = before.data;
  const held = typeof body === 'object' && body !== null ? bodyPermission(body) : undefined;
  const heldBuiltIn = held && isRepositoryPermission(held) ? held : undefined;
  if (heldBuiltIn && permissionRank(heldBuiltIn) <= permissionRank(to)) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET ${path}: team ${grant.principal} has ${heldBuiltIn} on ${grant.resource}, not above ${to}; nothing to lower`,
    };
  }
  const answer = await runRest(context, call, () =>
    context.octokit.request('PUT /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', {
      ...params,
      permission: API_PERMISSION[to],
    }),
  );
  if (answer === 'not_found') {
    return { outcome: 'already_absent', appliedAt: now(), action: `${call}: team or repository is gone` };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: lowered team ${grant.principal}'s access to ${grant.resource} from ${heldBuiltIn ?? grant.entitlement} to ${to}`,
  };
}
