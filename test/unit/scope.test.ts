import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  actionsAccessKey,
  branchBypassKey,
  deployKeyKey,
  environmentReviewerKey,
  environmentSecretKey,
  orgMembershipKey,
  personalAccessTokenKey,
  repositoryInvitationKey,
  rulesetBypassKey,
  rulesetResource,
  runnerGroupKey,
  teamMembershipKey,
  teamRepositoryKey,
  userRepositoryKey,
} from '../../functions/connectors/github/keys';
import { parseConfig } from '../../functions/core/config';
import { GRANT_KINDS, type Grant, type GrantKey, makeGrant } from '../../functions/core/grant';
import {
  connectorsToRead,
  formatScope,
  formatScopeTerm,
  grantInScope,
  parseScope,
  type Scope,
  ScopeError,
  type ScopeTerm,
  scopeMatcher,
  scopeProblems,
} from '../../functions/core/scope';

const config = parseConfig({
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice'] },
  people: [
    { github: 'alice', email: 'alice@acme.example', aws: ['arn:aws:iam::111122223333:user/alice'] },
    { github: 'carol', email: 'carol@acme.example' },
  ],
});

const grant = (key: GrantKey, extra: Parameters<typeof makeGrant>[1] = {}): Grant => makeGrant(key, extra);

/** One grant of every shape the GitHub and AWS connectors name, each with what scope should take it. */
const onApi = {
  teamAccess: grant(teamRepositoryKey('acme', 'platform', 'api', 'write')),
  direct: grant(userRepositoryKey('acme', 'api', 'carol', 'admin', { kind: 'direct' })),
  viaTeam: grant(userRepositoryKey('acme', 'api', 'bob', 'write', { kind: 'team', team: 'acme/platform' }), {
    reviewable: false,
  }),
  environment: grant(environmentReviewerKey('acme', 'api', 'production', 'user', 'bob')),
  branch: grant(branchBypassKey('acme', 'api', 'main', 'team', 'acme/platform', 'push')),
  ruleset: grant(rulesetBypassKey(rulesetResource('acme', 'api', 42), 'role', 'maintain', 'always')),
  deployKey: grant(deployKeyKey('acme', 'api', 4711, 'ci', false)),
  invitation: grant(repositoryInvitationKey('acme', 'api', 'zed', 'write')),
  environmentSecret: grant(environmentSecretKey('acme', 'api', 'production', 'DB_PASSWORD')),
  selectedSecret: grant(actionsAccessKey('acme', 'secret', 'NPM_TOKEN', 'api', 'selected')),
  selectedRunners: grant(runnerGroupKey('acme', 'deploy', 'api', 'selected')),
  oidcExact: grant({
    connector: 'aws',
    grantKind: 'oidc_role_trust',
    resourceType: 'iam_role',
    resource: 'arn:aws:iam::111122223333:role/deploy-api',
    principalType: 'oidc_subject',
    principal: 'repo:acme/api:environment:production',
    entitlement: 'assume',
    via: { kind: 'trust_policy' },
  }),
  oidcWildcard: grant({
    connector: 'aws',
    grantKind: 'oidc_role_trust',
    resourceType: 'iam_role',
    resource: 'arn:aws:iam::111122223333:role/ci',
    principalType: 'oidc_subject',
    principal: 'repo:acme/*',
    entitlement: 'assume',
    via: { kind: 'trust_policy' },
  }),
};
const elsewhere = {
  otherRepo: grant(userRepositoryKey('acme', 'apiary', 'carol', 'read', { kind: 'direct' })),
  otherEnvironment: grant(environmentReviewerKey('acme', 'web', 'production', 'user', 'bob')),
  orgRuleset: grant(
    rulesetBypassKey(rulesetResource('acme', null, 7), 'role', 'organization_admin', 'always'),
  ),
  orgSecretForAll: grant(actionsAccessKey('acme', 'secret', 'NPM_TOKEN', null, 'all')),
  membership: grant(orgMembershipKey('acme', 'carol', 'member')),
  platformMember: grant(teamMembershipKey('acme', 'platform', 'bob', 'maintainer')),
  otherTeamAccess: grant(teamRepositoryKey('acme', 'web', 'web', 'write')),
  token: grant(personalAccessTokenKey('acme', 77, 'carol', 'release', { contents: 'write' }), {
    holder: 'carol',
  }),
  otherOidc: grant({
    connector: 'aws',
    grantKind: 'oidc_role_trust',
    resourceType: 'iam_role',
    resource: 'arn:aws:iam::111122223333:role/web',
    principalType: 'oidc_subject',
    principal: 'repo:acme/web:ref:refs/heads/main',
    entitlement: 'assume',
    via: { kind: 'trust_policy' },
  }),
  aliceReadsSecret: grant({
    connector: 'aws',
    grantKind: 'secret_read',
    resourceType: 'aws_secret',
    resource: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf',
    principalType: 'iam_user',
    principal: 'arn:aws:iam::111122223333:user/Alice',
    entitlement: 'read',
    via: { kind: 'resource_policy' },
  }),
};
const all = [...Object.values(onApi), ...Object.values(elsewhere)];
const taken = (terms: string[]) => {
  const scope = parseScope(terms);
  return all.filter((g) => grantInScope(g, scope, config));
};
const names = (grants: Grant[]) =>
  grants.map((g) => Object.entries({ ...onApi, ...elsewhere }).find(([, v]) => v === g)?.[0]).sort();

