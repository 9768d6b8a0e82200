import {
  deselect,
  findRepositoryById,
  minimalRepository,
  repositoriesNamed,
  runnerGroup,
} from '../cicd/bodies-actions';
import type { SandboxRunnerGroup } from '../cicd/state';
import { DOCS, noContent, notFound, pagedWithCount, type Route, route, validationFailed } from '../rest-kit';
import { type GitHubState, isOrganization } from '../state';
import { organizationRecord } from './lookup';

/*
 * Self-hosted runner groups and the repositories allowed to run jobs on them. The sandbox has only
 * the scenario's groups (no built-in "Default" group), so a scenario states every group it means.
 */

const RUNNER_GROUP_DOCS = `${DOCS}/actions/self-hosted-runner-groups`;

function groupOf(state: GitHubState, org: string, id: string): SandboxRunnerGroup | undefined {
  return organizationRecord(state, org, state.cicd.runnerGroups, Number(id));
}

export const runnerGroupRoutes: Route[] = [
  route('GET', '/orgs/{org}/actions/runner-groups', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(RUNNER_GROUP_DOCS);
    const groups = [...state.cicd.runnerGroups.values()].sort((a, b) => a.id - b.id);
    return pagedWithCount(groups, 'runner_groups', request, baseUrl, (group) =>
      runnerGroup(baseUrl, state, group),
    );
  }),
  // A group visible to all (or all private) repositories has no selection: its list is empty.
  route(
    'GET',
    '/orgs/{org}/actions/runner-groups/{runner_group_id}/repositories',
    (state, baseUrl, { org, runner_group_id }, request) => {
      const group = groupOf(state, org, runner_group_id);
      if (!group) return notFound(RUNNER_GROUP_DOCS);
      const repositories = repositoriesNamed(
        state,
        group.visibility === 'selected' ? group.repositories : [],
      );
      return pagedWithCount(repositories, 'repositories', request, baseUrl, (repository) =>
        minimalRepository(baseUrl, state, repository),
      );
    },
  ),
  // 204 whether or not the repository was selected, like GitHub; clients GET first to know.
  route(
    'DELETE',
    '/orgs/{org}/actions/runner-groups/{runner_group_id}/repositories/{repository_id}',
    (state, _baseUrl, { org, runner_group_id, repository_id }) => {
      const group = groupOf(state, org, runner_group_id);
      const repository = findRepositoryById(state, repository_id);
      if (!group || !repository) return notFound(RUNNER_GROUP_DOCS);
      // GitHub documents no refusal here; a group without a selection cannot lose a repository from it.
      if (group.visibility !== 'selected') {
        return validationFailed('Runner group visibility must be set to selected', RUNNER_GROUP_DOCS);
      }
      deselect(group.repositories, repository);
      return noContent;
    },
  ),
];
