import { afterEach, describe, expect, it } from 'vitest';
import { grantIdOf } from '../../../functions/core/grant';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import type { OrganizationInput } from '../../../sandbox/github/state';
import { acmeOrganization, collect, connectorFor, findGrant, line, startSandbox } from './helpers';

let sandbox: GitHubSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

/*
 * Worked out by hand from sandbox/scenarios/acme.yaml (base permission read; alice and frank are
 * owners, so the org gives them admin everywhere), not copied from the connector's output. The
 * base permission is one grant (every member reads every repository), not a row per member and
 * repository: effective access applies it on demand.
 * Membership and role are separate grants: every member holds `member`, owners also `owner`,
 * team maintainers also `maintainer`.
 */
const ACME_GRANTS = [
  'organization acme alice member direct',
  'organization acme alice owner direct',
  'organization acme bob member direct',
  'organization acme carol member direct',
  'organization acme dave member direct',
  'organization acme erin member direct',
  'organization acme frank member direct',
  'organization acme frank owner direct',
  'organization acme hank member direct',
  'organization acme members read direct',
  'team acme/platform alice member direct',
  'team acme/platform alice maintainer direct',
  'team acme/platform bob member direct',
  'team acme/platform carol member direct',
  'team acme/web dave member direct',
  'team acme/web dave maintainer direct',
  'team acme/web carol member direct',
  'team acme/sre hank member direct',
  'team acme/sre hank maintainer direct',
  'repository acme/api acme/platform write direct',
  'repository acme/infra acme/platform admin direct',
  'repository acme/web acme/web write direct',
  // acme/api: carol and gina direct; platform gives write (everyone else: the base read, owners admin).
  'repository acme/api carol write direct',
  'repository acme/api gina read direct',
  // ivan: an outside collaborator holding the org's custom role, by its name.
  'repository acme/api ivan security-auditor direct',
  'repository acme/api alice write team:acme/platform',
  // hank is only in sre, a child team of platform: GitHub's collaborators omit him; computed here.
  'repository acme/api hank write team:acme/platform (through acme/sre)',
  'repository acme/api bob write team:acme/platform',
  'repository acme/api carol write team:acme/platform',
  // acme/infra: bob direct admin; platform gives admin.
  'repository acme/infra bob admin direct',
  'repository acme/infra alice admin team:acme/platform',
  'repository acme/infra bob admin team:acme/platform',
  'repository acme/infra carol admin team:acme/platform',
  'repository acme/infra hank admin team:acme/platform (through acme/sre)',
  // acme/web: frank direct admin (besides being an owner); web gives write.
  'repository acme/web frank admin direct',
  'repository acme/web carol write team:acme/web',
  'repository acme/web dave write team:acme/web',
  // Pending invitations: access once accepted.
  'organization acme kim@contractor.example member direct',
  'repository acme/api judy write direct',
  // Deploy keys (ids are GitHub's; # here).
  'repository acme/api deploy key # (ci-deploy) write direct',
  'repository acme/api deploy key # (docs-mirror) read direct',
  // Who approves deployments to each environment.
  'environment acme/api:production bob approve_deployments direct',
  'environment acme/api:production acme/platform approve_deployments direct',
  'environment acme/web:staging dave approve_deployments direct',
  // Who gets past acme/api's default-branch protection.
  'branch acme/api:main bob push direct',
  'branch acme/api:main acme/platform push direct',
  'branch acme/api:main release-bot push direct',
  'branch acme/api:main bob bypass_pull_request_reviews direct',
  // main's protection does not include administrators.
  'branch acme/api:main admin bypass_protection direct',
  // Ruleset bypass: infra's own ruleset and the org's.
  'ruleset acme/infra/rulesets/# acme/platform bypass_via_pull_request direct',
  'ruleset acme/infra/rulesets/# deploy keys bypass direct',
  'ruleset acme/rulesets/# organization_admin bypass direct',
  'ruleset acme/rulesets/# release-bot bypass direct',
  // Actions: a secret every repository can read, one for two selected repositories, a variable,
  // an environment secret, and a runner group.
  'secret acme/secrets/NPM_TOKEN acme/* read visibility:all',
  'secret acme/secrets/DEPLOY_TOKEN acme/api read direct',
  'secret acme/secrets/DEPLOY_TOKEN acme/infra read direct',
  'variable acme/variables/AWS_REGION acme/api read direct',
  'variable acme/variables/AWS_REGION acme/web read direct',
  'secret acme/api:production/secrets/DB_PASSWORD acme/api:production read direct',
  'runner_group acme/runner-groups/deploy-runners acme/infra use direct',
  'runner_group acme/runner-groups/deploy-runners acme/web use direct',
  // Apps and fine-grained tokens approved for the org.
  'organization acme release-bot contents:write, pull_requests:write direct',
  'organization acme dependency-scanner contents:read, security_events:write direct',
  "organization acme dave's token # (web-deploy) repo.contents:write direct",
  "organization acme bob's token # (api-release-notes) repo.contents:read, repo.pull_requests:read direct",
];

