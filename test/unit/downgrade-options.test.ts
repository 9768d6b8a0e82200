import { describe, expect, it } from 'vitest';
import { canDowngrade, downgradedGrantId, downgradeOptions } from '../../functions/core/downgrade';
import { type Grant, type GrantKey, grantIdOf, makeGrant } from '../../functions/core/grant';

const repoGrant = (entitlement: string, raw: Record<string, unknown> = {}, extra: Partial<GrantKey> = {}) =>
  makeGrant(
    {
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal: 'bob',
      entitlement,
      via: { kind: 'direct' },
      ...extra,
    },
    { raw },
  );

const orgSource = (permission: string) => ({
  permissionSources: [
    { permission: permission.toUpperCase(), roleName: null, source: 'organization_base:acme' },
    { permission: 'ADMIN', roleName: 'admin', source: 'direct' },
  ],
});

describe('downgradeOptions', () => {
  it('offers every built-in role below a direct admin or maintain, strongest first', () => {
    expect(downgradeOptions(repoGrant('admin'))).toEqual(['maintain', 'write', 'triage', 'read']);
    expect(downgradeOptions(repoGrant('maintain'))).toEqual(['write', 'triage', 'read']);
  });

  it('offers nothing for write and below: those do not administer the repository', () => {
    for (const role of ['write', 'triage', 'read']) expect(downgradeOptions(repoGrant(role))).toEqual([]);
  });

  it('leaves out roles below the organisation base permission (GitHub refuses them for a member)', () => {
    expect(downgradeOptions(repoGrant('admin', orgSource('write')))).toEqual(['maintain', 'write']);
    expect(downgradeOptions(repoGrant('admin', orgSource('read')))).toEqual([
      'maintain',
      'write',
      'triage',
      'read',
    ]);
    // An owner's org source is admin: nothing below it can be set.
    expect(downgradeOptions(repoGrant('admin', orgSource('admin')))).toEqual([]);
  });

  it('lowers a custom role to its base role and below', () => {
    expect(downgradeOptions(repoGrant('release-manager', { baseRole: 'maintain' }))).toEqual([
      'maintain',
      'write',
      'triage',
      'read',
    ]);
    expect(downgradeOptions(repoGrant('reviewer', { baseRole: 'write' }))).toEqual([]);
  });

  it('offers nothing for access that follows from another grant', () => {
    const viaTeam = makeGrant(
      {
        connector: 'github',
        grantKind: 'user_repository',
        resourceType: 'repository',
        resource: 'acme/api',
        principalType: 'user',
        principal: 'bob',
        entitlement: 'admin',
        via: { kind: 'team', team: 'acme/platform' },
      },
      { reviewable: false },
    );
    expect(downgradeOptions(viaTeam)).toEqual([]);
  });

  it('team maintainer → member, org owner → member, a team repository admin → lower roles', () => {
    const maintainer = makeGrant({
      connector: 'github',
      grantKind: 'team_membership',
      resourceType: 'team',
      resource: 'acme/platform',
      principalType: 'user',
      principal: 'bob',
      entitlement: 'maintainer',
      via: { kind: 'direct' },
    });
    expect(downgradeOptions(maintainer)).toEqual(['member']);
    expect(downgradeOptions({ ...maintainer, entitlement: 'member' })).toEqual([]);
    const owner = makeGrant({
      connector: 'github',
      grantKind: 'organization_membership',
      resourceType: 'organization',
      resource: 'acme',
      principalType: 'user',
      principal: 'bob',
      entitlement: 'owner',
      via: { kind: 'direct' },
    });
    expect(downgradeOptions(owner)).toEqual(['member']);
    expect(downgradeOptions({ ...owner, entitlement: 'member' })).toEqual([]);
    const team = makeGrant({
      connector: 'github',
      grantKind: 'team_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'team',
      principal: 'acme/platform',
      entitlement: 'admin',
      via: { kind: 'direct' },
    });
    expect(downgradeOptions(team)).toEqual(['maintain', 'write', 'triage', 'read']);
  });

  it('offers nothing for other kinds and for AWS', () => {
    const key = makeGrant({
      connector: 'github',
      grantKind: 'deploy_key',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'deploy_key',
      principal: '12:ci',
      entitlement: 'write',
      via: { kind: 'direct' },
    });
    expect(downgradeOptions(key)).toEqual([]);
    const aws: Grant = makeGrant({
      connector: 'aws',
      grantKind: 'secret_read',
      resourceType: 'aws_secret',
      resource: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf',
      principalType: 'iam_role',
      principal: 'arn:aws:iam::111122223333:role/admin',
      entitlement: 'admin',
      via: { kind: 'direct' },
    });
    expect(downgradeOptions(aws)).toEqual([]);
  });

  it('names the grant a downgrade leaves by the lower entitlement', () => {
    const grant = repoGrant('admin');
    expect(canDowngrade(grant, 'write')).toBe(true);
    expect(canDowngrade(grant, 'admin')).toBe(false);
    expect(canDowngrade(grant, 'pull')).toBe(false);
    expect(downgradedGrantId(grant, 'write')).toBe(grantIdOf({ ...grant, entitlement: 'write' }));
    expect(downgradedGrantId(grant, 'write')).not.toBe(grant.grantId);
  });
});
