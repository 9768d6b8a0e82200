import { GetAccountAuthorizationDetailsResponse$ } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { encodePolicyText } from '../../sandbox/aws/documents';
import { AwsScenarioError } from '../../sandbox/aws/errors';
import { exampleAwsScenario } from '../../sandbox/aws/example';
import { uniqueId } from '../../sandbox/aws/ids';
import { jsonErrorProblems } from '../../sandbox/aws/json-protocol';
import { queryErrorProblems, readQueryInput } from '../../sandbox/aws/query-protocol';
import {
  type AwsScenarioInput,
  awsScenarioProblems,
  awsScenarioSchema,
  describeAwsIssues,
} from '../../sandbox/aws/scenario';
import { operationModel, schemaProblems } from '../../sandbox/aws/schemas';
import { startAwsSandbox } from '../../sandbox/aws/server';
import { secretArn } from '../../sandbox/aws/state';

describe('schema checks', () => {
  it('checks values against the SDK’s own schema objects', () => {
    expect(
      schemaProblems(GetAccountAuthorizationDetailsResponse$, {
        UserDetailList: [{ UserName: 'alice', CreateDate: new Date(), GroupList: 'admins' }],
        RoleDetailList: {},
        IsTruncated: 'false',
        Nope: 1,
      }),
    ).toEqual([
      'UserDetailList[0].GroupList: expected a list, got string "admins"',
      'RoleDetailList: expected a list, got an object',
      'IsTruncated: expected a boolean, got string "false"',
      'Nope: GetAccountAuthorizationDetailsResponse has no member Nope',
    ]);
    expect(
      schemaProblems(GetAccountAuthorizationDetailsResponse$, {
        UserDetailList: [],
        IsTruncated: false,
        Marker: 'm',
      }),
    ).toEqual([]);
  });

  it('knows which errors each service answers, and with what status', () => {
    expect(queryErrorProblems('iam', 'NoSuchEntity', 404)).toEqual([]);
    expect(queryErrorProblems('iam', 'AccessDenied', 403)).toEqual([]);
    expect(queryErrorProblems('iam', 'NoSuchEntity', 400)).toEqual([
      'error code NoSuchEntity: AWS answers it with 404, not 400',
    ]);
    expect(queryErrorProblems('sts', 'NoSuchEntity', 404)).toHaveLength(1);
    expect(
      jsonErrorProblems('secretsmanager', { __type: 'ResourceNotFoundException', Message: 'x' }),
    ).toEqual([]);
    expect(
      jsonErrorProblems('secretsmanager', { __type: 'ResourceNotFoundException', message: 'x' }),
    ).toEqual(['message: ResourceNotFoundException has no member message']);
    expect(jsonErrorProblems('kms', { __type: 'NoSuchEntity', message: 'x' })).toHaveLength(1);
  });
});

describe('Query requests', () => {
  it('reads lists, numbers and nested members by the operation’s model and names what it does not know', () => {
    const model = operationModel('iam', 'GetAccountAuthorizationDetails');
    const read = readQueryInput(
      model?.input,
      new URLSearchParams(
        'Action=GetAccountAuthorizationDetails&Version=2010-05-08&Filter.member.2=Group&Filter.member.1=Role&MaxItems=5',
      ),
    );
    expect(read).toEqual({ input: { Filter: ['Role', 'Group'], MaxItems: 5 }, problems: [] });
    expect(readQueryInput(model?.input, new URLSearchParams('Filter=&MaxItems=lots&Extra=1'))).toEqual({
      input: { Filter: [], MaxItems: Number.NaN },
      problems: ['MaxItems: "lots" is not a number', 'Extra: the operation has no such parameter'],
    });
  });
});

function scenarioWith(change: (scenario: AwsScenarioInput) => void) {
  const scenario = exampleAwsScenario();
  change(scenario);
  return awsScenarioSchema.parse(scenario);
}