/** A line without the numeric ids GitHub assigns (deploy keys, rulesets, tokens). */
const stable = (text: string) => text.replace(/(deploy key |rulesets\/|token )\d+/g, '$1#');

describe('GitHub connector snapshot of the acme scenario', () => {
  it('yields every grant exactly once, and nothing else', async () => {
    sandbox = await startSandbox(await acmeOrganization());
    const grants = await collect(connectorFor(sandbox).snapshot());
    expect(grants.map((grant) => stable(line(grant))).sort()).toEqual([...ACME_GRANTS].sort());
    expect(new Set(grants.map((grant) => grant.grantId)).size).toBe(grants.length);
    for (const grant of grants) {
      expect(grant.connector).toBe('github');
      expect(grant.grantId).toBe(grantIdOf(grant));
    }
    expect(grants).toHaveLength(65);
    expect(grants.filter((grant) => grant.reviewable)).toHaveLength(55);
  });

  it('links access via a team to the membership and the team access it follows from', async () => {
    sandbox = await startSandbox(await acmeOrganization());
    const grants = await collect(connectorFor(sandbox).snapshot());
    const viaTeam = findGrant(grants, 'repository acme/api carol write team:acme/platform');
    expect(viaTeam.reviewable).toBe(false);
    expect(viaTeam.via).toEqual({ kind: 'team', team: 'acme/platform' });
    expect(viaTeam.derivedFrom).toEqual([
      findGrant(grants, 'team acme/platform carol member direct').grantId,
      findGrant(grants, 'repository acme/api acme/platform write direct').grantId,
    ]);
    // alice maintains the team, but the access comes from being in it: it points at her membership.
    expect(findGrant(grants, 'repository acme/infra alice admin team:acme/platform').derivedFrom).toEqual([
      findGrant(grants, 'team acme/platform alice member direct').grantId,
      findGrant(grants, 'repository acme/infra acme/platform admin direct').grantId,
    ]);
  });

  it('keeps the base permission as one reviewable grant of the organisation, with no row per member', async () => {
    sandbox = await startSandbox(await acmeOrganization());
    const grants = await collect(connectorFor(sandbox).snapshot());
    const base = findGrant(grants, 'organization acme members read direct');
    expect(base.grantKind).toBe('organization_base_permission');
    expect(base.principalType).toBe('role');
    expect(base.reviewable).toBe(true);
    expect(base.raw).toEqual({ defaultRepositoryPermission: 'read', members: 7 });
    expect(grants.filter((grant) => grant.via.kind === 'organization_base')).toEqual([]);
    // GitHub was asked once, by an owner's token: GET /orgs/{org} shows the base permission.
    expect(sandbox.requests.filter((request) => request.path === '/orgs/acme')).toHaveLength(1);
  });

  it('has no base permission grant when the base permission is none', async () => {
    sandbox = await startSandbox({ ...(await acmeOrganization()), basePermission: 'none' });
    const grants = await collect(connectorFor(sandbox).snapshot());
    expect(grants.filter((grant) => grant.grantKind === 'organization_base_permission')).toEqual([]);
  });

  it('keeps the ids of the membership and role grants fixed by their keys', async () => {
    sandbox = await startSandbox(await acmeOrganization());
    const grants = await collect(connectorFor(sandbox).snapshot());
    const key = (
      resourceType: 'organization' | 'team',
      resource: string,
      login: string,
      entitlement: string,
    ) =>
      grantIdOf({
        connector: 'github',
        grantKind:
          resourceType === 'team'
            ? 'team_membership'
            : resourceType === 'organization'
              ? 'organization_membership'
              : 'user_repository',
        resourceType,
        resource,
        principalType: 'user',
        principal: login,
        entitlement,
        via: { kind: 'direct' },
      });
    expect(findGrant(grants, 'organization acme alice owner direct').grantId).toBe(
      key('organization', 'acme', 'alice', 'owner'),
    );
    expect(findGrant(grants, 'organization acme alice member direct').grantId).toBe(
      key('organization', 'acme', 'alice', 'member'),
    );
    expect(findGrant(grants, 'team acme/web dave maintainer direct').grantId).toBe(
      key('team', 'acme/web', 'dave', 'maintainer'),
    );
    expect(findGrant(grants, 'team acme/web dave member direct').grantId).toBe(
      key('team', 'acme/web', 'dave', 'member'),
    );
  });

  it('marks direct and membership grants reviewable, and flags the outside collaborator', async () => {
    sandbox = await startSandbox(await acmeOrganization());
    const grants = await collect(connectorFor(sandbox).snapshot());
    for (const grant of grants) {
      // A secret every repository can read is reviewed as one grant, though no repository was picked.
      expect(grant.reviewable, line(grant)).toBe(
        grant.via.kind === 'direct' || grant.via.kind === 'visibility',
      );
      if (grant.reviewable) expect(grant.derivedFrom, line(grant)).toEqual([]);
    }
    const gina = findGrant(grants, 'repository acme/api gina read direct');
    expect(gina.raw.outsideCollaborator).toBe(true);
    expect(gina.flags).toEqual(['outside_collaborator']);
    expect(findGrant(grants, 'organization acme carol member direct').flags).toEqual(['two_factor_disabled']);
    expect(findGrant(grants, 'organization acme bob member direct').flags).toEqual([]);
    const flagged = (flag: string) =>
      grants
        .filter((grant) => grant.flags.includes(flag as (typeof grant.flags)[number]))
        .map((grant) => stable(line(grant)))
        .sort();
    // bob approves production deployments of acme/api, which lets approvers approve their own, and
    // may merge into its main without the required reviews; main restricts pushes, which binds
    // merges too, so his places on the push allowances (his own, and platform's) are part of it.
    // alice (in platform, which also approves) is an admin there, and main exempts admins.
    expect(flagged('separation_of_duties')).toEqual([
      'branch acme/api:main acme/platform push direct',
      'branch acme/api:main admin bypass_protection direct',
      'branch acme/api:main bob bypass_pull_request_reviews direct',
      'branch acme/api:main bob push direct',
      'environment acme/api:production acme/platform approve_deployments direct',
      'environment acme/api:production bob approve_deployments direct',
    ]);
    expect(
      findGrant(grants, 'environment acme/api:production acme/platform approve_deployments direct').raw
        .separationOfDuties,
    ).toEqual([
      "alice: admin, and admins are exempt from main's protection",
      'bob: may merge into main without the required reviews',
    ]);
    expect(flagged('visible_to_all_repositories')).toEqual([
      'organization acme dependency-scanner contents:read, security_events:write direct',
      'secret acme/secrets/NPM_TOKEN acme/* read visibility:all',
    ]);
    expect(flagged('write_key_never_used')).toEqual([
      'repository acme/api deploy key # (ci-deploy) write direct',
    ]);
    const carol = findGrant(grants, 'repository acme/api carol write direct');
    expect(carol.raw.outsideCollaborator).toBe(false);
    // raw keeps the source list that justified the row.
    expect(carol.raw.permissionSources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: 'direct', roleName: 'write' }),
        expect.objectContaining({ source: 'team:acme/platform', roleName: 'write' }),
        expect.objectContaining({ source: 'organization_base:acme', roleName: 'read' }),
      ]),
    );
    expect(findGrant(grants, 'organization acme frank owner direct').raw).toEqual({ role: 'ADMIN' });
    expect(findGrant(grants, 'organization acme frank member direct').raw).toEqual({ role: 'ADMIN' });
    expect(findGrant(grants, 'team acme/web dave member direct').raw).toEqual({
      team: 'acme/web',
      role: 'MAINTAINER',
    });
  });

  it('gives the same ids on every snapshot, from the same sandbox and from a fresh one', async () => {
    const organization = await acmeOrganization();
    sandbox = await startSandbox(organization);
    const first = (await collect(connectorFor(sandbox).snapshot())).map((grant) => grant.grantId).sort();
    const second = (await collect(connectorFor(sandbox).snapshot())).map((grant) => grant.grantId).sort();
    await sandbox.close();
    sandbox = await startSandbox(organization);
    const fresh = (await collect(connectorFor(sandbox).snapshot())).map((grant) => grant.grantId).sort();
    expect(second).toEqual(first);
    expect(fresh).toEqual(first);
  });
});

