import type { AwsScenarioInput } from './scenario';

/*
 * A small but complete `aws:` scenario: the hub account access-review runs in, and one member
 * account with the read and revoke roles the hub assumes (ExternalId-guarded), a GitHub OIDC deploy
 * role, people in a group, customer and AWS managed policies, a customer managed key and secrets
 * under it and under aws/secretsmanager. The sandbox's own tests run against it; it also shows a
 * scenario author every field in use.
 */

export const HUB_ACCOUNT = '000000000000';
export const MEMBER_ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const EXTERNAL_ID = 'access-review-example';
export const PAYMENTS_KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const READ_ROLE_ARN = `arn:aws:iam::${MEMBER_ACCOUNT}:role/access-review/access-review-read`;
export const REVOKE_ROLE_ARN = `arn:aws:iam::${MEMBER_ACCOUNT}:role/access-review/access-review-revoke`;

const hubTrust = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${HUB_ACCOUNT}:role/access-review-functions` },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } },
    },
  ],
};

export function exampleAwsScenario(): AwsScenarioInput {
  return {
    hubAccountId: HUB_ACCOUNT,
    hubPrincipal: `arn:aws:iam::${HUB_ACCOUNT}:role/access-review-functions`,
    awsManagedPolicies: [
      {
        name: 'SecretsManagerReadWrite',
        description: 'Provides read/write access to AWS Secrets Manager (the parts that matter here)',
        document: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['secretsmanager:*', 'kms:DescribeKey', 'kms:ListAliases'],
              Resource: '*',
            },
          ],
        },
      },
    ],
    accounts: [
      {
        id: HUB_ACCOUNT,
        name: 'access-review',
        roles: [
          {
            name: 'access-review-functions',
            trustPolicy: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
              ],
            },
            inlinePolicies: {
              AssumeMemberRoles: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: 'sts:AssumeRole',
                    Resource: 'arn:aws:iam::*:role/access-review/*',
                  },
                ],
              },
            },
          },
        ],
      },
      {
        id: MEMBER_ACCOUNT,
        name: 'production',
        oidcProviders: ['token.actions.githubusercontent.com'],
        policies: [
          {
            name: 'ReadPaymentsSecrets',
            path: '/access-review-managed/',
            description: 'Read the payments secrets',
            document: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: 'secretsmanager:GetSecretValue',
                  Resource: `arn:aws:secretsmanager:${REGION}:${MEMBER_ACCOUNT}:secret:prod/payments/*`,
                },
              ],
            },
          },
          {
            name: 'AccessReviewRead',
            path: '/access-review/',
            document: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: [
                    'iam:GetAccountAuthorizationDetails',
                    'iam:GetRole',
                    'iam:GetPolicy',
                    'iam:GetPolicyVersion',
                    'iam:ListPolicyVersions',
                    'iam:GetRolePolicy',
                    'iam:GetUserPolicy',
                    'iam:GetGroupPolicy',
                    'iam:GetGroup',
                    'iam:ListOpenIDConnectProviders',
                    'secretsmanager:ListSecrets',
                    'secretsmanager:DescribeSecret',
                    'secretsmanager:GetResourcePolicy',
                    'kms:DescribeKey',
                    'kms:GetKeyPolicy',
                    'kms:ListAliases',
                  ],
                  Resource: '*',
                },
              ],
            },
          },
        ],
        groups: [
          {
            name: 'payments-readers',
            managedPolicies: ['ReadPaymentsSecrets'],
            inlinePolicies: {
              DescribePayments: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'secretsmanager:DescribeSecret', Resource: '*' }],
              },
            },
          },
        ],
        users: [
          { name: 'alice', groups: ['payments-readers'], tags: { team: 'payments' } },
          {
            name: 'bob',
            path: '/contractors/',
            managedPolicies: ['arn:aws:iam::aws:policy/SecretsManagerReadWrite'],
            permissionsBoundary: 'ReadPaymentsSecrets',
          },
        ],
        roles: [
          {
            name: 'access-review-read',
            path: '/access-review/',
            trustPolicy: hubTrust,
            managedPolicies: ['AccessReviewRead'],
          },
          {
            name: 'access-review-revoke',
            path: '/access-review/',
            trustPolicy: hubTrust,
            inlinePolicies: {
              Revoke: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: [
                      'iam:GetRole',
                      'iam:UpdateAssumeRolePolicy',
                      'iam:GetPolicy',
                      'iam:GetPolicyVersion',
                      'iam:ListPolicyVersions',
                      'iam:CreatePolicyVersion',
                      'iam:DeletePolicyVersion',
                      'iam:PutRolePolicy',
                      'iam:PutUserPolicy',
                      'iam:PutGroupPolicy',
                      'iam:GetGroup',
                      'iam:RemoveUserFromGroup',
                      'secretsmanager:GetResourcePolicy',
                      'secretsmanager:PutResourcePolicy',
                      'secretsmanager:DeleteResourcePolicy',
                    ],
                    Resource: '*',
                  },
                ],
              },
            },
          },
          {
            name: 'deploy-api',
            description: 'GitHub Actions deploys of acme/api',
            trustPolicy: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: {
                    Federated: `arn:aws:iam::${MEMBER_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
                  },
                  Action: 'sts:AssumeRoleWithWebIdentity',
                  Condition: {
                    StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
                    StringLike: {
                      'token.actions.githubusercontent.com:sub': 'repo:acme/api:environment:production',
                    },
                  },
                },
              ],
            },
            managedPolicies: ['ReadPaymentsSecrets'],
            tags: { owner: 'platform' },
            lastUsed: { date: '2026-10-01T12:00:00Z', region: REGION },
          },
        ],
        keys: [
          {
            id: PAYMENTS_KEY_ID,
            region: REGION,
            alias: 'payments',
            description: 'Payments secrets',
            policy: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'Enable IAM User Permissions',
                  Effect: 'Allow',
                  Principal: { AWS: `arn:aws:iam::${MEMBER_ACCOUNT}:root` },
                  Action: 'kms:*',
                  Resource: '*',
                },
              ],
            },
          },
        ],
        secrets: [
          {
            name: 'prod/payments/stripe',
            region: REGION,
            description: 'Stripe live key',
            kmsKey: 'payments',
            tags: { team: 'payments' },
            resourcePolicy: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Principal: { AWS: `arn:aws:iam::${MEMBER_ACCOUNT}:role/deploy-api` },
                  Action: 'secretsmanager:GetSecretValue',
                  Resource: '*',
                },
              ],
            },
          },
          { name: 'prod/payments/adyen', region: REGION, kmsKey: 'payments' },
          { name: 'prod/api/database', region: REGION, value: '{"password":"example"}' },
          { name: 'prod/api/sentry', region: REGION },
          { name: 'prod/web/analytics', region: 'us-east-1' },
        ],
      },
    ],
  };
}
