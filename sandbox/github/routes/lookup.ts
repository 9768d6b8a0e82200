import { repositoryCicd } from '../cicd/state';
import { findRepository, type GitHubState, isOrganization } from '../state';

/*
 * How the CI/CD routes find what a path names. A path naming another organisation finds nothing,
 * so every route answers it with its own 404, as GitHub does.
 */

/** `/repos/{owner}/{repo}`: the repository, when `owner` is this organisation. */
export function organizationRepository(state: GitHubState, owner: string, repo: string) {
  return isOrganization(state, owner) ? findRepository(state, repo) : undefined;
}

/** The repository with its CI/CD records (deploy keys, environments, rulesets, branch protection). */
export function repositoryWithRecords(state: GitHubState, owner: string, repo: string) {
  const repository = organizationRepository(state, owner, repo);
  const records = repository ? repositoryCicd(state, repository.name) : undefined;
  return repository && records ? { repository, records } : undefined;
}

/** `/orgs/{org}/…/{id}`: the organisation's record under `key`, when `org` is this organisation. */
export function organizationRecord<K, V>(
  state: GitHubState,
  org: string,
  records: ReadonlyMap<K, V>,
  key: K,
): V | undefined {
  return isOrganization(state, org) ? records.get(key) : undefined;
}