describe('parseScope', () => {
  it('reads every prefix into a typed term', () => {
    expect(
      parseScope(['repo:acme/api', 'team:acme/platform', 'user:carol', 'connector:aws', 'kind:deploy_key'])
        .terms,
    ).toEqual([
      { type: 'repo', organization: 'acme', name: 'api' },
      { type: 'team', organization: 'acme', slug: 'platform' },
      { type: 'user', login: 'carol' },
      { type: 'connector', connector: 'aws' },
      { type: 'kind', grantKind: 'deploy_key' },
    ]);
  });

  it('names every bad term in one error, each with why', () => {
    const bad = [
      'repo:acme',
      'repo:acme/api/x',
      'repo:-acme/api',
      'team:acme/',
      'user:not a login',
      'connector:gitlab',
      'kind:admin',
      'owner:alice',
      'carol',
      '',
      'repo:acme/api',
    ];
    let error: unknown;
    try {
      parseScope(bad);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ScopeError);
    const problems = (error as ScopeError).problems;
    expect(problems).toEqual([
      '"repo:acme": repo: expected <org>/<name>',
      '"repo:acme/api/x": repo: expected <org>/<name>',
      '"repo:-acme/api": repo: "-acme" is not a GitHub organization name',
      '"team:acme/": team: expected <org>/<slug>',
      '"user:not a login": user: "not a login" is not a GitHub login',
      `"connector:gitlab": connector: unknown connector "gitlab" (known: github, aws)`,
      `"kind:admin": kind: unknown grant kind "admin" (known: ${GRANT_KINDS.join(', ')})`,
      '"owner:alice": unknown prefix "owner:" (expected one of repo:, team:, user:, connector:, kind:)',
      '"carol": no prefix: expected one of repo:, team:, user:, connector:, kind:',
      '"": empty term',
    ]);
    expect((error as Error).message).toMatch(/^invalid scope:\n {2}- "repo:acme"/);
  });

  it('keeps a repeated term once, GitHub names compared without case', () => {
    expect(formatScope(parseScope(['repo:acme/API', ' repo:acme/api ', 'user:Carol', 'user:carol']))).toEqual(
      ['repo:acme/API', 'user:Carol'],
    );
  });

  it('refuses more terms than a campaign input should carry', () => {
    expect(() => parseScope(Array.from({ length: 51 }, (_, i) => `user:u${i}`))).toThrow(
      /51 terms: at most 50/,
    );
  });
});

describe('scopeProblems', () => {
  it('refuses a scope this deployment cannot have: another organisation, an unconfigured connector', () => {
    const scope = parseScope(['repo:other/api', 'team:ACME/platform', 'connector:aws', 'kind:secret_read']);
    expect(scopeProblems(scope, config)).toEqual([
      'repo:other/api: not in organization acme, the one this deployment reviews',
      'connector:aws: connector aws is not configured',
      'kind:secret_read: only connector aws reports it, and it is not configured',
    ]);
  });
});

describe('grantInScope', () => {
  it('repo: the repository, what lives in it and its own access, nothing of a repository that only starts alike', () => {
    expect(names(taken(['repo:acme/api']))).toEqual(Object.keys(onApi).sort());
    expect(names(taken(['repo:ACME/Api']))).toEqual(Object.keys(onApi).sort());
  });

  it('team: its memberships, its own grants and the access its members have through it', () => {
    expect(names(taken(['team:acme/platform']))).toEqual([
      'branch',
      'platformMember',
      'teamAccess',
      'viaTeam',
    ]);
  });

  it('user: principal or holder, and the IAM principals people[].aws lists for them', () => {
    expect(names(taken(['user:carol']))).toEqual(['direct', 'membership', 'otherRepo', 'token']);
    expect(names(taken(['user:alice']))).toEqual(['aliceReadsSecret']);
    expect(names(taken(['user:bob']))).toEqual([
      'environment',
      'otherEnvironment',
      'platformMember',
      'viaTeam',
    ]);
  });

  it('connector: and kind:', () => {
    expect(names(taken(['connector:aws']))).toEqual([
      'aliceReadsSecret',
      'oidcExact',
      'oidcWildcard',
      'otherOidc',
    ]);
    expect(names(taken(['kind:deploy_key']))).toEqual(['deployKey']);
  });

  it('no term is everything', () => {
    expect(taken([])).toHaveLength(all.length);
  });
});

