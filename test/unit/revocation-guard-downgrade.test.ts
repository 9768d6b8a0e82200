import { describe, expect, it } from 'vitest';
import { type GrantKey, makeGrant } from '../../functions/core/grant';
import { evaluateRevocationGuard } from '../../functions/core/revocation-guard';

/** The guard counts a downgrade exactly like a revocation: limits, owners, the last admin. */
const key = (partial: Partial<GrantKey>): GrantKey => ({
  connector: 'github',
  grantKind: 'user_repository',
  resourceType: 'repository',
  resource: 'acme/api',
  principalType: 'user',
  principal: 'bob',
  entitlement: 'admin',
  via: { kind: 'direct' },
  ...partial,
});

const org = (login: string, entitlement: 'member' | 'owner') =>
  makeGrant(
    key({
      grantKind: 'organization_membership',
      resourceType: 'organization',
      resource: 'acme',
      principal: login,
      entitlement,
    }),
  );

const bobAdmin = makeGrant(key({}));
const carolWrite = makeGrant(key({ principal: 'carol', entitlement: 'write' }));
const grants = [
  org('alice', 'member'),
  org('alice', 'owner'),
  org('dave', 'member'),
  org('dave', 'owner'),
  org('bob', 'member'),
  org('carol', 'member'),
  bobAdmin,
  carolWrite,
  ...Array.from({ length: 12 }, (_, index) =>
    makeGrant(key({ resource: `acme/repo${index}`, principal: 'erin', entitlement: 'read' })),
  ),
];
const limits = { maxRevokedPercent: 10, maxPerPrincipal: 1, breakGlass: { github: [], aws: [] } };
const ownIdentities = { github: [], aws: [] };

describe('revocation guard and downgrades', () => {
  it('holds the demotion of the last repository admin like its removal', () => {
    const verdict = evaluateRevocationGuard({
      grants,
      revoke: [],
      downgrade: [bobAdmin.grantId],
      limits: { ...limits, maxPerPrincipal: 5 },
      ownIdentities,
    });
    expect(verdict).toMatchObject({ revocations: 1, downgrades: 1, counts: { held: 1 } });
    expect(verdict.items[0]?.reasons.map((reason) => reason.code)).toEqual(['last_owner']);
  });

  it('counts downgrades with revocations against the percent and per-principal limits', () => {
    const erin = grants.filter((grant) => grant.principal === 'erin').slice(0, 2);
    const verdict = evaluateRevocationGuard({
      grants,
      revoke: [carolWrite.grantId, erin[0]!.grantId],
      downgrade: [erin[1]!.grantId],
      limits,
      ownIdentities,
    });
    // 20 reviewable grants at 10%: 2 go through without a confirmation; 3 is over.
    expect(verdict).toMatchObject({ reviewable: 20, revocations: 3, downgrades: 1, overPercentLimit: true });
    expect(verdict.principalsOverLimit).toEqual([{ principal: 'github:erin', count: 2 }]);
    const downgraded = verdict.items.find((item) => item.grantId === erin[1]!.grantId);
    expect(downgraded?.reasons.map((reason) => reason.code)).toEqual([
      'over_principal_limit',
      'over_percent_limit',
    ]);
    expect(downgraded?.reasons.at(-1)?.detail).toContain('revokes or downgrades 3 of 20');
  });

  it("holds an owner's demotion to member as the guard holds any change to an owner", () => {
    const daveOwner = grants.find((grant) => grant.principal === 'dave' && grant.entitlement === 'owner')!;
    const verdict = evaluateRevocationGuard({
      grants,
      revoke: [],
      downgrade: [daveOwner.grantId],
      limits: { ...limits, maxRevokedPercent: 100, maxPerPrincipal: 5 },
      ownIdentities,
    });
    expect(verdict.items[0]?.reasons.map((reason) => reason.code)).toEqual(['org_owner']);
  });

  it('without downgrades, counts and words are those of revocations alone', () => {
    const verdict = evaluateRevocationGuard({
      grants,
      revoke: [carolWrite.grantId],
      limits: { ...limits, maxRevokedPercent: 1 },
      ownIdentities,
    });
    expect(verdict).toMatchObject({ revocations: 1, downgrades: 0 });
    expect(verdict.items[0]?.reasons.at(-1)?.detail).toContain('the campaign revokes 1 of 20');
  });
});
