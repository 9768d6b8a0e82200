import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsConnector } from '../../../functions/connectors/aws';
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
  PAYMENTS_KEY,
  PROD,
  READ_PAYMENTS,
  REGION,
  role,
  STRIPE,
  user,
} from './connector-scenario';

/*
 * A snapshot of the connector scenario through the real SDK clients against the local AWS sandbox:
 * every path it reports, and only those (no grant for a principal a permission boundary, a Deny or
 * a key policy stops).
 */

let sandbox: AwsSandbox;
let grants: Grant[];
let connector: ReturnType<typeof createAwsConnector>;
const warnings: string[] = [];

beforeAll(async () => {
  sandbox = await startAwsSandbox(connectorScenario());
  connector = createAwsConnector({
    config: connectorConfig(sandbox.url),
    credentials: sandbox.credentials,
    warn: (message) => warnings.push(message),
  });
  grants = [];
  for await (const grant of connector.snapshot()) grants.push(grant);
});
afterAll(() => sandbox.close());

const name = (arn: string) =>
  arn.replace(/^arn:aws:secretsmanager:[^:]+:\d+:secret:/, '').replace(/-[A-Za-z0-9]{6}$/, '');
const row = (grant: Grant) =>
  [
    grant.grantKind,
    grant.principal,
    grant.resourceType === 'aws_secret' ? name(grant.resource) : grant.resource,
    viaLabel(grant.via),
    grant.flags.join(' '),
    grant.reviewable ? 'review' : 'derived',
  ].join(' | ');

const find = (predicate: (grant: Grant) => boolean): Grant => {
  const found = grants.find(predicate);
  if (!found) throw new Error('no such grant');
  return found;
};

