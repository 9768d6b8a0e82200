import { permissionAtLeast, type RepositoryPermission } from '../../functions/core/grant';
import type { GitHubState, SandboxRepository, SandboxTeam, SandboxUser, TeamRole } from './state';

/*
 * REST response bodies in the shapes of GitHub's OpenAPI description (schemas org-membership,
 * team-membership, team-repository, repository-collaborator-permission). Every field the schema
 * requires is present so clients that read more than we expect still get GitHub-like data; the
 * integration tests validate these against the OpenAPI document itself.
 */

const CREATED_AT = '2020-01-01T00:00:00Z';

function nodeId(prefix: string, id: number): string {
  return Buffer.from(`${prefix}${id}`).toString('base64');
}

export function simpleUser(baseUrl: string, user: SandboxUser) {
  const url = `${baseUrl}/users/${user.login}`;
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId('04:User', user.id),
    avatar_url: `${baseUrl}/avatars/u/${user.id}?v=4`,
    gravatar_id: '',
    url,
    html_url: `${baseUrl}/${user.login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: 'User',
    site_admin: false,
    user_view_type: 'public',
  };
}

/** The organisation as a repository's owner, an installation's account or an app's owner (a simple-user). */
export function organizationAsOwner(baseUrl: string, state: GitHubState) {
  const url = `${baseUrl}/users/${state.login}`;
  return {
    ...simpleUser(baseUrl, { login: state.login, id: state.id }),
    node_id: nodeId('012:Organization', state.id),
    url,
    type: 'Organization',
  };
}

export function organizationSimple(baseUrl: string, state: GitHubState) {
  const url = `${baseUrl}/orgs/${state.login}`;
  return {
    login: state.login,
    id: state.id,
    node_id: nodeId('012:Organization', state.id),
    url,
    repos_url: `${url}/repos`,
    events_url: `${url}/events`,
    hooks_url: `${url}/hooks`,
    issues_url: `${url}/issues`,
    members_url: `${url}/members{/member}`,
    public_members_url: `${url}/public_members{/member}`,
    avatar_url: `${baseUrl}/avatars/u/${state.id}?v=4`,
    description: null,
  };
}

export function orgMembership(
  baseUrl: string,
  state: GitHubState,
  user: SandboxUser,
  role: 'admin' | 'member',
  membershipState: 'active' | 'pending' = 'active',
) {
  return {
    url: `${baseUrl}/orgs/${state.login}/memberships/${user.login}`,
    state: membershipState,
    role,
    direct_membership: true,
    organization_url: `${baseUrl}/orgs/${state.login}`,
    organization: organizationSimple(baseUrl, state),
    user: simpleUser(baseUrl, user),
    permissions: { can_create_repository: role === 'admin' },
  };
}

export function teamMembership(
  baseUrl: string,
  state: GitHubState,
  team: SandboxTeam,
  user: SandboxUser,
  role: TeamRole,
  membershipState: 'active' | 'pending' = 'active',
) {
  return {
    url: `${baseUrl}/organizations/${state.id}/team/${team.id}/memberships/${user.login}`,
    role,
    state: membershipState,
  };
}

/** The `permissions` flags GitHub derives from a role: each role includes the weaker ones. */
export function permissionFlags(permission: RepositoryPermission | undefined) {
  const has = (wanted: RepositoryPermission) =>
    permission !== undefined && permissionAtLeast(permission, wanted);
  return {
    admin: has('admin'),
    maintain: has('maintain'),
    push: has('write'),
    triage: has('triage'),
    pull: has('read'),
  };
}

/** REST's legacy `permission`: maintain reads as write and triage as read (see the endpoint's docs). */
export function legacyPermission(
  permission: RepositoryPermission | undefined,
): 'admin' | 'write' | 'read' | 'none' {
  switch (permission) {
    case 'admin':
      return 'admin';
    case 'maintain':
    case 'write':
      return 'write';
    case 'triage':
    case 'read':
      return 'read';
    default:
      return 'none';
  }
}

export function teamRepository(
  baseUrl: string,
  state: GitHubState,
  repository: SandboxRepository,
  permission: RepositoryPermission,
) {
  const fullName = `${state.login}/${repository.name}`;
  const url = `${baseUrl}/repos/${fullName}`;
  return {
    id: repository.id,
    node_id: nodeId('010:Repository', repository.id),
    name: repository.name,
    full_name: fullName,
    license: null,
    forks: 0,
    permissions: permissionFlags(permission),
    role_name: permission,
    owner: organizationAsOwner(baseUrl, state),
    private: repository.private,
    html_url: `${baseUrl}/${fullName}`,
    description: null,
    fork: false,
    url,
    archive_url: `${url}/{archive_format}{/ref}`,
    assignees_url: `${url}/assignees{/user}`,
    blobs_url: `${url}/git/blobs{/sha}`,
    branches_url: `${url}/branches{/branch}`,
    collaborators_url: `${url}/collaborators{/collaborator}`,
    comments_url: `${url}/comments{/number}`,
    commits_url: `${url}/commits{/sha}`,
    compare_url: `${url}/compare/{base}...{head}`,
    contents_url: `${url}/contents/{+path}`,
    contributors_url: `${url}/contributors`,
    deployments_url: `${url}/deployments`,
    downloads_url: `${url}/downloads`,
    events_url: `${url}/events`,
    forks_url: `${url}/forks`,
    git_commits_url: `${url}/git/commits{/sha}`,
    git_refs_url: `${url}/git/refs{/sha}`,
    git_tags_url: `${url}/git/tags{/sha}`,
    git_url: `git://127.0.0.1/${fullName}.git`,
    issue_comment_url: `${url}/issues/comments{/number}`,
    issue_events_url: `${url}/issues/events{/number}`,
    issues_url: `${url}/issues{/number}`,
    keys_url: `${url}/keys{/key_id}`,
    labels_url: `${url}/labels{/name}`,
    languages_url: `${url}/languages`,
    merges_url: `${url}/merges`,
    milestones_url: `${url}/milestones{/number}`,
    notifications_url: `${url}/notifications{?since,all,participating}`,
    pulls_url: `${url}/pulls{/number}`,
    releases_url: `${url}/releases{/id}`,
    ssh_url: `git@127.0.0.1:${fullName}.git`,
    stargazers_url: `${url}/stargazers`,
    statuses_url: `${url}/statuses/{sha}`,
    subscribers_url: `${url}/subscribers`,
    subscription_url: `${url}/subscription`,
    tags_url: `${url}/tags`,
    teams_url: `${url}/teams`,
    trees_url: `${url}/git/trees{/sha}`,
    clone_url: `${baseUrl}/${fullName}.git`,
    mirror_url: null,
    hooks_url: `${url}/hooks`,
    svn_url: `${baseUrl}/${fullName}`,
    homepage: null,
    language: null,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    size: 0,
    default_branch: 'main',
    open_issues_count: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: true,
    has_wiki: true,
    has_pages: false,
    has_downloads: true,
    archived: false,
    disabled: false,
    visibility: repository.private ? 'private' : 'public',
    pushed_at: CREATED_AT,
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
    allow_rebase_merge: true,
    allow_squash_merge: true,
    allow_auto_merge: false,
    delete_branch_on_merge: false,
    allow_merge_commit: true,
    allow_forking: false,
    web_commit_signoff_required: false,
    open_issues: 0,
    watchers: 0,
  };
}

export function collaboratorPermission(
  baseUrl: string,
  user: SandboxUser,
  permission: RepositoryPermission | undefined,
) {
  const roleName = permission ?? 'none';
  return {
    permission: legacyPermission(permission),
    role_name: roleName,
    user: {
      ...simpleUser(baseUrl, user),
      permissions: permissionFlags(permission),
      role_name: roleName,
    },
  };
}
