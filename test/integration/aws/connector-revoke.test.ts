import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AwsConnector, AwsGrantError, createAwsConnector } from '../../../functions/connectors/aws';
import { type Grant, viaLabel } from '../../../functions/core/grant';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import {
  ADYEN,
  ANALYTICS,
  CI,
  connectorConfig,
  connectorScenario,
  DATABASE,
  OUTSIDE,
  PROD,
  PROVIDER,
  READ_PAYMENTS,
  role,
  STRIPE,
  user,
} from './connector-scenario';

/*
 * Revoke and check of every kind against the local AWS sandbox: the document read before, the one
 * written after (and their hashes) as the sandbox now holds it, "already absent" when there is
 * nothing left to remove, and remediation where the connector must not or cannot edit.
 */

let sandbox: AwsSandbox;
let connector: AwsConnector;
let grants: Grant[];

beforeEach(async () => {
  sandbox = await startAwsSandbox(connectorScenario());
  connector = createAwsConnector({ config: connectorConfig(sandbox.url), credentials: sandbox.credentials });
  grants = [];
  for await (const grant of connector.snapshot()) grants.push(grant);
});
afterEach(() => sandbox.close());

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function grant(principal: string, resource: string, via?: string): Grant {
  const found = grants.find(
    (item) =>
      item.principal === principal &&
      item.resource === resource &&
      (via === undefined || viaLabel(item.via) === via),
  );
  if (!found) throw new Error(`no grant of ${principal} on ${resource}${via ? ` via ${via}` : ''}`);
  return found;
}

const prod = () => sandbox.state.account(PROD);
const secretPolicyText = (arn: string) => sandbox.state.secret(arn)?.resourcePolicy?.text ?? null;

describe('revoke via the resource policy', () => {
  it('removes only the principal from the statement, records both documents, and check finds it absent', async () => {
    const ci = grant(role(CI, 'ci'), STRIPE);
    const before = secretPolicyText(STRIPE);
    const result = await connector.revoke(ci);
    expect(result.outcome).toBe('removed');
    expect(result.action).toMatch(
      /^PutResourcePolicy .*: removed arn:aws:iam::444455556666:role\/ci from CiAndPartner \(statement 2\)/,
    );
    const after = secretPolicyText(STRIPE);
    expect(result.policyChanges).toEqual([
      {
        policy: `${STRIPE} resource policy`,
        before,
        after,
        beforeSha256: sha(before ?? ''),
        afterSha256: sha(after ?? ''),
      },
    ]);
    const statements = JSON.parse(after ?? '{}').Statement;
    expect(statements[1].Principal).toEqual({ AWS: [`arn:aws:iam::${OUTSIDE}:root`] });
    expect(statements[0].Principal).toEqual({ AWS: role(PROD, 'deploy-api') });
    // Across accounts the resource policy is needed: without it the role reads nothing.
    expect(await connector.check(ci)).toEqual({ status: 'absent', checkedAt: expect.any(String) });
    // The partner, named in the same statement, keeps its access.
    expect((await connector.check(grant(`arn:aws:iam::${OUTSIDE}:root`, STRIPE))).status).toBe('present');
    // Again: nothing is left to remove, and nothing is written.
    const writes = sandbox.requests.filter((request) => request.action === 'PutResourcePolicy').length;
    expect((await connector.revoke(ci)).outcome).toBe('already_absent');
    expect(sandbox.requests.filter((request) => request.action === 'PutResourcePolicy')).toHaveLength(writes);
  });

  it('still readable by another path: check lists it', async () => {
    const viaPolicy = grant(role(PROD, 'deploy-api'), STRIPE, 'resource_policy');
    const result = await connector.revoke(viaPolicy);
    expect(result.outcome).toBe('removed');
    // DeployApi was the statement's only principal: the statement goes.
    expect(result.action).toContain('dropped DeployApi (statement 1)');
    expect(await connector.check(viaPolicy)).toEqual({
      status: 'present',
      checkedAt: expect.any(String),
      paths: [{ via: `identity_policy:${READ_PAYMENTS}`, permission: 'read' }],
    });
  });

  it('deletes the resource policy when its last statement goes', async () => {
    await connector.revoke(grant(role(PROD, 'deploy-api'), STRIPE, 'resource_policy'));
    await connector.revoke(grant(role(CI, 'ci'), STRIPE));
    const result = await connector.revoke(grant(`arn:aws:iam::${OUTSIDE}:root`, STRIPE));
    expect(result.outcome).toBe('removed');
    expect(result.action).toMatch(/^DeleteResourcePolicy /);
    expect(result.policyChanges?.[0]).toMatchObject({ after: null, afterSha256: null });
    expect(sandbox.state.secret(STRIPE)?.resourcePolicy).toBeUndefined();
  });

  it('a statement allowing everyone is a remediation item, not an edit', async () => {
    const anyone = grant('*', DATABASE);
    const before = secretPolicyText(DATABASE);
    const result = await connector.revoke(anyone);
    expect(result.outcome).toBe('remediation_required');
    expect(result.remediation).toMatch(
      /Everyone \(statement 1\) .* allows every principal \("\*"\) under its conditions/,
    );
    expect(result.policyChanges).toBeUndefined();
    expect(secretPolicyText(DATABASE)).toBe(before);
    expect((await connector.check(anyone)).status).toBe('present');
  });
});

