import { GetAccountAuthorizationDetailsCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxClients } from '../../../sandbox/aws/clients';
import { storedPolicy } from '../../../sandbox/aws/documents';
import {
  EXTERNAL_ID,
  exampleAwsScenario,
  HUB_ACCOUNT,
  MEMBER_ACCOUNT,
  READ_ROLE_ARN,
} from '../../../sandbox/aws/example';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import { assumeExampleRole, closeChecked, failure } from './helpers';

let sandbox: AwsSandbox;

beforeEach(async () => {
  sandbox = await startAwsSandbox(exampleAwsScenario());
});

afterEach(() => closeChecked(sandbox));

function assume(options: { externalId?: string; roleArn?: string; duration?: number; policy?: string } = {}) {
  return sandboxClients(sandbox).sts.send(
    new AssumeRoleCommand({
      RoleArn: options.roleArn ?? READ_ROLE_ARN,
      RoleSessionName: 'snapshot',
      ...(options.externalId !== undefined ? { ExternalId: options.externalId } : {}),
      ...(options.duration !== undefined ? { DurationSeconds: options.duration } : {}),
      ...(options.policy !== undefined ? { Policy: options.policy } : {}),
    }),
  );
}

const denial = (roleArn: string) =>
  `User: arn:aws:sts::${HUB_ACCOUNT}:assumed-role/access-review-functions/access-review is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;

describe('GetCallerIdentity', () => {
  it('answers who the base credentials act as: a session of the hub principal', async () => {
    const identity = await sandboxClients(sandbox).sts.send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({
      Account: HUB_ACCOUNT,
      Arn: `arn:aws:sts::${HUB_ACCOUNT}:assumed-role/access-review-functions/access-review`,
    });
    expect(identity.UserId).toMatch(/^AROA[A-Z2-7]{17}:access-review$/);
  });
});

describe('AssumeRole', () => {
  it('mints temporary credentials that act as the assumed role’s session', async () => {
    const before = Date.now();
    const answer = await assume({ externalId: EXTERNAL_ID, duration: 900 });
    expect(answer.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(answer.Credentials?.SecretAccessKey).toHaveLength(40);
    expect(answer.Credentials?.SessionToken?.length).toBeGreaterThan(100);
    const expiry = answer.Credentials?.Expiration?.getTime() ?? 0;
    expect(expiry).toBeGreaterThan(before + 890_000);
    expect(expiry).toBeLessThan(before + 910_000);
    const sessionArn = `arn:aws:sts::${MEMBER_ACCOUNT}:assumed-role/access-review-read/snapshot`;
    expect(answer.AssumedRoleUser?.Arn).toBe(sessionArn);

    const credentials = {
      accessKeyId: answer.Credentials?.AccessKeyId ?? '',
      secretAccessKey: answer.Credentials?.SecretAccessKey ?? '',
      sessionToken: answer.Credentials?.SessionToken ?? '',
    };
    const session = sandboxClients(sandbox, { credentials });
    const identity = await session.sts.send(new GetCallerIdentityCommand({}));
    expect(identity).toMatchObject({
      Account: MEMBER_ACCOUNT,
      Arn: sessionArn,
      UserId: answer.AssumedRoleUser?.AssumedRoleId,
    });
    // IAM answers about the member account the session belongs to.
    const { Role } = await session.iam.send(new GetRoleCommand({ RoleName: 'access-review-read' }));
    expect(Role?.RoleLastUsed?.Region).toBe('eu-west-1');
    expect(sandbox.requests.at(-1)).toMatchObject({
      service: 'iam',
      action: 'GetRole',
      account: MEMBER_ACCOUNT,
      caller: sessionArn,
    });

    // The same key without its session token is nobody.
    const tokenless = sandboxClients(sandbox, {
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    });
    expect((await failure(tokenless.sts.send(new GetCallerIdentityCommand({})))).name).toBe(
      'InvalidClientTokenId',
    );
  });

  it('is refused when the trust policy’s condition (ExternalId) is not met', async () => {
    for (const externalId of [undefined, 'wrong-id']) {
      const error = await failure(assume(externalId === undefined ? {} : { externalId }));
      expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect(error.message).toBe(
        `${denial(READ_ROLE_ARN)} because no resource-based policy allows the sts:AssumeRole action`,
      );
    }
  });

  it('follows the trust policy as it is now, not as the scenario wrote it', async () => {
    const role = sandbox.state.account(MEMBER_ACCOUNT).roles.get('access-review-read');
    if (!role) throw new Error('no read role');
    role.trustPolicy = storedPolicy(
      {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${HUB_ACCOUNT}:role/someone-else` },
            Action: 'sts:AssumeRole',
          },
        ],
      },
      'trust',
    );
    expect((await failure(assume({ externalId: EXTERNAL_ID }))).name).toBe('AccessDenied');
  });

  it('is refused across accounts when the caller’s own policies do not allow sts:AssumeRole', async () => {
    sandbox.state.account(HUB_ACCOUNT).roles.get('access-review-functions')?.inlinePolicies.clear();
    const error = await failure(assume({ externalId: EXTERNAL_ID }));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe(
      `${denial(READ_ROLE_ARN)} because no identity-based policy allows the sts:AssumeRole action`,
    );
  });

  it('answers AccessDenied for a role that does not exist, as AWS does', async () => {
    const missing = `arn:aws:iam::${MEMBER_ACCOUNT}:role/access-review/nobody`;
    expect((await failure(assume({ roleArn: missing, externalId: EXTERNAL_ID }))).message).toMatch(
      new RegExp(`^${denial(missing).replace(/[/.*]/g, '\\$&')}`),
    );
  });

  it('refuses a session longer than role chaining allows', async () => {
    // The base credentials are a role session (as a Lambda function's are): one hour at most.
    const error = await failure(assume({ externalId: EXTERNAL_ID, duration: 7200 }));
    expect(error).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
    expect(error.message).toMatch(/exceeds the 1 hour session limit for roles assumed by role chaining/);
  });

  it('narrows the session to a session policy', async () => {
    const answer = await assume({
      externalId: EXTERNAL_ID,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:GetRole', Resource: '*' }],
      }),
    });
    const session = sandboxClients(sandbox, {
      credentials: {
        accessKeyId: answer.Credentials?.AccessKeyId ?? '',
        secretAccessKey: answer.Credentials?.SecretAccessKey ?? '',
        sessionToken: answer.Credentials?.SessionToken ?? '',
      },
    });
    await session.iam.send(new GetRoleCommand({ RoleName: 'deploy-api' }));
    expect((await failure(session.iam.send(new GetAccountAuthorizationDetailsCommand({})))).name).toBe(
      'AccessDenied',
    );
  });
});

