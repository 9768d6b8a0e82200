import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GRANT_FLAGS,
  GRANT_KINDS,
  type Grant,
  grantIdOf,
  makeGrant,
  type Via,
  viaFromLabel,
  viaLabel,
  withFlag,
} from '../../functions/core/grant';
import {
  describeAllows,
  describeDetails,
  describeRevokeEffect,
  KIND_TEXT,
} from '../../functions/core/grant-kinds';
import { grantContentHash, hashVersionOf } from '../../functions/evidence/grant-digest';
import { canonicalJson } from '../../functions/store/events';

const name = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,12}$/);
/** IAM names: letters, digits and +=,.@_- (no spaces), with an optional path. */
const awsName = fc.stringMatching(/^[\w+=,.@-]{1,20}$/);
const iamArn = (type: string) =>
  fc
    .tuple(fc.stringMatching(/^\d{12}$/), fc.stringMatching(/^(\/[\w+=,.@-]{1,8})*\/$/), awsName)
    .map(([account, path, leaf]) => `arn:aws:iam::${account}:${type}${path}${leaf}`);
const via: fc.Arbitrary<Via> = fc.oneof(
  fc.constant({ kind: 'direct' as const }),
  fc.record({ kind: fc.constant('team' as const), team: fc.tuple(name, name).map(([o, t]) => `${o}/${t}`) }),
  fc.record({
    kind: fc.constant('team' as const),
    team: fc.tuple(name, name).map(([o, t]) => `${o}/${t}`),
    through: fc.tuple(name, name).map(([o, t]) => `${o}/${t}`),
  }),
  fc.record({ kind: fc.constant('organization_base' as const), organization: name }),
  fc.record({
    kind: fc.constant('visibility' as const),
    visibility: fc.constantFrom('all' as const, 'private' as const),
  }),
  fc.constant({ kind: 'resource_policy' as const }),
  fc.constant({ kind: 'trust_policy' as const }),
  fc.record({ kind: fc.constant('identity_policy' as const), policy: iamArn('policy') }),
  fc.record({
    kind: fc.constant('identity_policy' as const),
    policy: fc.tuple(iamArn('group'), awsName).map(([owner, inline]) => `${owner}#${inline}`),
    group: awsName,
  }),
  fc.record({ kind: fc.constant('assumed_role' as const), role: iamArn('role') }),
);

describe('how a grant says how it was obtained', () => {
  it('reads back every via it writes, nested teams and visibility included', () => {
    fc.assert(
      fc.property(via, (value) => {
        expect(viaFromLabel(viaLabel(value))).toEqual(value);
      }),
    );
  });

  it('labels AWS paths with the policy, and the group it reaches the principal through', () => {
    expect(
      viaLabel({
        kind: 'identity_policy',
        policy: 'arn:aws:iam::111122223333:policy/ReadPayments',
        group: 'payments-readers',
      }),
    ).toBe('identity_policy:arn:aws:iam::111122223333:policy/ReadPayments (group payments-readers)');
    expect(viaFromLabel('assumed_role:arn:aws:iam::111122223333:role/deploy')).toEqual({
      kind: 'assumed_role',
      role: 'arn:aws:iam::111122223333:role/deploy',
    });
  });

  it('keeps the case of AWS names in grant ids (secret names are case-sensitive), folds GitHub ones', () => {
    const secret = (resource: string) =>
      grantIdOf({
        connector: 'aws',
        grantKind: 'secret_read',
        resourceType: 'aws_secret',
        resource,
        principalType: 'iam_user',
        principal: 'arn:aws:iam::111122223333:user/alice',
        entitlement: 'read',
        via: { kind: 'resource_policy' },
      });
    const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/Db-AbCdEf';
    expect(secret(arn)).not.toBe(secret(arn.toLowerCase()));
    const repo = (principal: string) =>
      grantIdOf({
        connector: 'github',
        grantKind: 'user_repository',
        resourceType: 'repository',
        resource: 'acme/api',
        principalType: 'user',
        principal,
        entitlement: 'write',
        via: { kind: 'direct' },
      });
    expect(repo('Carol')).toBe(repo('carol'));
  });

  it('hashes GitHub names lower-cased, so an id is the same whatever case GitHub answers with', () => {
    // The documented definition, computed here independently: a different folding (upper case,
    // none) would change every stored id and break the match with earlier campaigns.
    const expected = `g_${createHash('sha256')
      .update(
        ['github', 'repository', 'acme/api', 'user', 'carol', 'write', 'team:acme/platform'].join('\u0000'),
      )
      .digest('hex')
      .slice(0, 32)}`;
    expect(
      grantIdOf({
        connector: 'github',
        grantKind: 'user_repository',
        resourceType: 'repository',
        resource: 'ACME/Api',
        principalType: 'user',
        principal: 'Carol',
        entitlement: 'write',
        via: { kind: 'team', team: 'ACME/Platform' },
      }),
    ).toBe(expected);
  });

  it('labels a nested team the way reviewers read it', () => {
    expect(viaLabel({ kind: 'team', team: 'acme/platform', through: 'acme/sre' })).toBe(
      'team:acme/platform (through acme/sre)',
    );
  });
});

