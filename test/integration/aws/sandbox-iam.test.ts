import {
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsCommandOutput,
  GetGroupCommand,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListOpenIDConnectProvidersCommand,
  ListPolicyVersionsCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  RemoveUserFromGroupCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxClients } from '../../../sandbox/aws/clients';
import {
  exampleAwsScenario,
  MEMBER_ACCOUNT,
  READ_ROLE_ARN,
  REVOKE_ROLE_ARN,
} from '../../../sandbox/aws/example';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import { clientsAs, closeChecked, failure } from './helpers';

const decode = (text: string | undefined) => JSON.parse(decodeURIComponent(text ?? '')) as unknown;

const READ_PAYMENTS_ARN = `arn:aws:iam::${MEMBER_ACCOUNT}:policy/access-review-managed/ReadPaymentsSecrets`;
const ACCESS_REVIEW_READ_ARN = `arn:aws:iam::${MEMBER_ACCOUNT}:policy/access-review/AccessReviewRead`;

let sandbox: AwsSandbox;
let reader: IAMClient;
let revoker: IAMClient;

beforeEach(async () => {
  sandbox = await startAwsSandbox(exampleAwsScenario());
  reader = (await clientsAs(sandbox, READ_ROLE_ARN)).iam;
  revoker = (await clientsAs(sandbox, REVOKE_ROLE_ARN)).iam;
});

afterEach(() => closeChecked(sandbox));

async function allDetails(client: IAMClient, maxItems?: number) {
  const pages: GetAccountAuthorizationDetailsCommandOutput[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(
      new GetAccountAuthorizationDetailsCommand({
        ...(maxItems ? { MaxItems: maxItems } : {}),
        ...(marker ? { Marker: marker } : {}),
      }),
    );
    pages.push(page);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return pages;
}

describe('GetAccountAuthorizationDetails', () => {
  it('lists the member account’s users, groups, roles and the policies it uses, documents URL-encoded', async () => {
    const [details] = await allDetails(reader);
    expect(details?.IsTruncated).toBe(false);
    expect(
      details?.UserDetailList?.map((u) => [
        u.UserName,
        u.GroupList,
        u.PermissionsBoundary?.PermissionsBoundaryArn,
      ]),
    ).toEqual([
      ['alice', ['payments-readers'], undefined],
      ['bob', [], READ_PAYMENTS_ARN],
    ]);
    expect(details?.GroupDetailList?.map((g) => g.GroupName)).toEqual(['payments-readers']);
    const roles = details?.RoleDetailList ?? [];
    expect(roles.map((r) => r.RoleName)).toEqual([
      'access-review-read',
      'access-review-revoke',
      'deploy-api',
    ]);

    const deploy = roles.find((r) => r.RoleName === 'deploy-api');
    // Encoded on the wire as IAM does: the raw field is not JSON until decoded.
    expect(deploy?.AssumeRolePolicyDocument?.startsWith('%7B')).toBe(true);
    const scenarioTrust = exampleAwsScenario().accounts[1]?.roles?.find(
      (r) => r.name === 'deploy-api',
    )?.trustPolicy;
    expect(decode(deploy?.AssumeRolePolicyDocument)).toEqual(scenarioTrust);
    expect(deploy?.InstanceProfileList).toEqual([]);
    expect(deploy?.AttachedManagedPolicies).toEqual([
      { PolicyName: 'ReadPaymentsSecrets', PolicyArn: READ_PAYMENTS_ARN },
    ]);
    expect(deploy?.RoleLastUsed?.LastUsedDate).toEqual(new Date('2026-10-01T12:00:00Z'));
    expect(deploy?.Tags).toEqual([{ Key: 'owner', Value: 'platform' }]);

    const revokeRole = roles.find((r) => r.RoleName === 'access-review-revoke');
    expect(revokeRole?.RolePolicyList?.map((p) => p.PolicyName)).toEqual(['Revoke']);
    expect(decode(revokeRole?.RolePolicyList?.[0]?.PolicyDocument)).toMatchObject({ Version: '2012-10-17' });

    const policies = new Map(details?.Policies?.map((p) => [p.Arn, p]));
    // Only the AWS managed policies the account attaches are listed, beside its own.
    expect([...policies.keys()].sort()).toEqual(
      [ACCESS_REVIEW_READ_ARN, READ_PAYMENTS_ARN, 'arn:aws:iam::aws:policy/SecretsManagerReadWrite'].sort(),
    );
    const readPayments = policies.get(READ_PAYMENTS_ARN);
    expect(readPayments).toMatchObject({
      Path: '/access-review-managed/',
      DefaultVersionId: 'v1',
      AttachmentCount: 2,
      PermissionsBoundaryUsageCount: 1,
      IsAttachable: true,
    });
    expect(readPayments?.PolicyVersionList?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
      ['v1', true],
    ]);
    expect(decode(readPayments?.PolicyVersionList?.[0]?.Document)).toMatchObject({
      Statement: [{ Action: 'secretsmanager:GetSecretValue' }],
    });
  });

  it('filters by entity type', async () => {
    const roles = await reader.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role'] }));
    expect(roles.RoleDetailList).toHaveLength(3);
    expect([roles.UserDetailList, roles.GroupDetailList, roles.Policies]).toEqual([[], [], []]);
    const aws = await reader.send(
      new GetAccountAuthorizationDetailsCommand({ Filter: ['AWSManagedPolicy'] }),
    );
    expect(aws.Policies?.map((p) => p.PolicyName)).toEqual(['SecretsManagerReadWrite']);
  });

  it('pages with MaxItems and Marker, and the pages add up to the whole', async () => {
    const [whole] = await allDetails(reader);
    const pages = await allDetails(reader, 2);
    expect(pages.length).toBe(5);
    for (const page of pages.slice(0, -1)) expect(page).toMatchObject({ IsTruncated: true });
    expect(pages.at(-1)?.IsTruncated).toBe(false);
    expect(pages.at(-1)?.Marker).toBeUndefined();
    const names = (list: 'UserDetailList' | 'RoleDetailList') =>
      pages
        .flatMap((page) => page[list] ?? [])
        .map((entry) => ('RoleName' in entry ? entry.RoleName : entry.UserName));
    expect(names('RoleDetailList')).toEqual(whole?.RoleDetailList?.map((r) => r.RoleName));
    expect(names('UserDetailList')).toEqual(whole?.UserDetailList?.map((u) => u.UserName));
    expect(pages.flatMap((page) => page.Policies ?? [])).toHaveLength(whole?.Policies?.length ?? -1);

    const bad = await failure(reader.send(new GetAccountAuthorizationDetailsCommand({ Marker: 'bm9wZQ==' })));
    expect(bad.name).toBe('InvalidInputException');
  });

  it('is refused to a caller whose policies do not allow it', async () => {
    // The hub's functions may assume member roles, nothing more.
    const hub = sandboxClients(sandbox).iam;
    const error = await failure(hub.send(new GetAccountAuthorizationDetailsCommand({})));
    expect(error.name).toBe('AccessDenied');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toBe(
      'User: arn:aws:sts::000000000000:assumed-role/access-review-functions/access-review is not authorized to perform: iam:GetAccountAuthorizationDetails on resource: * because no identity-based policy allows the iam:GetAccountAuthorizationDetails action',
    );
  });
});