describe('revoke via an identity policy', () => {
  it('is a remediation item naming the policy, the statement and the edit when its path is not automatic', async () => {
    const carol = grant(user(PROD, 'carol'), DATABASE);
    const result = await connector.revoke(carol);
    expect(result.outcome).toBe('remediation_required');
    expect(result.remediation).toContain(
      `In policy ${user(PROD, 'carol')}#ReadDatabase, allowed by Db (statement 1)`,
    );
    expect(result.remediation).toContain(
      `delete Db (statement 1) of ${user(PROD, 'carol')}#ReadDatabase (${DATABASE} was its only Resource)`,
    );
    expect(result.remediation).toContain(`add statement AccessReviewRevokedRead`);
    expect(prod().users.get('carol')?.inlinePolicies.get('ReadDatabase')?.document).toMatchObject({
      Statement: [{ Sid: 'Db' }],
    });
    expect((await connector.check(carol)).status).toBe('present');
  });

  it('an AWS managed policy cannot be edited: the remediation says to detach it or deny', async () => {
    const bob = grant(user(PROD, 'bob', '/contractors/'), ADYEN);
    const result = await connector.revoke(bob);
    expect(result.outcome).toBe('remediation_required');
    expect(result.remediation).toMatch(
      /AWS managed policy, which nobody can edit: detach it from arn:aws:iam::111122223333:user\/contractors\/bob/,
    );
  });

  it('on an automatic path, a managed policy gets a new default version with a Deny for the one secret', async () => {
    const alice = grant(user(PROD, 'alice'), ADYEN);
    const policy = [...prod().policies.values()].find((item) => item.arn === READ_PAYMENTS);
    const before = policy?.versions.find((version) => version.isDefault)?.policy.text;
    const result = await connector.revoke(alice);
    expect(result.outcome).toBe('removed');
    expect(result.action).toContain(`CreatePolicyVersion ${READ_PAYMENTS} v2 (default)`);
    expect(result.action).toContain(
      `every principal policy ${READ_PAYMENTS} is attached to loses read access to ${ADYEN}`,
    );
    const after = policy?.versions.find((version) => version.isDefault)?.policy.text;
    expect(result.policyChanges).toEqual([
      {
        policy: READ_PAYMENTS,
        before,
        after,
        beforeSha256: sha(before ?? ''),
        afterSha256: sha(after ?? ''),
      },
    ]);
    expect(JSON.parse(after ?? '{}').Statement[2]).toEqual({
      Sid: expect.stringMatching(/^AccessReviewRevokedRead[0-9a-f]{12}$/),
      Effect: 'Deny',
      Action: 'secretsmanager:GetSecretValue',
      Resource: ADYEN,
    });
    expect(await connector.check(alice)).toEqual({ status: 'absent', checkedAt: expect.any(String) });
    // The wildcard still opens the other payments secret.
    expect((await connector.check(grant(user(PROD, 'alice'), STRIPE))).status).toBe('present');
    expect((await connector.revoke(alice)).outcome).toBe('already_absent');
  });

  it('deletes the oldest non-default version first when IAM holds five', async () => {
    const policy = [...prod().policies.values()].find((item) => item.arn === READ_PAYMENTS);
    if (!policy) throw new Error('no policy');
    const first = policy.versions[0];
    if (!first) throw new Error('no version');
    for (let n = 2; n <= 5; n++) {
      policy.versions.push({
        ...first,
        versionId: `v${n}`,
        isDefault: false,
        createDate: new Date(Date.UTC(2025, 0, n)),
      });
    }
    policy.nextVersion = 6;
    const deleted = policy.versions.find((version) => version.versionId === 'v2')?.policy.text ?? null;
    const before = first.policy.text;
    const planned = await connector.plan(grant(user(PROD, 'alice'), ADYEN));
    const result = await connector.revoke(grant(user(PROD, 'alice'), ADYEN));
    expect(result.action).toContain('after it deleted its oldest non-default version v2');
    expect(policy.versions.map((version) => version.versionId)).toEqual(['v1', 'v3', 'v4', 'v5', 'v6']);
    // The deleted version is a change of its own in the evidence, before the new default.
    const after = policy.versions.find((version) => version.versionId === 'v6')?.policy.text ?? null;
    expect(result.policyChanges).toEqual([
      {
        policy: `${READ_PAYMENTS} version v2`,
        before: deleted,
        after: null,
        beforeSha256: sha(deleted ?? ''),
        afterSha256: null,
      },
      { policy: READ_PAYMENTS, before, after, beforeSha256: sha(before), afterSha256: sha(after ?? '') },
    ]);
    expect(planned).toEqual(result.policyChanges);
  });

  it('on an automatic path, an inline policy is put again without the secret', async () => {
    const erin = grant(user(PROD, 'erin', '/access-review-managed/'), DATABASE);
    const before = prod().users.get('erin')?.inlinePolicies.get('ReadDatabase')?.text;
    const result = await connector.revoke(erin);
    expect(result.outcome).toBe('removed');
    expect(result.action).toMatch(
      /^PutUserPolicy arn:aws:iam::111122223333:user\/access-review-managed\/erin#ReadDatabase: remove/,
    );
    const after = prod().users.get('erin')?.inlinePolicies.get('ReadDatabase')?.text;
    expect(JSON.parse(after ?? '{}').Statement).toEqual([
      { Sid: 'Db', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [ANALYTICS] },
    ]);
    expect(result.policyChanges).toEqual([
      {
        policy: `${user(PROD, 'erin', '/access-review-managed/')}#ReadDatabase`,
        before,
        after,
        beforeSha256: sha(before ?? ''),
        afterSha256: sha(after ?? ''),
      },
    ]);
    // The `*` statement of the database's resource policy still lets erin read (under its condition).
    expect(await connector.check(erin)).toEqual({
      status: 'present',
      checkedAt: expect.any(String),
      paths: [{ via: 'resource_policy (a statement naming every principal)', permission: 'read' }],
    });
    expect(
      (await connector.check(grant(user(PROD, 'erin', '/access-review-managed/'), ANALYTICS))).status,
    ).toBe('present');
  });
});

