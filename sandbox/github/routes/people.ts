import { organizationSimple, simpleUser, teamRepository } from '../bodies';
import { repositoryCicd, type SandboxRepositoryInvitation } from '../cicd/state';
import {
  DOCS,
  noContent,
  notFound,
  paged,
  type RestRequest,
  type Route,
  route,
  validationFailed,
} from '../rest-kit';
import {
  cancelInvitationById,
  compareKeys,
  findRepository,
  findUser,
  type GitHubState,
  isOrganization,
  type SandboxRepository,
  type SandboxUser,
} from '../state';

/*
 * People beyond memberships: pending invitations (to the organisation and to repositories), the
 * members-without-2FA filter, and the organisation's custom repository roles.
 */

const ORG_INVITATIONS_DOCS = `${DOCS}/orgs/members#list-pending-organization-invitations`;
const CANCEL_ORG_INVITATION_DOCS = `${DOCS}/orgs/members#cancel-an-organization-invitation`;
const REPO_INVITATIONS_DOCS = `${DOCS}/collaborators/invitations#list-repository-invitations`;
const MEMBERS_DOCS = `${DOCS}/orgs/members#list-organization-members`;
const AUTHENTICATED_USER_DOCS = `${DOCS}/users/users#get-the-authenticated-user`;
const CUSTOM_ROLES_DOCS = `${DOCS}/orgs/custom-roles#list-custom-repository-roles-in-an-organization`;
const ORGANIZATION_DOCS = `${DOCS}/orgs/orgs#get-an-organization`;

function nodeId(prefix: string, id: number): string {
  return Buffer.from(`${prefix}${id}`).toString('base64');
}

/** The organisation as a simple-user (GitHub's shape for an org as owner or inviter). */
function organizationUser(baseUrl: string, state: GitHubState) {
  return {
    ...simpleUser(baseUrl, { login: state.login, id: state.id }),
    node_id: nodeId('012:Organization', state.id),
    type: 'Organization',
  };
}

/**
 * Whoever sent an invitation. Scenarios name inviters who need not be anywhere else in the
 * sandbox; an invitation made through PUT membership has none, and is shown as sent by the org.
 */
function inviterOf(baseUrl: string, state: GitHubState, login: string | undefined) {
  if (!login) return organizationUser(baseUrl, state);
  const user: SandboxUser = findUser(state, login) ?? { login, id: stableId(login) };
  return simpleUser(baseUrl, user);
}

/** A fixed id for a login the sandbox does not otherwise know (so it stays the same on every answer). */
function stableId(login: string): number {
  let hash = 0;
  for (const char of login.toLowerCase()) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_000;
  return 9_000_000 + hash;
}

/** GitHub's organization-invitation roles: `admin` for owners, `direct_member` for members. */
type InvitationRole = 'admin' | 'direct_member' | 'billing_manager';

interface OrgInvitationView {
  id: number;
  login: string | null;
  email: string | null;
  role: InvitationRole;
  invitedBy: string | undefined;
  createdAt: string;
  teamCount: number;
}

/** Every pending org invitation, by login or by email, oldest (lowest id) first. */
function organizationInvitations(state: GitHubState): OrgInvitationView[] {
  const byLogin: OrgInvitationView[] = [...state.invitations.values()].map((invitation) => ({
    id: invitation.id,
    login: invitation.login,
    email: findUser(state, invitation.login)?.email ?? null,
    role: invitation.role === 'owner' ? 'admin' : 'direct_member',
    invitedBy: invitation.invitedBy,
    createdAt: invitation.createdAt,
    teamCount: invitation.teams.size,
  }));
  const byEmail: OrgInvitationView[] = [...state.cicd.emailInvitations.values()].map((invitation) => ({
    id: invitation.id,
    login: null,
    email: invitation.email,
    role: invitation.role === 'member' ? 'direct_member' : invitation.role,
    invitedBy: invitation.invitedBy,
    createdAt: invitation.createdAt,
    teamCount: invitation.teams.length,
  }));
  return [...byLogin, ...byEmail].sort((a, b) => a.id - b.id);
}

