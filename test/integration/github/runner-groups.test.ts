import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import type { Grant } from '../../../functions/core/grant';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { findRepository, type GitHubState, type OrganizationInput } from '../../../sandbox/github/state';
import { closeChecked, findGrant, line, rest, snapshotSandbox, startSandbox, writeRequests } from './helpers';

const organization: OrganizationInput = {
  login: 'acme',
  members: [{ login: 'alice', role: 'owner' }],
  repositories: [{ name: 'api' }, { name: 'web' }, { name: 'docs', private: false }],
  runnerGroups: [
    { name: 'deploy', visibility: 'selected', repositories: ['api', 'web'] },
    { name: 'shared', visibility: 'all', allowsPublicRepositories: true },
    { name: 'private-only', visibility: 'private' },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;
let grants: Grant[];

beforeEach(async () => {
  ({ sandbox, connector, grants } = await snapshotSandbox(organization, ['runner_group_access']));
});
afterEach(() => closeChecked(sandbox));

const writes = () => writeRequests(sandbox).map((request) => `${request.method} ${request.path}`);

function groupNamed(state: GitHubState, name: string) {
  const group = [...state.cicd.runnerGroups.values()].find((candidate) => candidate.name === name);
  if (!group) throw new Error(`no runner group ${name}`);
  return group;
}

describe('self-hosted runner groups', () => {
  it('reports one grant per selected repository and one per visibility, flagging all', () => {
    expect(grants.map((grant) => `${line(grant)} [${grant.flags.join(',')}]`).sort()).toEqual([
      'runner_group acme/runner-groups/deploy acme/api use direct []',
      'runner_group acme/runner-groups/deploy acme/web use direct []',
      'runner_group acme/runner-groups/private-only acme/* (private) use visibility:private []',
      'runner_group acme/runner-groups/shared acme/* use visibility:all [visible_to_all_repositories]',
    ]);
    const deploy = groupNamed(sandbox.state, 'deploy');
    expect(findGrant(grants, 'runner_group acme/runner-groups/deploy acme/api use direct').raw).toEqual({
      runnerGroupId: deploy.id,
      runnerGroup: 'deploy',
      visibility: 'selected',
      default: false,
      allowsPublicRepositories: false,
      repositoryId: findRepository(sandbox.state, 'api')?.id,
    });
    expect(
      findGrant(grants, 'runner_group acme/runner-groups/shared acme/* use visibility:all').raw,
    ).toMatchObject({
      allowsPublicRepositories: true,
    });
  });

  it('sees every grant as present before anything is revoked', async () => {
    for (const grant of grants) expect((await connector.check(grant)).status, line(grant)).toBe('present');
  });

  it('removes a selected repository from the group, then finds it already absent', async () => {
    const grant = findGrant(grants, 'runner_group acme/runner-groups/deploy acme/api use direct');
    const deploy = groupNamed(sandbox.state, 'deploy');
    const apiId = findRepository(sandbox.state, 'api')?.id;
    const result = await connector.revoke(grant);
    expect(result).toMatchObject({
      outcome: 'removed',
      action: `DELETE /orgs/acme/actions/runner-groups/${deploy.id}/repositories/${apiId}: acme/api can no longer use runner group "deploy"`,
    });
    expect(writes()).toEqual([`DELETE /orgs/acme/actions/runner-groups/${deploy.id}/repositories/${apiId}`]);
    expect(deploy.repositories).toEqual(['web']);
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });

    sandbox.requests.length = 0;
    expect(await connector.revoke(grant)).toMatchObject({ outcome: 'already_absent' });
    expect(writes()).toEqual([]);
  });

  it('finds the group by id after a rename', async () => {
    const grant = findGrant(grants, 'runner_group acme/runner-groups/deploy acme/web use direct');
    groupNamed(sandbox.state, 'deploy').name = 'deploy-renamed';
    expect(await connector.check(grant)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'use' }],
    });
    expect(await connector.revoke(grant)).toMatchObject({ outcome: 'removed' });
  });

  it('asks a person to narrow a group open to all repositories, and checks until it is done', async () => {
    const grant = findGrant(grants, 'runner_group acme/runner-groups/shared acme/* use visibility:all');
    const shared = groupNamed(sandbox.state, 'shared');
    const result = await connector.revoke(grant);
    expect(result.outcome).toBe('remediation_required');
    expect(result.remediation).toBe(
      `An organization owner changes the repository access of acme's runner group "shared" (id ${shared.id}; Settings → Actions → Runner groups) from "all repositories" to "Selected repositories" and selects only the repositories that need it.`,
    );
    expect(writes()).toEqual([]);
    expect(await connector.check(grant)).toMatchObject({
      status: 'present',
      paths: [{ via: 'visibility:all', permission: 'use' }],
    });
    shared.visibility = 'selected';
    shared.repositories = ['api'];
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
    expect(await connector.revoke(grant)).toMatchObject({ outcome: 'already_absent' });
  });

  it('finds nothing to remove once the group is deleted', async () => {
    const grant = findGrant(grants, 'runner_group acme/runner-groups/deploy acme/api use direct');
    sandbox.state.cicd.runnerGroups.delete(groupNamed(sandbox.state, 'deploy').id);
    expect(await connector.revoke(grant)).toMatchObject({
      outcome: 'already_absent',
      action:
        'GET /orgs/acme/actions/runner-groups: runner group "deploy" no longer exists; nothing to remove',
    });
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
  });
});

describe('runner group sandbox answers', () => {
  let raw: GitHubSandbox;
  beforeEach(async () => {
    // GitHub's description lists only the 204 of this DELETE: its errors are checked as basic-error.
    raw = await startSandbox(organization);
  });
  afterEach(() => raw.close());

  const call = (method: string, path: string) => rest(raw, method, path);

  it('404 for an unknown group or repository, 422 for a group without a selection', async () => {
    const deploy = groupNamed(raw.state, 'deploy').id;
    const shared = groupNamed(raw.state, 'shared').id;
    const api = findRepository(raw.state, 'api')?.id;
    expect((await call('DELETE', `/orgs/acme/actions/runner-groups/999999/repositories/${api}`)).status).toBe(
      404,
    );
    expect(
      (await call('DELETE', `/orgs/acme/actions/runner-groups/${deploy}/repositories/999999`)).status,
    ).toBe(404);
    expect(
      (await call('DELETE', `/orgs/acme/actions/runner-groups/${shared}/repositories/${api}`)).status,
    ).toBe(422);
    expect((await call('GET', '/orgs/acme/actions/runner-groups/999999/repositories')).status).toBe(404);
  });
});
