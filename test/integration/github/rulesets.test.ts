import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import type { SnapshotIndex } from '../../../functions/connectors/github/access-kind';
import { rulesetBypassKey, rulesetResource } from '../../../functions/connectors/github/keys';
import { rulesets } from '../../../functions/connectors/github/rulesets';
import { ConnectorError } from '../../../functions/core/errors';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import { repositoryCicd, type SandboxRuleset } from '../../../sandbox/github/cicd/state';
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
 * acme/api has its own active ruleset on the default branch (team platform, app deploy-bot for
 * pull requests only, the maintain role, every deploy key) and one in evaluate mode on release
 * branches (the write role). acme/docs has a disabled one. The org has an active ruleset on
 * the default branch of acme/web (org admins, team release for pull requests) and one on release
 * branches of every repository (the admin role).
 */
const ORG: OrganizationInput = {
  login: 'acme',
  members: [{ login: 'alice', role: 'owner' }, { login: 'bob' }, { login: 'carol' }],
  teams: [
    { slug: 'platform', members: ['bob'] },
    { slug: 'release', members: ['carol'] },
  ],
  apps: [{ slug: 'deploy-bot', permissions: { contents: 'write' } }],
  customRoles: [{ name: 'releaser', baseRole: 'write' }],
  repositories: [
    {
      name: 'api',
      rulesets: [
        {
          name: 'protect main',
          requiredApprovals: 1,
          bypassActors: [
            { type: 'Team', actor: 'platform' },
            { type: 'Integration', actor: 'deploy-bot', mode: 'pull_request' },
            { type: 'RepositoryRole', actor: 'maintain' },
            { type: 'DeployKey' },
          ],
        },
        {
          name: 'release branches',
          enforcement: 'evaluate',
          include: ['refs/heads/release/*'],
          bypassActors: [{ type: 'RepositoryRole', actor: 'write' }],
        },
      ],
    },
    { name: 'web', defaultBranch: 'trunk' },
    {
      name: 'docs',
      rulesets: [
        {
          name: 'docs main',
          enforcement: 'disabled',
          requiredApprovals: 1,
          bypassActors: [{ type: 'OrganizationAdmin' }],
        },
        // Active on the default branch, but it only blocks force pushes: no review to bypass.
        { name: 'docs no force push', bypassActors: [] },
      ],
    },
  ],
  rulesets: [
    {
      name: 'org main',
      repositories: ['web'],
      requiredApprovals: 2,
      bypassActors: [{ type: 'OrganizationAdmin' }, { type: 'Team', actor: 'release', mode: 'pull_request' }],
    },
    {
      name: 'org release',
      include: ['refs/heads/release/**'],
      repositories: ['~ALL'],
      bypassActors: [{ type: 'RepositoryRole', actor: 'admin' }],
    },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;
let index: SnapshotIndex;
let grants: Grant[];

function rulesetNamed(name: string): SandboxRuleset {
  const all = [
    ...sandbox.state.cicd.rulesets.values(),
    ...[...sandbox.state.cicd.repositories.values()].flatMap((records) => [...records.rulesets.values()]),
  ];
  const found = all.find((ruleset) => ruleset.name === name);
  if (!found) throw new Error(`no ruleset ${name}`);
  return found;
}

/** The grant resource of a ruleset: `acme/api/rulesets/12` or `acme/rulesets/7`. */
function resourceOf(name: string): string {
  const ruleset = rulesetNamed(name);
  const repository = ruleset.sourceType === 'Repository' ? (ruleset.source.split('/')[1] ?? null) : null;
  return rulesetResource('acme', repository, ruleset.id);
}

/** This kind's pass alone, with the index earlier passes would have filled. */
async function snapshotThisKind(): Promise<Grant[]> {
  const context = contextFor(sandbox, { retryAfterBaseMs: 0, writeIntervalMs: 0 });
  index = {
    members: new Map(),
    teams: { members: new Set(), repositories: new Map() },
    repositories: [
      { name: 'api', isPrivate: true, defaultBranch: 'main' },
      { name: 'web', isPrivate: true, defaultBranch: 'trunk' },
      { name: 'docs', isPrivate: true, defaultBranch: 'main' },
    ],
    // What the branch protection pass found: none of these branches is protected.
    defaultBranchRequiresReview: new Map([
      ['api', false],
      ['web', false],
      ['docs', false],
    ]),
    defaultBranchRestrictions: new Map(),
    reviewRulesets: new Map(),
  };
  return collect(rulesets.snapshot(context, index));
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

const teamId = (slug: string) => sandbox.state.teams.get(slug)?.id;
const appId = () => [...sandbox.state.cicd.apps.values()][0]?.appId;

describe('ruleset bypass: snapshot', () => {
  it('has one grant per bypass actor of every org and repository ruleset', () => {
    const api = resourceOf('protect main');
    const release = resourceOf('release branches');
    const docs = resourceOf('docs main');
    const orgMain = resourceOf('org main');
    const orgRelease = resourceOf('org release');
    expect(grants.map(line).sort()).toEqual(
      [
        `ruleset ${orgMain} organization_admin bypass direct`,
        `ruleset ${orgMain} acme/release bypass_via_pull_request direct`,
        `ruleset ${orgRelease} admin bypass direct`,
        `ruleset ${api} acme/platform bypass direct`,
        `ruleset ${api} deploy-bot bypass_via_pull_request direct`,
        `ruleset ${api} maintain bypass direct`,
        `ruleset ${api} deploy keys bypass direct`,
        `ruleset ${release} write bypass direct`,
        `ruleset ${docs} organization_admin bypass direct`,
      ].sort(),
    );
    expect(findGrant(grants, `ruleset ${api} acme/platform bypass direct`)).toMatchObject({
      principalType: 'team',
      resourceType: 'ruleset',
      reviewable: true,
      flags: [],
      raw: {
        rulesetName: 'protect main',
        enforcement: 'active',
        include: ['~DEFAULT_BRANCH'],
        targetsDefaultBranch: true,
        actorType: 'Team',
        actorId: teamId('platform'),
        bypassMode: 'always',
      },
    });
    expect(findGrant(grants, `ruleset ${api} deploy-bot bypass_via_pull_request direct`)).toMatchObject({
      principalType: 'app',
      raw: { actorId: appId(), bypassMode: 'pull_request' },
    });
    expect(findGrant(grants, `ruleset ${api} deploy keys bypass direct`).principalType).toBe('deploy_key');
    expect(findGrant(grants, `ruleset ${api} maintain bypass direct`)).toMatchObject({
      principalType: 'role',
      raw: { actorId: 2 },
    });
    expect(findGrant(grants, `ruleset ${release} write bypass direct`).raw).toMatchObject({
      enforcement: 'evaluate',
      targetsDefaultBranch: false,
    });
    expect(findGrant(grants, `ruleset ${orgMain} organization_admin bypass direct`).raw).toMatchObject({
      targetsDefaultBranch: true,
      repositories: ['web'],
    });
    expect(findGrant(grants, `ruleset ${orgRelease} admin bypass direct`).raw).toMatchObject({
      targetsDefaultBranch: false,
      include: ['refs/heads/release/**'],
    });
    expect(sandbox.violations).toEqual([]);
  });

  it('marks default branches under an active ruleset that requires reviews, and only those', () => {
    // api: its own active ruleset; web: the org ruleset; docs: one ruleset is disabled, the other
    // active one requires no pull request review.
    expect([...index.defaultBranchRequiresReview.entries()].sort()).toEqual([
      ['api', true],
      ['docs', false],
      ['web', true],
    ]);
    // Which rulesets stand between a push and each default branch (what separation of duties reads).
    expect([...index.reviewRulesets.entries()].sort()).toEqual([
      ['api', [resourceOf('protect main')]],
      ['web', [resourceOf('org main')]],
    ]);
  });
});

describe('ruleset bypass: revoke and check', () => {
  it('PUTs a repository ruleset with only that team left out', async () => {
    const api = resourceOf('protect main');
    const platform = findGrant(grants, `ruleset ${api} acme/platform bypass direct`);
    expect(await connector.check(platform)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'bypass' }],
    });
    const result = await connector.revoke(platform);
    expect(result.outcome).toBe('removed');
    const id = rulesetNamed('protect main').id;
    expect(writes()).toEqual([
      `PUT /repos/acme/api/rulesets/${id} ${JSON.stringify({
        bypass_actors: [
          { actor_id: appId(), actor_type: 'Integration', bypass_mode: 'pull_request' },
          { actor_id: 2, actor_type: 'RepositoryRole', bypass_mode: 'always' },
          { actor_id: null, actor_type: 'DeployKey', bypass_mode: 'always' },
        ],
      })}`,
    ]);
    expect(result.action).toContain(`PUT /repos/acme/api/rulesets/${id}`);
    const after = repositoryCicd(sandbox.state, 'api')?.rulesets.get(id);
    expect(after?.bypassActors.map((actor) => actor.type)).toEqual([
      'Integration',
      'RepositoryRole',
      'DeployKey',
    ]);
    expect(after).toMatchObject({
      name: 'protect main',
      enforcement: 'active',
      include: ['~DEFAULT_BRANCH'],
    });
    expect(await connector.check(platform)).toMatchObject({ status: 'absent' });
    expect((await connector.revoke(platform)).outcome).toBe('already_absent');
    expect(sandbox.violations).toEqual([]);
  });

  it('removes org admins and deploy keys, which have no ids of their own', async () => {
    const orgMain = resourceOf('org main');
    const admins = findGrant(grants, `ruleset ${orgMain} organization_admin bypass direct`);
    expect((await connector.revoke(admins)).outcome).toBe('removed');
    const id = rulesetNamed('org main').id;
    expect(writes()).toEqual([
      `PUT /orgs/acme/rulesets/${id} ${JSON.stringify({
        bypass_actors: [{ actor_id: teamId('release'), actor_type: 'Team', bypass_mode: 'pull_request' }],
      })}`,
    ]);
    expect(sandbox.state.cicd.rulesets.get(id)?.bypassActors).toEqual([
      { type: 'Team', actor: 'release', mode: 'pull_request' },
    ]);
    expect(await connector.check(admins)).toMatchObject({ status: 'absent' });

    const keys = findGrant(grants, `ruleset ${resourceOf('protect main')} deploy keys bypass direct`);
    expect((await connector.revoke(keys)).outcome).toBe('removed');
    expect(await connector.check(keys)).toMatchObject({ status: 'absent' });
  });

  it('removes an app and a role by the ids their names resolve to', async () => {
    const api = resourceOf('protect main');
    const app = findGrant(grants, `ruleset ${api} deploy-bot bypass_via_pull_request direct`);
    expect((await connector.revoke(app)).outcome).toBe('removed');
    expect(await connector.check(app)).toMatchObject({ status: 'absent' });
    const writeRole = findGrant(grants, `ruleset ${resourceOf('release branches')} write bypass direct`);
    expect((await connector.revoke(writeRole)).outcome).toBe('removed');
    expect(rulesetNamed('release branches').bypassActors).toEqual([]);
    expect(await connector.check(writeRole)).toMatchObject({ status: 'absent' });
  });

  it('keeps modes apart: a pull-request bypass is not an always bypass, and the reverse', async () => {
    const api = resourceOf('protect main');
    // deploy-bot bypasses only through pull requests: an `always` grant for it is not there.
    const always = makeGrant(rulesetBypassKey(api, 'app', 'deploy-bot', 'always'));
    expect(await connector.check(always)).toMatchObject({ status: 'absent' });
    const alwaysResult = await connector.revoke(always);
    expect(alwaysResult.outcome).toBe('already_absent');
    expect(alwaysResult.action).toContain('with mode pull_request, which is reviewed as its own grant');
    // platform bypasses always, which includes bypassing through pull requests.
    const viaPullRequest = makeGrant(rulesetBypassKey(api, 'team', 'acme/platform', 'pull_request'));
    expect(await connector.check(viaPullRequest)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'bypass' }],
    });
    expect((await connector.revoke(viaPullRequest)).outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
  });

  it('answers already_absent for a ruleset that is gone or an actor that never was', async () => {
    const gone = makeGrant(rulesetBypassKey(rulesetResource('acme', 'api', 999), 'role', 'admin', 'always'));
    expect((await connector.revoke(gone)).outcome).toBe('already_absent');
    expect(await connector.check(gone)).toMatchObject({ status: 'absent' });
    // An org ruleset is not reachable as a repository's own.
    const orgViaRepo = makeGrant(
      rulesetBypassKey(
        rulesetResource('acme', 'web', rulesetNamed('org main').id),
        'role',
        'organization_admin',
        'always',
      ),
    );
    expect((await connector.revoke(orgViaRepo)).outcome).toBe('already_absent');
    const stranger = makeGrant(
      rulesetBypassKey(resourceOf('protect main'), 'team', 'acme/release', 'always'),
    );
    const result = await connector.revoke(stranger);
    expect(result).toMatchObject({ outcome: 'already_absent' });
    expect(result.action).toContain('acme/release is not a bypass actor of ruleset "protect main"');
    expect(writes()).toEqual([]);
  });

  it('refuses grants it cannot route', async () => {
    const platform = findGrant(grants, `ruleset ${resourceOf('protect main')} acme/platform bypass direct`);
    await expect(connector.revoke({ ...platform, entitlement: 'write' })).rejects.toThrow(ConnectorError);
    await expect(connector.check({ ...platform, resource: 'acme/api' })).rejects.toThrow(
      /is not of the form/,
    );
    await expect(connector.check({ ...platform, principal: 'other/platform' })).rejects.toThrow(/acme\/slug/);
    await expect(connector.check({ ...platform, principalType: 'user' })).rejects.toThrow(
      /cannot be a ruleset bypass actor/,
    );
  });
});

