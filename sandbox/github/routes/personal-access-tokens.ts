import { minimalRepository, programmaticAccessGrant, repositoriesNamed } from '../cicd/bodies-actions';
import type { SandboxPersonalAccessToken } from '../cicd/state';
import { DOCS, invalidRequest, noContent, notFound, objectBody, paged, type Route, route } from '../rest-kit';
import { type GitHubState, isOrganization } from '../state';
import { organizationRecord } from './lookup';

/*
 * Fine-grained personal access tokens approved for the organisation: list them, revoke one (the
 * token keeps working elsewhere, it only loses this organisation), list the repositories it reaches.
 */

const PAT_DOCS = `${DOCS}/orgs/personal-access-tokens`;

function tokenOf(state: GitHubState, org: string, id: string): SandboxPersonalAccessToken | undefined {
  return organizationRecord(state, org, state.cicd.personalAccessTokens, Number(id));
}

export const personalAccessTokenRoutes: Route[] = [
  route('GET', '/orgs/{org}/personal-access-tokens', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(PAT_DOCS);
    const tokens = [...state.cicd.personalAccessTokens.values()].sort((a, b) => a.id - b.id);
    return paged(tokens, request, baseUrl, (page) =>
      page.map((token) => programmaticAccessGrant(baseUrl, state, token)),
    );
  }),
  route(
    'POST',
    '/orgs/{org}/personal-access-tokens/{pat_id}',
    (state, _baseUrl, { org, pat_id }, request) => {
      const action = objectBody(request.body)?.action;
      if (action !== 'revoke') {
        return invalidRequest(
          `For 'properties/action', ${JSON.stringify(action ?? null)} is not a member of ["revoke"].`,
          PAT_DOCS,
        );
      }
      const token = tokenOf(state, org, pat_id);
      if (!token) return notFound(PAT_DOCS);
      state.cicd.personalAccessTokens.delete(token.id);
      return noContent;
    },
  ),
  // `all` reaches every repository of the organisation, `none` only its public resources.
  route(
    'GET',
    '/orgs/{org}/personal-access-tokens/{pat_id}/repositories',
    (state, baseUrl, { org, pat_id }, request) => {
      const token = tokenOf(state, org, pat_id);
      if (!token) return notFound(PAT_DOCS);
      const repositories =
        token.repositorySelection === 'all'
          ? [...state.repositories.values()].sort((a, b) => a.id - b.id)
          : token.repositorySelection === 'subset'
            ? repositoriesNamed(state, token.repositories)
            : [];
      return paged(repositories, request, baseUrl, (page) =>
        page.map((repository) => minimalRepository(baseUrl, state, repository)),
      );
    },
  ),
];