function organizationInvitation(baseUrl: string, state: GitHubState, invitation: OrgInvitationView) {
  return {
    id: invitation.id,
    login: invitation.login,
    email: invitation.email,
    role: invitation.role,
    created_at: invitation.createdAt,
    failed_at: null,
    failed_reason: null,
    inviter: inviterOf(baseUrl, state, invitation.invitedBy),
    team_count: invitation.teamCount,
    node_id: nodeId('022:OrganizationInvitation', invitation.id),
    invitation_teams_url: `${baseUrl}/organizations/${state.id}/invitations/${invitation.id}/teams`,
    invitation_source: 'member',
  };
}

/** A repository invitation as GitHub renders it (the list, and the 201 of PUT collaborator). */
export function repositoryInvitation(
  baseUrl: string,
  state: GitHubState,
  repository: SandboxRepository,
  invitation: SandboxRepositoryInvitation,
) {
  const invitee = findUser(state, invitation.login);
  return {
    id: invitation.id,
    node_id: nodeId('020:RepositoryInvitation', invitation.id),
    // GitHub's schema lists only built-in roles here, so a custom role shows as its base role.
    permissions: invitation.permission,
    created_at: invitation.createdAt,
    expired: false,
    url: `${baseUrl}/user/repository_invitations/${invitation.id}`,
    html_url: `${baseUrl}/${state.login}/${repository.name}/invitations`,
    repository: teamRepository(baseUrl, state, repository, invitation.permission),
    invitee: invitee ? simpleUser(baseUrl, invitee) : null,
    inviter: inviterOf(baseUrl, state, invitation.invitedBy),
  };
}

const ORG_INVITATION_ROLES = ['all', 'admin', 'direct_member', 'billing_manager', 'hiring_manager'];

/** The `role` filter of the invitation list; undefined for a value GitHub would reject. */
function roleFilter(request: RestRequest): string | undefined {
  const role = request.query.get('role') ?? 'all';
  return ORG_INVITATION_ROLES.includes(role) ? role : undefined;
}

const TWO_FACTOR_FILTERS = ['all', '2fa_disabled', '2fa_insecure'];

