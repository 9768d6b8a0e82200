import { describe, expect, it } from 'vitest';
import type { AccessReviewConfig, OwnerRule } from '../../functions/core/config';
import { type Grant, type GrantKey, makeGrant } from '../../functions/core/grant';
import { candidatesFor, routeGrant, type TeamDirectory, teamDirectoryOf } from '../../functions/core/routing';

/**
 * Whom a grant goes to and the exact reason given: the owner scope looked up for each resource
 * type, and the words for each candidate passed over. Reasons are kept in the evidence, so each is
 * compared in full.
 */

const account = '111122223333';

/** Only what routing reads: owners, maintainers review, fallbacks and people. */
const configOf = (
  owners: Array<Pick<OwnerRule, 'resource' | 'resourceType' | 'reviewer'>>,
  fallbackReviewers: string[],
  people: Array<string | [string, string[]]> = ['alice', 'bob', 'carol', 'dave', 'erin'],
  teamMaintainersReview = true,
): AccessReviewConfig =>
  ({
    routing: { owners, fallbackReviewers, teamMaintainersReview },
    people: people.map((entry) => {
      const [github, aws] = typeof entry === 'string' ? [entry, []] : entry;
      return { github, email: `${github}@acme.example`, aws };
    }),
  }) as unknown as AccessReviewConfig;

const grant = (key: Partial<GrantKey>, extra: Parameters<typeof makeGrant>[1] = {}): Grant =>
  makeGrant(
    {
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal: 'zed',
      entitlement: 'write',
      via: { kind: 'direct' },
      ...key,
    },
    extra,
  );
const empty: TeamDirectory = { members: new Map(), maintainers: new Map() };

