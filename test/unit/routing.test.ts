import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { makeGrant } from '../../functions/core/grant';
import { allHoldersOf, holdersOf, routeGrant, teamDirectoryOf } from '../../functions/core/routing';

const people = ['alice', 'bob', 'carol', 'erin'].map((github) => ({
  github,
  email: `${github}@acme.example`,
}));
const config = parseConfig({
  github: { organization: 'acme' },
  routing: {
    owners: [{ resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' }],
    fallbackReviewers: ['alice', 'erin'],
  },
  people,
});

const teamMember = (login: string, entitlement: 'member' | 'maintainer') =>
  makeGrant({
    connector: 'github',
    grantKind: 'team_membership',
    resourceType: 'team',
    resource: 'acme/platform',
    principalType: 'user',
    principal: login,
    entitlement,
    via: { kind: 'direct' },
  });
const teams = teamDirectoryOf([teamMember('alice', 'maintainer'), teamMember('bob', 'member')]);
const repoGrant = (principalType: 'user' | 'team', principal: string, resource = 'acme/api') =>
  makeGrant({
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource,
    principalType,
    principal,
    entitlement: 'write',
    via: { kind: 'direct' },
  });

describe('routing', () => {
  it('sends a grant to the configured owner of its resource', () => {
    expect(routeGrant(repoGrant('user', 'carol'), config, teams)).toEqual({
      reviewer: 'bob',
      reason: 'owner of repository acme/api',
    });
  });

  it('never sends a grant to the person who holds it', () => {
    const route = routeGrant(repoGrant('user', 'bob'), config, teams);
    expect(route.reviewer).toBe('alice');
    expect(route.reason).toMatch(
      /fallback reviewer: bob \(owner of repository acme\/api\) holds this access/,
    );
  });

  it('treats every member of a team as holding the team’s access', () => {
    expect([...holdersOf(repoGrant('team', 'acme/platform'), teams)].sort()).toEqual(['alice', 'bob']);
    const route = routeGrant(repoGrant('team', 'acme/platform'), config, teams);
    expect(route.reviewer).toBe('erin');
    expect(route.reason).toMatch(/bob .* is in team acme\/platform/);
    expect(route.reason).toMatch(/alice .* is in team acme\/platform/);
  });

  it('asks a team maintainer about memberships, but not about their own', () => {
    expect(routeGrant(teamMember('bob', 'member'), config, teams)).toEqual({
      reviewer: 'alice',
      reason: 'maintainer of team acme/platform',
    });
    expect(routeGrant(teamMember('alice', 'maintainer'), config, teams).reviewer).toBe('erin');
  });

  it('says when no owner is configured', () => {
    const route = routeGrant(repoGrant('user', 'carol', 'acme/web'), config, teams);
    expect(route).toEqual({
      reviewer: 'alice',
      reason: 'fallback reviewer: no owner configured for acme/web',
    });
  });

  it('reports a grant nobody eligible can review instead of assigning it to its holder', () => {
    const lonely = parseConfig({
      github: { organization: 'acme' },
      routing: { fallbackReviewers: ['alice'] },
      people: [{ github: 'alice', email: 'alice@acme.example' }],
    });
    const route = routeGrant(repoGrant('user', 'alice', 'acme/web'), lonely, teams);
    expect(route.reviewer).toBeUndefined();
    expect(route.reason).toMatch(/^no eligible reviewer: alice \(fallback reviewer\) holds this access$/);
  });
});

describe('routing CI/CD grants', () => {
  const cicdConfig = parseConfig({
    github: { organization: 'acme' },
    routing: {
      owners: [
        { resource: 'acme', resourceType: 'organization', reviewer: 'alice' },
        { resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' },
        { resource: 'acme/secrets/DEPLOY_TOKEN', resourceType: 'secret', reviewer: 'carol' },
      ],
      fallbackReviewers: ['erin'],
    },
    people,
  });
  const cicd = (extra: Partial<Parameters<typeof makeGrant>[0]>, holder?: string) =>
    makeGrant(
      {
        connector: 'github',
        grantKind: 'environment_reviewer',
        resourceType: 'environment',
        resource: 'acme/api:production',
        principalType: 'user',
        principal: 'carol',
        entitlement: 'approve_deployments',
        via: { kind: 'direct' },
        ...extra,
      },
      holder ? { holder } : {},
    );

  it('sends an environment, a branch and a repository ruleset to the owner of their repository', () => {
    expect(routeGrant(cicd({}), cicdConfig, teams)).toEqual({
      reviewer: 'bob',
      reason: 'owner of repository acme/api',
    });
    const branch = cicd({
      grantKind: 'branch_protection_bypass',
      resourceType: 'branch',
      resource: 'acme/api:main',
    });
    expect(routeGrant(branch, cicdConfig, teams).reviewer).toBe('bob');
    const ruleset = cicd({
      grantKind: 'ruleset_bypass',
      resourceType: 'ruleset',
      resource: 'acme/api/rulesets/4',
    });
    expect(routeGrant(ruleset, cicdConfig, teams).reviewer).toBe('bob');
  });

  it('prefers an owner of the exact resource, and sends org-wide CI/CD resources to the org owner', () => {
    const secret = (name: string) =>
      cicd({
        grantKind: 'actions_secret_access',
        resourceType: 'secret',
        resource: `acme/secrets/${name}`,
        principalType: 'repository',
        principal: 'acme/api',
      });
    expect(routeGrant(secret('DEPLOY_TOKEN'), cicdConfig, teams).reviewer).toBe('carol');
    expect(routeGrant(secret('NPM_TOKEN'), cicdConfig, teams)).toEqual({
      reviewer: 'alice',
      reason: 'owner of organization acme',
    });
  });

  it('never sends a token or an invitation to the person behind it', () => {
    const token = cicd(
      {
        grantKind: 'personal_access_token',
        resourceType: 'organization',
        resource: 'acme',
        principalType: 'personal_access_token',
        principal: "alice's token 7 (cli)",
        entitlement: 'contents:write',
      },
      'alice',
    );
    const route = routeGrant(token, cicdConfig, teams);
    expect(route.reviewer).toBe('erin');
    expect(route.reason).toMatch(/alice \(owner of organization acme\) holds this access/);
    const invitation = cicd({
      grantKind: 'repository_invitation',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'invitee',
      principal: 'bob',
      entitlement: 'write',
    });
    expect(routeGrant(invitation, cicdConfig, teams).reviewer).toBe('erin');
  });
});

describe('routing a role bypass actor', () => {
  const roleConfig = parseConfig({
    github: { organization: 'acme' },
    routing: {
      owners: [
        { resource: 'acme', resourceType: 'organization', reviewer: 'alice' },
        { resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' },
      ],
      fallbackReviewers: ['erin'],
    },
    people,
  });
  const org = (login: string, entitlement: 'member' | 'owner') =>
    makeGrant({
      connector: 'github',
      grantKind: 'organization_membership',
      resourceType: 'organization',
      resource: 'acme',
      principalType: 'user',
      principal: login,
      entitlement,
      via: { kind: 'direct' },
    });
  const access = (login: string, entitlement: string, via: 'direct' | 'team' = 'direct') =>
    makeGrant({
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal: login,
      entitlement,
      via: via === 'direct' ? { kind: 'direct' } : { kind: 'team', team: 'acme/platform' },
    });
  const directory = teamDirectoryOf([
    org('alice', 'member'),
    org('alice', 'owner'),
    access('bob', 'read'),
    access('bob', 'admin', 'team'),
    access('carol', 'write'),
  ]);
  const bypass = (resource: string, principal: string) =>
    makeGrant({
      connector: 'github',
      grantKind: 'ruleset_bypass',
      resourceType: 'ruleset',
      resource,
      principalType: 'role',
      principal,
      entitlement: 'bypass',
      via: { kind: 'direct' },
    });

  it('does not ask an owner about the organization_admin bypass they hold', () => {
    const route = routeGrant(bypass('acme/rulesets/7', 'organization_admin'), roleConfig, directory);
    expect(route.reviewer).toBe('erin');
    expect(route.reason).toMatch(/alice \(owner of organization acme\) has role organization_admin/);
  });

  it('does not ask someone who holds the repository role (by their strongest path) about it', () => {
    // alice owns the organisation: admin on every repository, so she holds every repository role.
    expect([...holdersOf(bypass('acme/api/rulesets/4', 'maintain'), directory)].sort()).toEqual([
      'alice',
      'bob',
    ]);
    expect([...holdersOf(bypass('acme/api/rulesets/4', 'write'), directory)].sort()).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    expect(routeGrant(bypass('acme/api/rulesets/4', 'maintain'), roleConfig, directory).reviewer).toBe(
      'erin',
    );
    expect(routeGrant(bypass('acme/api/rulesets/4', 'maintain'), roleConfig, teams).reviewer).toBe('bob');
  });
});

describe('holders through custom roles and child teams', () => {
  const customAccess = makeGrant(
    {
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal: 'ivan',
      entitlement: 'releaser',
      via: { kind: 'direct' },
    },
    { raw: { baseRole: 'write' } },
  );
  const childMembership = makeGrant(
    {
      connector: 'github',
      grantKind: 'team_membership',
      resourceType: 'team',
      resource: 'acme/sre',
      principalType: 'user',
      principal: 'hank',
      entitlement: 'member',
      via: { kind: 'direct' },
    },
    { raw: { parentTeam: 'acme/platform' } },
  );
  const directory = teamDirectoryOf([customAccess, childMembership, teamMember('alice', 'maintainer')]);
  const roleBypass = (principal: string) =>
    makeGrant({
      connector: 'github',
      grantKind: 'ruleset_bypass',
      resourceType: 'ruleset',
      resource: 'acme/api/rulesets/4',
      principalType: 'role',
      principal,
      entitlement: 'bypass',
      via: { kind: 'direct' },
    });

  it('counts a custom role by its base role, and by its name', () => {
    expect([...holdersOf(roleBypass('write'), directory)]).toEqual(['ivan']);
    expect([...holdersOf(roleBypass('releaser'), directory)]).toEqual(['ivan']);
    expect([...holdersOf(roleBypass('maintain'), directory)]).toEqual([]);
  });

  it("counts a child team's members as holders of the parent team's access", () => {
    expect([...holdersOf(repoGrant('team', 'acme/platform'), directory)].sort()).toEqual(['alice', 'hank']);
    expect([...holdersOf(repoGrant('team', 'acme/sre'), directory)]).toEqual(['hank']);
  });
});

describe('routing AWS grants', () => {
  const account = '111122223333';
  const awsConfig = parseConfig({
    github: { organization: 'acme' },
    aws: {
      accounts: [
        {
          accountId: account,
          regions: ['eu-west-1'],
          readRoleArn: `arn:aws:iam::${account}:role/access-review-read`,
        },
      ],
    },
    routing: {
      owners: [
        { resource: account, resourceType: 'aws_account', reviewer: 'erin' },
        { resource: `${account}:prod/`, resourceType: 'aws_secret_prefix', reviewer: 'carol' },
        { resource: `${account}:prod/payments/`, resourceType: 'aws_secret_prefix', reviewer: 'bob' },
      ],
      fallbackReviewers: ['alice'],
    },
    people: [
      ...people.filter((p) => p.github !== 'bob'),
      {
        github: 'bob',
        email: 'bob@acme.example',
        aws: [`arn:aws:sts::${account}:assumed-role/payments-ops/bob`],
      },
    ],
  });
  const secretRead = (name: string, principal: string, principalType: 'iam_user' | 'iam_role' = 'iam_role') =>
    makeGrant(
      {
        connector: 'aws',
        grantKind: 'secret_read',
        resourceType: 'aws_secret',
        resource: `arn:aws:secretsmanager:eu-west-1:${account}:secret:${name}-AbC123`,
        principalType,
        principal,
        entitlement: 'read',
        via: { kind: 'resource_policy' },
      },
      { raw: { secretName: name } },
    );

  it('sends a secret to the owner of the longest matching name prefix, then the account', () => {
    const other = `arn:aws:iam::${account}:role/batch`;
    expect(routeGrant(secretRead('prod/payments/stripe', other), awsConfig, teams).reviewer).toBe('bob');
    expect(routeGrant(secretRead('prod/search/key', other), awsConfig, teams)).toEqual({
      reviewer: 'carol',
      reason: `owner of aws_secret_prefix ${account}:prod/`,
    });
    expect(routeGrant(secretRead('staging/key', other), awsConfig, teams).reason).toBe(
      `owner of aws_account ${account}`,
    );
  });

  it('never asks people about an IAM principal they act as, a role by its assumed-role session too', () => {
    const route = routeGrant(
      secretRead('prod/payments/stripe', `arn:aws:iam::${account}:role/ops/payments-ops`),
      awsConfig,
      teams,
    );
    expect(route.reviewer).toBe('alice');
    expect(route.reason).toContain(`bob (owner of aws_secret_prefix ${account}:prod/payments/) acts as`);
  });

  it("sends a deploy role's trusts to the role's owner, and a secret to its exact owner first", () => {
    const role = `arn:aws:iam::${account}:role/deploy-web`;
    const withRoleOwner = parseConfig({
      ...awsConfig,
      routing: {
        ...awsConfig.routing,
        owners: [
          ...awsConfig.routing.owners,
          { resource: role, resourceType: 'iam_role', reviewer: 'carol' },
          {
            resource: `arn:aws:secretsmanager:eu-west-1:${account}:secret:prod/payments/stripe-AbC123`,
            resourceType: 'aws_secret',
            reviewer: 'erin',
          },
        ],
      },
    });
    const trust = makeGrant({
      connector: 'aws',
      grantKind: 'oidc_role_trust',
      resourceType: 'iam_role',
      resource: role,
      principalType: 'oidc_subject',
      principal: 'repo:acme/web:ref:refs/heads/main',
      entitlement: 'assume',
      via: { kind: 'trust_policy' },
    });
    expect(routeGrant(trust, withRoleOwner, teams)).toEqual({
      reviewer: 'carol',
      reason: `owner of iam_role ${role}`,
    });
    expect(
      routeGrant(
        secretRead('prod/payments/stripe', `arn:aws:iam::${account}:role/batch`),
        withRoleOwner,
        teams,
      ),
    ).toEqual({
      reviewer: 'erin',
      reason: `owner of aws_secret arn:aws:secretsmanager:eu-west-1:${account}:secret:prod/payments/stripe-AbC123`,
    });
  });

  it('treats a role GitHub workflows can assume as held by whoever can push to a repository it trusts', () => {
    const deploy = `arn:aws:iam::${account}:role/deploy`;
    const directory = teamDirectoryOf([
      repoGrant('user', 'carol', 'acme/api'),
      makeGrant({
        connector: 'aws',
        grantKind: 'oidc_role_trust',
        resourceType: 'iam_role',
        resource: deploy,
        principalType: 'oidc_subject',
        principal: 'repo:acme/api:environment:production',
        entitlement: 'assume',
        via: { kind: 'trust_policy' },
      }),
    ]);
    const route = routeGrant(secretRead('prod/search/key', deploy), awsConfig, directory);
    expect(route.reviewer).toBe('alice');
    expect(route.reason).toContain(
      `carol (owner of aws_secret_prefix ${account}:prod/) acts as ${deploy}, or can push to a repository it trusts through GitHub OIDC`,
    );
    // A role nobody's workflows can assume is held by nobody in GitHub.
    expect(
      routeGrant(secretRead('prod/search/key', `arn:aws:iam::${account}:role/batch`), awsConfig, directory)
        .reviewer,
    ).toBe('carol');
  });

  it('treats everyone who can push to a repository an OIDC subject covers as holding the trust', () => {
    const writers = teamDirectoryOf([
      repoGrant('user', 'carol', 'acme/api'),
      repoGrant('user', 'erin', 'acme/web'),
      makeGrant({
        connector: 'github',
        grantKind: 'user_repository',
        resourceType: 'repository',
        resource: 'acme/api',
        principalType: 'user',
        principal: 'bob',
        entitlement: 'read',
        via: { kind: 'direct' },
      }),
    ]);
    const trust = (subject: string) =>
      makeGrant({
        connector: 'aws',
        grantKind: 'oidc_role_trust',
        resourceType: 'iam_role',
        resource: `arn:aws:iam::${account}:role/deploy`,
        principalType: 'oidc_subject',
        principal: subject,
        entitlement: 'assume',
        via: { kind: 'trust_policy' },
      });
    expect([...holdersOf(trust('repo:acme/api:environment:production'), writers)]).toEqual(['carol']);
    expect([...holdersOf(trust('repo:acme/*'), writers)].sort()).toEqual(['carol', 'erin']);
    expect([...holdersOf(trust('repo:acme/we?:ref:refs/heads/main'), writers)]).toEqual(['erin']);
    const route = routeGrant(trust('repo:acme/*'), awsConfig, writers);
    expect(route.reviewer).toBe('alice');
    expect(route.reason).toContain('erin (owner of aws_account 111122223333) can push to a repository');
  });
});

describe('routing past people who cannot be reached', () => {
  it('passes over a team maintainer who is not listed in people', () => {
    const opsMember = (login: string, entitlement: 'member' | 'maintainer') =>
      makeGrant({
        connector: 'github',
        grantKind: 'team_membership',
        resourceType: 'team',
        resource: 'acme/ops',
        principalType: 'user',
        principal: login,
        entitlement,
        via: { kind: 'direct' },
      });
    const ops = teamDirectoryOf([opsMember('zed', 'maintainer'), opsMember('carol', 'member')]);
    expect(routeGrant(opsMember('carol', 'member'), config, ops)).toEqual({
      reviewer: 'alice',
      reason:
        'fallback reviewer: zed (maintainer of team acme/ops) is not listed in people, so cannot be reached in Slack',
    });
  });
});

describe('routing by Slack user: two logins that reach one Slack user are one person', () => {
  // bob-admin is bob's second GitHub account; both emails are aliases of one Slack user.
  const identities = new Map([
    ['alice', 'U0ALICE01'],
    ['bob', 'U0BOB0001'],
    ['bob-admin', 'U0BOB0001'],
    ['erin', 'U0ERIN001'],
  ]);

  it('does not ask the owner about access their other login holds, and says so', () => {
    const route = routeGrant(repoGrant('user', 'bob-admin'), config, teams, identities);
    expect(route).toEqual({
      reviewer: 'alice',
      reason:
        'fallback reviewer: bob (owner of repository acme/api) is the same Slack user as bob-admin, who holds this access',
    });
    // Without the Slack identities the two logins look like two people.
    expect(routeGrant(repoGrant('user', 'bob-admin'), config, teams).reviewer).toBe('bob');
  });

  it('counts a team the other login is in as held', () => {
    const withAdmin = teamDirectoryOf([teamMember('alice', 'maintainer'), teamMember('bob-admin', 'member')]);
    const route = routeGrant(repoGrant('team', 'acme/platform'), config, withAdmin, identities);
    expect(route.reviewer).toBe('erin');
    expect(route.reason).toContain('bob (owner of repository acme/api) is the same Slack user as bob-admin');
    expect(route.reason).toContain('alice (fallback reviewer) is in team acme/platform');
  });

  it('reports a grant nobody else can review rather than giving it to the same Slack user', () => {
    const solo = parseConfig({
      github: { organization: 'acme' },
      routing: { fallbackReviewers: ['bob'] },
      people: [{ github: 'bob', email: 'bob@acme.example' }],
    });
    const route = routeGrant(repoGrant('user', 'bob-admin', 'acme/web'), solo, teams, identities);
    expect(route).toEqual({
      reviewer: undefined,
      reason:
        'no eligible reviewer: bob (fallback reviewer) is the same Slack user as bob-admin, who holds this access',
    });
  });

  it('never routes a grant to a reviewer who shares a Slack user with a holder', () => {
    const logins = ['ana', 'ben', 'cy', 'dee', 'eli', 'fay'];
    const login = fc.constantFrom(...logins);
    const scenario = fc.record({
      // Few Slack users for six logins, so aliases are common; null: not found in Slack.
      slackUsers: fc.array(fc.option(fc.constantFrom('U1', 'U2', 'U3'), { nil: undefined }), {
        minLength: logins.length,
        maxLength: logins.length,
      }),
      owner: fc.option(login, { nil: undefined }),
      fallbacks: fc.uniqueArray(login, { minLength: 1, maxLength: 4 }),
      maintainers: fc.uniqueArray(login, { maxLength: 2 }),
      members: fc.uniqueArray(login, { maxLength: 3 }),
      grant: fc.oneof(
        login.map((principal) => repoGrant('user', principal)),
        fc.constant(repoGrant('team', 'acme/ops')),
        login.map((principal) =>
          makeGrant({
            connector: 'github',
            grantKind: 'team_membership',
            resourceType: 'team',
            resource: 'acme/ops',
            principalType: 'user',
            principal,
            entitlement: 'member',
            via: { kind: 'direct' },
          }),
        ),
      ),
    });
    fc.assert(
      fc.property(scenario, ({ slackUsers, owner, fallbacks, maintainers, members, grant }) => {
        const identities = new Map<string, string>();
        logins.forEach((name, index) => {
          const id = slackUsers[index];
          if (id) identities.set(name, id);
        });
        const listed = parseConfig({
          github: { organization: 'acme' },
          routing: {
            owners: owner ? [{ resource: 'acme/api', resourceType: 'repository', reviewer: owner }] : [],
            fallbackReviewers: fallbacks,
          },
          people: logins.map((github) => ({ github, email: `${github}@acme.example` })),
        });
        // Only people found in Slack stay reachable, as AssignReviewers leaves the configuration.
        const scenarioConfig = { ...listed, people: listed.people.filter((p) => identities.has(p.github)) };
        const membership = (principal: string, entitlement: 'member' | 'maintainer') =>
          makeGrant({
            connector: 'github',
            grantKind: 'team_membership',
            resourceType: 'team',
            resource: 'acme/ops',
            principalType: 'user',
            principal,
            entitlement,
            via: { kind: 'direct' },
          });
        const directory = teamDirectoryOf([
          ...maintainers.map((name) => membership(name, 'maintainer')),
          ...members.map((name) => membership(name, 'member')),
        ]);
        const holders = allHoldersOf(grant, scenarioConfig, directory);
        const route = routeGrant(grant, scenarioConfig, directory, identities);
        if (route.reviewer === undefined) return;
        expect(holders.has(route.reviewer)).toBe(false);
        const reviewerSlackUser = identities.get(route.reviewer);
        for (const holder of holders) {
          expect(identities.get(holder) === reviewerSlackUser && reviewerSlackUser !== undefined).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('routing the base permission', () => {
  const member = (principal: string, entitlement: string) =>
    makeGrant({
      connector: 'github',
      grantKind: 'organization_membership',
      resourceType: 'organization',
      resource: 'acme',
      principalType: 'user',
      principal,
      entitlement,
      via: { kind: 'direct' },
    });
  const base = makeGrant({
    connector: 'github',
    grantKind: 'organization_base_permission',
    resourceType: 'organization',
    resource: 'acme',
    principalType: 'role',
    principal: 'members',
    entitlement: 'write',
    via: { kind: 'direct' },
  });
  const grants = [member('alice', 'member'), member('alice', 'owner'), member('bob', 'member'), base];
  const directory = teamDirectoryOf(grants);
  const config = parseConfig({
    github: { organization: 'acme' },
    routing: { fallbackReviewers: ['bob'] },
    people: [
      { github: 'alice', email: 'alice@acme.example' },
      { github: 'bob', email: 'bob@acme.example' },
    ],
  });

  it('is held by every member but the owners, and goes to an owner before the fallback', () => {
    expect([...holdersOf(base, directory)]).toEqual(['bob']);
    expect(routeGrant(base, config, directory)).toEqual({
      reviewer: 'alice',
      reason: 'owner of organization acme',
    });
  });

  it('makes every member a holder of a repository role it reaches (base write ≥ write)', () => {
    const writeRole = makeGrant({
      connector: 'github',
      grantKind: 'ruleset_bypass',
      resourceType: 'ruleset',
      resource: 'acme/rulesets/1',
      principalType: 'role',
      principal: 'write',
      entitlement: 'bypass',
      via: { kind: 'direct' },
    });
    expect([...holdersOf(writeRole, directory)].sort()).toEqual(['alice', 'bob']);
    const readBase = teamDirectoryOf([...grants.slice(0, 3), { ...base, entitlement: 'read' }]);
    expect([...holdersOf(writeRole, readBase)].sort()).toEqual(['alice']);
  });
});
