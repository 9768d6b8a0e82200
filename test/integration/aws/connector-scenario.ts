import {
  IDENTITY_POLICY_REMEDIATION_ACTIONS,
  READ_ACTIONS,
  REVOKE_ACTIONS,
} from '../../../functions/connectors/aws/permissions';
import type { AwsConfig } from '../../../functions/core/config';
import type { PolicyDocument } from '../../../sandbox/aws/documents';
import type { AwsScenarioInput } from '../../../sandbox/aws/scenario';
import { secretArn } from '../../../sandbox/aws/state';

/*
 * The AWS world the connector's integration tests run against: a hub account, a production
 * account (read and revoke roles whose permissions are exactly those permissions.ts lists, so a
 * call the connector makes that the list misses fails here), and a CI account with a read role
 * only (its revocations become remediation items). Every kind of path the connector reports has
 * at least one instance, and a few that must not be reported (a permission boundary, a deny).
 */

export const HUB = '000000000000';
export const PROD = '111122223333';
export const CI = '444455556666';
export const OUTSIDE = '999988887777';
export const REGION = 'eu-west-1';
export const EXTERNAL_ID = 'access-review-test';
export const PROVIDER = 'token.actions.githubusercontent.com';
export const PAYMENTS_KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';

export const role = (account: string, name: string, path = '/') =>
  `arn:aws:iam::${account}:role${path}${name}`;
export const user = (account: string, name: string, path = '/') =>
  `arn:aws:iam::${account}:user${path}${name}`;
export const policyArn = (account: string, name: string, path = '/') =>
  `arn:aws:iam::${account}:policy${path}${name}`;

export const STRIPE = secretArn(PROD, REGION, 'prod/payments/stripe');
export const ADYEN = secretArn(PROD, REGION, 'prod/payments/adyen');
export const DATABASE = secretArn(PROD, REGION, 'prod/api/database');
export const ANALYTICS = secretArn(PROD, 'us-east-1', 'prod/web/analytics');
export const CI_TOKEN = secretArn(CI, REGION, 'ci/token');

export const READ_ROLE = role(PROD, 'access-review-read', '/access-review/');
export const REVOKE_ROLE = role(PROD, 'access-review-revoke', '/access-review/');
export const CI_READ_ROLE = role(CI, 'access-review-read', '/access-review/');
export const MANAGED_PATH = '/access-review-managed/';
export const READ_PAYMENTS = policyArn(PROD, 'ReadPaymentsSecrets', MANAGED_PATH);

const document = (...statements: Array<Record<string, unknown>>): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: statements,
});

const hubTrust = document({
  Effect: 'Allow',
  Principal: { AWS: role(HUB, 'access-review-functions') },
  Action: 'sts:AssumeRole',
  Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } },
});

const oidcTrust = (account: string, condition: Record<string, Record<string, unknown>>) =>
  document({
    Effect: 'Allow',
    Principal: { Federated: `arn:aws:iam::${account}:oidc-provider/${PROVIDER}` },
    Action: 'sts:AssumeRoleWithWebIdentity',
    ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
  });

const readOnly = document({ Effect: 'Allow', Action: [...READ_ACTIONS], Resource: '*' });

type ScenarioRole = NonNullable<AwsScenarioInput['accounts'][number]['roles']>[number];

function memberRoles(account: string, withRevoke: boolean): ScenarioRole[] {
  return [
    {
      name: 'access-review-read',
      path: '/access-review/',
      trustPolicy: hubTrust,
      inlinePolicies: { Read: readOnly },
    },
    ...(withRevoke
      ? [
          {
            name: 'access-review-revoke',
            path: '/access-review/',
            trustPolicy: hubTrust,
            inlinePolicies: {
              Read: readOnly,
              Revoke: document({ Effect: 'Allow', Action: [...REVOKE_ACTIONS], Resource: '*' }),
              Remediate: document({
                Effect: 'Allow',
                Action: [...IDENTITY_POLICY_REMEDIATION_ACTIONS],
                Resource: [
                  `arn:aws:iam::${account}:policy${MANAGED_PATH}*`,
                  `arn:aws:iam::${account}:user${MANAGED_PATH}*`,
                  `arn:aws:iam::${account}:group${MANAGED_PATH}*`,
                  `arn:aws:iam::${account}:role${MANAGED_PATH}*`,
                ],
              }),
            },
          },
        ]
      : []),
  ];
}