describe('revoke an OIDC trust', () => {
  it('removes the subject from the trust policy; the role keeps its other subjects', async () => {
    const wildcard = grants.find(
      (item) => item.grantKind === 'oidc_role_trust' && item.principal === 'repo:acme/*',
    );
    const main = grants.find(
      (item) =>
        item.grantKind === 'oidc_role_trust' && item.principal === 'repo:acme/web:ref:refs/heads/main',
    );
    if (!wildcard || !main) throw new Error('missing trust grants');
    const before = prod().roles.get('deploy-web')?.trustPolicy.text;
    const result = await connector.revoke(wildcard);
    expect(result.outcome).toBe('removed');
    const after = prod().roles.get('deploy-web')?.trustPolicy.text;
    expect(result.policyChanges).toEqual([
      {
        policy: `${role(PROD, 'deploy-web')} trust policy`,
        before,
        after,
        beforeSha256: sha(before ?? ''),
        afterSha256: sha(after ?? ''),
      },
    ]);
    expect(JSON.parse(after ?? '{}').Statement[0].Condition).toEqual({
      StringLike: { [`${PROVIDER}:sub`]: ['repo:acme/web:ref:refs/heads/main'] },
    });
    expect(await connector.check(wildcard)).toEqual({ status: 'absent', checkedAt: expect.any(String) });
    expect(await connector.check(main)).toEqual({
      status: 'present',
      checkedAt: expect.any(String),
      paths: [{ via: 'trust_policy', permission: 'assume' }],
    });
    expect((await connector.revoke(wildcard)).outcome).toBe('already_absent');
    // The last subject: the policy becomes an explicit Deny, never a statement without a subject.
    const last = await connector.revoke(main);
    expect(last.action).toContain('the policy is now an explicit Deny');
    expect(JSON.parse(prod().roles.get('deploy-web')?.trustPolicy.text ?? '{}').Statement).toEqual([
      {
        Sid: 'AccessReviewRevokedEverySubject',
        Effect: 'Deny',
        Principal: { Federated: `arn:aws:iam::${PROD}:oidc-provider/${PROVIDER}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
      },
    ]);
    expect((await connector.check(main)).status).toBe('absent');
  });

  it('a derived read follows the trust: present before, absent once the trust is revoked; revoking it is refused', async () => {
    const derived = grants.find((item) => item.via.kind === 'assumed_role' && item.resource === STRIPE);
    const trust = grants.find(
      (item) => item.grantKind === 'oidc_role_trust' && item.resource === role(PROD, 'deploy-api'),
    );
    if (!derived || !trust) throw new Error('missing grants');
    await expect(connector.revoke(derived)).rejects.toThrow(AwsGrantError);
    await expect(connector.revoke(derived)).rejects.toThrow(
      /is derived and cannot be revoked at AWS: revoke the trust of repo:acme\/api:environment:production in role/,
    );
    expect(await connector.check(derived)).toEqual({
      status: 'present',
      checkedAt: expect.any(String),
      paths: [{ via: `assumed_role:${role(PROD, 'deploy-api')}`, permission: 'read' }],
    });
    await connector.revoke(trust);
    expect((await connector.check(derived)).status).toBe('absent');
  });
});

describe('without a revoke role', () => {
  it('hands a person the exact new policy and changes nothing', async () => {
    const release = grants.find(
      (item) => item.grantKind === 'oidc_role_trust' && item.resource === role(CI, 'release'),
    );
    if (!release) throw new Error('missing grant');
    const before = sandbox.state.account(CI).roles.get('release')?.trustPolicy.text;
    const result = await connector.revoke(release);
    expect(result).toMatchObject({
      outcome: 'remediation_required',
      action: `no revokeRoleArn is configured for account ${CI}: the trust policy of ${role(CI, 'release')} was not changed`,
    });
    expect(result.remediation).toContain(
      `edit the trust policy of role release (${role(CI, 'release')}): removed statement 1 of the trust policy of ${role(CI, 'release')}: repo:acme/release:ref:refs/tags/v1 was its only subject`,
    );
    expect(result.remediation).toContain('"Effect":"Deny"');
    expect(sandbox.state.account(CI).roles.get('release')?.trustPolicy.text).toBe(before);
    expect(sandbox.requests.some((request) => request.action === 'UpdateAssumeRolePolicy')).toBe(false);
  });
});

describe('planning a revoke', () => {
  const writes = () =>
    sandbox.requests.filter((request) => /^(Put|Delete|Create|Update)/.test(request.action)).length;

  it('returns exactly the documents revoke then writes, and writes nothing itself', async () => {
    const kinds = [
      grant(role(CI, 'ci'), STRIPE),
      grant(user(PROD, 'alice'), ADYEN),
      grant(user(PROD, 'erin', '/access-review-managed/'), DATABASE),
      grants.find((item) => item.grantKind === 'oidc_role_trust' && item.principal === 'repo:acme/*'),
    ];
    for (const item of kinds) {
      if (!item) throw new Error('missing grant');
      const before = writes();
      const planned = await connector.plan(item);
      expect(writes()).toBe(before);
      expect(planned).toHaveLength(1);
      // Planning again reads the same documents: nothing changed.
      expect(await connector.plan(item)).toEqual(planned);
      const result = await connector.revoke(item);
      expect(result.outcome).toBe('removed');
      expect(result.policyChanges).toEqual(planned);
      // Once revoked, nothing is left to write.
      expect(await connector.plan(item)).toEqual([]);
    }
  });

  it('plans nothing for a remediation, a derived grant is refused as by revoke', async () => {
    expect(await connector.plan(grant('*', DATABASE))).toEqual([]);
    expect(await connector.plan(grant(user(PROD, 'carol'), DATABASE))).toEqual([]);
    const release = grants.find(
      (item) => item.grantKind === 'oidc_role_trust' && item.resource === role(CI, 'release'),
    );
    if (!release) throw new Error('missing grant');
    expect(await connector.plan(release)).toEqual([]);
    const derived = grants.find((item) => item.via.kind === 'assumed_role');
    if (!derived) throw new Error('missing grant');
    await expect(connector.plan(derived)).rejects.toThrow(AwsGrantError);
  });
});

describe('grants the connector does not own', () => {
  it('refuses another connector, an unknown account, and an unknown kind', async () => {
    const sample = grant(role(CI, 'ci'), STRIPE);
    await expect(connector.revoke({ ...sample, connector: 'github' })).rejects.toThrow(
      /belongs to connector github/,
    );
    await expect(
      connector.check({ ...sample, resource: STRIPE.replace(PROD, '222222222222') }),
    ).rejects.toThrow(/not in a configured AWS account/);
    await expect(connector.revoke({ ...sample, grantKind: 'deploy_key' })).rejects.toThrow(/does not know/);
  });
});
