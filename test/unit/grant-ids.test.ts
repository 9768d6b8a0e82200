import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { MalformedRequestError } from '../../functions/core/errors';
import {
  accountOfArn,
  CONNECTOR_NAMES,
  comparablePermission,
  describeVia,
  FLAG_DESCRIPTIONS,
  GRANT_FLAGS,
  GRANT_KINDS,
  type GrantKey,
  grantIdOf,
  makeGrant,
  organizationOfResource,
  PRINCIPAL_TYPES,
  permissionAtLeast,
  permissionRank,
  REPOSITORY_PERMISSIONS,
  RESOURCE_TYPES,
  repositoryOfResource,
  type Via,
  viaFromLabel,
  viaLabel,
  withFlag,
} from '../../functions/core/grant';

/**
 * The grant model's vocabulary, ids and name helpers, pinned exactly: ids and labels are stored in
 * the evidence and must read the same in every later quarter.
 */

describe('the vocabulary stored in the evidence', () => {
  it('names connectors, principal types, resource types, kinds and permissions exactly', () => {
    expect(CONNECTOR_NAMES).toEqual(['github', 'aws']);
    expect(PRINCIPAL_TYPES).toEqual([
      'user',
      'team',
      'invitee',
      'deploy_key',
      'app',
      'role',
      'repository',
      'environment',
      'personal_access_token',
      'iam_user',
      'iam_role',
      'aws_account',
      'aws_service',
      'aws_anyone',
      'oidc_subject',
    ]);
    expect(RESOURCE_TYPES).toEqual([
      'organization',
      'repository',
      'team',
      'environment',
      'branch',
      'ruleset',
      'secret',
      'variable',
      'runner_group',
      'aws_secret',
      'iam_role',
    ]);
    expect(GRANT_KINDS).toEqual([
      'organization_membership',
      'organization_base_permission',
      'team_membership',
      'team_repository',
      'user_repository',
      'organization_invitation',
      'repository_invitation',
      'deploy_key',
      'environment_reviewer',
      'branch_protection_bypass',
      'ruleset_bypass',
      'actions_secret_access',
      'actions_variable_access',
      'environment_secret',
      'runner_group_access',
      'app_installation',
      'personal_access_token',
      'secret_read',
      'oidc_role_trust',
    ]);
    expect(GRANT_FLAGS).toEqual([
      'outside_collaborator',
      'two_factor_disabled',
      'custom_role',
      'write_key_older_than_a_year',
      'write_key_never_used',
      'visible_to_all_repositories',
      'separation_of_duties',
      'self_review_allowed',
      'open_remediation',
      'no_expiry',
      'wildcard_subject',
      'no_audience_condition',
      'trusted_by_many_repositories',
      'cross_account',
      'any_principal',
    ]);
    expect(REPOSITORY_PERMISSIONS).toEqual(['read', 'triage', 'write', 'maintain', 'admin']);
  });

  it('has distinct words for every flag', async () => {
    // Imported afresh inside the test: the descriptions are built when the module loads.
    vi.resetModules();
    const fresh = await import('../../functions/core/grant');
    expect(Object.keys(fresh.FLAG_DESCRIPTIONS).sort()).toEqual([...GRANT_FLAGS].sort());
    const words = Object.values(fresh.FLAG_DESCRIPTIONS);
    for (const text of words) expect(text.length).toBeGreaterThan(10);
    expect(new Set(words).size).toBe(words.length);
    expect(FLAG_DESCRIPTIONS.any_principal).toBe('the resource policy allows any principal (*)');
  });
});

