import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import type { SnapshotIndex } from '../../../functions/connectors/github/access-kind';
import { branchProtection } from '../../../functions/connectors/github/branch-protection';
import { branchBypassKey } from '../../../functions/connectors/github/keys';
import { ConnectorError } from '../../../functions/core/errors';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import { repositoryCicd } from '../../../sandbox/github/cicd/state';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import type { OrganizationInput } from '../../../sandbox/github/state';
import {
  collect,
  connectorFor,
  contextFor,
  findGrant,
  line,
  rest,
  startSandbox,
  writeRequests,
} from './helpers';

/*
 * A small organisation: acme/api's default branch `main` is protected with two required
 * approvals, push restrictions (bob, gina the outside collaborator, team platform, app deploy-bot)
 * and a review bypass list (carol, team web, app deploy-bot). Its `release/1.x` branch is protected
 * too but is not the default branch. acme/web's main is protected without required reviews,
 * acme/docs is unprotected.
 */
const ORG: OrganizationInput = {
  login: 'acme',
  members: [{ login: 'alice', role: 'owner' }, { login: 'bob' }, { login: 'carol' }, { login: 'dave' }],
  teams: [
    { slug: 'platform', members: ['bob', 'carol'], repositories: { api: 'write' } },
    { slug: 'web', members: ['dave'], repositories: { api: 'write' } },
  ],
  apps: [{ slug: 'deploy-bot', permissions: { contents: 'write' } }],
  repositories: [
    {
      name: 'api',
      collaborators: { gina: 'write' },
      branchProtection: [
        {
          branch: 'main',
          requiredApprovals: 2,
          enforceAdmins: true,
          pushAllowances: { users: ['bob', 'gina'], teams: ['platform'], apps: ['deploy-bot'] },
          bypassPullRequestAllowances: { users: ['carol'], teams: ['web'], apps: ['deploy-bot'] },
        },
        { branch: 'release/1.x', pushAllowances: { users: ['alice'] } },
      ],
    },
    { name: 'web', branchProtection: [{ branch: 'main', requiredApprovals: 0 }] },
    { name: 'docs' },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;
let index: SnapshotIndex;
let grants: Grant[];

/**
 * This kind's pass alone, with the index the earlier passes would have filled (members, the
 * repositories and their default branches), so other kinds' passes cannot mask a failure here.
 */
async function snapshotThisKind(): Promise<Grant[]> {
  const context = contextFor(sandbox, { retryAfterBaseMs: 0, writeIntervalMs: 0 });
  const role = (login: string) => (login === 'alice' ? ('owner' as const) : ('member' as const));
  index = {
    members: new Map(['alice', 'bob', 'carol', 'dave'].map((login) => [login, { login, role: role(login) }])),
    teams: { members: new Set(), repositories: new Map() },
    repositories: [
      { name: 'api', isPrivate: true, defaultBranch: 'main' },
      { name: 'web', isPrivate: true, defaultBranch: 'main' },
      { name: 'docs', isPrivate: true, defaultBranch: 'main' },
      { name: 'empty', isPrivate: true, defaultBranch: null },
    ],
    defaultBranchRequiresReview: new Map(),
    defaultBranchRestrictions: new Map(),
    reviewRulesets: new Map(),
  };
  return collect(branchProtection.snapshot(context, index));
}

beforeEach(async () => {
  sandbox = await startSandbox(ORG);
  connector = connectorFor(sandbox);
  grants = await snapshotThisKind();
  sandbox.requests.length = 0;
});
afterEach(() => sandbox.close());

const writes = () =>
  writeRequests(sandbox).map(
    (request) => `${request.method} ${request.path} ${JSON.stringify(request.body)}`,
  );

const apiMain = () => repositoryCicd(sandbox.state, 'api')?.branchProtection.get('main');

describe('branch protection bypass: snapshot', () => {
  it('lists every actor on the default branch lists, nothing of other branches', () => {
    expect(grants.map(line).sort()).toEqual(
      [
        'branch acme/api:main bob push direct',
        'branch acme/api:main gina push direct',
        'branch acme/api:main acme/platform push direct',
        'branch acme/api:main deploy-bot push direct',
        'branch acme/api:main carol bypass_pull_request_reviews direct',
        'branch acme/api:main acme/web bypass_pull_request_reviews direct',
        'branch acme/api:main deploy-bot bypass_pull_request_reviews direct',
        // web's protection does not include administrators: they are exempt from all of it.
        'branch acme/web:main admin bypass_protection direct',
      ].sort(),
    );
    expect(findGrant(grants, 'branch acme/web:main admin bypass_protection direct').principalType).toBe(
      'role',
    );
    const gina = findGrant(grants, 'branch acme/api:main gina push direct');
    expect(gina).toMatchObject({
      principalType: 'user',
      resourceType: 'branch',
      reviewable: true,
      flags: ['outside_collaborator'],
      raw: { branch: 'main', requiredApprovals: 2, enforceAdmins: true },
    });
    expect(findGrant(grants, 'branch acme/api:main bob push direct').flags).toEqual([]);
    expect(findGrant(grants, 'branch acme/api:main acme/platform push direct').principalType).toBe('team');
    expect(
      findGrant(grants, 'branch acme/api:main deploy-bot bypass_pull_request_reviews direct').principalType,
    ).toBe('app');
    expect(sandbox.violations).toEqual([]);
  });

  it('records whether each default branch requires review, restricts pushes and binds admins', () => {
    expect([...index.defaultBranchRequiresReview.entries()].sort()).toEqual([
      ['api', true],
      ['docs', false],
      ['web', false],
    ]);
    // docs is unprotected: no entry, so separation of duties treats every writer as able to push.
    expect([...index.defaultBranchRestrictions.entries()].sort()).toEqual([
      ['api', { reviewsRequired: true, pushRestricted: true, enforceAdmins: true }],
      ['web', { reviewsRequired: false, pushRestricted: false, enforceAdmins: false }],
    ]);
  });
});

describe('branch protection bypass: revoke and check', () => {
  it('holds admins to the protection with POST enforce_admins, and reads it back', async () => {
    const admins = findGrant(grants, 'branch acme/web:main admin bypass_protection direct');
    expect(await connector.check(admins)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'bypass_protection' }],
    });
    const result = await connector.revoke(admins);
    expect(result).toMatchObject({
      outcome: 'removed',
      action:
        "POST /repos/acme/web/branches/main/protection/enforce_admins: acme/web:main's protection now includes administrators",
    });
    expect(writeRequests(sandbox).map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /repos/acme/web/branches/main/protection/enforce_admins',
    ]);
    expect(repositoryCicd(sandbox.state, 'web')?.branchProtection.get('main')?.enforceAdmins).toBe(true);
    expect(await connector.check(admins)).toMatchObject({ status: 'absent' });
    // Again: nothing to do, and no second POST.
    expect(await connector.revoke(admins)).toMatchObject({ outcome: 'already_absent' });
    expect(writeRequests(sandbox)).toHaveLength(1);
    expect(sandbox.violations).toEqual([]);
  });

  it('takes a user off the push restrictions with DELETE …/restrictions/users', async () => {
    const bob = findGrant(grants, 'branch acme/api:main bob push direct');
    expect(await connector.check(bob)).toMatchObject({
      status: 'present',
      // bob is also in team platform, which is on the same list.
      paths: [
        { via: 'direct', permission: 'push' },
        { via: 'team:acme/platform', permission: 'push' },
      ],
    });
    const result = await connector.revoke(bob);
    expect(result.outcome).toBe('removed');
    expect(result.action).toContain('DELETE /repos/acme/api/branches/main/protection/restrictions/users');
    expect(writes()).toEqual([
      'DELETE /repos/acme/api/branches/main/protection/restrictions/users {"users":["bob"]}',
    ]);
    expect(apiMain()?.pushAllowances?.users).toEqual(['gina']);
    // Still there through team platform: check says so, by that path only.
    expect(await connector.check(bob)).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/platform', permission: 'push' }],
    });
    const gina = findGrant(grants, 'branch acme/api:main gina push direct');
    expect((await connector.revoke(gina)).outcome).toBe('removed');
    expect(await connector.check(gina)).toMatchObject({ status: 'absent' });
    expect(sandbox.violations).toEqual([]);
  });

  it('takes a team and an app off the push restrictions', async () => {
    const team = findGrant(grants, 'branch acme/api:main acme/platform push direct');
    const app = findGrant(grants, 'branch acme/api:main deploy-bot push direct');
    expect((await connector.revoke(team)).outcome).toBe('removed');
    expect((await connector.revoke(app)).outcome).toBe('removed');
    expect(writes()).toEqual([
      'DELETE /repos/acme/api/branches/main/protection/restrictions/teams {"teams":["platform"]}',
      'DELETE /repos/acme/api/branches/main/protection/restrictions/apps {"apps":["deploy-bot"]}',
    ]);
    expect(apiMain()?.pushAllowances).toEqual({ users: ['bob', 'gina'], teams: [], apps: [] });
    expect(await connector.check(team)).toMatchObject({ status: 'absent' });
    expect(await connector.check(app)).toMatchObject({ status: 'absent' });
    // The app's bypass of reviews is a separate grant and stays.
    const bypass = findGrant(grants, 'branch acme/api:main deploy-bot bypass_pull_request_reviews direct');
    expect(await connector.check(bypass)).toMatchObject({ status: 'present' });
  });

  it('PATCHes the review bypass lists with only that actor left out', async () => {
    const carol = findGrant(grants, 'branch acme/api:main carol bypass_pull_request_reviews direct');
    const result = await connector.revoke(carol);
    expect(result.outcome).toBe('removed');
    expect(writes()).toEqual([
      'PATCH /repos/acme/api/branches/main/protection/required_pull_request_reviews {"bypass_pull_request_allowances":{"users":[],"teams":["web"],"apps":["deploy-bot"]}}',
    ]);
    expect(apiMain()?.bypassPullRequestAllowances).toEqual({
      users: [],
      teams: ['web'],
      apps: ['deploy-bot'],
    });
    expect(apiMain()?.requiredApprovals).toBe(2);
    expect(await connector.check(carol)).toMatchObject({ status: 'absent' });

    const web = findGrant(grants, 'branch acme/api:main acme/web bypass_pull_request_reviews direct');
    expect((await connector.revoke(web)).outcome).toBe('removed');
    expect(apiMain()?.bypassPullRequestAllowances).toEqual({ users: [], teams: [], apps: ['deploy-bot'] });
    expect(sandbox.violations).toEqual([]);
  });

  it('reports a user who is only on the list through a team, and will not remove what is not listed', async () => {
    const dave = makeGrant(
      branchBypassKey('acme', 'api', 'main', 'user', 'dave', 'bypass_pull_request_reviews'),
    );
    expect(await connector.check(dave)).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/web', permission: 'bypass_pull_request_reviews' }],
    });
    const result = await connector.revoke(dave);
    expect(result.outcome).toBe('already_absent');
    expect(result.action).toContain('dave is not on the pull request review bypass list of main');
    expect(writes()).toEqual([]);
  });

  it('answers already_absent for a second revoke, an unprotected branch, an unknown repository', async () => {
    const bob = findGrant(grants, 'branch acme/api:main bob push direct');
    expect((await connector.revoke(bob)).outcome).toBe('removed');
    expect((await connector.revoke(bob)).outcome).toBe('already_absent');

    const docs = makeGrant(branchBypassKey('acme', 'docs', 'main', 'user', 'bob', 'push'));
    const docsResult = await connector.revoke(docs);
    expect(docsResult).toMatchObject({ outcome: 'already_absent' });
    expect(docsResult.action).toContain('main of acme/docs is not protected');
    expect(await connector.check(docs)).toMatchObject({ status: 'absent' });

    // acme/web's main needs no reviews: there is no bypass list to be on.
    const web = makeGrant(
      branchBypassKey('acme', 'web', 'main', 'user', 'bob', 'bypass_pull_request_reviews'),
    );
    expect((await connector.revoke(web)).action).toContain('has no pull request review bypass list');

    const gone = makeGrant(branchBypassKey('acme', 'nope', 'main', 'team', 'acme/platform', 'push'));
    expect((await connector.revoke(gone)).outcome).toBe('already_absent');
    expect(await connector.check(gone)).toMatchObject({ status: 'absent' });
    expect(writes()).toEqual([
      'DELETE /repos/acme/api/branches/main/protection/restrictions/users {"users":["bob"]}',
    ]);
  });

  it('refuses grants it cannot route', async () => {
    const bob = findGrant(grants, 'branch acme/api:main bob push direct');
    await expect(connector.revoke({ ...bob, entitlement: 'admin' })).rejects.toThrow(ConnectorError);
    await expect(connector.check({ ...bob, resource: 'acme/api' })).rejects.toThrow(
      /organization\/repository:branch/,
    );
    await expect(connector.check({ ...bob, principalType: 'deploy_key' })).rejects.toThrow(
      /cannot be on a branch protection list/,
    );
    await expect(
      connector.check({
        ...findGrant(grants, 'branch acme/api:main acme/platform push direct'),
        principal: 'other/platform',
      }),
    ).rejects.toThrow(/not in organization acme/);
  });
});