describe('AWS snapshot against the sandbox', () => {
  it('reports every path by which each principal reads each secret, and every OIDC subject', () => {
    const payments = `identity_policy:${READ_PAYMENTS}`;
    expect(grants.map(row).sort()).toEqual(
      [
        `secret_read | ${user(PROD, 'alice')} | prod/payments/stripe | ${payments} (group payments-readers) |  | review`,
        `secret_read | ${user(PROD, 'alice')} | prod/payments/adyen | ${payments} (group payments-readers) |  | review`,
        `secret_read | ${role(PROD, 'deploy-api')} | prod/payments/stripe | ${payments} |  | review`,
        `secret_read | ${role(PROD, 'deploy-api')} | prod/payments/stripe | resource_policy |  | review`,
        `secret_read | ${role(PROD, 'deploy-api')} | prod/payments/adyen | ${payments} |  | review`,
        // Bob's AWS managed policy allows all of Secrets Manager; his boundary leaves the payments
        // secrets, and of those only adyen (AWS managed key): stripe's key needs kms:Decrypt he lacks.
        `secret_read | ${user(PROD, 'bob', '/contractors/')} | prod/payments/adyen | identity_policy:arn:aws:iam::aws:policy/SecretsManagerReadWrite |  | review`,
        `secret_read | ${role(CI, 'ci')} | prod/payments/stripe | resource_policy | cross_account | review`,
        `secret_read | arn:aws:iam::${OUTSIDE}:root | prod/payments/stripe | resource_policy | cross_account | review`,
        `secret_read | ${user(PROD, 'carol')} | prod/api/database | identity_policy:${user(PROD, 'carol')}#ReadDatabase |  | review`,
        `secret_read | ${user(PROD, 'erin', '/access-review-managed/')} | prod/api/database | identity_policy:${user(PROD, 'erin', '/access-review-managed/')}#ReadDatabase |  | review`,
        `secret_read | ${user(PROD, 'erin', '/access-review-managed/')} | prod/web/analytics | identity_policy:${user(PROD, 'erin', '/access-review-managed/')}#ReadDatabase |  | review`,
        `secret_read | * | prod/api/database | resource_policy | any_principal | review`,
        `secret_read | ${role(PROD, 'deploy-web')} | prod/web/analytics | identity_policy:${role(PROD, 'deploy-web')}#Analytics |  | review`,
        `oidc_role_trust | repo:acme/api:environment:production | ${role(PROD, 'deploy-api')} | trust_policy |  | review`,
        `oidc_role_trust | repo:acme/* | ${role(PROD, 'deploy-web')} | trust_policy | no_audience_condition trusted_by_many_repositories wildcard_subject | review`,
        `oidc_role_trust | repo:acme/web:ref:refs/heads/main | ${role(PROD, 'deploy-web')} | trust_policy | no_audience_condition trusted_by_many_repositories | review`,
        `oidc_role_trust | repo:acme/release:ref:refs/tags/v1 | ${role(CI, 'release')} | trust_policy |  | review`,
        `secret_read | ${role(CI, 'release')} | ci/token | identity_policy:${role(CI, 'release')}#ReadToken |  | review`,
        `secret_read | repo:acme/release:ref:refs/tags/v1 | ci/token | assumed_role:${role(CI, 'release')} |  | derived`,
        `secret_read | repo:acme/api:environment:production | prod/payments/stripe | assumed_role:${role(PROD, 'deploy-api')} |  | derived`,
        `secret_read | repo:acme/api:environment:production | prod/payments/adyen | assumed_role:${role(PROD, 'deploy-api')} |  | derived`,
        `secret_read | repo:acme/* | prod/web/analytics | assumed_role:${role(PROD, 'deploy-web')} | no_audience_condition trusted_by_many_repositories wildcard_subject | derived`,
        `secret_read | repo:acme/web:ref:refs/heads/main | prod/web/analytics | assumed_role:${role(PROD, 'deploy-web')} | no_audience_condition trusted_by_many_repositories | derived`,
        // The deploy roles read prod/api/database through its statement naming every principal
        // (the aws_anyone grant stands for them); so do the subjects that assume them.
        `secret_read | repo:acme/api:environment:production | prod/api/database | assumed_role:${role(PROD, 'deploy-api')} |  | derived`,
        `secret_read | repo:acme/* | prod/api/database | assumed_role:${role(PROD, 'deploy-web')} | no_audience_condition trusted_by_many_repositories wildcard_subject | derived`,
        `secret_read | repo:acme/web:ref:refs/heads/main | prod/api/database | assumed_role:${role(PROD, 'deploy-web')} | no_audience_condition trusted_by_many_repositories | derived`,
      ].sort(),
    );
    // Grant ids are unique: one grant per path.
    expect(new Set(grants.map((grant) => grant.grantId)).size).toBe(grants.length);
  });

  it('fills the raw fields the kind texts read, for a read through a group policy', () => {
    const alice = find((grant) => grant.principal === user(PROD, 'alice') && grant.resource === STRIPE);
    expect(alice).toMatchObject({
      connector: 'aws',
      grantKind: 'secret_read',
      resourceType: 'aws_secret',
      principalType: 'iam_user',
      entitlement: 'read',
      via: { kind: 'identity_policy', policy: READ_PAYMENTS, group: 'payments-readers' },
    });
    expect(alice.raw).toMatchObject({
      secretName: 'prod/payments/stripe',
      accountId: PROD,
      accountName: 'production',
      region: REGION,
      kmsKey: `arn:aws:kms:${REGION}:${PROD}:key/${PAYMENTS_KEY}`,
      lastAccessed: '2026-11-20T00:00:00.000Z',
      statements: [`ReadPayments (statement 1) of ${READ_PAYMENTS} (group payments-readers)`],
      kmsStatements: [
        `DecryptPayments (statement 2) of ${READ_PAYMENTS} (group payments-readers)`,
        `Account (statement 1) of the key policy of arn:aws:kms:${REGION}:${PROD}:key/${PAYMENTS_KEY}`,
      ],
      // The policy's path is configured for automatic remediation.
      automaticRemediation: true,
    });
    const carol = find((grant) => grant.principal === user(PROD, 'carol'));
    expect(carol.raw.automaticRemediation).toBe(false);
    expect(carol.raw.kmsKeyManager).toBe('AWS (aws/secretsmanager)');
  });

  it('lists both sides of a cross-account read, and says the identity side of an outsider is unknown', () => {
    const ci = find((grant) => grant.principal === role(CI, 'ci'));
    expect(ci.raw.statements).toEqual([
      `Stripe (statement 1) of ${role(CI, 'ci')}#ReadStripe`,
      'CiAndPartner (statement 2) of the resource policy of prod/payments/stripe',
    ]);
    expect(ci.raw.crossAccount).toMatch(/needs both/);
    const partner = find((grant) => grant.principalType === 'aws_account');
    expect(partner.raw).toMatchObject({
      statements: ['CiAndPartner (statement 2) of the resource policy of prod/payments/stripe'],
      kmsStatements: [
        `PartnerDecrypts (statement 3) of the key policy of arn:aws:kms:${REGION}:${PROD}:key/${PAYMENTS_KEY}`,
      ],
      identitySide: expect.stringMatching(/^unknown/),
    });
    const anyone = find((grant) => grant.principalType === 'aws_anyone');
    expect(anyone.resource).toBe(DATABASE);
    expect(anyone.raw.conditions).toEqual(['aws:PrincipalOrgID StringEquals o-acme']);
  });

  it('describes each OIDC trust and derives what its subjects read by assuming the role', () => {
    const trust = find(
      (grant) =>
        grant.grantKind === 'oidc_role_trust' && grant.principal === 'repo:acme/api:environment:production',
    );
    expect(trust).toMatchObject({
      resourceType: 'iam_role',
      principalType: 'oidc_subject',
      entitlement: 'assume',
      via: { kind: 'trust_policy' },
    });
    expect(trust.raw).toMatchObject({
      roleName: 'deploy-api',
      accountId: PROD,
      accountName: 'production',
      audiences: ['sts.amazonaws.com'],
      repositories: 1,
      readableSecrets: ['prod/api/database', 'prod/payments/adyen', 'prod/payments/stripe'],
    });
    const derived = find((grant) => grant.via.kind === 'assumed_role' && grant.resource === STRIPE);
    const roleReads = grants.filter(
      (grant) => grant.principal === role(PROD, 'deploy-api') && grant.resource === STRIPE,
    );
    expect(roleReads).toHaveLength(2);
    expect(derived).toMatchObject({ reviewable: false, principalType: 'oidc_subject', entitlement: 'read' });
    expect(derived.derivedFrom.sort()).toEqual(
      [trust.grantId, ...roleReads.map((grant) => grant.grantId)].sort(),
    );
    const web = find((grant) => grant.grantKind === 'oidc_role_trust' && grant.principal === 'repo:acme/*');
    expect(web.raw).toMatchObject({
      audiences: [],
      repositories: 2,
      readableSecrets: ['prod/api/database', 'prod/web/analytics'],
    });
    // A read through `*` follows from the aws_anyone grant that stands for it.
    const anyone = find((grant) => grant.principalType === 'aws_anyone');
    const throughAnyone = find(
      (grant) =>
        grant.via.kind === 'assumed_role' && grant.resource === DATABASE && grant.principal === 'repo:acme/*',
    );
    expect(throughAnyone.derivedFrom).toEqual([web.grantId, anyone.grantId]);
    expect(throughAnyone.raw.statements).toEqual([
      'Everyone (statement 1) of the resource policy of prod/api/database',
    ]);
    expect(grants.some((grant) => grant.resource === ANALYTICS && grant.via.kind === 'assumed_role')).toBe(
      true,
    );
    expect(grants.some((grant) => grant.resource === ADYEN && grant.via.kind === 'assumed_role')).toBe(true);
  });

  it('never reads a secret value, counts its requests per service, and stays within the SDK models', () => {
    expect(sandbox.requests.some((request) => request.action === 'GetSecretValue')).toBe(false);
    expect(sandbox.violations).toEqual([]);
    expect(sandbox.requests.every((request) => request.status === 200)).toBe(true);
    const usage = connector.usage();
    expect(usage.points).toEqual({});
    const bySandbox: Record<string, number> = {};
    for (const request of sandbox.requests)
      bySandbox[request.service] = (bySandbox[request.service] ?? 0) + 1;
    expect(usage.requests).toEqual(bySandbox);
    // One session per member-account read role; IAM read once per account; Secrets Manager: a
    // listing per account and region (3) plus one GetResourcePolicy per secret (5); KMS: one
    // DescribeKey per key reference and one GetKeyPolicy per key (payments, and aws/secretsmanager
    // in two regions of production and one of ci: each account has its own).
    expect(usage.requests).toEqual({ sts: 2, iam: 2, secretsmanager: 8, kms: 8 });
    expect(warnings).toEqual([]);
  });

  it('simulates only the pairs the prefilter cannot rule out', () => {
    const stats = connector.evaluationStats();
    // 12 principals (9 in production, 3 in ci) × 5 secrets.
    expect(stats.pairs).toBe(60);
    expect(stats.simulatedPairs).toBeLessThan(stats.pairs / 2);
    expect(stats.simulations).toBeGreaterThan(0);
  });
});
