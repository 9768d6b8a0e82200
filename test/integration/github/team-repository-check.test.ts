import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitHubClient } from '../../../functions/connectors/github/client';
import type { GitHubContext } from '../../../functions/connectors/github/context';
import { teamRepositoryKey } from '../../../functions/connectors/github/keys';
import {
  checkTeamRepository,
  revokeTeamRepository,
} from '../../../functions/connectors/github/team-repositories';
import { makeGrant, type RepositoryPermission } from '../../../functions/core/grant';

import type { GitHubSandbox } from '../../../sandbox/github/server';
import { acmeOrganization, closeChecked, contextFor, startSandbox, writeRequests } from './helpers';

/*
 * A team's access to a repository, checked and revoked against the sandbox (acme: platform has
 * write on api and admin on infra; web has write on web). GitHub answers the check with a body
 * only when asked for the repository media type; a server that ignores it answers a bare 204,
 * which still means the team has access (at a level the answer does not tell).
 */
let sandbox: GitHubSandbox;
let context: GitHubContext;

const grant = (slug: string, repository: string, permission: RepositoryPermission) =>
  makeGrant(teamRepositoryKey('acme', slug, repository, permission));

/** The same client, but every request goes without its Accept header: GitHub's default media type. */
function ignoringMediaType(real: GitHubContext): GitHubContext {
  const request = (route: string, params: Record<string, unknown>) =>
    real.octokit.request(route, { ...params, headers: {} });
  return { ...real, octokit: { request } as unknown as GitHubClient };
}

beforeAll(async () => {
  sandbox = await startSandbox(await acmeOrganization());
  context = contextFor(sandbox);
});

afterAll(async () => {
  await closeChecked(sandbox);
});

describe('checkTeamRepository', () => {
  it('reads a bare 204 (no body) as present at an unknown level, never as absent', async () => {
    const bare = ignoringMediaType(context);
    for (const permission of ['read', 'write', 'admin'] as const) {
      const result = await checkTeamRepository(bare, grant('platform', 'api', permission));
      expect(result, permission).toMatchObject({
        status: 'present',
        paths: [{ via: 'direct', permission: 'unknown' }],
      });
    }
    const last = sandbox.requests.at(-1);
    expect(last).toMatchObject({ method: 'GET', path: '/orgs/acme/teams/platform/repos/acme/api' });
  });

  it('reads the level from the body when GitHub sends one', async () => {
    expect(await checkTeamRepository(context, grant('platform', 'api', 'write'))).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'write' }],
    });
    expect(await checkTeamRepository(context, grant('platform', 'api', 'read'))).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'write' }],
    });
    expect(await checkTeamRepository(context, grant('platform', 'infra', 'admin'))).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'admin' }],
    });
    // Held below the entitlement under review: that entitlement is gone.
    const below = await checkTeamRepository(context, grant('platform', 'api', 'admin'));
    expect(below).toEqual({ status: 'absent', checkedAt: expect.any(String) });
  });

  it('reads a 404 as absent, with or without the media type', async () => {
    expect((await checkTeamRepository(context, grant('platform', 'web', 'write'))).status).toBe('absent');
    const bare = ignoringMediaType(context);
    expect((await checkTeamRepository(bare, grant('platform', 'web', 'write'))).status).toBe('absent');
  });
});

describe('revokeTeamRepository', () => {
  it('removes present access with a DELETE, and reports access already gone without one', async () => {
    sandbox.requests.length = 0;
    const removed = await revokeTeamRepository(context, grant('web', 'web', 'write'));
    expect(removed).toMatchObject({
      outcome: 'removed',
      action: expect.stringMatching(
        /^DELETE \/orgs\/acme\/teams\/web\/repos\/acme\/web: removed team acme\/web/,
      ),
    });
    expect(writeRequests(sandbox).map((r) => `${r.method} ${r.path}`)).toEqual([
      'DELETE /orgs/acme/teams/web/repos/acme/web',
    ]);
    expect((await checkTeamRepository(context, grant('web', 'web', 'write'))).status).toBe('absent');

    sandbox.requests.length = 0;
    const again = await revokeTeamRepository(context, grant('web', 'web', 'write'));
    expect(again).toMatchObject({
      outcome: 'already_absent',
      action: expect.stringMatching(/had no access to acme\/web; nothing to DELETE/),
    });
    expect(writeRequests(sandbox)).toEqual([]);
  });
});