export function connectorScenario(): AwsScenarioInput {
  return {
    hubAccountId: HUB,
    hubPrincipal: role(HUB, 'access-review-functions'),
    awsManagedPolicies: [
      {
        name: 'SecretsManagerReadWrite',
        document: document({
          Effect: 'Allow',
          Action: ['secretsmanager:*', 'kms:DescribeKey'],
          Resource: '*',
        }),
      },
    ],
    accounts: [
      {
        id: HUB,
        roles: [
          {
            name: 'access-review-functions',
            trustPolicy: document({
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'sts:AssumeRole',
            }),
            inlinePolicies: {
              AssumeMemberRoles: document({
                Effect: 'Allow',
                Action: 'sts:AssumeRole',
                Resource: 'arn:aws:iam::*:role/access-review/*',
              }),
            },
          },
        ],
      },
      {
        id: PROD,
        name: 'production',
        oidcProviders: [PROVIDER],
        policies: [
          {
            name: 'ReadPaymentsSecrets',
            path: MANAGED_PATH,
            document: document(
              {
                Sid: 'ReadPayments',
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: `arn:aws:secretsmanager:${REGION}:${PROD}:secret:prod/payments/*`,
              },
              {
                Sid: 'DecryptPayments',
                Effect: 'Allow',
                Action: 'kms:Decrypt',
                Resource: `arn:aws:kms:${REGION}:${PROD}:key/${PAYMENTS_KEY}`,
                Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
              },
            ),
          },
          {
            name: 'PaymentsBoundary',
            document: document({
              Effect: 'Allow',
              Action: 'secretsmanager:*',
              Resource: `arn:aws:secretsmanager:${REGION}:${PROD}:secret:prod/payments/*`,
            }),
          },
        ],
        groups: [{ name: 'payments-readers', managedPolicies: ['ReadPaymentsSecrets'] }],
        users: [
          { name: 'alice', groups: ['payments-readers'] },
          {
            name: 'bob',
            path: '/contractors/',
            managedPolicies: ['arn:aws:iam::aws:policy/SecretsManagerReadWrite'],
            permissionsBoundary: 'PaymentsBoundary',
          },
          {
            name: 'carol',
            inlinePolicies: {
              ReadDatabase: document({
                Sid: 'Db',
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: DATABASE,
              }),
            },
          },
          {
            name: 'erin',
            path: MANAGED_PATH,
            inlinePolicies: {
              ReadDatabase: document({
                Sid: 'Db',
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: [DATABASE, ANALYTICS],
              }),
            },
          },
          {
            name: 'dave',
            managedPolicies: ['arn:aws:iam::aws:policy/SecretsManagerReadWrite'],
            inlinePolicies: {
              NoProduction: document({
                Effect: 'Deny',
                Action: 'secretsmanager:GetSecretValue',
                Resource: `arn:aws:secretsmanager:*:${PROD}:secret:prod/*`,
              }),
            },
          },
        ],
        roles: [
          ...memberRoles(PROD, true),
          {
            name: 'deploy-api',
            trustPolicy: oidcTrust(PROD, {
              StringEquals: { [`${PROVIDER}:aud`]: 'sts.amazonaws.com' },
              StringLike: { [`${PROVIDER}:sub`]: 'repo:acme/api:environment:production' },
            }),
            managedPolicies: ['ReadPaymentsSecrets'],
          },
          {
            name: 'deploy-web',
            trustPolicy: oidcTrust(PROD, {
              StringLike: { [`${PROVIDER}:sub`]: ['repo:acme/*', 'repo:acme/web:ref:refs/heads/main'] },
            }),
            inlinePolicies: {
              Analytics: document({
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: ANALYTICS,
              }),
            },
          },
        ],
        keys: [
          {
            id: PAYMENTS_KEY,
            region: REGION,
            alias: 'payments',
            policy: document(
              {
                Sid: 'Account',
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${PROD}:root` },
                Action: 'kms:*',
                Resource: '*',
              },
              {
                Sid: 'CiDecrypts',
                Effect: 'Allow',
                Principal: { AWS: role(CI, 'ci') },
                Action: 'kms:Decrypt',
                Resource: '*',
              },
              {
                Sid: 'PartnerDecrypts',
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${OUTSIDE}:root` },
                Action: 'kms:Decrypt',
                Resource: '*',
              },
            ),
          },
        ],
        secrets: [
          {
            name: 'prod/payments/stripe',
            region: REGION,
            kmsKey: 'payments',
            lastAccessedDate: '2026-11-20T00:00:00Z',
            resourcePolicy: document(
              {
                Sid: 'DeployApi',
                Effect: 'Allow',
                Principal: { AWS: role(PROD, 'deploy-api') },
                Action: 'secretsmanager:GetSecretValue',
                Resource: '*',
              },
              {
                Sid: 'CiAndPartner',
                Effect: 'Allow',
                Principal: { AWS: [role(CI, 'ci'), `arn:aws:iam::${OUTSIDE}:root`] },
                Action: 'secretsmanager:GetSecretValue',
                Resource: '*',
              },
            ),
          },
          { name: 'prod/payments/adyen', region: REGION },
          {
            name: 'prod/api/database',
            region: REGION,
            resourcePolicy: document({
              Sid: 'Everyone',
              Effect: 'Allow',
              Principal: '*',
              Action: 'secretsmanager:GetSecretValue',
              Resource: '*',
              Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-acme' } },
            }),
          },
          { name: 'prod/web/analytics', region: 'us-east-1' },
        ],
      },
      {
        id: CI,
        name: 'ci',
        oidcProviders: [PROVIDER],
        roles: [
          ...memberRoles(CI, false),
          {
            name: 'ci',
            trustPolicy: document({
              Effect: 'Allow',
              Principal: { Service: 'codebuild.amazonaws.com' },
              Action: 'sts:AssumeRole',
            }),
            inlinePolicies: {
              ReadStripe: document(
                { Sid: 'Stripe', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: STRIPE },
                { Sid: 'Decrypt', Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' },
              ),
            },
          },
          {
            name: 'release',
            trustPolicy: oidcTrust(CI, {
              StringEquals: {
                [`${PROVIDER}:sub`]: 'repo:acme/release:ref:refs/tags/v1',
                [`${PROVIDER}:aud`]: 'sts.amazonaws.com',
              },
            }),
            // Reads a secret under the CI account's own aws/secretsmanager key, which is not the
            // production account's key of the same alias.
            inlinePolicies: {
              ReadToken: document({
                Sid: 'Token',
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: `arn:aws:secretsmanager:${REGION}:${CI}:secret:ci/*`,
              }),
            },
          },
        ],
        secrets: [{ name: 'ci/token', region: REGION }],
      },
    ],
  };
}

export function connectorConfig(endpoint: string, overrides: Partial<AwsConfig> = {}): AwsConfig {
  return {
    accounts: [
      {
        accountId: PROD,
        name: 'production',
        regions: [REGION, 'us-east-1'],
        readRoleArn: READ_ROLE,
        revokeRoleArn: REVOKE_ROLE,
        externalId: EXTERNAL_ID,
      },
      { accountId: CI, name: 'ci', regions: [REGION], readRoleArn: CI_READ_ROLE, externalId: EXTERNAL_ID },
    ],
    endpoint,
    automaticRemediation: { identityPolicyPaths: [MANAGED_PATH] },
    githubOidcProvider: PROVIDER,
    ...overrides,
  };
}