describe('connectorsToRead', () => {
  it('reads AWS only when a term can take an AWS grant; GitHub always (routing needs who can push where)', () => {
    const configured = ['aws', 'github'] as const;
    const read = (terms: string[]) => connectorsToRead(parseScope(terms), configured, config);
    expect(read([])).toEqual(['aws', 'github']);
    expect(read(['team:acme/platform'])).toEqual(['github']);
    expect(read(['user:carol'])).toEqual(['github']);
    expect(read(['user:alice'])).toEqual(['aws', 'github']);
    expect(read(['repo:acme/api'])).toEqual(['aws', 'github']);
    expect(read(['kind:secret_read'])).toEqual(['aws', 'github']);
    expect(read(['kind:deploy_key'])).toEqual(['github']);
    expect(read(['connector:aws'])).toEqual(['aws', 'github']);
    expect(connectorsToRead(parseScope(['connector:aws']), ['github'], config)).toEqual(['github']);
  });

  it('never leaves out a connector a term could take a grant from', () => {
    fc.assert(
      fc.property(fc.array(arbitraryTerm, { maxLength: 4 }), (terms) => {
        const scope: Scope = { terms };
        const read = new Set(connectorsToRead(scope, ['aws', 'github'], config));
        for (const g of all) if (grantInScope(g, scope, config)) expect(read.has(g.connector)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

const login = fc.stringMatching(/^[A-Za-z0-9]{1,6}(-[A-Za-z0-9]{1,6})?$/);
const arbitraryTerm: fc.Arbitrary<ScopeTerm> = fc.oneof(
  fc
    .record({
      type: fc.constant('repo' as const),
      organization: fc.constantFrom('acme', 'ACME', 'other'),
      name: fc.oneof(
        fc.constantFrom('api', 'web', 'apiary', 'API'),
        fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/),
      ),
    })
    .filter((t) => t.name !== '.' && t.name !== '..'),
  fc.record({
    type: fc.constant('team' as const),
    organization: fc.constantFrom('acme', 'other'),
    slug: fc.oneof(fc.constantFrom('platform', 'web'), fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,12}$/)),
  }),
  fc.record({
    type: fc.constant('user' as const),
    login: fc.oneof(fc.constantFrom('carol', 'alice', 'bob'), login),
  }),
  fc.record({
    type: fc.constant('connector' as const),
    connector: fc.constantFrom('github' as const, 'aws' as const),
  }),
  fc.record({ type: fc.constant('kind' as const), grantKind: fc.constantFrom(...GRANT_KINDS) }),
);
const arbitraryScope: fc.Arbitrary<Scope> = fc
  .uniqueArray(arbitraryTerm, { maxLength: 6, selector: (t) => formatScopeTerm(t).toLowerCase() })
  .map((terms) => ({ terms }));

describe('properties', () => {
  it('parse ∘ format is the identity on scopes, and format ∘ parse on their spellings', () => {
    fc.assert(
      fc.property(arbitraryScope, (scope) => {
        const spelled = formatScope(scope);
        expect(parseScope(spelled)).toEqual(scope);
        expect(formatScope(parseScope(spelled))).toEqual(spelled);
      }),
      { numRuns: 300 },
    );
  });

  it('a scope takes exactly the union of what its terms take, in any order', () => {
    fc.assert(
      fc.property(arbitraryScope, fc.integer(), (scope, seed) => {
        const shuffled: Scope = { terms: [...scope.terms].sort(() => (seed % 3) - 1) };
        const matcher = scopeMatcher(scope, config);
        for (const g of all) {
          const union =
            scope.terms.length === 0 || scope.terms.some((t) => grantInScope(g, { terms: [t] }, config));
          expect(grantInScope(g, scope, config)).toBe(union);
          expect(grantInScope(g, shuffled, config)).toBe(union);
          expect(matcher(g)).toBe(union);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('adding a term never takes a grant away', () => {
    fc.assert(
      fc.property(
        arbitraryScope.filter((s) => s.terms.length > 0),
        arbitraryTerm,
        (scope, extra) => {
          const wider: Scope = { terms: [...scope.terms, extra] };
          for (const g of all)
            if (grantInScope(g, scope, config)) expect(grantInScope(g, wider, config)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
