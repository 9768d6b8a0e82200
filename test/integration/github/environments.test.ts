import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import { environments } from '../../../functions/connectors/github/environments';
import { environmentReviewerKey } from '../../../functions/connectors/github/keys';
import { ConnectorError } from '../../../functions/core/errors';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import { repositoryCicd } from '../../../sandbox/github/cicd/state';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { findTeam, findUser, type OrganizationInput } from '../../../sandbox/github/state';
import {
  closeChecked,
  collect,
  connectorFor,
  contextFor,
  expectIncompleteBodyCaught,
  findGrant,
  repositoriesIndex,
  rest,
  startSandbox,
  writeRequests,
} from './helpers';

const organization: OrganizationInput = {
  login: 'acme',
  members: [
    { login: 'alice', role: 'owner' },
    { login: 'bob' },
    { login: 'carol' },
    { login: 'dave' },
    { login: 'erin' },
  ],
  teams: [
    { slug: 'release', members: ['carol', 'dave'] },
    { slug: 'ops', members: ['erin'] },
  ],
  // frank is invited to the org and to team ops, and has not accepted: a pending team membership.
  invitations: [{ login: 'frank', invitedBy: 'alice', teams: ['ops'] }],
  repositories: [
    {
      name: 'api',
      environments: [
        {
          name: 'production',
          reviewers: { users: ['bob', 'carol'], teams: ['release'] },
          preventSelfReview: true,
          waitTimer: 30,
          deploymentBranches: ['main', 'release/*'],
        },
        { name: 'staging', reviewers: { users: ['dave'] }, deploymentBranches: 'protected' },
        // No reviewers: nobody approves anything here, so there is no grant.
        { name: 'preview', waitTimer: 5 },
      ],
    },
    {
      name: 'web',
      environments: [
        { name: 'prod', reviewers: { users: ['frank'], teams: ['ops'] } },
        {
          name: 'qa',
          reviewers: { users: ['bob'], teams: ['ops'] },
          deploymentBranches: 'protected',
          waitTimer: 10,
        },
      ],
    },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;

beforeEach(async () => {
  sandbox = await startSandbox(organization);
  connector = connectorFor(sandbox);
});
afterEach(() => closeChecked(sandbox));

/** This kind's snapshot pass on its own, over the sandbox's repositories (what earlier passes index). */
async function reviewerGrants(target: GitHubSandbox = sandbox): Promise<Grant[]> {
  return collect(environments.snapshot(contextFor(target), repositoriesIndex(target)));
}

const userId = (login: string) => findUser(sandbox.state, login)?.id;
const teamId = (slug: string) => findTeam(sandbox.state, slug)?.id;
const environment = (repository: string, name: string) =>
  repositoryCicd(sandbox.state, repository)?.environments.get(name);
const writes = () => writeRequests(sandbox);

describe('environment reviewers: snapshot', () => {
  it('reports one reviewable grant per required reviewer, with what may deploy and how', async () => {
    const grants = await reviewerGrants();
    expect(
      grants.map(
        ({ resourceType, resource, principalType, principal, entitlement, via, flags, raw, reviewable }) => ({
          line: `${resourceType} ${resource} ${principalType} ${principal} ${entitlement} ${via.kind}`,
          flags,
          raw,
          reviewable,
        }),
      ),
    ).toEqual([
      {
        line: 'environment acme/api:production user bob approve_deployments direct',
        flags: [],
        raw: {
          environment: 'production',
          reviewerId: userId('bob'),
          preventSelfReview: true,
          deploymentBranches: ['main', 'release/*'],
          waitTimer: 30,
        },
        reviewable: true,
      },
      {
        line: 'environment acme/api:production user carol approve_deployments direct',
        flags: [],
        raw: {
          environment: 'production',
          reviewerId: userId('carol'),
          preventSelfReview: true,
          deploymentBranches: ['main', 'release/*'],
          waitTimer: 30,
        },
        reviewable: true,
      },
      {
        line: 'environment acme/api:production team acme/release approve_deployments direct',
        flags: [],
        raw: {
          environment: 'production',
          reviewerId: teamId('release'),
          preventSelfReview: true,
          deploymentBranches: ['main', 'release/*'],
          waitTimer: 30,
        },
        reviewable: true,
      },
      {
        line: 'environment acme/api:staging user dave approve_deployments direct',
        flags: ['self_review_allowed'],
        raw: {
          environment: 'staging',
          reviewerId: userId('dave'),
          preventSelfReview: false,
          deploymentBranches: 'protected',
          waitTimer: 0,
        },
        reviewable: true,
      },
      {
        line: 'environment acme/web:prod user frank approve_deployments direct',
        flags: ['self_review_allowed'],
        raw: {
          environment: 'prod',
          reviewerId: userId('frank'),
          preventSelfReview: false,
          deploymentBranches: 'any',
          waitTimer: 0,
        },
        reviewable: true,
      },
      {
        line: 'environment acme/web:prod team acme/ops approve_deployments direct',
        flags: ['self_review_allowed'],
        raw: {
          environment: 'prod',
          reviewerId: teamId('ops'),
          preventSelfReview: false,
          deploymentBranches: 'any',
          waitTimer: 0,
        },
        reviewable: true,
      },
      {
        line: 'environment acme/web:qa user bob approve_deployments direct',
        flags: ['self_review_allowed'],
        raw: {
          environment: 'qa',
          reviewerId: userId('bob'),
          preventSelfReview: false,
          deploymentBranches: 'protected',
          waitTimer: 10,
        },
        reviewable: true,
      },
      {
        line: 'environment acme/web:qa team acme/ops approve_deployments direct',
        flags: ['self_review_allowed'],
        raw: {
          environment: 'qa',
          reviewerId: teamId('ops'),
          preventSelfReview: false,
          deploymentBranches: 'protected',
          waitTimer: 10,
        },
        reviewable: true,
      },
    ]);
    expect(grants[2]?.grantId).toBe(
      makeGrant(environmentReviewerKey('acme', 'api', 'production', 'team', 'acme/release')).grantId,
    );
    // Branch patterns are read only where custom policies are on.
    const policyReads = sandbox.requests.filter((request) =>
      request.path.endsWith('/deployment-branch-policies'),
    );
    expect(policyReads.map((request) => request.path)).toEqual([
      '/repos/acme/api/environments/production/deployment-branch-policies',
    ]);
  });

  it('fails loudly when a repository cannot be read, rather than hiding its reviewers', async () => {
    sandbox.failNext({ status: 403, match: { method: 'GET', path: '/repos/acme/web/environments' } });
    const failure = reviewerGrants();
    await expect(failure).rejects.toBeInstanceOf(ConnectorError);
    await expect(failure).rejects.toThrow('GET /repos/acme/web/environments failed with 403');
  });
});

describe('environment reviewers: revoke and check', () => {
  it('removes one user and PUTs everything else back unchanged; the user still approves through a team', async () => {
    const grants = await reviewerGrants();
    const carol = findGrant(grants, 'environment acme/api:production carol approve_deployments direct');
    expect(await connector.check(carol)).toEqual({
      status: 'present',
      checkedAt: expect.any(String),
      paths: [
        { via: 'direct', permission: 'approve_deployments' },
        { via: 'team:acme/release', permission: 'approve_deployments' },
      ],
    });
    sandbox.requests.length = 0;

    const result = await connector.revoke(carol);
    expect(result.outcome).toBe('removed');
    expect(result.action).toBe(
      'PUT /repos/acme/api/environments/production: removed required reviewer user carol from acme/api:production; ' +
        'kept reviewers user bob, team acme/release, wait_timer 30, prevent_self_review true, ' +
        'deployment_branch_policy {"protected_branches":false,"custom_branch_policies":true}',
    );
    expect(writes().map((request) => [`${request.method} ${request.path}`, request.body])).toEqual([
      [
        'PUT /repos/acme/api/environments/production',
        {
          wait_timer: 30,
          prevent_self_review: true,
          reviewers: [
            { type: 'User', id: userId('bob') },
            { type: 'Team', id: teamId('release') },
          ],
          deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
        },
      ],
    ]);
    expect(environment('api', 'production')).toMatchObject({
      reviewers: { users: ['bob'], teams: ['release'] },
      preventSelfReview: true,
      waitTimer: 30,
      deploymentBranches: ['main', 'release/*'],
    });

    // carol is in team release, which still reviews: present by that path only.
    expect(await connector.check(carol)).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/release', permission: 'approve_deployments' }],
    });

    sandbox.requests.length = 0;
    const again = await connector.revoke(carol);
    expect(again.outcome).toBe('already_absent');
    expect(again.action).toContain('GET /repos/acme/api/environments/production');
    expect(writes()).toEqual([]);
  });

  it('removes a team reviewer; its members no longer approve through it', async () => {
    const grants = await reviewerGrants();
    const release = findGrant(
      grants,
      'environment acme/api:production acme/release approve_deployments direct',
    );
    const dave = makeGrant(environmentReviewerKey('acme', 'api', 'production', 'user', 'dave'));
    expect(await connector.check(dave)).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/release', permission: 'approve_deployments' }],
    });

    expect((await connector.revoke(release)).outcome).toBe('removed');
    expect(environment('api', 'production')?.reviewers).toEqual({ users: ['bob', 'carol'], teams: [] });
    expect(await connector.check(release)).toMatchObject({ status: 'absent' });
    expect(await connector.check(dave)).toMatchObject({ status: 'absent' });
  });

  it('keeps a protected-branches policy, and "any branch" as null, when it PUTs', async () => {
    const grants = await reviewerGrants();
    const qaBob = findGrant(grants, 'environment acme/web:qa bob approve_deployments direct');
    const prodFrank = findGrant(grants, 'environment acme/web:prod frank approve_deployments direct');
    expect((await connector.revoke(qaBob)).outcome).toBe('removed');
    expect((await connector.revoke(prodFrank)).outcome).toBe('removed');
    expect(writes().map((request) => request.body)).toEqual([
      {
        wait_timer: 10,
        prevent_self_review: false,
        reviewers: [{ type: 'Team', id: teamId('ops') }],
        deployment_branch_policy: { protected_branches: true, custom_branch_policies: false },
      },
      {
        wait_timer: 0,
        prevent_self_review: false,
        reviewers: [{ type: 'Team', id: teamId('ops') }],
        deployment_branch_policy: null,
      },
    ]);
    expect(environment('web', 'qa')).toMatchObject({ deploymentBranches: 'protected', waitTimer: 10 });
    expect(environment('web', 'prod')?.deploymentBranches).toBeUndefined();
    expect(await connector.check(qaBob)).toMatchObject({ status: 'absent' });
  });

  it('does not count a pending team membership as a path, and finds members of a reviewing team', async () => {
    const grants = await reviewerGrants();
    const frank = findGrant(grants, 'environment acme/web:prod frank approve_deployments direct');
    // frank's membership of ops is pending: only the direct path counts.
    expect(await connector.check(frank)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'approve_deployments' }],
    });
    const erin = makeGrant(environmentReviewerKey('acme', 'web', 'prod', 'user', 'erin'));
    expect(await connector.check(erin)).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/ops', permission: 'approve_deployments' }],
    });
    expect((await connector.revoke(erin)).outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
  });

  it('leaves removing the only reviewer to a person: it would switch approval off', async () => {
    const grants = await reviewerGrants();
    const dave = findGrant(grants, 'environment acme/api:staging dave approve_deployments direct');
    sandbox.requests.length = 0;
    const result = await connector.revoke(dave);
    expect(result.outcome).toBe('remediation_required');
    expect(result.action).toContain('PUT /repos/acme/api/environments/staging not sent');
    expect(result.remediation).toContain('acme/api → Settings → Environments → staging');
    expect(writes()).toEqual([]);
    expect(environment('api', 'staging')?.reviewers.users).toEqual(['dave']);
    expect(await connector.check(dave)).toMatchObject({ status: 'present' });
  });

  it('sends no PUT when GitHub lists a reviewer it cannot read: the PUT would drop them too', async () => {
    const grants = await reviewerGrants();
    const bob = grants.find((grant) => grant.principal === 'bob' && grant.resource.endsWith(':production'));
    expect(bob).toBeDefined();
    // What GitHub answers now, with one reviewer entry of a shape this code does not know.
    const current = await rest(sandbox, 'GET', '/repos/acme/api/environments/production');
    const body = (await current.json()) as { protection_rules: Array<Record<string, unknown>> };
    const rule = body.protection_rules.find((candidate) => candidate.type === 'required_reviewers');
    if (!rule) throw new Error('production has no required_reviewers rule');
    (rule.reviewers as unknown[]).push({ type: 'Bot', reviewer: { id: 99, slug: 'merge-queue' } });
    sandbox.failNext({
      status: 200,
      body,
      match: { method: 'GET', path: '/repos/acme/api/environments/production' },
    });
    sandbox.requests.length = 0;
    const result = await connector.revoke(bob!);
    expect(result.outcome).toBe('remediation_required');
    expect(result.action).toMatch(/1 required reviewer\(s\) of acme\/api:production could not be read/);
    expect(writes()).toEqual([]);
  });

  it('stops a snapshot that meets a reviewer it cannot read, rather than leave them out', async () => {
    const listed = await rest(sandbox, 'GET', '/repos/acme/api/environments');
    const body = (await listed.json()) as {
      environments: Array<{ protection_rules: Array<Record<string, unknown>> }>;
    };
    const rule = body.environments
      .flatMap((environment) => environment.protection_rules)
      .find((candidate) => candidate.type === 'required_reviewers');
    if (!rule) throw new Error('no environment of acme/api has required reviewers');
    (rule.reviewers as unknown[]).push({ type: 'Bot', reviewer: { id: 99, slug: 'merge-queue' } });
    sandbox.failNext({ status: 200, body, match: { method: 'GET', path: '/repos/acme/api/environments' } });
    await expect(reviewerGrants()).rejects.toThrow(
      /lists 1 required reviewer\(s\) of a kind the GitHub connector cannot read/,
    );
  });

  it('refuses grants that name no user or team, or another organisation', async () => {
    const wrongType = {
      ...makeGrant(environmentReviewerKey('acme', 'api', 'production', 'user', 'bob')),
      principalType: 'app' as const,
    };
    await expect(connector.revoke(wrongType)).rejects.toBeInstanceOf(ConnectorError);
    const otherOrg = makeGrant(environmentReviewerKey('acme', 'api', 'production', 'team', 'other/release'));
    await expect(connector.revoke(otherOrg)).rejects.toThrow(/not in organization acme/);
    expect(writes()).toEqual([]);
  });
});

