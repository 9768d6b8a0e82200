import { permissionRank, type RepositoryPermission } from '../../../functions/core/grant';
import { repositoryCicd } from '../cicd/state';
import { DOCS, noContent, notFound, objectBody, type RestResponse, type Route, route } from '../rest-kit';
import { findMember, findRepository, findTeam, findUser, type GitHubState, isOrganization } from '../state';
import { repositoryInvitation } from './people';

/*
 * The two writes that change a repository role in place: a collaborator's permission, and a team's
 * permission on a repository. Both also ADD access when there is none (an invitation, a newly
 * added repository), as GitHub's do; the access review reads before it writes for that reason.
 */

const ADD_COLLABORATOR_DOCS = `${DOCS}/collaborators/collaborators#add-a-repository-collaborator`;
const TEAM_REPO_DOCS = `${DOCS}/teams/teams#add-or-update-team-repository-permissions`;

/** The REST names of the built-in roles (GitHub still says pull and push for read and write). */
const FROM_API: Record<string, RepositoryPermission> = {
  pull: 'read',
  triage: 'triage',
  push: 'write',
  maintain: 'maintain',
  admin: 'admin',
};

/** A role the body names: a built-in one, or an organisation custom role (as its base role). */
type RequestedRole = { permission: RepositoryPermission; customRole?: string; name: string };

/**
 * The `permission` of the body: `fallback` when absent, undefined when it names no built-in or
 * custom role (GitHub answers 422), or when the body is not an object.
 */
function requestedPermission(
  state: GitHubState,
  body: unknown,
  fallback: string,
): RequestedRole | { invalid: string } {
  if (body !== undefined && objectBody(body) === undefined) return { invalid: JSON.stringify(body) };
  const named = objectBody(body)?.permission ?? fallback;
  if (typeof named !== 'string') return { invalid: JSON.stringify(named) };
  const builtIn = FROM_API[named];
  if (builtIn) return { permission: builtIn, name: named };
  const custom = state.cicd.customRoles.find((role) => role.name.toLowerCase() === named.toLowerCase());
  if (custom) return { permission: custom.baseRole, customRole: custom.name, name: custom.name };
  return { invalid: named };
}

function validationError(message: string, documentation: string, field?: string): RestResponse {
  return {
    status: 422,
    body: {
      message,
      documentation_url: documentation,
      ...(field ? { errors: [{ resource: 'Repository', field, code: 'invalid' }] } : {}),
    },
  };
}

export const collaboratorRoutes: Route[] = [
  /*
   * An existing collaborator's permission changes (204, no body). An org member who is not one
   * becomes one (204). Anyone else is invited (201 with the invitation; an existing invitation is
   * updated). GitHub refuses to give an org member less than the organisation's base permission.
   */
  route('PUT', '/repos/{owner}/{repo}/collaborators/{username}', (state, baseUrl, params, request) => {
    const repository = isOrganization(state, params.owner) ? findRepository(state, params.repo) : undefined;
    const user = findUser(state, params.username);
    if (!repository || !user) return notFound(ADD_COLLABORATOR_DOCS);
    const role = requestedPermission(state, request.body, 'push');
    if ('invalid' in role) {
      return validationError(
        `Validation Failed: ${role.invalid} is not a valid permission`,
        ADD_COLLABORATOR_DOCS,
        'permission',
      );
    }
    const member = findMember(state, user.login);
    const base = state.basePermission;
    if (member && base !== 'none' && permissionRank(role.permission) < permissionRank(base)) {
      return validationError(`Cannot assign ${user.login} permission of ${role.name}`, ADD_COLLABORATOR_DOCS);
    }
    const entry = {
      login: user.login,
      permission: role.permission,
      ...(role.customRole ? { customRole: role.customRole } : {}),
    };
    const key = user.login.toLowerCase();
    if (repository.collaborators.has(key) || member) {
      repository.collaborators.set(key, {
        ...entry,
        login: repository.collaborators.get(key)?.login ?? user.login,
      });
      return noContent;
    }
    const records = repositoryCicd(state, repository.name);
    if (!records) return notFound(ADD_COLLABORATOR_DOCS);
    let invitation = [...records.invitations.values()].find(
      (candidate) => candidate.login.toLowerCase() === key,
    );
    if (invitation) {
      invitation.permission = role.permission;
      if (role.customRole) invitation.customRole = role.customRole;
      else delete invitation.customRole;
    } else {
      invitation = {
        id: state.nextId(),
        login: user.login,
        permission: role.permission,
        ...(role.customRole ? { customRole: role.customRole } : {}),
        invitedBy: state.viewer ?? '',
        createdAt: new Date().toISOString(),
      };
      records.invitations.set(invitation.id, invitation);
    }
    return { status: 201, body: repositoryInvitation(baseUrl, state, repository, invitation) };
  }),
  // Sets the team's permission on the repository, adding the repository to the team if needed.
  route('PUT', '/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}', (state, _baseUrl, params, request) => {
    const team = isOrganization(state, params.org) ? findTeam(state, params.team_slug) : undefined;
    const repository = isOrganization(state, params.owner) ? findRepository(state, params.repo) : undefined;
    if (!team || !repository) return notFound(TEAM_REPO_DOCS);
    // Without a permission GitHub uses the team's own `permission` attribute, which is pull.
    const role = requestedPermission(state, request.body, 'pull');
    if ('invalid' in role) {
      return validationError(
        `Validation Failed: ${role.invalid} is not a valid permission`,
        TEAM_REPO_DOCS,
        'permission',
      );
    }
    team.repositories.set(repository.name.toLowerCase(), role.permission);
    return noContent;
  }),
];
