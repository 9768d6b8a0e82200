import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  type KMSClient,
  ListAliasesCommand,
  PutKeyPolicyCommand,
} from '@aws-sdk/client-kms';
import {
  DeleteResourcePolicyCommand,
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  type ListSecretsCommandOutput,
  PutResourcePolicyCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assumeSandboxRole, type SandboxCredentials, sandboxClients } from '../../../sandbox/aws/clients';
import { storedPolicy } from '../../../sandbox/aws/documents';
import {
  exampleAwsScenario,
  HUB_ACCOUNT,
  MEMBER_ACCOUNT,
  PAYMENTS_KEY_ID,
  READ_ROLE_ARN,
  REGION,
  REVOKE_ROLE_ARN,
} from '../../../sandbox/aws/example';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import { secretArn } from '../../../sandbox/aws/state';
import { assumeExampleRole, clientsAs, closeChecked, failure } from './helpers';

const APP_ROLE_ARN = `arn:aws:iam::${MEMBER_ACCOUNT}:role/access-review/payments-app`;
const STRIPE = secretArn(MEMBER_ACCOUNT, REGION, 'prod/payments/stripe');
const DATABASE = secretArn(MEMBER_ACCOUNT, REGION, 'prod/api/database');
const KEY_ARN = `arn:aws:kms:${REGION}:${MEMBER_ACCOUNT}:key/${PAYMENTS_KEY_ID}`;