describe('aws scenario', () => {
  it('accepts the example', () => {
    expect(awsScenarioProblems(awsScenarioSchema.parse(exampleAwsScenario()))).toEqual([]);
  });

  it('names every broken reference at once', () => {
    const problems = awsScenarioProblems(
      scenarioWith((scenario) => {
        const member = scenario.accounts[1];
        if (!member?.users || !member.roles || !member.secrets || !member.groups)
          throw new Error('example changed');
        member.users[0] = { name: 'alice', groups: ['payments-readers', 'nobody'] };
        member.users.push({ name: 'alice' });
        member.groups[0] = { name: 'payments-readers', managedPolicies: ['Missing'] };
        member.roles[0] = {
          ...member.roles[0],
          name: 'access-review-read',
          permissionsBoundary: 'arn:aws:iam::aws:policy/Nope',
        } as (typeof member.roles)[0];
        member.secrets.push({ name: 'prod/other', region: 'us-east-1', kmsKey: 'payments' });
        member.secrets.push({ name: 'prod/lost', region: 'eu-west-1', kmsKey: 'lost' });
        // A key of another account is named by its ARN, and must exist there.
        member.secrets.push({
          name: 'prod/elsewhere',
          region: 'eu-west-1',
          kmsKey: 'arn:aws:kms:eu-west-1:000000000000:key/00000000-0000-4000-8000-000000000000',
        });
        scenario.hubPrincipal = 'arn:aws:iam::000000000000:role/not-there';
      }),
    );
    expect(problems).toEqual([
      'aws.accounts[1].users[2].name: "alice" is listed twice',
      'aws.accounts[1].groups[0].managedPolicies[0]: no managed policy "Missing" in account 111122223333 or in aws.awsManagedPolicies',
      'aws.accounts[1].users[0].groups[1]: no group "nobody" in account 111122223333',
      'aws.accounts[1].roles[0].permissionsBoundary: no AWS managed policy "arn:aws:iam::aws:policy/Nope" in aws.awsManagedPolicies',
      'aws.accounts[1].secrets[5].kmsKey: key "payments" is in eu-west-1, the secret in us-east-1',
      'aws.accounts[1].secrets[6].kmsKey: no key "lost" in account 111122223333',
      'aws.accounts[1].secrets[7].kmsKey: no key arn:aws:kms:eu-west-1:000000000000:key/00000000-0000-4000-8000-000000000000 in the scenario',
      'aws.hubPrincipal: no role "/not-there" in account 000000000000',
    ]);
  });

  it('refuses __proto__, constructor and prototype as record keys, in policies too', () => {
    const scenario = JSON.parse(
      JSON.stringify(exampleAwsScenario()).replace('"team":"payments"', '"__proto__":"payments"'),
    ) as unknown;
    const tags = awsScenarioSchema.safeParse(scenario);
    expect(tags.success).toBe(false);
    expect(describeAwsIssues(tags.error?.issues ?? [])).toContain(
      'aws.accounts[1].users[0].tags.__proto__: is a reserved key name',
    );

    const nested = exampleAwsScenario();
    const policy = nested.accounts[1]?.policies?.[0];
    if (!policy) throw new Error('example changed');
    policy.document = JSON.parse(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"constructor":{}}}]}',
    );
    const inPolicy = awsScenarioSchema.safeParse(nested);
    expect(describeAwsIssues(inPolicy.error?.issues ?? []).join('\n')).toMatch(
      /Condition\.constructor: is a reserved key name/,
    );
  });

  it('refuses documents that are not policies, and ones iam-simulate cannot read', async () => {
    const noStatement = exampleAwsScenario();
    const group = noStatement.accounts[1]?.groups?.[0];
    if (!group) throw new Error('example changed');
    group.inlinePolicies = { Empty: { Version: '2012-10-17' } };
    expect(describeAwsIssues(awsScenarioSchema.safeParse(noStatement).error?.issues ?? [])).toEqual([
      'aws.accounts[1].groups[0].inlinePolicies.Empty: not a valid identity policy: Missing required field Statement.',
    ]);

    const unreadable = exampleAwsScenario();
    const policy = unreadable.accounts[1]?.policies?.[0];
    if (!policy) throw new Error('example changed');
    policy.document = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'getsecretvalue', Resource: '*' }],
    };
    const error = await startAwsSandbox(unreadable).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(AwsScenarioError);
    expect((error as AwsScenarioError).problems).toEqual([
      'arn:aws:iam::111122223333:policy/access-review-managed/ReadPaymentsSecrets: Statement[0].Action: Action must be a wildcard (*) or have 2 segments',
    ]);
  });
});

describe('identifiers', () => {
  it('derives secret ARNs and unique ids from a hash: stable, and different per name', () => {
    const arn = secretArn('111122223333', 'eu-west-1', 'prod/payments/stripe');
    expect(arn).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod\/payments\/stripe-[A-Za-z0-9]{6}$/,
    );
    expect(secretArn('111122223333', 'eu-west-1', 'prod/payments/stripe')).toBe(arn);
    expect(secretArn('111122223333', 'eu-west-1', 'prod/payments/adyen').slice(-6)).not.toBe(arn.slice(-6));
    expect(uniqueId('AROA', 'arn:aws:iam::1:role/a')).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(uniqueId('AROA', 'arn:aws:iam::1:role/a')).not.toBe(uniqueId('AROA', 'arn:aws:iam::1:role/b'));
  });

  it('URL-encodes documents the RFC 3986 way', () => {
    const text = `{"Sid": "it's (all) *!"}`;
    expect(encodePolicyText(text)).toBe('%7B%22Sid%22%3A%20%22it%27s%20%28all%29%20%2A%21%22%7D');
    expect(decodeURIComponent(encodePolicyText(text))).toBe(text);
  });
});
