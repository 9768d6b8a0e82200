import { collaboratorPermission, orgMembership, teamMembership, teamRepository } from './bodies';
import {
  effectivePermission,
  findMember,
  findRepository,
  findTeam,
  findUser,
  type GitHubState,
  isOrganization,
  permissionSources,
  removeCollaborator,
  removeMember,
  removeTeamMember,
  removeTeamRepository,
} from './state';

export interface RestRequest {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  accept: string;
}

export interface RestResponse {
  status: number;
  body?: unknown;
  /** GitHub's `x-github-media-type`, which reflects the media type the answer was rendered in. */
  mediaType?: string;
}

export const REPOSITORY_MEDIA_TYPE = 'application/vnd.github.v3.repository+json';

const DOCS = 'https://docs.github.com/rest';

export function notFound(documentation = DOCS): RestResponse {
  return { status: 404, body: { message: 'Not Found', documentation_url: documentation, status: '404' } };
}

const noContent: RestResponse = { status: 204 };

/** The `{names}` of a path template, so each handler sees exactly the parameters its path has. */
type ParamsOf<T extends string> = T extends `${string}{${infer Name}}${infer Rest}`
  ? Name | ParamsOf<Rest>
  : never;

type Handler<P extends string> = (
  state: GitHubState,
  baseUrl: string,
  params: Record<P, string>,
  request: RestRequest,
) => RestResponse;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler<string>;
}

/** `/orgs/{org}/memberships/{username}` → a matcher with named segments, as GitHub's docs write paths. */
function route<T extends string>(method: string, template: T, handler: Handler<ParamsOf<T>>): Route {
  const names: string[] = [];
  const source = template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${source}/?$`), names, handler };
}

const ORG_MEMBERSHIP_DOCS = `${DOCS}/orgs/members#get-organization-membership-for-a-user`;
const TEAM_MEMBERSHIP_DOCS = `${DOCS}/teams/members#get-team-membership-for-a-user`;
const TEAM_REPO_DOCS = `${DOCS}/teams/teams#check-team-permissions-for-a-repository`;
const COLLABORATOR_DOCS = `${DOCS}/collaborators/collaborators#get-repository-permissions-for-a-user`;

const routes: Route[] = [
  route('GET', '/orgs/{org}/memberships/{username}', (state, baseUrl, { org, username }) => {
    const member = isOrganization(state, org) ? findMember(state, username) : undefined;
    const user = findUser(state, username);
    if (!member || !user) return notFound(ORG_MEMBERSHIP_DOCS);
    return {
      status: 200,
      body: orgMembership(baseUrl, state, user, member.role === 'owner' ? 'admin' : 'member'),
    };
  }),
  route('DELETE', '/orgs/{org}/memberships/{username}', (state, _baseUrl, { org, username }) => {
    if (!isOrganization(state, org) || !removeMember(state, username)) return notFound(ORG_MEMBERSHIP_DOCS);
    return noContent;
  }),
  route('GET', '/orgs/{org}/teams/{team_slug}/memberships/{username}', (state, baseUrl, params) => {
    const team = isOrganization(state, params.org) ? findTeam(state, params.team_slug) : undefined;
    const membership = team?.members.get(params.username.toLowerCase());
    const user = findUser(state, params.username);
    if (!team || !membership || !user) return notFound(TEAM_MEMBERSHIP_DOCS);
    // Documented GitHub behaviour: "The role for organization owners is set to maintainer".
    const role = findMember(state, user.login)?.role === 'owner' ? 'maintainer' : membership.role;
    return { status: 200, body: teamMembership(baseUrl, state, team, user, role) };
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

/** Routes one REST request; anything the sandbox does not implement is GitHub's plain 404. */
export function handleRest(state: GitHubState, baseUrl: string, request: RestRequest): RestResponse {
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
    return candidate.handler(state, baseUrl, params, request);
  }
  return notFound();
}