describe('via labels and words', () => {
  const cases: Array<[Via, string, string]> = [
    [{ kind: 'direct' }, 'direct', 'directly'],
    [{ kind: 'team', team: 'acme/platform' }, 'team:acme/platform', 'via team acme/platform'],
    [
      { kind: 'team', team: 'acme/platform', through: 'acme/sre' },
      'team:acme/platform (through acme/sre)',
      'via team acme/platform (through acme/sre)',
    ],
    [
      { kind: 'organization_base', organization: 'acme' },
      'organization_base:acme',
      "via acme's base permission",
    ],
    [
      { kind: 'visibility', visibility: 'all' },
      'visibility:all',
      'because it is visible to all repositories',
    ],
    [
      { kind: 'visibility', visibility: 'private' },
      'visibility:private',
      'because it is visible to all private repositories',
    ],
    [{ kind: 'resource_policy' }, 'resource_policy', "via the resource's own policy"],
    [
      { kind: 'identity_policy', policy: 'arn:aws:iam::111122223333:policy/Read' },
      'identity_policy:arn:aws:iam::111122223333:policy/Read',
      'via identity policy arn:aws:iam::111122223333:policy/Read',
    ],
    [
      { kind: 'identity_policy', policy: 'arn:aws:iam::111122223333:policy/Read', group: 'readers' },
      'identity_policy:arn:aws:iam::111122223333:policy/Read (group readers)',
      'via identity policy arn:aws:iam::111122223333:policy/Read of group readers',
    ],
    [{ kind: 'trust_policy' }, 'trust_policy', "via the role's trust policy"],
    [
      { kind: 'assumed_role', role: 'arn:aws:iam::111122223333:role/deploy' },
      'assumed_role:arn:aws:iam::111122223333:role/deploy',
      'by assuming role arn:aws:iam::111122223333:role/deploy',
    ],
  ];

  it('labels and describes every via exactly, and reads each label back', () => {
    for (const [via, label, words] of cases) {
      expect([label, viaLabel(via)]).toEqual([label, label]);
      expect([label, describeVia(via)]).toEqual([label, words]);
      expect([label, viaFromLabel(label)]).toEqual([label, via]);
    }
  });

  it('refuses a label it does not know, naming it', () => {
    for (const label of [
      '',
      'Direct',
      'directly',
      'visibility:public',
      'visibility:',
      'resource_policy:x',
      'trust_policy:x',
      'xteam:acme/a',
      'xidentity_policy:p',
      'xidentity_policy:p (group g)',
      'xteam:acme/a (through acme/b)',
      'xassumed_role:r',
      'xorganization_base:acme',
      ' direct',
    ]) {
      expect(() => viaFromLabel(label)).toThrow(MalformedRequestError);
      expect(() => viaFromLabel(label)).toThrow(`unknown via ${label}`);
    }
  });

  it('reads a team with spaces, or text around the nested form, as a plain team', () => {
    expect(viaFromLabel('team:acme/a (through acme/b) x')).toEqual({
      kind: 'team',
      team: 'acme/a (through acme/b) x',
    });
    expect(() => viaFromLabel('x team:acme/a (through acme/b)')).toThrow(MalformedRequestError);
    expect(viaFromLabel('identity_policy:p (group g) x')).toEqual({
      kind: 'identity_policy',
      policy: 'p (group g) x',
    });
  });
});