describe('branch protection sandbox', () => {
  const call = (method: string, path: string, body?: unknown) => rest(sandbox, method, path, body);

  it("answers GitHub's 404 for an unprotected branch", async () => {
    const response = await call('GET', '/repos/acme/docs/branches/main/protection');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ message: 'Branch not protected' });
    expect((await call('GET', '/repos/acme/web/branches/main/protection')).status).toBe(200);
  });

  it('returns the users left after a DELETE, and answers 404 or 422 for what it cannot do', async () => {
    const left = await call('DELETE', '/repos/acme/api/branches/main/protection/restrictions/users', {
      users: ['gina', 'nobody'],
    });
    expect(left.status).toBe(200);
    expect(((await left.json()) as Array<{ login: string }>).map((user) => user.login)).toEqual(['bob']);
    // acme/web's main has no push restrictions; acme/docs's main is not protected.
    const restrictions = (repo: string, kind: string) =>
      `/repos/acme/${repo}/branches/main/protection/restrictions/${kind}`;
    const web = await call('DELETE', restrictions('web', 'teams'), { teams: ['web'] });
    expect(web.status).toBe(404);
    expect(await web.json()).toMatchObject({ message: 'Push restrictions not enabled' });
    const docs = await call('DELETE', restrictions('docs', 'apps'), { apps: ['x'] });
    expect(docs.status).toBe(404);
    expect(await docs.json()).toMatchObject({ message: 'Branch not protected' });
    expect((await call('DELETE', restrictions('api', 'users'), { users: 'bob' })).status).toBe(422);
    expect(sandbox.violations).toEqual([]);
  });

  it('refuses a PATCH naming an unknown team (422), and one for a branch without required reviews (404)', async () => {
    const path = '/repos/acme/api/branches/main/protection/required_pull_request_reviews';
    const unknown = await call('PATCH', path, { bypass_pull_request_allowances: { teams: ['ghosts'] } });
    expect(unknown.status).toBe(422);
    expect(apiMain()?.bypassPullRequestAllowances.teams).toEqual(['web']);
    const noReviews = await call(
      'PATCH',
      '/repos/acme/web/branches/main/protection/required_pull_request_reviews',
      {
        bypass_pull_request_allowances: { users: [] },
      },
    );
    expect(noReviews.status).toBe(404);
    // Branch names with a slash travel percent-encoded, as octokit sends them.
    expect((await call('GET', '/repos/acme/api/branches/release%2F1.x/protection')).status).toBe(200);
    expect(sandbox.violations).toEqual([]);
  });
});