/**
 * An organisation large enough that every connection needs a second page: 105 members, 61 teams
 * (a page of teams is 50), a team of 105 members, 120 repositories (pages of 100), and one
 * repository with 106 direct collaborators. Base permission none.
 */
function largeOrganization(): OrganizationInput {
  const pad = (value: number) => String(value).padStart(3, '0');
  const logins = Array.from({ length: 105 }, (_, index) => `u${pad(index)}`);
  const guests = Object.fromEntries(
    Array.from({ length: 105 }, (_, index) => [`guest-${pad(index)}`, 'read' as const]),
  );
  const repositories = Array.from({ length: 120 }, (_, index) => ({
    name: `repo-${pad(index)}`,
    private: true,
    collaborators: { [`outside-${pad(index)}`]: 'read' as const, ...(index === 0 ? guests : {}) },
  }));
  const smallTeams = Array.from({ length: 60 }, (_, index) => ({
    slug: `team-${pad(index)}`,
    maintainers: [],
    members: [logins[index + 1]!],
    repositories: { [`repo-${pad(index)}`]: 'read' as const },
  }));
  return {
    login: 'bigco',
    basePermission: 'none',
    members: logins.map((login, index) => ({
      login,
      role: index === 0 ? ('owner' as const) : ('member' as const),
    })),
    teams: [
      { slug: 'big', maintainers: ['u000'], members: logins.slice(1), repositories: { 'repo-000': 'write' } },
      ...smallTeams,
    ],
    repositories,
  };
}