describe('ruleset sandbox', () => {
  const call = (method: string, path: string, body?: unknown) => rest(sandbox, method, path, body);

  it("lists a repository's rulesets with its parents unless includes_parents=false", async () => {
    const names = async (path: string) =>
      ((await (await call('GET', path)).json()) as Array<{ name: string; source_type: string }>).map(
        (ruleset) => `${ruleset.name} (${ruleset.source_type})`,
      );
    expect(await names('/repos/acme/web/rulesets')).toEqual([
      'org main (Organization)',
      'org release (Organization)',
    ]);
    expect(await names('/repos/acme/web/rulesets?includes_parents=false')).toEqual([]);
    expect(await names('/repos/acme/api/rulesets?includes_parents=false')).toEqual([
      'protect main (Repository)',
      'release branches (Repository)',
    ]);
    const orgMain = rulesetNamed('org main').id;
    expect((await call('GET', `/repos/acme/web/rulesets/${orgMain}`)).status).toBe(200);
    expect((await call('GET', `/repos/acme/web/rulesets/${orgMain}?includes_parents=false`)).status).toBe(
      404,
    );
    expect((await call('PUT', `/repos/acme/web/rulesets/${orgMain}`, { bypass_actors: [] })).status).toBe(
      404,
    );
    expect(sandbox.violations).toEqual([]);
  });

  it('refuses bypass actors it cannot resolve, and keeps the ruleset as it was', async () => {
    const id = rulesetNamed('protect main').id;
    const before = structuredClone(rulesetNamed('protect main').bypassActors);
    const response = await call('PUT', `/repos/acme/api/rulesets/${id}`, {
      bypass_actors: [{ actor_id: 424242, actor_type: 'Team', bypass_mode: 'always' }],
    });
    expect(response.status).toBe(422);
    expect(rulesetNamed('protect main').bypassActors).toEqual(before);
    const roles = await call('PUT', `/repos/acme/api/rulesets/${id}`, {
      bypass_actors: [{ actor_id: 3, actor_type: 'RepositoryRole', bypass_mode: 'always' }],
    });
    expect(roles.status).toBe(422);
    expect(sandbox.violations).toEqual([]);
  });

  it('lists the teams with their ids, for naming team actors', async () => {
    const response = await call('GET', '/orgs/acme/teams');
    const teams = (await response.json()) as Array<{ id: number; slug: string }>;
    expect(teams.map((team) => [team.slug, team.id])).toEqual([
      ['platform', teamId('platform')],
      ['release', teamId('release')],
    ]);
    expect(sandbox.violations).toEqual([]);
  });
});

describe('ruleset bypass: custom repository roles', () => {
  it('names a custom role from GET /orgs/{org}/custom-repository-roles and removes it by its id', async () => {
    await sandbox.close();
    // Custom repository roles are GitHub Enterprise Cloud only: checked against GHEC's description.
    sandbox = await startSandbox({
      ...ORG,
      repositories: [
        {
          name: 'api',
          rulesets: [{ name: 'custom', bypassActors: [{ type: 'RepositoryRole', actor: 'releaser' }] }],
        },
      ],
      rulesets: [],
    });
    connector = connectorFor(sandbox);
    const found = await snapshotThisKind();
    const custom = rulesetNamed('custom');
    const roleId = sandbox.state.cicd.customRoles[0]?.id;
    expect(found.map(line)).toEqual([
      `ruleset ${rulesetResource('acme', 'api', custom.id)} releaser bypass direct`,
    ]);
    expect(found[0]?.raw.actorId).toBe(roleId);
    const grant = found[0] as Grant;
    expect((await connector.revoke(grant)).outcome).toBe('removed');
    expect(rulesetNamed('custom').bypassActors).toEqual([]);
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
  });
});
