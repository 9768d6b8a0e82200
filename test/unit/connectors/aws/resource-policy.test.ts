import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { READ_ACTION } from '../../../../functions/connectors/aws/evaluate';
import {
  listOf,
  type PolicyDocument,
  type PolicyStatement,
  principalsOf,
  statementCoversAction,
  statementCoversResource,
  statementsOf,
} from '../../../../functions/connectors/aws/policy-documents';
import { type PolicyPrincipal, removePrincipal } from '../../../../functions/connectors/aws/resource-policy';
import { A, B, doc, OUTSIDE, secretArn } from './fixtures';

const secret = { arn: secretArn('prod/db'), name: 'prod/db' };
const ci: PolicyPrincipal = { type: 'iam_role', value: `arn:aws:iam::${B}:role/ci` };

describe('removing a principal from a resource policy', () => {
  it('removes it from a Principal list, keeping the list form and the other principals', () => {
    const policy = doc({
      Sid: 'Readers',
      Effect: 'Allow',
      Principal: { AWS: [ci.value, `arn:aws:iam::${A}:role/api`] },
      Action: READ_ACTION,
      Resource: '*',
    });
    const removal = removePrincipal(policy, secret, ci);
    expect(removal).toEqual({
      after: doc({
        Sid: 'Readers',
        Effect: 'Allow',
        Principal: { AWS: [`arn:aws:iam::${A}:role/api`] },
        Action: READ_ACTION,
        Resource: '*',
      }),
      edited: ['Readers (statement 1) of the resource policy of prod/db'],
      dropped: [],
      blockers: [],
    });
  });

  it('drops a statement left without principals, and returns null when none is left', () => {
    const policy = doc({
      Effect: 'Allow',
      Principal: { AWS: ci.value },
      Action: 'secretsmanager:*',
      Resource: '*',
    });
    expect(removePrincipal(policy, secret, ci)).toMatchObject({
      after: null,
      dropped: ['statement 1 of the resource policy of prod/db'],
    });
  });

  it('keeps a statement that still names a service', () => {
    const policy = doc({
      Effect: 'Allow',
      Principal: { AWS: ci.value, Service: 'lambda.amazonaws.com' },
      Action: READ_ACTION,
      Resource: '*',
    });
    expect(statementsOf(removePrincipal(policy, secret, ci).after)).toEqual([
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: READ_ACTION, Resource: '*' },
    ]);
  });

  it('an account is named by its root ARN or its bare id', () => {
    const policy = doc({
      Effect: 'Allow',
      Principal: { AWS: [OUTSIDE, `arn:aws:iam::${A}:root`] },
      Action: READ_ACTION,
      Resource: '*',
    });
    const removal = removePrincipal(policy, secret, {
      type: 'aws_account',
      value: `arn:aws:iam::${OUTSIDE}:root`,
    });
    expect(statementsOf(removal.after)[0]?.Principal).toEqual({ AWS: [`arn:aws:iam::${A}:root`] });
  });

  it("a role's sessions go with the role", () => {
    const session = `arn:aws:sts::${B}:assumed-role/ci/build-42`;
    const policy = doc({ Effect: 'Allow', Principal: { AWS: session }, Action: READ_ACTION, Resource: '*' });
    expect(removePrincipal(policy, secret, ci).after).toBeNull();
  });

  it('leaves Deny statements and statements that do not allow reading alone', () => {
    const policy = doc(
      { Effect: 'Deny', Principal: { AWS: ci.value }, Action: 'secretsmanager:DeleteSecret', Resource: '*' },
      {
        Effect: 'Allow',
        Principal: { AWS: ci.value },
        Action: 'secretsmanager:DescribeSecret',
        Resource: '*',
      },
    );
    expect(removePrincipal(policy, secret, ci)).toEqual({
      after: policy,
      edited: [],
      dropped: [],
      blockers: [],
    });
  });

  it('access through "*", NotPrincipal or a whole account is a blocker for a person, not an edit', () => {
    const star = doc({
      Sid: 'Org',
      Effect: 'Allow',
      Principal: '*',
      Action: READ_ACTION,
      Resource: '*',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } },
    });
    expect(removePrincipal(star, secret, ci)).toMatchObject({
      after: star,
      edited: [],
      blockers: [
        'Org (statement 1) of the resource policy of prod/db allows every principal ("*") under its conditions: removing "*" would change access for everyone it serves',
      ],
    });
    expect(removePrincipal(star, secret, { type: 'aws_anyone', value: '*' }).blockers).toHaveLength(1);
    const account = doc({ Effect: 'Allow', Principal: { AWS: B }, Action: READ_ACTION, Resource: '*' });
    expect(removePrincipal(account, secret, ci).blockers).toEqual([
      `statement 1 of the resource policy of prod/db names the whole account ${B}, not only ${ci.value}: removing the account would cut every principal of it that its own policies let read`,
    ]);
    const notPrincipal = doc({
      Effect: 'Allow',
      NotPrincipal: { AWS: `arn:aws:iam::${A}:root` },
      Action: READ_ACTION,
      Resource: '*',
    });
    expect(removePrincipal(notPrincipal, secret, ci).blockers[0]).toMatch(/NotPrincipal/);
  });

  it('a service is removed from Service, not from AWS', () => {
    const policy = doc({
      Effect: 'Allow',
      Principal: { Service: ['lambda.amazonaws.com', 'ecs-tasks.amazonaws.com'] },
      Action: READ_ACTION,
      Resource: '*',
    });
    const removal = removePrincipal(policy, secret, { type: 'aws_service', value: 'lambda.amazonaws.com' });
    expect(statementsOf(removal.after)[0]?.Principal).toEqual({ Service: ['ecs-tasks.amazonaws.com'] });
  });
});