describe('GitHub connector snapshot paging', () => {
  it('follows every connection past its first page', async () => {
    sandbox = await startSandbox(largeOrganization());
    const grants = await collect(connectorFor(sandbox).snapshot());
    const count = (predicate: (text: string) => boolean) =>
      grants.filter((grant) => predicate(line(grant))).length;

    // 105 memberships, plus the owner role of u000; 105 team memberships, plus u000 maintaining big.
    expect(count((text) => text.startsWith('organization bigco '))).toBe(106);
    expect(count((text) => text.startsWith('organization bigco ') && text.includes(' owner '))).toBe(1);
    expect(count((text) => text.startsWith('team bigco/big '))).toBe(106);
    expect(count((text) => text.startsWith('team bigco/big ') && text.includes(' maintainer '))).toBe(1);
    expect(count((text) => text.startsWith('team bigco/team-'))).toBe(60);
    expect(count((text) => / bigco\/(big|team-\d+) \w+ direct$/.test(text))).toBe(61);
    expect(count((text) => / outside-\d+ read direct$/.test(text))).toBe(120);
    expect(count((text) => /^repository bigco\/repo-000 guest-\d+ read direct$/.test(text))).toBe(105);
    expect(count((text) => text.includes(' team:bigco/big'))).toBe(105);
    expect(count((text) => / team:bigco\/team-\d+$/.test(text))).toBe(60);
    expect(count((text) => text.includes('organization_base'))).toBe(0);
    expect(grants).toHaveLength(106 + 166 + 61 + 120 + 105 + 165);
    expect(new Set(grants.map((grant) => grant.grantId)).size).toBe(grants.length);

    // u104 sorts after the first 100 members of big; guest-104 after repo-000's first 100 collaborators.
    const last = findGrant(grants, 'repository bigco/repo-000 u104 write team:bigco/big');
    expect(last.derivedFrom).toEqual([
      findGrant(grants, 'team bigco/big u104 member direct').grantId,
      findGrant(grants, 'repository bigco/repo-000 bigco/big write direct').grantId,
    ]);
    expect(
      findGrant(grants, 'repository bigco/repo-119 outside-119 read direct').raw.outsideCollaborator,
    ).toBe(true);
    expect(findGrant(grants, 'repository bigco/repo-000 guest-104 read direct').flags).toEqual([
      'outside_collaborator',
    ]);

    const operations = sandbox.requests
      .filter((request) => request.path === '/graphql')
      .map((request) => {
        const body = request.body as { query: string; variables: Record<string, unknown> };
        return { name: /query (\w+)/.exec(body.query)?.[1], variables: body.variables };
      });
    const named = (name: string) => operations.filter((operation) => operation.name === name);
    expect(named('OrganizationMembers')).toHaveLength(2);
    expect(named('OrganizationTeams')).toHaveLength(2);
    expect(named('OrganizationRepositories')).toHaveLength(2);
    expect(named('TeamMembers').map((operation) => operation.variables.slug)).toEqual(['big']);
    expect(named('RepositoryCollaborators').map((operation) => operation.variables.name)).toEqual([
      'repo-000',
    ]);
    for (const followUp of [...named('TeamMembers'), ...named('RepositoryCollaborators')]) {
      expect(followUp.variables.after).toEqual(expect.any(String));
    }
  });
});

