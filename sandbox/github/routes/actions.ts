import {
  deselect,
  environmentSecret,
  findRepositoryById,
  minimalRepository,
  organizationSecret,
  organizationVariable,
  repositoriesNamed,
} from '../cicd/bodies-actions';
import { repositoryCicd, type SandboxSecret, type SandboxVariable } from '../cicd/state';
import {
  DOCS,
  noContent,
  notFound,
  pagedWithCount,
  type RestRequest,
  type RestResponse,
  type Route,
  route,
} from '../rest-kit';
import { compareKeys, type GitHubState, isOrganization } from '../state';
import { organizationRecord, organizationRepository } from './lookup';

/*
 * Organisation Actions secrets and variables (which repositories may read them) and environment
 * secret names. Values are never served: GitHub only ever returns names, dates and visibility.
 * A 404 for an unknown secret, variable, repository id or environment is what GitHub answers,
 * though its OpenAPI description does not list it for these paths (so a checked sandbox reports it).
 */

const SECRETS_DOCS = `${DOCS}/actions/secrets`;
const VARIABLES_DOCS = `${DOCS}/actions/variables`;

/** GitHub's answer for a repository list of a secret or variable whose visibility is not `selected`. */
function notSelected(what: string, documentation: string): RestResponse {
  return {
    status: 409,
    body: {
      message: `The visibility of the ${what} is not set to selected`,
      documentation_url: documentation,
      status: '409',
    },
  };
}

function sortedByName<T extends { name: string }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => compareKeys(a.name, b.name));
}

function selectedRepositories(
  state: GitHubState,
  baseUrl: string,
  request: RestRequest,
  names: readonly string[],
): RestResponse {
  return pagedWithCount(repositoriesNamed(state, names), 'repositories', request, baseUrl, (repository) =>
    minimalRepository(baseUrl, state, repository),
  );
}

/**
 * DELETE one repository from a secret's or variable's selection. GitHub answers 204 whether or
 * not the repository was selected (clients GET first to know), and 409 when the visibility is
 * not `selected`, since there is then no list to remove it from.
 */
function deselectRepository(
  state: GitHubState,
  item: SandboxSecret | SandboxVariable | undefined,
  repositoryId: string,
  what: string,
  documentation: string,
): RestResponse {
  const repository = findRepositoryById(state, repositoryId);
  if (!item || !repository) return notFound(documentation);
  if (item.visibility !== 'selected') return notSelected(what, documentation);
  deselect(item.repositories, repository);
  return noContent;
}

const secretOf = (state: GitHubState, org: string, name: string) =>
  organizationRecord(state, org, state.cicd.secrets, name.toUpperCase());
const variableOf = (state: GitHubState, org: string, name: string) =>
  organizationRecord(state, org, state.cicd.variables, name.toUpperCase());

export const actionsRoutes: Route[] = [
  route('GET', '/orgs/{org}/actions/secrets', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(SECRETS_DOCS);
    return pagedWithCount(sortedByName(state.cicd.secrets.values()), 'secrets', request, baseUrl, (secret) =>
      organizationSecret(baseUrl, state, secret),
    );
  }),
  // GitHub documents no 409 here (unlike the variables' list): a secret that is not `selected` has
  // no selection, so the sandbox answers an empty one.
  route(
    'GET',
    '/orgs/{org}/actions/secrets/{secret_name}/repositories',
    (state, baseUrl, { org, secret_name }, request) => {
      const secret = secretOf(state, org, secret_name);
      if (!secret) return notFound(SECRETS_DOCS);
      return selectedRepositories(
        state,
        baseUrl,
        request,
        secret.visibility === 'selected' ? secret.repositories : [],
      );
    },
  ),
  route(
    'DELETE',
    '/orgs/{org}/actions/secrets/{secret_name}/repositories/{repository_id}',
    (state, _baseUrl, { org, secret_name, repository_id }) =>
      deselectRepository(state, secretOf(state, org, secret_name), repository_id, 'secret', SECRETS_DOCS),
  ),
  route('GET', '/orgs/{org}/actions/variables', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(VARIABLES_DOCS);
    const variables = sortedByName(state.cicd.variables.values());
    return pagedWithCount(variables, 'variables', request, baseUrl, (variable) =>
      organizationVariable(baseUrl, state, variable),
    );
  }),
  route(
    'GET',
    '/orgs/{org}/actions/variables/{name}/repositories',
    (state, baseUrl, { org, name }, request) => {
      const variable = variableOf(state, org, name);
      if (!variable) return notFound(VARIABLES_DOCS);
      if (variable.visibility !== 'selected') return notSelected('variable', VARIABLES_DOCS);
      return selectedRepositories(state, baseUrl, request, variable.repositories);
    },
  ),
  route(
    'DELETE',
    '/orgs/{org}/actions/variables/{name}/repositories/{repository_id}',
    (state, _baseUrl, { org, name, repository_id }) =>
      deselectRepository(state, variableOf(state, org, name), repository_id, 'variable', VARIABLES_DOCS),
  ),
  route(
    'GET',
    '/repos/{owner}/{repo}/environments/{environment_name}/secrets',
    (state, baseUrl, { owner, repo, environment_name }, request) => {
      const repository = organizationRepository(state, owner, repo);
      const environment = repository
        ? repositoryCicd(state, repository.name)?.environments.get(environment_name.toLowerCase())
        : undefined;
      if (!environment) return notFound(SECRETS_DOCS);
      const names = [...environment.secrets].sort(compareKeys);
      return pagedWithCount(names, 'secrets', request, baseUrl, environmentSecret);
    },
  ),
];