/* Properties over arbitrary resource policies: the principal goes, nobody else is touched. */

const accounts = [A, B, OUTSIDE];
const awsPrincipal = fc.oneof(
  fc.constantFrom(...accounts),
  fc.constantFrom(...accounts).map((account) => `arn:aws:iam::${account}:root`),
  fc
    .tuple(
      fc.constantFrom(...accounts),
      fc.constantFrom('role', 'user'),
      fc.constantFrom('ci', 'api', 'alice', 'bob'),
    )
    .map(([account, type, name]) => `arn:aws:iam::${account}:${type}/${name}`),
);
const oneOrMany = <T extends string>(values: fc.Arbitrary<T>) =>
  fc.oneof(values, fc.uniqueArray(values, { minLength: 1, maxLength: 4 }));
const statement: fc.Arbitrary<PolicyStatement> = fc.record(
  {
    Sid: fc.constantFrom('A', 'B', 'Readers'),
    Effect: fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Allow', 'Deny'),
    Principal: fc.oneof(
      fc.record({ AWS: oneOrMany(awsPrincipal) }),
      fc.record({ AWS: oneOrMany(awsPrincipal), Service: fc.constant('lambda.amazonaws.com') }),
    ),
    Action: oneOrMany(
      fc.constantFrom(READ_ACTION, 'secretsmanager:*', 'secretsmanager:DescribeSecret', 'kms:Decrypt'),
    ),
    Resource: fc.constantFrom('*', secret.arn, 'arn:aws:secretsmanager:*:*:secret:other-*'),
  },
  { requiredKeys: ['Effect', 'Principal', 'Action', 'Resource'] },
);
const policy: fc.Arbitrary<PolicyDocument> = fc
  .array(statement, { minLength: 1, maxLength: 6 })
  .map((statements) => doc(...statements));
const asPrincipal = (value: string): PolicyPrincipal => ({
  type: value.endsWith(':root')
    ? ('aws_account' as const)
    : value.includes(':role/')
      ? ('iam_role' as const)
      : ('iam_user' as const),
  value,
});

/**
 * A policy and the principal to remove: mostly one the policy names (as an ARN), so the removal
 * has something to do; sometimes any principal, named or not.
 */