const grantOf = (kind: (typeof GRANT_KINDS)[number], extra: Partial<Grant> = {}) => {
  const { raw, ...key } = extra;
  return makeGrant(
    {
      connector: 'github',
      grantKind: kind,
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal: 'carol',
      entitlement: 'write',
      via: { kind: 'direct' },
      ...key,
    },
    { raw: raw ?? {} },
  );
};

describe('flags and content', () => {
  it('keeps flags sorted and once each, and withFlag never changes the grant it was given', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...GRANT_FLAGS)), (flags) => {
        const grant = makeGrant(
          {
            connector: 'github',
            grantKind: 'deploy_key',
            resourceType: 'repository',
            resource: 'acme/api',
            principalType: 'deploy_key',
            principal: 'deploy key 1 (ci)',
            entitlement: 'write',
            via: { kind: 'direct' },
          },
          { flags },
        );
        expect(grant.flags).toEqual([...new Set(flags)].sort());
        const flagged = withFlag(grant, 'separation_of_duties');
        expect(flagged.flags).toContain('separation_of_duties');
        expect(grant.flags).toEqual([...new Set(flags)].sort());
      }),
    );
  });

  it('changes the content hash when a flag, the kind or the holder changes, but not the id', () => {
    const grant = grantOf('user_repository');
    const flagged = withFlag(grant, 'outside_collaborator');
    expect(flagged.grantId).toBe(grant.grantId);
    expect(grantContentHash(flagged)).not.toBe(grantContentHash(grant));
    expect(grantContentHash({ ...grant, grantKind: 'team_repository' })).not.toBe(grantContentHash(grant));
    expect(grantContentHash({ ...grant, holder: 'dave' })).not.toBe(grantContentHash(grant));
  });

  it('gives different ids to different kinds of access on the same resource, by their principal type', () => {
    const ids = new Set([
      grantIdOf({ ...grantOf('user_repository') }),
      grantIdOf({ ...grantOf('repository_invitation'), principalType: 'invitee' }),
      grantIdOf({ ...grantOf('deploy_key'), principalType: 'deploy_key' }),
    ]);
    expect(ids.size).toBe(3);
    // The kind itself is not hashed: the id of an access stays what the first release gave it.
    expect(grantIdOf({ ...grantOf('team_repository') })).toBe(grantIdOf({ ...grantOf('user_repository') }));
  });
});

describe('what each kind lets someone do', () => {
  it('has words for every kind, naming the resource', () => {
    for (const kind of GRANT_KINDS) {
      const grant = grantOf(kind);
      expect(KIND_TEXT[kind].label.length, kind).toBeGreaterThan(0);
      expect(describeAllows(grant), kind).toContain('acme/api');
      expect(describeRevokeEffect(grant), kind).toMatch(/acme\/api|carol/);
    }
  });

  it('says a secret visible to every repository becomes a remediation, a selected one a removal', () => {
    const everyone = grantOf('actions_secret_access', {
      resourceType: 'secret',
      resource: 'acme/secrets/NPM_TOKEN',
      principalType: 'repository',
      principal: 'acme/*',
      via: { kind: 'visibility', visibility: 'all' },
    });
    const selected = { ...everyone, principal: 'acme/api', via: { kind: 'direct' as const } };
    expect(describeRevokeEffect(everyone)).toMatch(/remediation/);
    expect(describeRevokeEffect(selected)).toBe(
      'acme/api is removed from the repositories selected for acme/secrets/NPM_TOKEN.',
    );
  });

  it('tells a reviewer when an approver may approve their own deployments', () => {
    const approver = grantOf('environment_reviewer', {
      resourceType: 'environment',
      resource: 'acme/api:production',
      raw: { preventSelfReview: false },
    });
    expect(describeAllows(approver)).toBe(
      'approves deployments to environment acme/api:production, including their own',
    );
    expect(describeAllows({ ...approver, raw: { preventSelfReview: true } })).toBe(
      'approves deployments to environment acme/api:production',
    );
  });
});

