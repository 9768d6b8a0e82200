import { ConnectorError } from '../../core/errors';
import { type Grant, type GrantFlag, makeGrant } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import type { GitHubAccessKind } from './access-kind';
import { type GitHubContext, now, runRest } from './context';
import { runnerGroupKey, splitInOrganization } from './keys';
import { organizationList, sameName } from './organization-lists';

/*
 * Which repositories may run jobs on the organisation's self-hosted runner groups: a job on a
 * self-hosted runner runs on the organisation's machines, with whatever network and credentials
 * they hold. A group for `selected` repositories is one grant per repository (removable one by
 * one); a group for all (or all private) repositories is one grant, which a person narrows.
 * Grants name the group (what people recognise); `raw.runnerGroupId` addresses it.
 */

type Visibility = 'all' | 'private' | 'selected';

interface RunnerGroup {
  id: number;
  name: string;
  visibility: Visibility;
  isDefault: boolean;
  allowsPublicRepositories: boolean;
}

function visibilityOf(value: string): Visibility {
  if (value === 'all' || value === 'private' || value === 'selected') return value;
  throw new ConnectorError(`GitHub reported an unknown runner group visibility "${value}"`);
}

async function listGroups(context: GitHubContext): Promise<RunnerGroup[]> {
  const org = context.organization;
  const answer = await organizationList(context, `GET /orgs/${org}/actions/runner-groups`, () =>
    context.octokit.paginate('GET /orgs/{org}/actions/runner-groups', { org, per_page: 100 }),
  );
  return answer.map((group) => ({
    id: group.id,
    name: group.name,
    visibility: visibilityOf(group.visibility),
    isDefault: group.default,
    allowsPublicRepositories: group.allows_public_repositories,
  }));
}

/** The repositories selected for a group, or 'not_found' when the group is gone. */
function listGroupRepositories(context: GitHubContext, groupId: number) {
  const org = context.organization;
  return runRest(context, `GET /orgs/${org}/actions/runner-groups/${groupId}/repositories`, () =>
    context.octokit.paginate('GET /orgs/{org}/actions/runner-groups/{runner_group_id}/repositories', {
      org,
      runner_group_id: groupId,
      per_page: 100,
    }),
  );
}

function describeVisibility(visibility: Visibility): string {
  return visibility === 'all'
    ? 'all repositories'
    : visibility === 'private'
      ? 'private repositories'
      : 'selected repositories';
}

async function* snapshotRunnerGroups(context: GitHubContext): AsyncGenerator<Grant> {
  const org = context.organization;
  for (const group of await listGroups(context)) {
    const raw = {
      runnerGroupId: group.id,
      runnerGroup: group.name,
      visibility: group.visibility,
      default: group.isDefault,
      allowsPublicRepositories: group.allowsPublicRepositories,
    };
    if (group.visibility !== 'selected') {
      const flags: GrantFlag[] = group.visibility === 'all' ? ['visible_to_all_repositories'] : [];
      yield makeGrant(runnerGroupKey(org, group.name, null, group.visibility), { raw, flags });
      continue;
    }
    const repositories = await listGroupRepositories(context, group.id);
    // Deleted between the two reads: the next snapshot sees it gone.
    if (repositories === 'not_found') continue;
    for (const repository of repositories) {
      yield makeGrant(runnerGroupKey(org, group.name, repository.name, 'selected'), {
        raw: { ...raw, repositoryId: repository.id },
      });
    }
  }
}

/** The group a grant names: by `raw.runnerGroupId` (survives renames), else by the name in its resource. */
function targetOf(grant: Grant, org: string) {
  const prefix = `${org}/runner-groups/`.toLowerCase();
  if (!grant.resource.toLowerCase().startsWith(prefix)) {
    throw new ConnectorError(`grant ${grant.grantId}: "${grant.resource}" is not a runner group of ${org}`);
  }
  const name = grant.resource.slice(prefix.length);
  const rawId = grant.raw.runnerGroupId;
  const id = typeof rawId === 'number' && Number.isInteger(rawId) ? rawId : undefined;
  const repository =
    grant.via.kind === 'visibility' ? null : splitInOrganization(grant.principal, org, 'repository')[1];
  return { name, id, repository };
}

function findGroup(groups: RunnerGroup[], target: { name: string; id: number | undefined }) {
  return target.id !== undefined
    ? groups.find((group) => group.id === target.id)
    : groups.find((group) => sameName(group.name, target.name));
}

function narrowingRemediation(org: string, group: RunnerGroup, leaveOut?: string): string {
  const without = leaveOut ? `, leaving out ${org}/${leaveOut}` : '';
  return `An organization owner changes the repository access of ${org}'s runner group "${group.name}" (id ${group.id}; Settings → Actions → Runner groups) from "${describeVisibility(group.visibility)}" to "Selected repositories" and selects only the repositories that need it${without}.`;
}

async function revokeRunnerGroup(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const org = context.organization;
  const target = targetOf(grant, org);
  const listCall = `GET /orgs/${org}/actions/runner-groups`;
  const group = findGroup(await listGroups(context), target);
  if (!group) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${listCall}: runner group "${target.name}" no longer exists; nothing to remove`,
    };
  }
  if (target.repository === null || group.visibility !== 'selected') {
    if (group.visibility === 'selected') {
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `${listCall}: runner group "${group.name}" is already limited to selected repositories; each is a grant of its own`,
      };
    }
    return {
      outcome: 'remediation_required',
      appliedAt: now(),
      action: `${listCall}: runner group "${group.name}" is open to ${describeVisibility(group.visibility)}; no API call narrows it without choosing the repositories`,
      remediation: narrowingRemediation(org, group, target.repository ?? undefined),
    };
  }
  const repository = target.repository;
  const listed = await listGroupRepositories(context, group.id);
  const entry = listed === 'not_found' ? undefined : listed.find((item) => sameName(item.name, repository));
  if (!entry) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET /orgs/${org}/actions/runner-groups/${group.id}/repositories: ${org}/${repository} is not selected for runner group "${group.name}"; nothing to DELETE`,
    };
  }
  const call = `DELETE /orgs/${org}/actions/runner-groups/${group.id}/repositories/${entry.id}`;
  const answer = await runRest(context, call, () =>
    context.octokit.request(
      'DELETE /orgs/{org}/actions/runner-groups/{runner_group_id}/repositories/{repository_id}',
      {
        org,
        runner_group_id: group.id,
        repository_id: entry.id,
      },
    ),
  );
  if (answer === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${call}: runner group or repository is gone`,
    };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: ${org}/${repository} can no longer use runner group "${group.name}"`,
  };
}

/** Present while the group reaches the principal: by its visibility, or by the repository being selected. */
async function checkRunnerGroup(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const target = targetOf(grant, context.organization);
  const group = findGroup(await listGroups(context), target);
  const checkedAt = now();
  if (!group) return { status: 'absent', checkedAt };
  if (group.visibility !== 'selected') {
    return {
      status: 'present',
      checkedAt,
      paths: [{ via: `visibility:${group.visibility}`, permission: 'use' }],
    };
  }
  const repository = target.repository;
  if (repository === null) return { status: 'absent', checkedAt };
  const listed = await listGroupRepositories(context, group.id);
  return listed !== 'not_found' && listed.some((item) => sameName(item.name, repository))
    ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'use' }] }
    : { status: 'absent', checkedAt };
}

export const runnerGroups: GitHubAccessKind = {
  grantKinds: ['runner_group_access'],
  snapshot: (context) => snapshotRunnerGroups(context),
  revoke: revokeRunnerGroup,
  check: checkRunnerGroup,
};