describe('roles and trust policies', () => {
  it('answers GetRole, and NoSuchEntity (404) for a role that does not exist', async () => {
    const { Role } = await reader.send(new GetRoleCommand({ RoleName: 'deploy-api' }));
    expect(Role).toMatchObject({
      RoleName: 'deploy-api',
      Path: '/',
      Arn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/deploy-api`,
      Description: 'GitHub Actions deploys of acme/api',
      MaxSessionDuration: 3600,
    });
    expect(Role?.RoleId).toMatch(/^AROA[A-Z2-7]{17}$/);
    const missing = await failure(reader.send(new GetRoleCommand({ RoleName: 'nobody' })));
    expect(missing).toMatchObject({
      name: 'NoSuchEntityException',
      message: 'The role with name nobody cannot be found.',
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('keeps the exact text UpdateAssumeRolePolicy wrote and returns it URL-encoded everywhere', async () => {
    const text = `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::${MEMBER_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/api:ref:refs/heads/main (it's *!)"}}}]
}`;
    await revoker.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'deploy-api', PolicyDocument: text }));
    const { Role } = await reader.send(new GetRoleCommand({ RoleName: 'deploy-api' }));
    expect(decodeURIComponent(Role?.AssumeRolePolicyDocument ?? '')).toBe(text);
    // RFC 3986: even the characters encodeURIComponent leaves alone are escaped.
    expect(Role?.AssumeRolePolicyDocument).not.toMatch(/[!'()*]/);
    const roles = await reader.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role'] }));
    const listed = roles.RoleDetailList?.find((r) => r.RoleName === 'deploy-api');
    expect(decodeURIComponent(listed?.AssumeRolePolicyDocument ?? '')).toBe(text);
    const stored = sandbox.state.account(MEMBER_ACCOUNT).roles.get('deploy-api')?.trustPolicy;
    expect(stored?.text).toBe(text);
    expect(stored?.document).toMatchObject({ Statement: [{ Action: 'sts:AssumeRoleWithWebIdentity' }] });
  });

  it('refuses malformed documents with MalformedPolicyDocument and keeps the old one', async () => {
    const before = sandbox.state.account(MEMBER_ACCOUNT).roles.get('deploy-api')?.trustPolicy.text;
    const cases: Array<[string, string]> = [
      ['{"Version": "2012-10-17", "Statement": [', 'Syntax errors in policy.'],
      ['{"Version": "2012-10-17"}', 'Missing required field Statement.'],
      [
        '{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}',
        'Missing required field Principal.',
      ],
    ];
    for (const [document, message] of cases) {
      const error = await failure(
        revoker.send(new UpdateAssumeRolePolicyCommand({ RoleName: 'deploy-api', PolicyDocument: document })),
      );
      expect(error).toMatchObject({
        name: 'MalformedPolicyDocumentException',
        message,
        $metadata: { httpStatusCode: 400 },
      });
    }
    expect(sandbox.state.account(MEMBER_ACCOUNT).roles.get('deploy-api')?.trustPolicy.text).toBe(before);
  });

  it('refuses a write the read role is not allowed, in AWS’s words', async () => {
    const error = await failure(
      reader.send(
        new UpdateAssumeRolePolicyCommand({
          RoleName: 'deploy-api',
          PolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
        }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toMatch(
      /^User: arn:aws:sts::111122223333:assumed-role\/access-review-read\/sandbox-test is not authorized to perform: iam:UpdateAssumeRolePolicy on resource: arn:aws:iam::111122223333:role\/deploy-api because no identity-based policy allows/,
    );
  });
});

describe('managed policies and their versions', () => {
  it('creates versions, moves the default, and the new default decides what callers may do', async () => {
    expect(
      (await reader.send(new GetPolicyCommand({ PolicyArn: ACCESS_REVIEW_READ_ARN }))).Policy,
    ).toMatchObject({
      PolicyName: 'AccessReviewRead',
      DefaultVersionId: 'v1',
      AttachmentCount: 1,
    });
    const withoutGetRole = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['iam:GetPolicy', 'iam:ListPolicyVersions'], Resource: '*' }],
    });
    const created = await revoker.send(
      new CreatePolicyVersionCommand({
        PolicyArn: ACCESS_REVIEW_READ_ARN,
        PolicyDocument: withoutGetRole,
        SetAsDefault: true,
      }),
    );
    expect(created.PolicyVersion).toMatchObject({ VersionId: 'v2', IsDefaultVersion: true });
    const fetched = await revoker.send(
      new GetPolicyVersionCommand({ PolicyArn: ACCESS_REVIEW_READ_ARN, VersionId: 'v2' }),
    );
    expect(decodeURIComponent(fetched.PolicyVersion?.Document ?? '')).toBe(withoutGetRole);

    // The read role's managed policy no longer allows GetRole.
    const denied = await failure(reader.send(new GetRoleCommand({ RoleName: 'deploy-api' })));
    expect(denied.name).toBe('AccessDenied');
    const listed = await reader.send(new ListPolicyVersionsCommand({ PolicyArn: ACCESS_REVIEW_READ_ARN }));
    expect(listed.Versions?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
      ['v2', true],
      ['v1', false],
    ]);
    expect(listed.Versions?.[0]?.Document).toBeUndefined();
  });

  it('allows five versions (LimitExceeded after), and never deletes the default (DeleteConflict)', async () => {
    // The SDK retries LimitExceededException as throttling; one attempt keeps the test fast.
    const revoker = (await clientsAs(sandbox, REVOKE_ROLE_ARN, { maxAttempts: 1 })).iam;
    const document = (n: number) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: `iam:GetRole`, Resource: `*`, Sid: `S${n}` }],
      });
    for (let n = 2; n <= 5; n++) {
      await revoker.send(
        new CreatePolicyVersionCommand({ PolicyArn: READ_PAYMENTS_ARN, PolicyDocument: document(n) }),
      );
    }
    const limit = await failure(
      revoker.send(
        new CreatePolicyVersionCommand({ PolicyArn: READ_PAYMENTS_ARN, PolicyDocument: document(6) }),
      ),
    );
    expect(limit).toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 409 } });
    expect(limit.message).toMatch(/up to 5 versions/);

    const conflict = await failure(
      revoker.send(new DeletePolicyVersionCommand({ PolicyArn: READ_PAYMENTS_ARN, VersionId: 'v1' })),
    );
    expect(conflict).toMatchObject({ name: 'DeleteConflictException', $metadata: { httpStatusCode: 409 } });
    await revoker.send(new DeletePolicyVersionCommand({ PolicyArn: READ_PAYMENTS_ARN, VersionId: 'v3' }));
    const created = await revoker.send(
      new CreatePolicyVersionCommand({ PolicyArn: READ_PAYMENTS_ARN, PolicyDocument: document(7) }),
    );
    // Version ids are never reused.
    expect(created.PolicyVersion?.VersionId).toBe('v6');
    const versions = sandbox.state.managedPolicy(READ_PAYMENTS_ARN)?.versions.map((v) => v.versionId);
    expect(versions).toEqual(['v1', 'v2', 'v4', 'v5', 'v6']);

    const missing = await failure(
      reader.send(new GetPolicyVersionCommand({ PolicyArn: READ_PAYMENTS_ARN, VersionId: 'v3' })),
    );
    expect(missing).toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
  });

  it('refuses to change an AWS managed policy', async () => {
    const error = await failure(
      revoker.send(
        new CreatePolicyVersionCommand({
          PolicyArn: 'arn:aws:iam::aws:policy/SecretsManagerReadWrite',
          PolicyDocument:
            '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}',
        }),
      ),
    );
    expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });
});

describe('inline policies', () => {
  it('puts and gets role, user and group policies with their exact text', async () => {
    const text =
      '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"secretsmanager:*","Resource":"*"}]}';
    const revokeRoleOnly = (await clientsAs(sandbox, REVOKE_ROLE_ARN)).iam;
    await revokeRoleOnly.send(
      new PutRolePolicyCommand({ RoleName: 'deploy-api', PolicyName: 'Quarantine', PolicyDocument: text }),
    );
    await revoker.send(
      new PutUserPolicyCommand({ UserName: 'alice', PolicyName: 'Quarantine', PolicyDocument: text }),
    );
    await revoker.send(
      new PutGroupPolicyCommand({
        GroupName: 'payments-readers',
        PolicyName: 'Quarantine',
        PolicyDocument: text,
      }),
    );
    const role = await reader.send(
      new GetRolePolicyCommand({ RoleName: 'deploy-api', PolicyName: 'Quarantine' }),
    );
    expect(role).toMatchObject({ RoleName: 'deploy-api', PolicyName: 'Quarantine' });
    expect(decodeURIComponent(role.PolicyDocument ?? '')).toBe(text);
    const user = await reader.send(new GetUserPolicyCommand({ UserName: 'alice', PolicyName: 'Quarantine' }));
    expect(decodeURIComponent(user.PolicyDocument ?? '')).toBe(text);
    const group = await reader.send(
      new GetGroupPolicyCommand({ GroupName: 'payments-readers', PolicyName: 'Quarantine' }),
    );
    expect(decodeURIComponent(group.PolicyDocument ?? '')).toBe(text);
    expect(
      sandbox.state.account(MEMBER_ACCOUNT).users.get('alice')?.inlinePolicies.get('Quarantine')?.text,
    ).toBe(text);

    const missing = await failure(
      reader.send(new GetRolePolicyCommand({ RoleName: 'deploy-api', PolicyName: 'Nope' })),
    );
    expect(missing).toMatchObject({
      name: 'NoSuchEntityException',
      message: 'The role policy with name Nope cannot be found.',
    });
    const principal = await failure(
      revoker.send(
        new PutRolePolicyCommand({
          RoleName: 'deploy-api',
          PolicyName: 'Bad',
          PolicyDocument: '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}',
        }),
      ),
    );
    expect(principal).toMatchObject({
      name: 'MalformedPolicyDocumentException',
      message: 'Policy document should not specify a principal.',
    });
  });
});

describe('groups and OIDC providers', () => {
  it('lists group members, and RemoveUserFromGroup shows in GetGroup and in the authorization details', async () => {
    const before = await reader.send(new GetGroupCommand({ GroupName: 'payments-readers' }));
    expect(before.Group?.GroupName).toBe('payments-readers');
    expect(before.Users?.map((u) => u.UserName)).toEqual(['alice']);
    await revoker.send(new RemoveUserFromGroupCommand({ GroupName: 'payments-readers', UserName: 'alice' }));
    const after = await reader.send(new GetGroupCommand({ GroupName: 'payments-readers' }));
    expect(after.Users).toEqual([]);
    const users = await reader.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['User'] }));
    expect(users.UserDetailList?.find((u) => u.UserName === 'alice')?.GroupList).toEqual([]);
    const noUser = await failure(
      revoker.send(new RemoveUserFromGroupCommand({ GroupName: 'payments-readers', UserName: 'zed' })),
    );
    expect(noUser.name).toBe('NoSuchEntityException');
  });

  it('lists the OpenID Connect providers', async () => {
    const { OpenIDConnectProviderList } = await reader.send(new ListOpenIDConnectProvidersCommand({}));
    expect(OpenIDConnectProviderList).toEqual([
      { Arn: `arn:aws:iam::${MEMBER_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
    ]);
  });
});
