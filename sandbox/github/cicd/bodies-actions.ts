import { organizationAsOwner, simpleUser, teamRepository } from '../bodies';
import { findRepository, findUser, type GitHubState, type SandboxRepository } from '../state';
import type {
  SandboxAppInstallation,
  SandboxPersonalAccessToken,
  SandboxRunnerGroup,
  SandboxSecret,
  SandboxVariable,
} from './state';

/*
 * REST bodies of the Actions secrets and variables, runner group, app installation and
 * fine-grained token endpoints, in the shapes of GitHub's OpenAPI description
 * (organization-actions-secret, organization-actions-variable, actions-secret, runner-groups-org,
 * installation, organization-programmatic-access-grant, minimal-repository). The sandbox checks
 * each answer against those schemas while tests run, so every required field is here.
 */

const CREATED_AT = '2024-03-01T00:00:00Z';

/** Repositories are addressed by numeric id in these endpoints; the state keys them by name. */
export function findRepositoryById(state: GitHubState, id: string | number): SandboxRepository | undefined {
  const wanted = Number(id);
  if (!Number.isInteger(wanted)) return undefined;
  for (const repository of state.repositories.values()) {
    if (repository.id === wanted) return repository;
  }
  return undefined;
}

/** The repositories of a name list that still exist, in the list's order (a deleted one drops out, as on GitHub). */
export function repositoriesNamed(state: GitHubState, names: readonly string[]): SandboxRepository[] {
  return names.flatMap((name) => {
    const repository = findRepository(state, name);
    return repository ? [repository] : [];
  });
}

/** Removes `repository` from a selection list (names compared case-insensitively); false when it was not there. */
export function deselect(names: string[], repository: SandboxRepository): boolean {
  const index = names.findIndex((name) => name.toLowerCase() === repository.name.toLowerCase());
  if (index < 0) return false;
  names.splice(index, 1);
  return true;
}

/** minimal-repository: the repository body without the caller-specific permission fields. */
export function minimalRepository(baseUrl: string, state: GitHubState, repository: SandboxRepository) {
  const {
    permissions: _permissions,
    role_name: _roleName,
    ...body
  } = teamRepository(baseUrl, state, repository, 'read');
  return body;
}

export function organizationSecret(baseUrl: string, state: GitHubState, secret: SandboxSecret) {
  return {
    name: secret.name,
    created_at: secret.createdAt,
    updated_at: secret.updatedAt,
    visibility: secret.visibility,
    ...(secret.visibility === 'selected'
      ? {
          selected_repositories_url: `${baseUrl}/orgs/${state.login}/actions/secrets/${secret.name}/repositories`,
        }
      : {}),
  };
}

export function organizationVariable(baseUrl: string, state: GitHubState, variable: SandboxVariable) {
  return {
    name: variable.name,
    value: variable.value,
    created_at: variable.createdAt,
    updated_at: variable.updatedAt,
    visibility: variable.visibility,
    ...(variable.visibility === 'selected'
      ? {
          selected_repositories_url: `${baseUrl}/orgs/${state.login}/actions/variables/${variable.name}/repositories`,
        }
      : {}),
  };
}

/** An environment secret: the scenario records only names, so the dates are the sandbox's constant. */
export function environmentSecret(name: string) {
  return { name, created_at: CREATED_AT, updated_at: CREATED_AT };
}

export function runnerGroup(baseUrl: string, state: GitHubState, group: SandboxRunnerGroup) {
  const url = `${baseUrl}/orgs/${state.login}/actions/runner-groups/${group.id}`;
  return {
    id: group.id,
    name: group.name,
    visibility: group.visibility,
    default: false,
    ...(group.visibility === 'selected' ? { selected_repositories_url: `${url}/repositories` } : {}),
    runners_url: `${url}/runners`,
    inherited: false,
    allows_public_repositories: group.allowsPublicRepositories,
    restricted_to_workflows: false,
    selected_workflows: [],
    workflow_restrictions_read_only: false,
  };
}

/** The `installation` schema, for GET /orgs/{org}/installations. */
export function installation(baseUrl: string, state: GitHubState, app: SandboxAppInstallation) {
  return {
    id: app.id,
    account: organizationAsOwner(baseUrl, state),
    repository_selection: app.repositorySelection,
    access_tokens_url: `${baseUrl}/app/installations/${app.id}/access_tokens`,
    repositories_url: `${baseUrl}/installation/repositories`,
    html_url: `${baseUrl}/organizations/${state.login}/settings/installations/${app.id}`,
    app_id: app.appId,
    app_slug: app.slug,
    target_id: state.id,
    target_type: 'Organization',
    permissions: app.permissions,
    events: [],
    created_at: app.installedAt,
    updated_at: app.installedAt,
    single_file_name: null,
    suspended_by: null,
    suspended_at: app.suspendedAt ?? null,
  };
}

/** A token's grant to the organisation (GET /orgs/{org}/personal-access-tokens). */
export function programmaticAccessGrant(
  baseUrl: string,
  state: GitHubState,
  token: SandboxPersonalAccessToken,
  now: Date = new Date(),
) {
  const owner = findUser(state, token.owner) ?? { login: token.owner, id: 0 };
  return {
    id: token.id,
    owner: simpleUser(baseUrl, owner),
    repository_selection: token.repositorySelection,
    repositories_url: `${baseUrl}/orgs/${state.login}/personal-access-tokens/${token.id}/repositories`,
    permissions: { organization: token.permissions.organization, repository: token.permissions.repository },
    access_granted_at: token.approvedAt,
    token_id: token.tokenId,
    token_name: token.name,
    token_expired: token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime(),
    token_expires_at: token.expiresAt,
    token_last_used_at: token.lastUsedAt,
  };
}