describe('the facts a reviewer gets with a grant', () => {
  it('says who added a deploy key, how old it is and whether it is used', () => {
    const key = grantOf('deploy_key', {
      raw: { addedBy: 'bob', createdAt: '2024-05-01T00:00:00Z', ageDays: 944, lastUsed: null },
    });
    expect(describeDetails(key)).toBe('added by bob · created 2024-05-01 (944 days ago) · never used');
    expect(describeDetails({ ...key, raw: { ...key.raw, lastUsed: '2026-11-20T08:00:00Z' } })).toMatch(
      /last used 2026-11-20$/,
    );
  });

  it('says which branches may deploy, when a token expires, and why duties are not separated', () => {
    expect(
      describeDetails(
        grantOf('environment_reviewer', { raw: { deploymentBranches: ['main', 'release/*'] } }),
      ),
    ).toBe('deploys from main, release/*');
    expect(describeDetails(grantOf('environment_reviewer', { raw: {} }))).toBe('deploys from any branch');
    expect(
      describeDetails(
        grantOf('personal_access_token', {
          raw: { expiresAt: null, lastUsedAt: '2026-10-01T00:00:00Z', repositorySelection: 'subset' },
        }),
      ),
    ).toBe('never expires · last used 2026-10-01 · repositories: subset');
    expect(
      describeDetails(
        grantOf('branch_protection_bypass', {
          raw: {
            requiredApprovals: 1,
            enforceAdmins: false,
            separationOfDuties: ['bob: also approves deployments'],
          },
        }),
      ),
    ).toBe('1 approvals required · admins exempt · separation of duties: bob: also approves deployments');
    expect(describeDetails(grantOf('team_membership'))).toBe('');
  });
});

describe('content hash versions', () => {
  it('matches hashes worked out outside this code, as an auditor would (sorted keys, no spaces, SHA-256)', () => {
    // Worked out with Python's json.dumps(sort_keys=True, separators=(',', ':')) and hashlib.sha256.
    const grant = {
      ...makeGrant(
        {
          connector: 'github',
          grantKind: 'deploy_key',
          resourceType: 'repository',
          resource: 'acme/api',
          principalType: 'deploy_key',
          principal: 'deploy key 7 (ci)',
          entitlement: 'write',
          via: { kind: 'direct' },
        },
        { flags: ['write_key_never_used'] },
      ),
      grantId: 'g_0123456789abcdef0123456789abcdef',
    };
    expect(grantContentHash(grant, 1)).toBe(
      '6044de5fed1c36862a0e5ad55abc989f263f2af3c0b3f9e871551b2402d464ad',
    );
    expect(grantContentHash(grant, 2)).toBe(
      'e609f31c7be5ee69e217792140062f0b4be125a7f956e0ff4f23926ef8322f2d',
    );
  });

  it('hashes a first-release snapshot with the first release fields, so its evidence still verifies', () => {
    const grant = grantOf('user_repository');
    const firstRelease = {
      grantId: grant.grantId,
      connector: grant.connector,
      resourceType: grant.resourceType,
      resource: grant.resource,
      principalType: grant.principalType,
      principal: grant.principal,
      entitlement: grant.entitlement,
      via: grant.via,
      reviewable: grant.reviewable,
      derivedFrom: grant.derivedFrom,
    };
    expect(grantContentHash(grant, 1)).toBe(
      createHash('sha256').update(canonicalJson(firstRelease)).digest('hex'),
    );
    // Version 1 ignores what it did not know; version 2 does not.
    expect(grantContentHash(withFlag(grant, 'custom_role'), 1)).toBe(grantContentHash(grant, 1));
    expect(grantContentHash(withFlag(grant, 'custom_role'))).not.toBe(grantContentHash(grant));
    expect(hashVersionOf({ digest: 'x' })).toBe(1);
    expect(hashVersionOf({ digest: 'x', hashVersion: 2 })).toBe(2);
    expect(hashVersionOf(undefined)).toBe(1);
    // A version this release does not know is not checked with a weaker one.
    expect(hashVersionOf({ digest: 'x', hashVersion: 3 })).toBeUndefined();
    expect(hashVersionOf({ digest: 'x', hashVersion: '2' })).toBeUndefined();
  });
});
