import { collaboratorPermission, orgMembership, teamMembership, teamRepository } from './bodies';
import {
  DOCS,
  invalidRequest,
  noContent,
  notFound,
  REPOSITORY_MEDIA_TYPE,
  type RestRequest,
  type RestResponse,
  type Route,
  route,
} from './rest-kit';
import { routes as cicdRoutes } from './routes/index';
import {
  cancelInvitation,
  effectivePermission,
  findInvitation,
  findMember,
  findRepository,
  findTeam,
  findUser,
  type GitHubState,
  invite,
  inviteToTeam,
  isLastOwner,
  isOrganization,
  permissionSources,
  removeCollaborator,
  removeMember,
  removeTeamMember,
  removeTeamRepository,
  type SandboxTeam,
  type SandboxUser,
  setMemberRole,
  setTeamMemberRole,
  type TeamRole,
} from './state';

/**
 * The optional `role` of a PUT membership body: `fallback` when absent (the schema's default),
 * undefined when the body is not an object or the role is not one of `allowed`.
 */
function requestedRole<R extends string>(body: unknown, allowed: readonly R[], fallback: R): R | undefined {
  if (body === undefined) return fallback;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const role = (body as { role?: unknown }).role;
  if (role === undefined) return fallback;
  return allowed.find((candidate) => candidate === role);
}

function roleRejection(body: unknown, allowed: readonly string[], documentation: string): RestResponse {
  const role = typeof body === 'object' && body !== null ? (body as { role?: unknown }).role : body;
  return invalidRequest(
    `For 'properties/role', ${JSON.stringify(role)} is not a member of ${JSON.stringify(allowed)}.`,
    documentation,
  );
}

const ORG_MEMBERSHIP_DOCS = `${DOCS}/orgs/members#get-organization-membership-for-a-user`;
const SET_ORG_MEMBERSHIP_DOCS = `${DOCS}/orgs/members#set-organization-membership-for-a-user`;
const TEAM_MEMBERSHIP_DOCS = `${DOCS}/teams/members#get-team-membership-for-a-user`;
const SET_TEAM_MEMBERSHIP_DOCS = `${DOCS}/teams/members#add-or-update-team-membership-for-a-user`;

const REMOVE_ORG_MEMBERSHIP_DOCS = `${DOCS}/orgs/members#remove-organization-membership-for-a-user`;

/**
 * GitHub keeps an organisation owned: removing or demoting its only owner is refused with 403
 * (the status both endpoints document for a refusal), and nothing changes.
 */
function lastOwnerRefusal(documentation: string): RestResponse {
  return {
    status: 403,
    body: {
      message: 'You cannot remove the last owner of an organization.',
      documentation_url: documentation,
      status: '403',
    },
  };
}

const ORG_ROLES = ['admin', 'member'] as const;
const TEAM_ROLES = ['member', 'maintainer'] as const;

/** Documented GitHub behaviour: "The role for organization owners is set to maintainer". */
function reportedTeamRole(state: GitHubState, user: SandboxUser, stored: TeamRole): TeamRole {
  return findMember(state, user.login)?.role === 'owner' ? 'maintainer' : stored;
}

/** A user's membership of a team as GitHub reports it: active, pending (invited to the org), or none. */
function teamMembershipOf(state: GitHubState, baseUrl: string, team: SandboxTeam, user: SandboxUser) {
  const membership = team.members.get(user.login.toLowerCase());
  if (membership) {
    return teamMembership(baseUrl, state, team, user, reportedTeamRole(state, user, membership.role));
  }
  const invited = findInvitation(state, user.login)?.teams.get(team.slug.toLowerCase());
  return invited ? teamMembership(baseUrl, state, team, user, invited.role, 'pending') : undefined;
}
const TEAM_REPO_DOCS = `${DOCS}/teams/teams#check-team-permissions-for-a-repository`;
const COLLABORATOR_DOCS = `${DOCS}/collaborators/collaborators#get-repository-permissions-for-a-user`;