describe('owner scopes of GitHub resources, nearest first', () => {
  const owners = [
    { resource: 'acme', resourceType: 'organization', reviewer: 'alice' },
    { resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' },
    { resource: 'acme/api:production', resourceType: 'environment', reviewer: 'carol' },
    { resource: 'acme/api:main', resourceType: 'branch', reviewer: 'dave' },
    { resource: 'acme/api/rulesets/4', resourceType: 'ruleset', reviewer: 'dave' },
    { resource: 'acme/platform', resourceType: 'team', reviewer: 'carol' },
    { resource: 'acme/secrets/DEPLOY', resourceType: 'secret', reviewer: 'dave' },
    { resource: 'acme/api:production/secrets/DB', resourceType: 'secret', reviewer: 'erin' },
  ] as const;
  const config = configOf([...owners], ['erin']);
  const route = (key: Partial<GrantKey>) => routeGrant(grant(key), config, empty);

  it('asks the owner of the resource itself', () => {
    expect(route({ resourceType: 'repository', resource: 'acme/api' })).toEqual({
      reviewer: 'bob',
      reason: 'owner of repository acme/api',
    });
    expect(route({ resourceType: 'environment', resource: 'acme/api:production' })).toEqual({
      reviewer: 'carol',
      reason: 'owner of environment acme/api:production',
    });
    expect(route({ resourceType: 'branch', resource: 'acme/api:main' })).toEqual({
      reviewer: 'dave',
      reason: 'owner of branch acme/api:main',
    });
    expect(route({ resourceType: 'ruleset', resource: 'acme/api/rulesets/4' })).toEqual({
      reviewer: 'dave',
      reason: 'owner of ruleset acme/api/rulesets/4',
    });
    expect(route({ resourceType: 'secret', resource: 'acme/secrets/DEPLOY' })).toEqual({
      reviewer: 'dave',
      reason: 'owner of secret acme/secrets/DEPLOY',
    });
    expect(route({ resourceType: 'secret', resource: 'acme/api:production/secrets/DB' })).toEqual({
      reviewer: 'erin',
      reason: 'owner of secret acme/api:production/secrets/DB',
    });
    expect(route({ grantKind: 'team_membership', resourceType: 'team', resource: 'acme/platform' })).toEqual({
      reviewer: 'carol',
      reason: 'owner of team acme/platform',
    });
    expect(route({ resourceType: 'organization', resource: 'acme' })).toEqual({
      reviewer: 'alice',
      reason: 'owner of organization acme',
    });
  });

  it('falls back from an environment, branch, ruleset or environment secret to its repository', () => {
    for (const [resourceType, resource] of [
      ['environment', 'acme/api:staging'],
      ['branch', 'acme/api:release'],
      ['ruleset', 'acme/api/rulesets/5'],
      ['secret', 'acme/api:staging/secrets/DB'],
    ] as const) {
      expect(route({ resourceType, resource })).toEqual({
        reviewer: 'bob',
        reason: 'owner of repository acme/api',
      });
    }
  });

  it('falls back from org-wide CI/CD resources to the organization', () => {
    for (const [resourceType, resource] of [
      ['secret', 'acme/secrets/NPM'],
      ['variable', 'acme/variables/REGION'],
      ['runner_group', 'acme/runner-groups/3'],
      ['ruleset', 'acme/rulesets/7'],
    ] as const) {
      expect(route({ resourceType, resource })).toEqual({
        reviewer: 'alice',
        reason: 'owner of organization acme',
      });
    }
  });

  it('never sends a repository or a team to the organization owner', () => {
    expect(route({ resourceType: 'repository', resource: 'acme/web' })).toEqual({
      reviewer: 'erin',
      reason: 'fallback reviewer: no owner configured for acme/web',
    });
    expect(route({ grantKind: 'team_membership', resourceType: 'team', resource: 'acme/web' })).toEqual({
      reviewer: 'erin',
      reason: 'fallback reviewer: no owner configured for acme/web',
    });
    expect(route({ resourceType: 'environment', resource: 'acme/web:production' })).toEqual({
      reviewer: 'erin',
      reason: 'fallback reviewer: no owner configured for acme/web:production',
    });
  });

  it('matches owners case-insensitively, by resource type as well as name', () => {
    const mixed = configOf(
      [
        { resource: 'ACME/Web', resourceType: 'team', reviewer: 'alice' },
        { resource: 'Acme/WEB', resourceType: 'repository', reviewer: 'bob' },
        { resource: 'acme/other', resourceType: 'repository', reviewer: 'carol' },
      ],
      ['erin'],
    );
    expect(routeGrant(grant({ resource: 'acme/web' }), mixed, empty)).toEqual({
      reviewer: 'bob',
      reason: 'owner of repository acme/web',
    });
    expect(
      routeGrant(grant({ resourceType: 'environment', resource: 'ACME/web:prod' }), mixed, empty),
    ).toEqual({
      reviewer: 'bob',
      reason: 'owner of repository ACME/web',
    });
    expect(
      routeGrant(
        grant({ grantKind: 'team_membership', resourceType: 'team', resource: 'acme/web' }),
        mixed,
        empty,
      ),
    ).toEqual({ reviewer: 'alice', reason: 'owner of team acme/web' });
  });

  it('lists only the nearest owner, then maintainers of a team, then the fallbacks', () => {
    const directory = teamDirectoryOf(
      ['amy', 'zoe'].map((principal) =>
        grant({
          grantKind: 'team_membership',
          resourceType: 'team',
          resource: 'acme/platform',
          principal,
          entitlement: 'maintainer',
        }),
      ),
    );
    expect(
      candidatesFor(
        grant({ resourceType: 'environment', resource: 'acme/api:production' }),
        config,
        directory,
      ),
    ).toEqual({
      candidates: [
        { login: 'carol', role: 'owner of environment acme/api:production' },
        { login: 'erin', role: 'fallback reviewer' },
      ],
      preferred: 1,
    });
    const membership = grant({
      grantKind: 'team_membership',
      resourceType: 'team',
      resource: 'Acme/Platform',
    });
    expect(candidatesFor(membership, config, directory)).toEqual({
      candidates: [
        { login: 'carol', role: 'owner of team Acme/Platform' },
        { login: 'amy', role: 'maintainer of team Acme/Platform' },
        { login: 'zoe', role: 'maintainer of team Acme/Platform' },
        { login: 'erin', role: 'fallback reviewer' },
      ],
      preferred: 3,
    });
    const noMaintainers = {
      ...configOf([], ['erin', 'alice']),
      routing: {
        ...config.routing,
        owners: [],
        fallbackReviewers: ['erin', 'alice'],
        teamMaintainersReview: false,
      },
    } as AccessReviewConfig;
    expect(candidatesFor(membership, noMaintainers, directory)).toEqual({
      candidates: [
        { login: 'erin', role: 'fallback reviewer' },
        { login: 'alice', role: 'fallback reviewer' },
      ],
      preferred: 0,
    });
    // Maintainers are asked about teams only, even when a repository shares the team's name.
    const sameName: TeamDirectory = { members: new Map(), maintainers: new Map([['acme/web', ['amy']]]) };
    expect(candidatesFor(grant({ resource: 'acme/web' }), configOf([], ['erin']), sameName)).toEqual({
      candidates: [{ login: 'erin', role: 'fallback reviewer' }],
      preferred: 0,
    });
  });

  it('does not look for an organization or repository owner named like an AWS resource', () => {
    const arnOwners = configOf(
      [
        { resource: 'arn', resourceType: 'organization', reviewer: 'alice' },
        { resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' },
      ],
      ['erin'],
    );
    const secret = grant({
      connector: 'aws',
      grantKind: 'secret_read',
      resourceType: 'aws_secret',
      resource: 'arn:aws:secretsmanager:eu-west-1:not-an-account:secret:prod/db',
      principalType: 'iam_role',
      principal: `arn:aws:iam::${account}:role/batch`,
      entitlement: 'read',
      via: { kind: 'resource_policy' },
    });
    expect(candidatesFor(secret, arnOwners, empty)).toEqual({
      candidates: [{ login: 'erin', role: 'fallback reviewer' }],
      preferred: 0,
    });
  });
});

describe('owner scopes of AWS resources', () => {
  const secretArn = (name: string) => `arn:aws:secretsmanager:eu-west-1:${account}:secret:${name}`;
  const secret = (resource: string, secretName?: string) =>
    grant(
      {
        connector: 'aws',
        grantKind: 'secret_read',
        resourceType: 'aws_secret',
        resource,
        principalType: 'iam_role',
        principal: `arn:aws:iam::${account}:role/batch`,
        entitlement: 'read',
        via: { kind: 'resource_policy' },
      },
      secretName === undefined ? {} : { raw: { secretName } },
    );
  const prefix = (resource: string, reviewer: string) => ({
    resource,
    resourceType: 'aws_secret_prefix' as const,
    reviewer,
  });
  const ownerOf = (config: AccessReviewConfig, g: Grant) => candidatesFor(g, config, empty).candidates[0];

  it('takes the longest matching prefix in the secret’s account, whatever order they are listed in', () => {
    const rules = [
      prefix(`${account}:prod/`, 'carol'),
      prefix(`${account}:prod/payments/`, 'bob'),
      prefix(`999988887777:prod/payments/stripe`, 'dave'),
      { resource: `${account}:prod/payments/stripe`, resourceType: 'aws_account' as const, reviewer: 'dave' },
      { resource: account, resourceType: 'aws_account' as const, reviewer: 'erin' },
    ];
    for (const owners of [rules, [...rules].reverse()]) {
      const config = configOf(owners, ['alice']);
      expect(
        ownerOf(config, secret(secretArn('prod/payments/stripe-AbC123'), 'prod/payments/stripe')),
      ).toEqual({
        login: 'bob',
        role: `owner of aws_secret_prefix ${account}:prod/payments/`,
      });
      expect(ownerOf(config, secret(secretArn('prod/search-AbC123'), 'prod/search'))).toEqual({
        login: 'carol',
        role: `owner of aws_secret_prefix ${account}:prod/`,
      });
      expect(ownerOf(config, secret(secretArn('staging/prod/x-AbC123'), 'staging/prod/x'))).toEqual({
        login: 'erin',
        role: `owner of aws_account ${account}`,
      });
    }
  });

  it('reads the secret’s name from the ARN when the snapshot did not keep it, without the six added characters', () => {
    const config = configOf(
      [
        prefix(`${account}:prod/db`, 'carol'),
        prefix(`${account}:prod/db-`, 'bob'),
        { resource: account, resourceType: 'aws_account', reviewer: 'erin' },
      ],
      ['alice'],
    );
    expect(ownerOf(config, secret(secretArn('prod/db-AbC123')))?.login).toBe('carol');
    expect(ownerOf(config, secret(secretArn('prod/db-password')))?.login).toBe('bob');
    expect(ownerOf(config, secret(secretArn('prod/db-Ab_123')))?.login).toBe('bob');
    expect(ownerOf(config, secret(secretArn('prod/db-xAbC123')))?.login).toBe('bob');
    expect(ownerOf(config, secret(secretArn('prod/db-AbC12')))?.login).toBe('bob');
    expect(ownerOf(config, secret(secretArn('prod/dbAbC1234')))?.login).toBe('carol');
    expect(ownerOf(config, secret(secretArn('prod/db')))?.login).toBe('carol');
    expect(ownerOf(config, secret(secretArn('prod/db-x-AbC123')))?.login).toBe('bob');
    // The kept name wins over the ARN's.
    expect(ownerOf(config, secret(secretArn('prod/db-AbC123'), 'prod/db-AbC123'))?.login).toBe('bob');
    expect(ownerOf(config, secret(secretArn('other-AbC123'), 'prod/db'))?.login).toBe('carol');
    // Six characters are cut only at the end of the name.
    const inside = configOf(
      [
        prefix(`${account}:a-bcdefg/`, 'carol'),
        { resource: account, resourceType: 'aws_account', reviewer: 'erin' },
      ],
      ['alice'],
    );
    expect(ownerOf(inside, secret(secretArn('a-bcdefg/x')))?.login).toBe('carol');
    expect(ownerOf(inside, secret(secretArn('a-bcdefg/x-AbC123')))?.login).toBe('carol');
    // Not a secret ARN: no name, so only the account.
    expect(ownerOf(config, secret(`arn:aws:secretsmanager:eu-west-1:${account}:other:prod/db`))?.login).toBe(
      'erin',
    );
  });

  it('looks for a secret prefix for secrets only; an IAM role goes to its owner, then its account', () => {
    const role = `arn:aws:iam::${account}:role/prod/deploy`;
    const config = configOf(
      [
        prefix(`${account}:`, 'carol'),
        prefix(`${account}:prod/`, 'bob'),
        { resource: account, resourceType: 'aws_account', reviewer: 'erin' },
      ],
      ['alice'],
    );
    const trust = grant(
      {
        connector: 'aws',
        grantKind: 'oidc_role_trust',
        resourceType: 'iam_role',
        resource: role,
        principalType: 'oidc_subject',
        principal: 'repo:acme/api:*',
        entitlement: 'assume',
        via: { kind: 'trust_policy' },
      },
      { raw: { secretName: 'prod/deploy' } },
    );
    expect(candidatesFor(trust, config, empty)).toEqual({
      candidates: [
        { login: 'erin', role: `owner of aws_account ${account}` },
        { login: 'alice', role: 'fallback reviewer' },
      ],
      preferred: 1,
    });
    const withRoleOwner = configOf(
      [
        ...config.routing.owners,
        {
          resource: role.toUpperCase().replace('ARN:AWS:IAM', 'arn:aws:iam'),
          resourceType: 'iam_role',
          reviewer: 'dave',
        },
      ],
      ['alice'],
    );
    expect(candidatesFor(trust, withRoleOwner, empty).candidates[0]).toEqual({
      login: 'dave',
      role: `owner of iam_role ${role}`,
    });
    // An empty prefix covers the whole account.
    expect(ownerOf(config, secret(secretArn('staging/x-AbC123'), 'staging/x'))?.login).toBe('carol');
  });

  it('matches AWS owner rules with case, as AWS names secrets (Prod/ and prod/ are different prefixes)', () => {
    const config = configOf(
      [prefix(`${account}:Prod/`, 'bob'), prefix(`${account}:prod/`, 'carol')],
      ['alice'],
    );
    expect(ownerOf(config, secret(secretArn('prod/x-AbC123'), 'prod/x'))).toEqual({
      login: 'carol',
      role: `owner of aws_secret_prefix ${account}:prod/`,
    });
    const byArn = configOf(
      [{ resource: secretArn('Prod/db-AbC123'), resourceType: 'aws_secret', reviewer: 'bob' }],
      ['alice'],
    );
    expect(ownerOf(byArn, secret(secretArn('prod/db-AbC123'), 'prod/db'))?.login).toBe('alice');
  });

  it('has no account scope for a resource whose ARN names no account', () => {
    const config = configOf(
      [
        { resource: account, resourceType: 'aws_account', reviewer: 'erin' },
        prefix(`${account}:prod/`, 'bob'),
      ],
      ['alice'],
    );
    expect(
      routeGrant(secret('arn:aws:secretsmanager:eu-west-1::secret:prod/x-AbC123', 'prod/x'), config, empty),
    ).toEqual({
      reviewer: 'alice',
      reason:
        'fallback reviewer: no owner configured for arn:aws:secretsmanager:eu-west-1::secret:prod/x-AbC123',
    });
  });
});

describe('reasons for passing over a candidate', () => {
  const deploy = `arn:aws:iam::${account}:role/deploy`;
  const directory = teamDirectoryOf([
    grant({
      grantKind: 'team_membership',
      resourceType: 'team',
      resource: 'acme/platform',
      principal: 'bob',
    }),
    grant({
      grantKind: 'organization_membership',
      resourceType: 'organization',
      resource: 'acme',
      principal: 'bob',
      entitlement: 'owner',
    }),
    grant({ principal: 'bob', entitlement: 'admin' }),
    grant({
      connector: 'aws',
      grantKind: 'oidc_role_trust',
      resourceType: 'iam_role',
      resource: deploy,
      principalType: 'oidc_subject',
      principal: 'repo:acme/api:*',
      entitlement: 'assume',
      via: { kind: 'trust_policy' },
    }),
  ]);
  const config = configOf(
    [
      { resource: 'acme/api', resourceType: 'repository', reviewer: 'Bob' },
      { resource: account, resourceType: 'aws_account', reviewer: 'Bob' },
    ],
    ['alice'],
    [
      'alice',
      ['bob', [`arn:aws:iam::${account}:user/bob`, `arn:aws:iam::${account}:role/break-glass`, deploy]],
    ],
  );
  const iam = (principalType: 'iam_user' | 'iam_role', principal: string) =>
    grant({
      connector: 'aws',
      grantKind: 'secret_read',
      resourceType: 'aws_secret',
      resource: `arn:aws:secretsmanager:eu-west-1:${account}:secret:prod/db-AbC123`,
      principalType,
      principal,
      entitlement: 'read',
      via: { kind: 'resource_policy' },
    });

  it('says how the candidate holds the access, for each kind of principal', () => {
    const cases: Array<[Grant, string]> = [
      [
        grant({ principalType: 'team', principal: 'acme/platform' }),
        'Bob (owner of repository acme/api) is in team acme/platform, which holds this access',
      ],
      [
        grant({
          resourceType: 'ruleset',
          resource: 'acme/api/rulesets/4',
          principalType: 'role',
          principal: 'maintain',
        }),
        'Bob (owner of repository acme/api) has role maintain, which holds this access',
      ],
      [
        grant({
          resourceType: 'ruleset',
          resource: 'acme/api/rulesets/4',
          principalType: 'role',
          principal: 'organization_admin',
        }),
        'Bob (owner of repository acme/api) has role organization_admin, which holds this access',
      ],
      [
        grant({ principalType: 'user', principal: 'BOB' }),
        'Bob (owner of repository acme/api) holds this access',
      ],
      [
        grant({ principalType: 'invitee', principal: 'bob' }),
        'Bob (owner of repository acme/api) holds this access',
      ],
      [
        grant({ principalType: 'personal_access_token', principal: "bob's token 3" }, { holder: 'bob' }),
        'Bob (owner of repository acme/api) holds this access',
      ],
      [
        iam('iam_user', `arn:aws:iam::${account}:user/bob`),
        `Bob (owner of aws_account ${account}) acts as arn:aws:iam::${account}:user/bob`,
      ],
      [
        iam('iam_role', `arn:aws:iam::${account}:role/break-glass`),
        `Bob (owner of aws_account ${account}) acts as arn:aws:iam::${account}:role/break-glass`,
      ],
      [
        iam('iam_role', deploy),
        `Bob (owner of aws_account ${account}) acts as ${deploy}, or can push to a repository it trusts through GitHub OIDC`,
      ],
      [
        grant({
          connector: 'aws',
          grantKind: 'oidc_role_trust',
          resourceType: 'iam_role',
          resource: `arn:aws:iam::${account}:role/other`,
          principalType: 'oidc_subject',
          principal: 'repo:acme/*',
          entitlement: 'assume',
          via: { kind: 'trust_policy' },
        }),
        `Bob (owner of aws_account ${account}) can push to a repository subject repo:acme/* covers`,
      ],
    ];
    for (const [g, passedOver] of cases) {
      expect(routeGrant(g, config, directory)).toEqual({
        reviewer: 'alice',
        reason: `fallback reviewer: ${passedOver}`,
      });
    }
  });

  it('says when an IAM user is one the candidate acts as, even if a role of that ARN is trusted', () => {
    // trustedSubjects is keyed by role ARN; an IAM user is never assumed through OIDC.
    const g = iam('iam_user', `arn:aws:iam::${account}:user/bob`);
    const trusted = { ...directory, trustedSubjects: new Map([[g.principal, ['repo:none/none']]]) };
    expect(routeGrant(g, config, trusted).reason).toBe(
      `fallback reviewer: Bob (owner of aws_account ${account}) acts as arn:aws:iam::${account}:user/bob, or can push to a repository it trusts through GitHub OIDC`,
    );
  });

  it('says an IAM principal is one the candidate acts as when nothing about OIDC trusts is known', () => {
    const g = iam('iam_role', `arn:aws:iam::${account}:role/break-glass`);
    expect(routeGrant(g, config, empty)).toEqual({
      reviewer: 'alice',
      reason: `fallback reviewer: Bob (owner of aws_account ${account}) acts as arn:aws:iam::${account}:role/break-glass`,
    });
  });

  it('joins every passed-over candidate in order, and says when nobody is left', () => {
    const chain = configOf(
      [{ resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' }],
      ['Bob', 'zed', 'carol', 'alice', 'dave'],
      ['alice', 'bob', 'dave', 'erin'],
    );
    const identities = new Map([
      ['alice', 'U1'],
      ['carol', 'U1'],
      ['zed', 'U9'],
      ['yan', 'U1'],
      ['dave', 'U2'],
    ]);
    const team = teamDirectoryOf(
      ['bob', 'yan', 'xi'].map((principal) =>
        grant({ grantKind: 'team_membership', resourceType: 'team', resource: 'acme/ops', principal }),
      ),
    );
    const g = grant({ principalType: 'team', principal: 'acme/ops' });
    expect(routeGrant(g, chain, team, identities)).toEqual({
      reviewer: 'dave',
      reason: [
        'fallback reviewer: bob (owner of repository acme/api) is in team acme/ops, which holds this access',
        'zed (fallback reviewer) is not listed in people, so cannot be reached in Slack',
        'carol (fallback reviewer) is the same Slack user as yan, who holds this access',
        'alice (fallback reviewer) is the same Slack user as yan, who holds this access',
      ].join('; '),
    });
    expect(
      routeGrant(g, { ...chain, people: chain.people.filter((p) => p.github !== 'dave') }, team, identities),
    ).toEqual({
      reviewer: undefined,
      reason: [
        'no eligible reviewer: bob (owner of repository acme/api) is in team acme/ops, which holds this access',
        'zed (fallback reviewer) is not listed in people, so cannot be reached in Slack',
        'carol (fallback reviewer) is the same Slack user as yan, who holds this access',
        'alice (fallback reviewer) is the same Slack user as yan, who holds this access',
        'dave (fallback reviewer) is not listed in people, so cannot be reached in Slack',
      ].join('; '),
    });
  });

  it('names the first alias in login order, and only an alias that holds the access', () => {
    const config = configOf([], ['alice'], ['alice']);
    const identities = new Map([
      ['zz', 'U1'],
      ['alice', 'U1'],
      ['mm', 'U1'],
      ['aa', 'U2'],
      ['ab', 'U1'],
    ]);
    const team = teamDirectoryOf(
      ['zz', 'mm', 'aa'].map((principal) =>
        grant({ grantKind: 'team_membership', resourceType: 'team', resource: 'acme/ops', principal }),
      ),
    );
    expect(
      routeGrant(grant({ principalType: 'team', principal: 'acme/ops' }), config, team, identities),
    ).toEqual({
      reviewer: undefined,
      reason:
        'no eligible reviewer: alice (fallback reviewer) is the same Slack user as mm, who holds this access',
    });
    // Someone not found in Slack has no alias, even next to holders not found either.
    expect(routeGrant(grant({ principal: 'qq' }), config, team, new Map([['qq', 'U1']]))).toEqual({
      reviewer: 'alice',
      reason: 'fallback reviewer: no owner configured for acme/api',
    });
  });

  it('passes over someone listed twice once, with the first reason, and reaches people case-insensitively', () => {
    const twice = configOf(
      [{ resource: 'acme/api', resourceType: 'repository', reviewer: 'Bob' }],
      ['bob', 'BOB', 'ALICE'],
      ['Alice', 'bob'],
    );
    expect(routeGrant(grant({ principal: 'bob' }), twice, empty)).toEqual({
      reviewer: 'alice',
      reason: 'fallback reviewer: Bob (owner of repository acme/api) holds this access',
    });
  });

  it('adds “no owner configured” only when there is no owner or maintainer to try', () => {
    const maintained = teamDirectoryOf([
      grant({
        grantKind: 'team_membership',
        resourceType: 'team',
        resource: 'acme/ops',
        principal: 'bob',
        entitlement: 'maintainer',
      }),
      grant({
        grantKind: 'team_membership',
        resourceType: 'team',
        resource: 'acme/ops',
        principal: 'carol',
        entitlement: 'maintainer',
      }),
    ]);
    const config = configOf([], ['alice', 'erin']);
    const membership = (principal: string) =>
      grant({ grantKind: 'team_membership', resourceType: 'team', resource: 'acme/ops', principal });
    expect(routeGrant(membership('bob'), config, maintained)).toEqual({
      reviewer: 'carol',
      reason: 'maintainer of team acme/ops: bob (maintainer of team acme/ops) holds this access',
    });
    expect(routeGrant(membership('dave'), config, maintained)).toEqual({
      reviewer: 'bob',
      reason: 'maintainer of team acme/ops',
    });
    const busy = teamDirectoryOf([
      grant({
        grantKind: 'team_membership',
        resourceType: 'team',
        resource: 'acme/ops',
        principal: 'bob',
        entitlement: 'maintainer',
      }),
    ]);
    expect(routeGrant(membership('bob'), config, busy)).toEqual({
      reviewer: 'alice',
      reason: 'fallback reviewer: bob (maintainer of team acme/ops) holds this access',
    });
    expect(routeGrant(grant({ principal: 'alice', resource: 'acme/web' }), config, empty)).toEqual({
      reviewer: 'erin',
      reason:
        'fallback reviewer: no owner configured for acme/web; alice (fallback reviewer) holds this access',
    });
  });

  it('says so when there is nobody to ask at all', () => {
    expect(routeGrant(grant({}), configOf([], []), empty)).toEqual({
      reviewer: undefined,
      reason: 'no eligible reviewer: no owner and no fallback configured',
    });
  });
});
