import type {
  IamPrincipal,
  IdentityPolicy,
  Inventory,
  KeyRecord,
  SecretRecord,
} from '../../../../functions/connectors/aws/inventory';
import type { PolicyDocument, PolicyStatement } from '../../../../functions/connectors/aws/policy-documents';

/** Plain objects for evaluation tests: accounts, principals, secrets and keys, as AWS would have them. */
export const A = '111122223333';
export const B = '444455556666';
export const OUTSIDE = '999988887777';
export const REGION = 'eu-west-1';

export const doc = (...statements: PolicyStatement[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: statements,
});

export const secretArn = (name: string, account = A) =>
  `arn:aws:secretsmanager:${REGION}:${account}:secret:${name}-AbCdEf`;

export const allowRead = (
  resource: string | string[],
  extra: Partial<PolicyStatement> = {},
): PolicyStatement => ({
  Effect: 'Allow',
  Action: 'secretsmanager:GetSecretValue',
  Resource: resource,
  ...extra,
});

/** A resource-policy statement letting `principal` read the secret it is attached to. */
export const allowReadBy = (
  principal: PolicyStatement['Principal'],
  extra: Partial<PolicyStatement> = {},
): PolicyStatement => ({
  Effect: 'Allow',
  Principal: principal,
  Action: 'secretsmanager:GetSecretValue',
  Resource: '*',
  ...extra,
});

export const allowDecrypt = (resource: string | string[] = '*'): PolicyStatement => ({
  Effect: 'Allow',
  Action: 'kms:Decrypt',
  Resource: resource,
});

export function managed(
  name: string,
  document: PolicyDocument,
  options: { account?: string; path?: string; group?: string } = {},
): IdentityPolicy {
  const path = options.path ?? '/';
  return {
    id: `arn:aws:iam::${options.account ?? A}:policy${path}${name}`,
    kind: 'managed',
    ...(options.group ? { group: options.group } : {}),
    document,
    path,
    awsManaged: false,
  };
}

export function inline(
  ownerArn: string,
  name: string,
  document: PolicyDocument,
  group?: string,
): IdentityPolicy {
  return {
    id: `${ownerArn}#${name}`,
    kind: 'inline',
    ...(group ? { group } : {}),
    document,
    path: '/',
    awsManaged: false,
  };
}

function principal(
  type: 'user' | 'role',
  name: string,
  policies: IdentityPolicy[],
  options: Partial<IamPrincipal>,
): IamPrincipal {
  const accountId = options.accountId ?? A;
  return {
    arn: `arn:aws:iam::${accountId}:${type}/${name}`,
    type: `iam_${type}` as const,
    accountId,
    name,
    path: '/',
    identityPolicies: policies,
    tags: {},
    ...options,
  };
}

export const user = (name: string, policies: IdentityPolicy[] = [], options: Partial<IamPrincipal> = {}) =>
  principal('user', name, policies, options);

export const role = (name: string, policies: IdentityPolicy[] = [], options: Partial<IamPrincipal> = {}) =>
  principal('role', name, policies, options);

export const awsManagedKeyArn = (account = A) =>
  `arn:aws:kms:${REGION}:${account}:key/aaaaaaaa-0000-0000-0000-000000000001`;
export const customerKeyArn = (account = A) =>
  `arn:aws:kms:${REGION}:${account}:key/cccccccc-0000-0000-0000-000000000002`;

/** The key policy AWS gives aws/secretsmanager: any principal of the account, through Secrets Manager only. */
export function awsManagedKey(account = A): KeyRecord {
  return {
    arn: awsManagedKeyArn(account),
    accountId: account,
    region: REGION,
    awsManaged: true,
    policy: doc(
      {
        Sid: 'Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:CreateGrant', 'kms:DescribeKey'],
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:CallerAccount': account,
            'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`,
          },
        },
      },
      {
        Sid: 'Allow direct access to key metadata to the account',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
        Resource: '*',
      },
    ),
  };
}

/** A customer key; `statements` default to the console's "Enable IAM User Permissions" (delegate to the account). */
export function customerKey(statements?: PolicyStatement[], account = A): KeyRecord {
  return {
    arn: customerKeyArn(account),
    accountId: account,
    region: REGION,
    awsManaged: false,
    policy: doc(
      ...(statements ?? [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ]),
    ),
  };
}

export function secret(name: string, options: Partial<SecretRecord> = {}): SecretRecord {
  const accountId = options.accountId ?? A;
  return {
    arn: secretArn(name, accountId),
    name,
    accountId,
    region: REGION,
    keyArn: awsManagedKeyArn(accountId),
    resourcePolicy: null,
    lastAccessed: null,
    tags: {},
    ...options,
  };
}

export function inventory(parts: {
  principals?: IamPrincipal[];
  secrets?: SecretRecord[];
  keys?: KeyRecord[];
  accounts?: string[];
}): Inventory {
  const keys = parts.keys ?? [awsManagedKey(A), awsManagedKey(B)];
  return {
    accounts: new Map((parts.accounts ?? [A, B]).map((accountId) => [accountId, { accountId }])),
    principals: parts.principals ?? [],
    secrets: parts.secrets ?? [],
    keys: new Map(keys.map((key) => [key.arn, key])),
  };
}