const policyAndTarget: fc.Arbitrary<[PolicyDocument, PolicyPrincipal]> = fc
  .tuple(
    policy,
    fc.nat(),
    awsPrincipal.filter((value) => value.startsWith('arn:')),
    fc.boolean(),
  )
  .map(([document, index, other, pickNamed]) => {
    const named = statementsOf(document)
      .flatMap((item) => principalsOf(item.Principal).aws)
      .filter((value) => value.startsWith('arn:'));
    const value = pickNamed && named.length > 0 ? (named[index % named.length] ?? other) : other;
    return [document, asPrincipal(value)];
  });

const letsRead = (item: PolicyStatement) =>
  item.Effect === 'Allow' &&
  statementCoversAction(item, READ_ACTION) &&
  statementCoversResource(item, secret.arn);

/** Principal value → how many statements that let read this secret name it. */
function readers(document: PolicyDocument | null): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of statementsOf(document)) {
    if (!letsRead(item)) continue;
    const named = principalsOf(item.Principal);
    for (const value of [...named.aws, ...named.service]) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
}

const accountForms = (principal: PolicyPrincipal) => {
  const account = principal.value.split(':')[4] ?? principal.value;
  return principal.type === 'aws_account' ? [account, `arn:aws:iam::${account}:root`] : [principal.value];
};

describe('removing a principal, for any resource policy', () => {
  it('always removes its read and never touches what others are named for', () => {
    fc.assert(
      fc.property(policyAndTarget, ([before, principal]) => {
        const removal = removePrincipal(before, secret, principal);
        const forms = accountForms(principal);
        const after = readers(removal.after);
        // The principal is no longer named in any statement that lets it read.
        for (const form of forms) expect(after.has(form)).toBe(false);
        // Everyone else is named by exactly as many reading statements as before.
        const others = [...readers(before)].filter(([value]) => !forms.includes(value));
        expect([...after].sort()).toEqual(others.sort());
        // Statements that do not let anyone read are left exactly as they were.
        const untouched = (document: PolicyDocument | null) =>
          statementsOf(document).filter((item) => !letsRead(item));
        expect(untouched(removal.after)).toEqual(untouched(before));
        // No statement is left without a principal.
        for (const item of statementsOf(removal.after)) {
          const named = principalsOf(item.Principal);
          expect(named.aws.length + named.service.length).toBeGreaterThan(0);
          expect(listOf(item.Action).length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/* The same, judged by iam-simulate rather than by reading the statements. */

async function canRead(document: PolicyDocument | null, principal: string): Promise<boolean> {
  const account = principal.split(':')[4] ?? '';
  const result = await runSimulation(
    {
      // Outside the secret's account the principal's own side must allow too: assume it does.
      identityPolicies:
        account === A ? [] : [{ name: 'all', policy: doc({ Effect: 'Allow', Action: '*', Resource: '*' }) }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(document ? { resourcePolicy: document } : {}),
      request: {
        action: READ_ACTION,
        principal,
        resource: { accountId: A, resource: secret.arn },
        contextVariables: {},
      },
    },
    {},
  );
  return result.resultType !== 'error' && result.overallResult === 'Allowed';
}

const everyone = accounts.flatMap((account) =>
  ['role/ci', 'role/api', 'user/alice', 'user/bob'].map((name) => `arn:aws:iam::${account}:${name}`),
);

describe('removing a principal, as AWS would evaluate the result', () => {
  it('the principal can no longer read through the policy unless a blocker says why; nobody else changes', async () => {
    await fc.assert(
      fc.asyncProperty(
        policyAndTarget.filter(([, principal]) => principal.type !== 'aws_account'),
        async ([before, principal]) => {
          const removal = removePrincipal(before, secret, principal);
          if (await canRead(removal.after, principal.value))
            expect(removal.blockers.length).toBeGreaterThan(0);
          for (const other of everyone.filter((value) => value !== principal.value)) {
            expect(await canRead(removal.after, other)).toBe(await canRead(before, other));
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
