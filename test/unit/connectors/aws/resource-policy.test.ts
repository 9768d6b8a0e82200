import { isDeepStrictEqual } from 'node:util';
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
import {
  type PolicyPrincipal,
  principalDenySid,
  removePrincipal,
} from '../../../../functions/connectors/aws/resource-policy';
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
      denied: [],
      edits: [`removed ${ci.value} from Readers (statement 1) of the resource policy of prod/db`],
      alreadyDenied: false,
      blockers: [],
    });
  });

  it('drops a statement left without principals, and returns null when none is left', () => {
    const policy = doc({
      Effect: 'Allow',
      Principal: { AWS: ci.value },
      Action: [READ_ACTION],
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
      denied: [],
      edits: [],
      alreadyDenied: false,
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

describe('removing a principal keeps what else the statement gave it', () => {
  const rotator: PolicyPrincipal = { type: 'iam_user', value: `arn:aws:iam::${A}:user/rotator` };
  const api = `arn:aws:iam::${A}:role/api`;
  const rotation = [READ_ACTION, 'secretsmanager:PutSecretValue', 'secretsmanager:DescribeSecret'];
  const where = 'the resource policy of prod/db';

  it('its only principal: the statement loses GetSecretValue and keeps its other actions, Sid and conditions', () => {
    const condition = { Bool: { 'aws:SecureTransport': 'true' } };
    const policy = doc({
      Sid: 'Rotator',
      Effect: 'Allow',
      Principal: { AWS: rotator.value },
      Action: rotation,
      Resource: '*',
      Condition: condition,
    });
    const removal = removePrincipal(policy, secret, rotator);
    expect(removal.after).toEqual(
      doc({
        Sid: 'Rotator',
        Effect: 'Allow',
        Principal: { AWS: rotator.value },
        Action: ['secretsmanager:PutSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: '*',
        Condition: condition,
      }),
    );
    expect(removal.edits).toEqual([
      `remove ${READ_ACTION} from the Action of Rotator (statement 1) of ${where} (secretsmanager:PutSecretValue, secretsmanager:DescribeSecret stay): ${rotator.value} is its only principal`,
    ]);
    expect(removal.dropped).toEqual([]);
  });

  it('with other principals: they keep the statement; a copy with its own Sid gives the principal the other actions', () => {
    const policy = doc({
      Sid: 'Ops',
      Effect: 'Allow',
      Principal: { AWS: [rotator.value, api], Service: 'lambda.amazonaws.com' },
      Action: rotation,
      Resource: '*',
    });
    const removal = removePrincipal(policy, secret, rotator);
    expect(statementsOf(removal.after)).toEqual([
      {
        Sid: 'Ops',
        Effect: 'Allow',
        Principal: { AWS: [api], Service: 'lambda.amazonaws.com' },
        Action: rotation,
        Resource: '*',
      },
      {
        Sid: 'OpsWithoutRead',
        Effect: 'Allow',
        Principal: { AWS: [rotator.value] },
        Action: ['secretsmanager:PutSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: '*',
      },
    ]);
    expect(removal.edited).toEqual([`Ops (statement 1) of ${where}`]);
  });

  it('"*" becomes NotAction GetSecretValue, a NotAction gains it: every other action stays', () => {
    const all = doc({ Effect: 'Allow', Principal: { AWS: rotator.value }, Action: '*', Resource: '*' });
    expect(statementsOf(removePrincipal(all, secret, rotator).after)).toEqual([
      { Effect: 'Allow', Principal: { AWS: rotator.value }, NotAction: READ_ACTION, Resource: '*' },
    ]);
    const notAction = doc({
      Effect: 'Allow',
      Principal: { AWS: rotator.value },
      NotAction: ['secretsmanager:DeleteSecret'],
      Resource: '*',
    });
    expect(statementsOf(removePrincipal(notAction, secret, rotator).after)).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: rotator.value },
        NotAction: ['secretsmanager:DeleteSecret', READ_ACTION],
        Resource: '*',
      },
    ]);
  });

  it('an action wildcard that cannot lose the read: the statement stays, a Deny names exactly the principal, and says what else it ends', () => {
    const policy = doc({
      Sid: 'Admins',
      Effect: 'Allow',
      Principal: { AWS: [rotator.value, api] },
      Action: 'secretsmanager:*',
      Resource: '*',
    });
    const removal = removePrincipal(policy, secret, rotator);
    expect(removal.after).toEqual(
      doc(statementsOf(policy)[0] as PolicyStatement, {
        Sid: principalDenySid(rotator.value),
        Effect: 'Deny',
        Principal: { AWS: rotator.value },
        Action: READ_ACTION,
        Resource: '*',
      }),
    );
    expect(removal.denied).toEqual([`Admins (statement 1) of ${where}`]);
    expect(removal.edits[0]).toContain(
      `so ${rotator.value} can then no longer read prod/db through its identity policies either`,
    );
    // Again: the Deny is there, nothing to do.
    expect(removePrincipal(removal.after as PolicyDocument, secret, rotator)).toMatchObject({
      alreadyDenied: true,
      edits: [],
    });
    // A whole account is never denied that way: it would cut its principals' other reads.
    const account = doc({
      Effect: 'Allow',
      Principal: { AWS: B },
      Action: 'secretsmanager:*',
      Resource: '*',
    });
    const removal2 = removePrincipal(account, secret, {
      type: 'aws_account',
      value: `arn:aws:iam::${B}:root`,
    });
    expect(removal2).toMatchObject({ after: account, edits: [] });
    expect(removal2.blockers[0]).toMatch(/narrow the statement's Action by hand/);
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
const SERVICE = 'lambda.amazonaws.com';
/** Secrets Manager actions a request may carry: the read, and others a statement may give with it. */
const PROBE_ACTIONS = [
  READ_ACTION,
  'secretsmanager:PutSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:DeleteSecret',
];
const actions = oneOrMany(
  fc.constantFrom(
    READ_ACTION,
    'secretsmanager:*',
    'secretsmanager:Get*',
    'secretsmanager:DescribeSecret',
    'secretsmanager:PutSecretValue',
    'kms:Decrypt',
    '*',
  ),
);
const statement: fc.Arbitrary<PolicyStatement> = fc
  .record(
    {
      Sid: fc.constantFrom('A', 'B', 'Readers'),
      Effect: fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Allow', 'Deny'),
      Principal: fc.oneof(
        fc.record({ AWS: oneOrMany(awsPrincipal) }),
        fc.record({ AWS: oneOrMany(awsPrincipal), Service: fc.constant(SERVICE) }),
      ),
      Action: actions,
      actionField: fc.constantFrom('Action', 'Action', 'NotAction'),
      Resource: fc.constantFrom('*', secret.arn, 'arn:aws:secretsmanager:*:*:secret:other-*'),
    },
    { requiredKeys: ['Effect', 'Principal', 'Action', 'actionField', 'Resource'] },
  )
  // Now and then a NotAction: the same values, as the list of what it does not allow.
  .map(({ Action, actionField, ...rest }) => ({ ...rest, [actionField]: Action }));
const policy: fc.Arbitrary<PolicyDocument> = fc
  .array(statement, { minLength: 1, maxLength: 6 })
  .map((statements) => doc(...statements));
const asPrincipal = (value: string): PolicyPrincipal => ({
  type:
    value === SERVICE
      ? ('aws_service' as const)
      : value.endsWith(':root')
        ? ('aws_account' as const)
        : value.includes(':role/')
          ? ('iam_role' as const)
          : ('iam_user' as const),
  value,
});

/**
 * A policy and the principal to remove: mostly one the policy names (as an ARN, or the service),
 * so the removal has something to do; sometimes any principal, named or not.
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
      .flatMap((item) => {
        const principals = principalsOf(item.Principal);
        return [...principals.aws, ...principals.service];
      })
      .filter((value) => value.startsWith('arn:') || value === SERVICE);
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

/** Whether `items` appear in `within` in the same order (others may be in between). */
function inOrder(items: PolicyStatement[], within: PolicyStatement[]): boolean {
  let next = 0;
  for (const item of within) if (next < items.length && isDeepStrictEqual(item, items[next])) next++;
  return next === items.length;
}

describe('removing a principal, for any resource policy', () => {
  it('always removes its read and never touches what others are named for', () => {
    fc.assert(
      fc.property(policyAndTarget, ([before, principal]) => {
        const removal = removePrincipal(before, secret, principal);
        if (removal.alreadyDenied) {
          expect(removal.after).toBe(before);
          return;
        }
        const forms = accountForms(principal);
        const after = readers(removal.after);
        // The principal is no longer named in any statement that lets it read, unless a Deny
        // naming it was added (a wildcard statement that could not lose the read), or a person must act.
        const denied = statementsOf(removal.after).some(
          (item) => item.Effect === 'Deny' && item.Sid === principalDenySid(principal.value),
        );
        expect(denied).toBe(removal.denied.length > 0);
        if (!denied && removal.blockers.length === 0) {
          for (const form of forms) expect(after.has(form)).toBe(false);
        }
        // Everyone else is named by exactly as many reading statements as before.
        const others = (counts: Map<string, number>) =>
          [...counts].filter(([value]) => !forms.includes(value)).sort();
        expect(others(after)).toEqual(others(readers(before)));
        // Statements that do not let anyone read stay, in order; what is added names only the principal.
        const notReading = (document: PolicyDocument | null) =>
          statementsOf(document).filter((item) => !letsRead(item));
        expect(inOrder(notReading(before), notReading(removal.after))).toBe(true);
        for (const item of notReading(removal.after)) {
          if (notReading(before).some((old) => isDeepStrictEqual(old, item))) continue;
          const named = principalsOf(item.Principal);
          expect(
            [...named.aws, ...named.service].every(
              (value) => forms.includes(value) || value.includes(':assumed-role/'),
            ),
          ).toBe(true);
        }
        // No statement is left without a principal, or without actions.
        for (const item of statementsOf(removal.after)) {
          const named = principalsOf(item.Principal);
          expect(named.aws.length + named.service.length).toBeGreaterThan(0);
          expect(listOf(item.Action ?? item.NotAction).length).toBeGreaterThan(0);
        }
        // Revoking again finds nothing left to do.
        if (removal.blockers.length === 0 && removal.after) {
          expect(removePrincipal(removal.after, secret, principal).edits).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/* The same, judged by iam-simulate rather than by reading the statements. */

async function allows(
  document: PolicyDocument | null,
  principal: string,
  action = READ_ACTION,
): Promise<boolean> {
  const account = principal.split(':')[4] ?? '';
  const result = await runSimulation(
    {
      // Outside the secret's account the principal's own side must allow too: assume it does.
      identityPolicies:
        account === A || principal === SERVICE
          ? []
          : [{ name: 'all', policy: doc({ Effect: 'Allow', Action: '*', Resource: '*' }) }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(document ? { resourcePolicy: document } : {}),
      request: {
        action,
        principal,
        resource: { accountId: A, resource: secret.arn },
        contextVariables: {},
      },
    },
    {},
  );
  return result.resultType !== 'error' && result.overallResult === 'Allowed';
}

const everyone = [
  ...accounts.flatMap((account) =>
    ['role/ci', 'role/api', 'user/alice', 'user/bob', 'user/nobody'].map(
      (name) => `arn:aws:iam::${account}:${name}`,
    ),
  ),
  SERVICE,
];

describe('removing a principal, as AWS would evaluate the result', () => {
  it('the principal can no longer read (unless a blocker says why); every other (principal, action) it allowed is still allowed, and nothing more', async () => {
    await fc.assert(
      fc.asyncProperty(policyAndTarget, async ([before, principal]) => {
        const removal = removePrincipal(before, secret, principal);
        const account = principal.type === 'aws_account' ? principal.value.split(':')[4] : undefined;
        // Who the revoked grant is: the principal itself, or every principal of the account.
        const revoked = (who: string) =>
          account === undefined ? who === principal.value : who.split(':')[4] === account;
        for (const who of everyone) {
          for (const action of PROBE_ACTIONS) {
            const was = await allows(before, who, action);
            const now = await allows(removal.after, who, action);
            if (action === READ_ACTION && revoked(who)) {
              // Never widened.
              if (now) expect(was).toBe(true);
              // A principal of a revoked account that a statement names on its own: a grant of its own, kept.
              if (account !== undefined && readers(before).has(who)) {
                expect({ who, action, allowed: now }).toEqual({ who, action, allowed: was });
                continue;
              }
              // Otherwise gone, unless a blocker says why.
              if (now) expect(removal.blockers.length).toBeGreaterThan(0);
              continue;
            }
            expect({ who, action, allowed: now }).toEqual({ who, action, allowed: was });
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