/** The example, plus an application role of the member account that may read every secret. */
function scenario() {
  const base = exampleAwsScenario();
  const member = base.accounts.find((account) => account.id === MEMBER_ACCOUNT);
  member?.roles?.push({
    name: 'payments-app',
    path: '/access-review/',
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${HUB_ACCOUNT}:role/access-review-functions` },
          Action: 'sts:AssumeRole',
        },
      ],
    },
    inlinePolicies: {
      ReadSecrets: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: '*',
          },
        ],
      },
    },
  });
  return base;
}

let sandbox: AwsSandbox;
let read: SandboxCredentials;
let secrets: SecretsManagerClient;
let kms: KMSClient;

beforeEach(async () => {
  sandbox = await startAwsSandbox(scenario());
  read = await assumeExampleRole(sandbox, READ_ROLE_ARN);
  ({ secretsManager: secrets, kms } = sandboxClients(sandbox, { credentials: read }));
});

afterEach(() => closeChecked(sandbox));

describe('Secrets Manager', () => {
  it('lists the region’s secrets page by page', async () => {
    const pages: ListSecretsCommandOutput[] = [];
    let token: string | undefined;
    do {
      const page = await secrets.send(
        new ListSecretsCommand({ MaxResults: 3, ...(token ? { NextToken: token } : {}) }),
      );
      pages.push(page);
      token = page.NextToken;
    } while (token);
    expect(pages.map((page) => page.SecretList?.length)).toEqual([3, 1]);
    const listed = pages.flatMap((page) => page.SecretList ?? []);
    expect(listed.map((s) => s.Name)).toEqual([
      'prod/payments/stripe',
      'prod/payments/adyen',
      'prod/api/database',
      'prod/api/sentry',
    ]);
    expect(listed[0]).toMatchObject({
      ARN: STRIPE,
      Description: 'Stripe live key',
      KmsKeyId: KEY_ARN,
      Tags: [{ Key: 'team', Value: 'payments' }],
    });
    expect(STRIPE).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod\/payments\/stripe-[A-Za-z0-9]{6}$/,
    );
    // Under aws/secretsmanager a secret names no key, as on AWS.
    expect(listed[2]?.KmsKeyId).toBeUndefined();

    const elsewhere = sandboxClients(sandbox, { credentials: read, region: 'us-east-1' }).secretsManager;
    expect((await elsewhere.send(new ListSecretsCommand({}))).SecretList?.map((s) => s.Name)).toEqual([
      'prod/web/analytics',
    ]);
    const filtered = await secrets.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['prod/payments/'] }] }),
    );
    expect(filtered.SecretList?.map((s) => s.Name)).toEqual(['prod/payments/stripe', 'prod/payments/adyen']);
    const bad = await failure(secrets.send(new ListSecretsCommand({ NextToken: 'not-a-token' })));
    expect(bad).toMatchObject({ name: 'InvalidNextTokenException', $metadata: { httpStatusCode: 400 } });
  });

  it('describes a secret named by name, ARN or ARN without its suffix; ResourceNotFoundException otherwise', async () => {
    for (const secretId of ['prod/payments/stripe', STRIPE, STRIPE.slice(0, -7)]) {
      const described = await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
      expect(described).toMatchObject({ ARN: STRIPE, Name: 'prod/payments/stripe', KmsKeyId: KEY_ARN });
    }
    const missing = await failure(secrets.send(new DescribeSecretCommand({ SecretId: 'prod/none' })));
    expect(missing).toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('reads, replaces and deletes resource policies; the written text is what is read back', async () => {
    const stripe = await secrets.send(new GetResourcePolicyCommand({ SecretId: 'prod/payments/stripe' }));
    expect(JSON.parse(stripe.ResourcePolicy ?? '')).toMatchObject({
      Statement: [{ Principal: { AWS: `arn:aws:iam::${MEMBER_ACCOUNT}:role/deploy-api` } }],
    });
    const none = await secrets.send(new GetResourcePolicyCommand({ SecretId: 'prod/api/database' }));
    expect(none).toMatchObject({ ARN: DATABASE, Name: 'prod/api/database' });
    expect(none.ResourcePolicy).toBeUndefined();

    const revoke = (await clientsAs(sandbox, REVOKE_ROLE_ARN, { maxAttempts: 1 })).secretsManager;
    const text = `{"Version": "2012-10-17",
      "Statement": [{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::${MEMBER_ACCOUNT}:role/deploy-api"}, "Action": "secretsmanager:*", "Resource": "*"}]}`;
    expect(
      await revoke.send(new PutResourcePolicyCommand({ SecretId: STRIPE, ResourcePolicy: text })),
    ).toMatchObject({
      ARN: STRIPE,
      Name: 'prod/payments/stripe',
    });
    expect((await secrets.send(new GetResourcePolicyCommand({ SecretId: STRIPE }))).ResourcePolicy).toBe(
      text,
    );
    expect(sandbox.state.secret(STRIPE)?.resourcePolicy?.text).toBe(text);

    const malformed = await failure(
      revoke.send(new PutResourcePolicyCommand({ SecretId: STRIPE, ResourcePolicy: '{"Version":' })),
    );
    expect(malformed).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      $metadata: { httpStatusCode: 400 },
    });
    const open = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 'secretsmanager:GetSecretValue', Resource: '*' },
      ],
    });
    const publicPolicy = await failure(
      revoke.send(
        new PutResourcePolicyCommand({ SecretId: STRIPE, ResourcePolicy: open, BlockPublicPolicy: true }),
      ),
    );
    expect(publicPolicy.name).toBe('PublicPolicyException');
    expect(sandbox.state.secret(STRIPE)?.resourcePolicy?.text).toBe(text);

    await revoke.send(new DeleteResourcePolicyCommand({ SecretId: STRIPE }));
    expect(
      (await secrets.send(new GetResourcePolicyCommand({ SecretId: STRIPE }))).ResourcePolicy,
    ).toBeUndefined();
    // The read role may not write.
    const denied = await failure(secrets.send(new DeleteResourcePolicyCommand({ SecretId: DATABASE })));
    expect(denied).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    expect(denied.message).toBe(
      `User: arn:aws:sts::${MEMBER_ACCOUNT}:assumed-role/access-review-read/sandbox-test is not authorized to perform: secretsmanager:DeleteResourcePolicy on resource: ${DATABASE} because no identity-based policy allows the secretsmanager:DeleteResourcePolicy action`,
    );
  });

  it('hands out a value only to a caller allowed both the secret and its key', async () => {
    const app = sandboxClients(sandbox, {
      credentials: await assumeSandboxRole(sandbox, APP_ROLE_ARN),
    }).secretsManager;
    // aws/secretsmanager: its key policy lets the account's principals decrypt through Secrets Manager.
    const database = await app.send(new GetSecretValueCommand({ SecretId: 'prod/api/database' }));
    expect(database).toMatchObject({
      ARN: DATABASE,
      SecretString: '{"password":"example"}',
      VersionStages: ['AWSCURRENT'],
    });
    // The payments key's policy delegates to IAM, and the role's policy does not allow kms:Decrypt.
    expect(await failure(app.send(new GetSecretValueCommand({ SecretId: STRIPE })))).toMatchObject({
      name: 'AccessDeniedException',
      message: 'Access to KMS is not allowed',
    });
    const role = sandbox.state.account(MEMBER_ACCOUNT).roles.get('payments-app');
    role?.inlinePolicies.set(
      'DecryptPayments',
      storedPolicy({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: KEY_ARN,
            Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
          },
        ],
      }),
    );
    expect((await app.send(new GetSecretValueCommand({ SecretId: STRIPE }))).Name).toBe(
      'prod/payments/stripe',
    );
    expect(sandbox.state.secret(STRIPE)?.lastAccessedDate).toBeInstanceOf(Date);
    // The read role has no secretsmanager:GetSecretValue at all.
    expect((await failure(secrets.send(new GetSecretValueCommand({ SecretId: DATABASE })))).name).toBe(
      'AccessDeniedException',
    );
  });

  it('lets another account in only through the secret’s resource policy, and never through aws/secretsmanager', async () => {
    const hub = sandboxClients(sandbox).secretsManager;
    expect((await failure(hub.send(new DescribeSecretCommand({ SecretId: DATABASE })))).name).toBe(
      'AccessDeniedException',
    );
    sandbox.state
      .account(HUB_ACCOUNT)
      .roles.get('access-review-functions')
      ?.inlinePolicies.set(
        'ReadMemberSecrets',
        storedPolicy({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
              Resource: '*',
            },
          ],
        }),
      );
    // The hub's own policy is not enough across accounts: the secret must say so too.
    expect((await failure(hub.send(new DescribeSecretCommand({ SecretId: DATABASE })))).name).toBe(
      'AccessDeniedException',
    );
    const secret = sandbox.state.secret(DATABASE);
    if (!secret) throw new Error('no database secret');
    secret.resourcePolicy = storedPolicy(
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${HUB_ACCOUNT}:role/access-review-functions` },
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: '*',
          },
        ],
      },
      'resource',
    );
    expect((await hub.send(new DescribeSecretCommand({ SecretId: DATABASE }))).Name).toBe(
      'prod/api/database',
    );
    expect(await failure(hub.send(new GetSecretValueCommand({ SecretId: DATABASE })))).toMatchObject({
      name: 'AccessDeniedException',
      message: 'Access to KMS is not allowed',
    });
  });
});

describe('KMS', () => {
  it('describes a key named by id, ARN, alias or alias ARN', async () => {
    for (const keyId of [
      PAYMENTS_KEY_ID,
      KEY_ARN,
      'alias/payments',
      `arn:aws:kms:${REGION}:${MEMBER_ACCOUNT}:alias/payments`,
    ]) {
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
      expect(KeyMetadata).toMatchObject({
        KeyId: PAYMENTS_KEY_ID,
        Arn: KEY_ARN,
        AWSAccountId: MEMBER_ACCOUNT,
        KeyManager: 'CUSTOMER',
        KeyState: 'Enabled',
      });
    }
    const managed = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/secretsmanager' }));
    expect(managed.KeyMetadata?.KeyManager).toBe('AWS');
    const missing = await failure(
      kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })),
    );
    expect(missing).toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 400 } });
    const otherRegion = sandboxClients(sandbox, { credentials: read, region: 'us-east-1' }).kms;
    expect((await failure(otherRegion.send(new DescribeKeyCommand({ KeyId: PAYMENTS_KEY_ID })))).name).toBe(
      'NotFoundException',
    );
  });

  it('answers key policies, the aws/secretsmanager one as AWS writes it', async () => {
    const payments = await kms.send(new GetKeyPolicyCommand({ KeyId: PAYMENTS_KEY_ID }));
    expect(payments.PolicyName).toBe('default');
    expect(payments.Policy).toBe(sandbox.state.key(PAYMENTS_KEY_ID)?.policy.text);
    const managedId = (await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/secretsmanager' })))
      .KeyMetadata?.KeyId;
    const managed = JSON.parse((await kms.send(new GetKeyPolicyCommand({ KeyId: managedId }))).Policy ?? '');
    expect(managed.Id).toBe('auto-secretsmanager-2');
    expect(managed.Statement[0].Condition.StringEquals).toEqual({
      'kms:CallerAccount': MEMBER_ACCOUNT,
      'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`,
    });
    expect(
      (await failure(kms.send(new GetKeyPolicyCommand({ KeyId: PAYMENTS_KEY_ID, PolicyName: 'other' }))))
        .name,
    ).toBe('NotFoundException');
  });

  it('refuses GetKeyPolicy and PutKeyPolicy on a key of another account, as KMS does (not cross-account)', async () => {
    const key = sandbox.state.key(PAYMENTS_KEY_ID);
    if (!key) throw new Error('no payments key');
    // Even a key policy that gives the other account every KMS action does not make them work.
    key.policy = storedPolicy(
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: [`arn:aws:iam::${MEMBER_ACCOUNT}:root`, `arn:aws:iam::${HUB_ACCOUNT}:root`] },
            Action: 'kms:*',
            Resource: '*',
          },
        ],
      },
      'resource',
    );
    const hub = sandboxClients(sandbox).kms;
    const read = await failure(hub.send(new GetKeyPolicyCommand({ KeyId: KEY_ARN })));
    expect(read).toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 400 } });
    expect(read.message).toBe(`Key '${KEY_ARN}' does not exist`);
    const write = await failure(
      hub.send(new PutKeyPolicyCommand({ KeyId: KEY_ARN, Policy: key.policy.text, PolicyName: 'default' })),
    );
    expect(write.name).toBe('NotFoundException');
    // In its own account the same call is answered.
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: KEY_ARN }))).Policy).toBe(key.policy.text);
  });

  it('lists aliases, the AWS managed one included', async () => {
    const { Aliases, Truncated } = await kms.send(new ListAliasesCommand({}));
    expect(Truncated).toBe(false);
    expect(Aliases?.map((a) => [a.AliasName, a.TargetKeyId === PAYMENTS_KEY_ID])).toEqual([
      ['alias/payments', true],
      ['alias/aws/secretsmanager', false],
    ]);
  });

  it('lets the key policy decide: without the account root in it, IAM policies do not count', async () => {
    const key = sandbox.state.key(PAYMENTS_KEY_ID);
    if (!key) throw new Error('no payments key');
    key.policy = storedPolicy(
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${MEMBER_ACCOUNT}:role/access-review/access-review-revoke` },
            Action: 'kms:*',
            Resource: '*',
          },
        ],
      },
      'resource',
    );
    const denied = await failure(kms.send(new DescribeKeyCommand({ KeyId: PAYMENTS_KEY_ID })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toMatch(/kms:DescribeKey on resource: arn:aws:kms:eu-west-1:111122223333:key\//);

    const revoke = (await clientsAs(sandbox, REVOKE_ROLE_ARN)).kms;
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${MEMBER_ACCOUNT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
    await revoke.send(new PutKeyPolicyCommand({ KeyId: PAYMENTS_KEY_ID, Policy: policy }));
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: PAYMENTS_KEY_ID }))).Policy).toBe(policy);
  });
});
