import { GetAccountAuthorizationDetailsCommand, GetRoleCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { type SandboxCredentials, sandboxClients } from '../../../sandbox/aws/clients';
import { exampleAwsScenario, HUB_ACCOUNT, MEMBER_ACCOUNT, READ_ROLE_ARN } from '../../../sandbox/aws/example';
import { type AwsSandbox, type AwsSandboxOptions, startAwsSandbox } from '../../../sandbox/aws/server';
import { assumeExampleRole, failure } from './helpers';

let sandbox: AwsSandbox;

async function start(options: AwsSandboxOptions = {}): Promise<SandboxCredentials> {
  sandbox = await startAwsSandbox(exampleAwsScenario(), options);
  return assumeExampleRole(sandbox, READ_ROLE_ARN);
}

afterEach(async () => {
  await sandbox.close();
});

/** A request signed as `credentials` would sign it, for shapes the SDK cannot send. */
function raw(
  credentials: SandboxCredentials,
  service: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(sandbox.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20261201/eu-west-1/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`,
      ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
      ...headers,
    },
    body,
  });
}

describe('recording', () => {
  it('records each request with its service, action, caller, account and answer', async () => {
    const credentials = await start();
    const { iam } = sandboxClients(sandbox, { credentials });
    await iam.send(new GetRoleCommand({ RoleName: 'deploy-api' }));
    await failure(iam.send(new GetRoleCommand({ RoleName: 'nobody' })));
    expect(sandbox.requests).toEqual([
      {
        service: 'sts',
        action: 'AssumeRole',
        account: HUB_ACCOUNT,
        caller: `arn:aws:sts::${HUB_ACCOUNT}:assumed-role/access-review-functions/access-review`,
        region: 'eu-west-1',
        status: 200,
        injected: false,
      },
      {
        service: 'iam',
        action: 'GetRole',
        account: MEMBER_ACCOUNT,
        caller: `arn:aws:sts::${MEMBER_ACCOUNT}:assumed-role/access-review-read/sandbox-test`,
        region: 'us-east-1',
        status: 200,
        injected: false,
      },
      expect.objectContaining({ action: 'GetRole', status: 404, code: 'NoSuchEntity' }),
    ]);
    expect(sandbox.violations).toEqual([]);
  });
});

describe('failure injection', () => {
  it('fails the matching requests the given number of times, and the SDK’s retries get through', async () => {
    const credentials = await start();
    sandbox.failNext({
      status: 400,
      code: 'ThrottlingException',
      times: 2,
      match: { action: 'ListSecrets' },
    });
    const { secretsManager, iam } = sandboxClients(sandbox, { credentials });
    // Not matched: passes and does not use up the failure.
    await iam.send(new GetRoleCommand({ RoleName: 'deploy-api' }));
    const listed = await secretsManager.send(new ListSecretsCommand({}));
    expect(listed.$metadata.attempts).toBe(3);
    expect(
      sandbox.requests.filter((r) => r.action === 'ListSecrets').map((r) => [r.status, r.injected]),
    ).toEqual([
      [400, true],
      [400, true],
      [200, false],
    ]);
    expect(sandbox.violations).toEqual([]);
  });

  it('answers in the service’s own error shape', async () => {
    const credentials = await start();
    sandbox.failNext({
      status: 503,
      code: 'ServiceUnavailable',
      message: 'Service is unavailable',
      match: { service: 'iam' },
    });
    const { iam } = sandboxClients(sandbox, { credentials, maxAttempts: 1 });
    expect(await failure(iam.send(new GetRoleCommand({ RoleName: 'deploy-api' })))).toMatchObject({
      name: 'ServiceUnavailable',
      message: 'Service is unavailable',
      $metadata: { httpStatusCode: 503 },
    });
    sandbox.failNext({ status: 400, code: 'Throttling', match: { action: /^GetAccount/ } });
    const page = await raw(credentials, 'iam', 'Action=GetAccountAuthorizationDetails&Version=2010-05-08');
    expect(page.status).toBe(400);
    expect(await page.text()).toMatch(
      /<Error><Type>Sender<\/Type><Code>Throttling<\/Code><Message>Injected Throttling<\/Message><\/Error>/,
    );
  });
});

describe('schema checking', () => {
  it('turns an answer the SDK’s model does not allow into a 500 and a violation', async () => {
    const credentials = await start({
      checkSchemas: true,
      transformOutput: ({ action, output }) =>
        action === 'GetRole'
          ? {
              Role: {
                ...(output?.Role as object),
                RoleId: undefined,
                MaxSessionDuration: '3600',
                Bogus: true,
              },
            }
          : output,
    });
    const { iam } = sandboxClients(sandbox, { credentials, maxAttempts: 1 });
    const error = await failure(iam.send(new GetRoleCommand({ RoleName: 'deploy-api' })));
    expect(error.$metadata.httpStatusCode).toBe(500);
    expect(sandbox.violations).toHaveLength(1);
    const message = sandbox.violations[0]?.message ?? '';
    expect(message).toContain('iam:GetRole response');
    expect(message).toContain('Role.MaxSessionDuration: expected a number, got string "3600"');
    expect(message).toContain('Role.Bogus: Role has no member Bogus');
    expect(message).toContain('Role.RoleId: required by Role but missing');
    expect(sandbox.requests.at(-1)).toMatchObject({
      action: 'GetRole',
      status: 500,
      code: 'InternalFailure',
    });
  });

  it('checks JSON answers too, timestamps included', async () => {
    const credentials = await start({
      checkSchemas: true,
      transformOutput: ({ action, output }) =>
        action === 'ListSecrets'
          ? { SecretList: [{ Name: 'x', CreatedDate: 'yesterday' }], NextToken: 7 }
          : output,
    });
    const { secretsManager } = sandboxClients(sandbox, { credentials, maxAttempts: 1 });
    expect((await failure(secretsManager.send(new ListSecretsCommand({})))).$metadata.httpStatusCode).toBe(
      500,
    );
    expect(sandbox.violations[0]?.message).toContain(
      'SecretList[0].CreatedDate: expected a timestamp (a Date), got string',
    );
    expect(sandbox.violations[0]?.message).toContain('NextToken: expected a string, got number 7');
  });

  it('refuses requests with parameters the operation does not have', async () => {
    const credentials = await start({ checkSchemas: true });
    const query = await raw(
      credentials,
      'iam',
      'Action=GetRole&Version=2010-05-08&RoleName=deploy-api&Roles.member.1=x',
    );
    expect(query.status).toBe(500);
    const json = await raw(
      credentials,
      'secretsmanager',
      JSON.stringify({ MaxResults: 'ten', Sort: 'asc' }),
      {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.ListSecrets',
      },
    );
    expect(json.status).toBe(500);
    expect(sandbox.violations.map((v) => v.message)).toEqual([
      expect.stringContaining('Roles.member.1: the operation has no such parameter'),
      expect.stringMatching(
        /MaxResults: expected a number, got string "ten".*Sort: ListSecretsRequest has no member Sort/,
      ),
    ]);
  });
});

describe('what the sandbox does not simulate', () => {
  it('says so with 501 instead of answering something made up', async () => {
    const credentials = await start();
    const { iam } = sandboxClients(sandbox, { credentials, maxAttempts: 1 });
    const error = await failure(iam.send(new ListRolesCommand({})));
    expect(error).toMatchObject({ name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
    expect(error.message).toBe('The local AWS sandbox does not implement iam:ListRoles.');
    const unknown = await raw(credentials, 'iam', 'Action=GetEverything&Version=2010-05-08');
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('<Code>InvalidAction</Code>');
    // Both paths still answer as AWS would on the next call.
    await sandboxClients(sandbox, { credentials }).sts.send(new GetCallerIdentityCommand({}));
    await iam.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 1 }));
  });
});