describe('environment reviewers: sandbox routes', () => {
  const call = (method: string, path: string, body?: unknown) => rest(sandbox, method, path, body);

  it('lists environments in GitHub shape, with their protection rules', async () => {
    const answer = await call('GET', '/repos/acme/api/environments');
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as {
      total_count: number;
      environments: Array<Record<string, unknown>>;
    };
    expect(body.total_count).toBe(3);
    expect(body.environments.map((item) => item.name)).toEqual(['preview', 'production', 'staging']);
    const production = body.environments[1] as { protection_rules: Array<Record<string, unknown>> };
    expect(production.protection_rules.map((rule) => rule.type)).toEqual([
      'wait_timer',
      'required_reviewers',
      'branch_policy',
    ]);
    expect(production.protection_rules[1]).toMatchObject({
      prevent_self_review: true,
      reviewers: [
        { type: 'User', reviewer: { login: 'bob', id: userId('bob') } },
        { type: 'User', reviewer: { login: 'carol' } },
        { type: 'Team', reviewer: { slug: 'release', id: teamId('release') } },
      ],
    });
    const policies = await call('GET', '/repos/acme/api/environments/production/deployment-branch-policies');
    expect(await policies.json()).toMatchObject({
      total_count: 2,
      branch_policies: [
        { name: 'main', type: 'branch' },
        { name: 'release/*', type: 'branch' },
      ],
    });
  });

  it('creates and replaces environments by PUT, and refuses unknown reviewers and contradictory policies', async () => {
    const created = await call('PUT', '/repos/acme/web/environments/canary', {
      wait_timer: 3,
      prevent_self_review: true,
      reviewers: [{ type: 'User', id: userId('erin') }],
      deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
    });
    expect(created.status).toBe(200);
    expect(environment('web', 'canary')).toMatchObject({
      name: 'canary',
      reviewers: { users: ['erin'], teams: [] },
      preventSelfReview: true,
      waitTimer: 3,
      deploymentBranches: [],
    });
    // A PUT replaces every setting: what it leaves out goes back to the default.
    expect((await call('PUT', '/repos/acme/web/environments/canary', {})).status).toBe(200);
    expect(environment('web', 'canary')).toMatchObject({
      reviewers: { users: [], teams: [] },
      preventSelfReview: false,
      waitTimer: 0,
    });
    expect(environment('web', 'canary')?.deploymentBranches).toBeUndefined();

    for (const body of [
      { reviewers: [{ type: 'User', id: 424_242 }] },
      { reviewers: [{ type: 'Team', id: userId('erin') }] },
      { deployment_branch_policy: { protected_branches: true, custom_branch_policies: true } },
    ]) {
      const refused = await call('PUT', '/repos/acme/api/environments/production', body);
      expect(refused.status, JSON.stringify(body)).toBe(422);
    }
    // Refusals change nothing.
    expect(environment('api', 'production')?.reviewers).toEqual({
      users: ['bob', 'carol'],
      teams: ['release'],
    });
  });

  it('checks its answers against GitHub’s OpenAPI description', () => {
    expectIncompleteBodyCaught('GET', '/repos/{owner}/{repo}/environments/{environment_name}', {
      id: 1,
      name: 'x',
    });
  });
});

describe('environment reviewers: an environment that is gone', () => {
  // GitHub's description documents only 200 for GET environment; its 404 carries the basic error body.
  it('is already_absent to revoke and absent to check', async () => {
    const gone = makeGrant(environmentReviewerKey('acme', 'api', 'deleted-env', 'user', 'bob'));
    const result = await connector.revoke(gone);
    expect(result.outcome).toBe('already_absent');
    expect(result.action).toContain('GET /repos/acme/api/environments/deleted-env');
    expect(await connector.check(gone)).toMatchObject({ status: 'absent' });
    expect(writes()).toEqual([]);
  });
});