const coreRoutes: Route[] = [
  route('GET', '/orgs/{org}/memberships/{username}', (state, baseUrl, { org, username }) => {
    const user = isOrganization(state, org) ? findUser(state, username) : undefined;
    if (!user) return notFound(ORG_MEMBERSHIP_DOCS);
    const member = findMember(state, user.login);
    if (member) {
      return {
        status: 200,
        body: orgMembership(baseUrl, state, user, member.role === 'owner' ? 'admin' : 'member'),
      };
    }
    const invitation = findInvitation(state, user.login);
    if (!invitation) return notFound(ORG_MEMBERSHIP_DOCS);
    const role = invitation.role === 'owner' ? 'admin' : 'member';
    return { status: 200, body: orgMembership(baseUrl, state, user, role, 'pending') };
  }),
  // Updates a member's role; for a user who is not a member, GitHub emails an invitation instead.
  route('PUT', '/orgs/{org}/memberships/{username}', (state, baseUrl, { org, username }, request) => {
    const user = isOrganization(state, org) ? findUser(state, username) : undefined;
    if (!user) return notFound(SET_ORG_MEMBERSHIP_DOCS);
    const role = requestedRole(request.body, ORG_ROLES, 'member');
    if (!role) return roleRejection(request.body, ORG_ROLES, SET_ORG_MEMBERSHIP_DOCS);
    const orgRole = role === 'admin' ? 'owner' : 'member';
    if (orgRole === 'member' && isLastOwner(state, user.login))
      return lastOwnerRefusal(SET_ORG_MEMBERSHIP_DOCS);
    if (setMemberRole(state, user.login, orgRole)) {
      return { status: 200, body: orgMembership(baseUrl, state, user, role) };
    }
    invite(state, user, orgRole);
    return { status: 200, body: orgMembership(baseUrl, state, user, role, 'pending') };
  }),
  // Removes an active member, or cancels the invitation of an invited one.
  route('DELETE', '/orgs/{org}/memberships/{username}', (state, _baseUrl, { org, username }) => {
    if (!isOrganization(state, org)) return notFound(ORG_MEMBERSHIP_DOCS);
    if (isLastOwner(state, username)) return lastOwnerRefusal(REMOVE_ORG_MEMBERSHIP_DOCS);
    if (!removeMember(state, username) && !cancelInvitation(state, username)) {
      return notFound(ORG_MEMBERSHIP_DOCS);
    }
    return noContent;
  }),
  route('GET', '/orgs/{org}/teams/{team_slug}/memberships/{username}', (state, baseUrl, params) => {
    const team = isOrganization(state, params.org) ? findTeam(state, params.team_slug) : undefined;
    const user = findUser(state, params.username);
    const body = team && user ? teamMembershipOf(state, baseUrl, team, user) : undefined;
    if (!body) return notFound(TEAM_MEMBERSHIP_DOCS);
    return { status: 200, body };
  }),
  // Adds an org member to the team or updates their role; someone outside the org is invited to
  // it and their team membership is pending until they accept.
  route('PUT', '/orgs/{org}/teams/{team_slug}/memberships/{username}', (state, baseUrl, params, request) => {
    const team = isOrganization(state, params.org) ? findTeam(state, params.team_slug) : undefined;
    const user = findUser(state, params.username);
    if (!team || !user) return notFound(SET_TEAM_MEMBERSHIP_DOCS);
    const role = requestedRole(request.body, TEAM_ROLES, 'member');
    if (!role) return roleRejection(request.body, TEAM_ROLES, SET_TEAM_MEMBERSHIP_DOCS);
    if (!setTeamMemberRole(state, team, user.login, role)) inviteToTeam(state, user, team, role);
    return { status: 200, body: teamMembershipOf(state, baseUrl, team, user) };
  }),
  route('DELETE', '/orgs/{org}/teams/{team_slug}/memberships/{username}', (state, _baseUrl, params) => {
    if (!isOrganization(state, params.org) || !removeTeamMember(state, params.team_slug, params.username)) {
      return notFound(TEAM_MEMBERSHIP_DOCS);
    }
    return noContent;
  }),
  route('GET', '/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', (state, baseUrl, params, request) => {
    const team = isOrganization(state, params.org) ? findTeam(state, params.team_slug) : undefined;
    const repository = isOrganization(state, params.owner) ? findRepository(state, params.repo) : undefined;
    const permission = repository ? team?.repositories.get(repository.name.toLowerCase()) : undefined;
    if (!repository || !permission) return notFound(TEAM_REPO_DOCS);
    if (!request.accept.includes(REPOSITORY_MEDIA_TYPE)) return noContent;
    return {
      status: 200,
      body: teamRepository(baseUrl, state, repository, permission),
      mediaType: 'github.v3; param=repository; format=json',
    };
  }),
  route('DELETE', '/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', (state, _baseUrl, params) => {
    const team = isOrganization(state, params.org) ? findTeam(state, params.team_slug) : undefined;
    const repository = isOrganization(state, params.owner) ? findRepository(state, params.repo) : undefined;
    if (!team || !repository) return notFound(`${DOCS}/teams/teams#remove-a-repository-from-a-team`);
    // GitHub answers 204 whether or not the team had access: removal is idempotent.
    removeTeamRepository(state, team.slug, repository.name);
    return noContent;
  }),
  route('GET', '/repos/{owner}/{repo}/collaborators/{username}/permission', (state, baseUrl, params) => {
    const repository = isOrganization(state, params.owner) ? findRepository(state, params.repo) : undefined;
    const user = findUser(state, params.username);
    if (!repository || !user) return notFound(COLLABORATOR_DOCS);
    const permission = effectivePermission(permissionSources(state, user.login, repository));
    return { status: 200, body: collaboratorPermission(baseUrl, user, permission) };
  }),
  route('DELETE', '/repos/{owner}/{repo}/collaborators/{username}', (state, _baseUrl, params) => {
    const repository = isOrganization(state, params.owner) ? findRepository(state, params.repo) : undefined;
    const user = findUser(state, params.username);
    if (!repository || !user)
      return notFound(`${DOCS}/collaborators/collaborators#remove-a-repository-collaborator`);
    // Documented responses are 204/403/422 only: removing a non-collaborator is not an error.
    removeCollaborator(state, repository.name, user.login);
    return noContent;
  }),
];

const routes: Route[] = [...coreRoutes, ...cicdRoutes];

export { notFound, REPOSITORY_MEDIA_TYPE, type RestRequest, type RestResponse };

/**
 * Routes one REST request; anything the sandbox does not implement is GitHub's plain 404. The
 * answer names the route's template, so the server can check it against GitHub's OpenAPI description.
 */
export function handleRest(
  state: GitHubState,
  baseUrl: string,
  request: RestRequest,
): RestResponse & { template?: string } {
  for (const candidate of routes) {
    if (candidate.method !== request.method) continue;
    const match = candidate.pattern.exec(request.path);
    if (!match) continue;
    const params: Record<string, string> = {};
    let malformed = false;
    candidate.names.forEach((name, index) => {
      try {
        params[name] = decodeURIComponent(match[index + 1] ?? '');
      } catch {
        malformed = true;
      }
    });
    if (malformed) return notFound();
    return { ...candidate.handler(state, baseUrl, params, request), template: candidate.template };
  }
  return notFound();
}