describe('what the acme snapshot asks GitHub', () => {
  it('reads CI/CD details over REST only for repositories GraphQL counted them on', async () => {
    sandbox = await startSandbox(await acmeOrganization());
    await collect(connectorFor(sandbox).snapshot());
    const gets = sandbox.requests
      .filter((request) => request.method === 'GET')
      .map((request) => request.path);
    // api has deploy keys, environments, branch protection; infra a ruleset; web an environment.
    expect(gets).toContain('/repos/acme/api/keys');
    expect(gets).toContain('/repos/acme/api/environments');
    expect(gets).toContain('/repos/acme/api/branches/main/protection');
    expect(gets).toContain('/repos/acme/infra/rulesets');
    expect(gets).toContain('/repos/acme/web/environments');
    for (const skipped of [
      '/repos/acme/infra/keys',
      '/repos/acme/web/keys',
      '/repos/acme/infra/environments',
      '/repos/acme/infra/branches/main/protection',
      '/repos/acme/web/branches/main/protection',
      '/repos/acme/api/rulesets',
      '/repos/acme/web/rulesets',
    ]) {
      expect(gets, skipped).not.toContain(skipped);
    }
    // Environments are listed once: the environment secrets pass uses the same list.
    expect(gets.filter((path) => path === '/repos/acme/api/environments')).toHaveLength(1);
    // Invitations and the organisation-wide lists have no GraphQL count: those stay one call each.
    expect(gets.filter((path) => /^\/repos\/acme\/[^/]+\/invitations$/.test(path))).toHaveLength(3);
    const graphQL = sandbox.requests.filter((request) => request.path === '/graphql');
    expect(graphQL).toHaveLength(3);
    // GitHub's formula: members 1 point, teams 1 (1 + 50 + 50 requests), repositories 5 (1 + 5 × 100).
    expect(graphQL.map((request) => request.points)).toEqual([1, 1, 5]);
  });
});
