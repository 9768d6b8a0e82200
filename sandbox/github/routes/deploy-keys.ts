import { deployKeyBody } from '../cicd/bodies-deploy';
import { DOCS, noContent, notFound, paged, type Route, route } from '../rest-kit';
import { repositoryWithRecords as repositoryOf } from './lookup';

const LIST_DOCS = `${DOCS}/deploy-keys/deploy-keys#list-deploy-keys`;
const GET_DOCS = `${DOCS}/deploy-keys/deploy-keys#get-a-deploy-key`;
const DELETE_DOCS = `${DOCS}/deploy-keys/deploy-keys#delete-a-deploy-key`;

/** A key id as GitHub parses it: digits only; anything else addresses no key. */
function keyId(value: string): number | undefined {
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Deploy keys of a repository: list (paged, oldest first as GitHub lists them), read one, delete one. */
export const deployKeyRoutes: Route[] = [
  route('GET', '/repos/{owner}/{repo}/keys', (state, baseUrl, { owner, repo }, request) => {
    const found = repositoryOf(state, owner, repo);
    if (!found) return notFound(LIST_DOCS);
    const keys = [...found.records.deployKeys.values()].sort((a, b) => a.id - b.id);
    return paged(keys, request, baseUrl, (page) =>
      page.map((key) => deployKeyBody(baseUrl, state, found.repository, key)),
    );
  }),
  route('GET', '/repos/{owner}/{repo}/keys/{key_id}', (state, baseUrl, params) => {
    const found = repositoryOf(state, params.owner, params.repo);
    const id = keyId(params.key_id);
    const key = found && id !== undefined ? found.records.deployKeys.get(id) : undefined;
    if (!found || !key) return notFound(GET_DOCS);
    return { status: 200, body: deployKeyBody(baseUrl, state, found.repository, key) };
  }),
  // GitHub answers 404 for a key that is not (or no longer) on the repository.
  route('DELETE', '/repos/{owner}/{repo}/keys/{key_id}', (state, _baseUrl, params) => {
    const found = repositoryOf(state, params.owner, params.repo);
    const id = keyId(params.key_id);
    if (!found || id === undefined || !found.records.deployKeys.delete(id)) return notFound(DELETE_DOCS);
    return noContent;
  }),
];