describe('credentials the sandbox does not know', () => {
  const stranger = {
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  };

  it('get each service’s authentication error', async () => {
    const clients = sandboxClients(sandbox, { credentials: stranger });
    expect(await failure(clients.sts.send(new GetCallerIdentityCommand({})))).toMatchObject({
      name: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 403 },
    });
    expect((await failure(clients.iam.send(new GetRoleCommand({ RoleName: 'deploy-api' })))).name).toBe(
      'InvalidClientTokenId',
    );
    expect(await failure(clients.secretsManager.send(new ListSecretsCommand({})))).toMatchObject({
      name: 'UnrecognizedClientException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses expired sessions with ExpiredToken', async () => {
    const credentials = await assumeExampleRole(sandbox, READ_ROLE_ARN);
    const record = sandbox.state.credentials.get(credentials.accessKeyId);
    if (!record) throw new Error('the sandbox forgot the session');
    record.expiration = new Date(Date.now() - 1000);
    const clients = sandboxClients(sandbox, { credentials });
    expect(await failure(clients.iam.send(new GetRoleCommand({ RoleName: 'deploy-api' })))).toMatchObject({
      name: 'ExpiredToken',
      $metadata: { httpStatusCode: 403 },
    });
    expect((await failure(clients.secretsManager.send(new ListSecretsCommand({})))).name).toBe(
      'ExpiredTokenException',
    );
  });

  it('answers an unsigned request with MissingAuthenticationToken in the Query error shape', async () => {
    const response = await fetch(sandbox.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(response.status).toBe(403);
    const body = await response.text();
    expect(body).toMatch(
      /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code><Message>Request is missing Authentication Token<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
    );
    const json = await fetch(sandbox.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' },
      body: '{}',
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      Message: 'Missing Authentication Token',
    });
  });
});