describe('grant ids', () => {
  const idOf = (parts: string[]) =>
    `g_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;

  it('hashes connector, resource type, resource, principal type, principal, entitlement and via label', () => {
    const aws: GrantKey = {
      connector: 'aws',
      grantKind: 'secret_read',
      resourceType: 'aws_secret',
      resource: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:Prod/Db-AbCdEf',
      principalType: 'iam_role',
      principal: 'arn:aws:iam::111122223333:role/Deploy',
      entitlement: 'Read',
      via: { kind: 'assumed_role', role: 'arn:aws:iam::111122223333:role/Ops' },
    };
    expect(grantIdOf(aws)).toBe(
      idOf([
        'aws',
        'aws_secret',
        'arn:aws:secretsmanager:eu-west-1:111122223333:secret:Prod/Db-AbCdEf',
        'iam_role',
        'arn:aws:iam::111122223333:role/Deploy',
        'Read',
        'assumed_role:arn:aws:iam::111122223333:role/Ops',
      ]),
    );
    const github: GrantKey = {
      connector: 'github',
      grantKind: 'team_membership',
      resourceType: 'team',
      resource: 'Acme/Platform',
      principalType: 'user',
      principal: 'Carol',
      entitlement: 'Maintainer',
      via: { kind: 'team', team: 'Acme/Parent', through: 'Acme/Child' },
    };
    expect(grantIdOf(github)).toBe(
      idOf([
        'github',
        'team',
        'acme/platform',
        'user',
        'carol',
        'Maintainer',
        'team:acme/parent (through acme/child)',
      ]),
    );
    expect(grantIdOf(github)).toMatch(/^g_[0-9a-f]{32}$/);
  });

  it('makes a grant with its id, reviewable and empty extras by default', () => {
    const key: GrantKey = {
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal: 'carol',
      entitlement: 'write',
      via: { kind: 'direct' },
    };
    expect(makeGrant(key)).toEqual({
      ...key,
      grantId: grantIdOf(key),
      reviewable: true,
      derivedFrom: [],
      raw: {},
      flags: [],
    });
    expect(Object.keys(makeGrant(key, { holder: '' }))).not.toContain('holder');
    expect(
      makeGrant(key, {
        reviewable: false,
        derivedFrom: ['g_1'],
        raw: { a: 1 },
        flags: ['no_expiry', 'custom_role', 'no_expiry'],
        holder: 'dave',
      }),
    ).toEqual({
      ...key,
      grantId: grantIdOf(key),
      reviewable: false,
      derivedFrom: ['g_1'],
      raw: { a: 1 },
      flags: ['custom_role', 'no_expiry'],
      holder: 'dave',
    });
    const flagged = makeGrant(key, { flags: ['no_expiry'] });
    expect(withFlag(flagged, 'no_expiry')).toBe(flagged);
    expect(withFlag(flagged, 'custom_role').flags).toEqual(['custom_role', 'no_expiry']);
  });
});

describe('permissions', () => {
  it('ranks the built-in roles weakest first, and nothing else', () => {
    expect(['read', 'triage', 'write', 'maintain', 'admin', 'owner', 'Read', ''].map(permissionRank)).toEqual(
      [0, 1, 2, 3, 4, -1, -1, -1],
    );
  });

  it('says whether a held permission gives at least the wanted one; unknown ones never do', () => {
    const permission = fc.constantFrom('read', 'triage', 'write', 'maintain', 'admin', 'releaser', 'none');
    fc.assert(
      fc.property(permission, permission, (held, wanted) => {
        const h = REPOSITORY_PERMISSIONS.indexOf(held as never);
        const w = REPOSITORY_PERMISSIONS.indexOf(wanted as never);
        expect(permissionAtLeast(held, wanted)).toBe(h >= 0 && w >= 0 && h >= w);
      }),
      { numRuns: 100 },
    );
    expect(permissionAtLeast('read', 'read')).toBe(true);
    expect(permissionAtLeast('releaser', 'read')).toBe(false);
    expect(permissionAtLeast('admin', 'releaser')).toBe(false);
    expect(permissionAtLeast('read', 'releaser')).toBe(false);
  });

  it('compares a custom role as its built-in base role, if any', () => {
    expect(comparablePermission({ entitlement: 'read', raw: {} })).toBe('read');
    expect(comparablePermission({ entitlement: 'write', raw: { baseRole: 'admin' } })).toBe('write');
    expect(comparablePermission({ entitlement: 'releaser', raw: { baseRole: 'maintain' } })).toBe('maintain');
    expect(comparablePermission({ entitlement: 'releaser', raw: { baseRole: 'read' } })).toBe('read');
    expect(comparablePermission({ entitlement: 'releaser', raw: { baseRole: 'owner' } })).toBeUndefined();
    expect(comparablePermission({ entitlement: 'releaser', raw: { baseRole: 2 } })).toBeUndefined();
    expect(comparablePermission({ entitlement: 'releaser', raw: {} })).toBeUndefined();
  });
});

describe('names inside resource names', () => {
  it('finds the repository of repository-scoped resources only', () => {
    const cases: Array<[GrantKey['resourceType'], string, string | undefined]> = [
      ['repository', 'acme/api', 'acme/api'],
      ['environment', 'acme/api:production', 'acme/api'],
      ['branch', 'acme/api:release/v1:x', 'acme/api'],
      ['ruleset', 'acme/api/rulesets/4', 'acme/api'],
      ['ruleset', 'acme/api/rulesets/42', 'acme/api'],
      ['ruleset', 'acme/rulesets/7', undefined],
      ['ruleset', 'x/acme/api/rulesets/4', undefined],
      ['ruleset', 'acme/api/rulesets/4x', undefined],
      ['ruleset', 'acme/api/rulesets/', undefined],
      ['ruleset', 'acme/api/other/4', undefined],
      ['secret', 'acme/api:production/secrets/DB', 'acme/api'],
      ['secret', 'acme/secrets/NPM', undefined],
      ['variable', 'acme/api:production', undefined],
      ['runner_group', 'acme/runner-groups/3', undefined],
      ['organization', 'acme', undefined],
      ['team', 'acme/platform', undefined],
      ['aws_secret', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:x', undefined],
      ['iam_role', 'arn:aws:iam::111122223333:role/x', undefined],
    ];
    for (const [resourceType, resource, repository] of cases) {
      expect([resourceType, resource, repositoryOfResource({ resourceType, resource })]).toEqual([
        resourceType,
        resource,
        repository,
      ]);
    }
  });

  it('finds the organization every GitHub resource name starts with', () => {
    expect(['acme', 'acme/api', 'acme:x', 'acme/api:prod/secrets/X', ''].map(organizationOfResource)).toEqual(
      ['acme', 'acme', 'acme', 'acme', ''],
    );
  });

  it('finds the twelve-digit account of an ARN', () => {
    const cases: Array<[string, string | undefined]> = [
      ['arn:aws:iam::111122223333:role/x', '111122223333'],
      ['arn:aws:secretsmanager:eu-west-1:111122223333:secret:x', '111122223333'],
      ['arn:aws:iam:::role/x', undefined],
      ['arn:aws:iam::11112222333:role/x', undefined],
      ['arn:aws:iam::1111222233334:role/x', undefined],
      ['arn:aws:iam::a111122223333:role/x', undefined],
      ['arn:aws:iam::111122223333a:role/x', undefined],
      ['arn:aws:iam', undefined],
    ];
    for (const [arn, account] of cases) expect([arn, accountOfArn(arn)]).toEqual([arn, account]);
  });
});