export const peopleRoutes: Route[] = [
  route('GET', '/orgs/{org}/invitations', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(ORG_INVITATIONS_DOCS);
    const role = roleFilter(request);
    if (!role) return validationFailed('Validation Failed', ORG_INVITATIONS_DOCS);
    const invitations = organizationInvitations(state).filter(
      (invitation) => role === 'all' || invitation.role === role,
    );
    return paged(invitations, request, baseUrl, (page) =>
      page.map((invitation) => organizationInvitation(baseUrl, state, invitation)),
    );
  }),
  route('DELETE', '/orgs/{org}/invitations/{invitation_id}', (state, _baseUrl, params) => {
    const id = Number(params.invitation_id);
    if (!isOrganization(state, params.org) || !Number.isInteger(id) || !cancelInvitationById(state, id)) {
      return notFound(CANCEL_ORG_INVITATION_DOCS);
    }
    return noContent;
  }),
  route('GET', '/repos/{owner}/{repo}/invitations', (state, baseUrl, params, request) => {
    const repository = isOrganization(state, params.owner) ? findRepository(state, params.repo) : undefined;
    const records = repository ? repositoryCicd(state, repository.name) : undefined;
    if (!repository || !records) return notFound(REPO_INVITATIONS_DOCS);
    const invitations = [...records.invitations.values()].sort((a, b) => a.id - b.id);
    return paged(invitations, request, baseUrl, (page) =>
      page.map((invitation) => repositoryInvitation(baseUrl, state, repository, invitation)),
    );
  }),
  // GitHub documents only the 204; like any route addressed by id, an unknown invitation is a 404.
  route('DELETE', '/repos/{owner}/{repo}/invitations/{invitation_id}', (state, _baseUrl, params) => {
    const repository = isOrganization(state, params.owner) ? findRepository(state, params.repo) : undefined;
    const records = repository ? repositoryCicd(state, repository.name) : undefined;
    if (!records?.invitations.delete(Number(params.invitation_id))) {
      return notFound(`${DOCS}/collaborators/invitations#delete-a-repository-invitation`);
    }
    return noContent;
  }),
  // The organisation: the access review reads its base permission (`default_repository_permission`,
  // which GitHub shows to owners only), the one fact that gives every member every repository.
  route('GET', '/orgs/{org}', (state, baseUrl, { org }) => {
    if (!isOrganization(state, org)) return notFound(ORGANIZATION_DOCS);
    const publicRepositories = [...state.repositories.values()].filter((repository) => !repository.private);
    return {
      status: 200,
      body: {
        // The organization-full schema is organization-simple plus the organisation's settings.
        ...organizationSimple(baseUrl, state),
        html_url: `${baseUrl}/${state.login}`,
        has_organization_projects: true,
        has_repository_projects: true,
        public_repos: publicRepositories.length,
        public_gists: 0,
        followers: 0,
        following: 0,
        type: 'Organization',
        created_at: '2020-01-01T00:00:00Z',
        updated_at: '2020-01-01T00:00:00Z',
        archived_at: null,
        default_repository_permission: state.basePermission,
        members_can_create_repositories: true,
      },
    };
  }),
  route('GET', '/orgs/{org}/members', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(MEMBERS_DOCS);
    const filter = request.query.get('filter') ?? 'all';
    const role = request.query.get('role') ?? 'all';
    if (!TWO_FACTOR_FILTERS.includes(filter) || !['all', 'admin', 'member'].includes(role)) {
      return validationFailed('Validation Failed', MEMBERS_DOCS);
    }
    const members = [...state.members.values()]
      .filter((member) => filter === 'all' || (filter === '2fa_disabled' && !member.twoFactor))
      .filter((member) => role === 'all' || (role === 'admin') === (member.role === 'owner'))
      .sort((a, b) => compareKeys(a.login, b.login));
    return paged(members, request, baseUrl, (page) =>
      page.map((member) =>
        simpleUser(baseUrl, findUser(state, member.login) ?? { login: member.login, id: 0 }),
      ),
    );
  }),
  // Custom repository roles are a GitHub Enterprise Cloud feature: the route is in GHEC's description.
  route('GET', '/orgs/{org}/custom-repository-roles', (state, baseUrl, { org }) => {
    if (!isOrganization(state, org)) return notFound(CUSTOM_ROLES_DOCS);
    const roles = state.cicd.customRoles.map((role) => ({
      id: role.id,
      name: role.name,
      description: role.description ?? null,
      base_role: role.baseRole,
      permissions: role.permissions,
      organization: organizationUser(baseUrl, state),
      created_at: '2024-03-01T00:00:00Z',
      updated_at: '2024-03-01T00:00:00Z',
    }));
    return { status: 200, body: { total_count: roles.length, custom_roles: roles } };
  }),
  // Who the token belongs to. An App installation's token has no user: GitHub refuses it so.
  route('GET', '/user', (state, baseUrl) => {
    const user = state.viewer ? findUser(state, state.viewer) : undefined;
    if (!user) {
      return {
        status: 403,
        body: {
          message: 'Resource not accessible by integration',
          documentation_url: AUTHENTICATED_USER_DOCS,
          status: '403',
        },
      };
    }
    return {
      status: 200,
      body: {
        ...simpleUser(baseUrl, user),
        name: user.name ?? null,
        company: null,
        blog: '',
        location: null,
        email: null,
        hireable: null,
        bio: null,
        public_repos: 0,
        public_gists: 0,
        followers: 0,
        following: 0,
        created_at: '2020-01-01T00:00:00Z',
        updated_at: '2020-01-01T00:00:00Z',
      },
    };
  }),
];
