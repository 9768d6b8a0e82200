import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Simulator } from '../../../../functions/connectors/aws/evaluate';
import {
  denySid,
  isAutomatic,
  narrowIdentityPolicy,
  policyRefOf,
} from '../../../../functions/connectors/aws/identity-policy';
import {
  type PolicyDocument,
  type PolicyStatement,
  statementsOf,
} from '../../../../functions/connectors/aws/policy-documents';
import { A, allowRead, doc, secretArn } from './fixtures';

const DB = secretArn('prod/db');
const OTHER = secretArn('prod/other');
const where = `arn:aws:iam::${A}:policy/ReadProd`;

describe('which identity policy a grant names', () => {
  it('a managed policy by ARN, with its path; an inline one by owner and name', () => {
    expect(policyRefOf(`arn:aws:iam::${A}:policy/access-review-managed/ReadProd`)).toEqual({
      kind: 'managed',
      arn: `arn:aws:iam::${A}:policy/access-review-managed/ReadProd`,
      path: '/access-review-managed/',
      awsManaged: false,
    });
    expect(policyRefOf('arn:aws:iam::aws:policy/SecretsManagerReadWrite')).toMatchObject({
      awsManaged: true,
      path: '/',
    });
    expect(policyRefOf(`arn:aws:iam::${A}:group/team/platform#secrets`)).toEqual({
      kind: 'inline',
      ownerArn: `arn:aws:iam::${A}:group/team/platform`,
      ownerType: 'group',
      ownerName: 'platform',
      name: 'secrets',
      path: '/team/',
    });
    expect(() => policyRefOf('ReadProd')).toThrow(/neither a managed policy ARN/);
    expect(() => policyRefOf(`arn:aws:iam::${A}:policy/x#y`)).toThrow(
      /is not an IAM user, group or role ARN/,
    );
  });

  it('automatic remediation only on a configured path, never for an AWS managed policy', () => {
    const config = { automaticRemediation: { identityPolicyPaths: ['/access-review-managed/', '/'] } };
    expect(isAutomatic(policyRefOf(`arn:aws:iam::${A}:policy/access-review-managed/X`), config)).toBe(true);
    expect(isAutomatic(policyRefOf(`arn:aws:iam::${A}:policy/teams/X`), config)).toBe(false);
    expect(isAutomatic(policyRefOf('arn:aws:iam::aws:policy/SecretsManagerReadWrite'), config)).toBe(false);
    expect(isAutomatic(policyRefOf(`arn:aws:iam::${A}:user/alice#inline`), config)).toBe(true);
  });
});

describe('narrowing an identity policy', () => {
  it('removes the exact ARN from a Resource list', () => {
    const narrowed = narrowIdentityPolicy(doc(allowRead([DB, OTHER], { Sid: 'Read' })), DB, where);
    expect(narrowed).toEqual({
      after: doc(allowRead([OTHER], { Sid: 'Read' })),
      statements: [`Read (statement 1) of ${where}`],
      edits: [`remove "${DB}" from the Resource of Read (statement 1) of ${where}`],
      denyAdded: false,
    });
  });

  it('drops a statement whose only Resource it was; keeps unrelated statements', () => {
    const describe = { Effect: 'Allow' as const, Action: 'secretsmanager:DescribeSecret', Resource: '*' };
    const narrowed = narrowIdentityPolicy(doc(allowRead(DB), describe), DB, where);
    expect(statementsOf(narrowed.after)).toEqual([describe]);
  });

  it('a wildcard covering other secrets gets a Deny for exactly this secret, with a Sid saying why', () => {
    const narrowed = narrowIdentityPolicy(
      doc(allowRead('arn:aws:secretsmanager:*:*:secret:prod/*')),
      DB,
      where,
    );
    expect(narrowed.denyAdded).toBe(true);
    expect(statementsOf(narrowed.after)).toEqual([
      allowRead('arn:aws:secretsmanager:*:*:secret:prod/*'),
      { Sid: denySid(DB), Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: DB },
    ]);
    expect(denySid(DB)).toMatch(/^AccessReviewRevokedRead[0-9a-f]{12}$/);
    expect(narrowed.edits[0]).toMatch(
      /wildcard Resource \(or NotResource\) also covers other secrets, which stay readable/,
    );
    // A policy variable may cover it for this principal: a Deny too.
    expect(
      narrowIdentityPolicy(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a JS template
        doc(allowRead(['arn:aws:secretsmanager:*:*:secret:${aws:username}/*', DB])),
        DB,
        where,
      ).denyAdded,
    ).toBe(true);
    // NotResource and "*" too.
    expect(
      narrowIdentityPolicy(
        doc({ Effect: 'Allow', Action: 'secretsmanager:*', NotResource: OTHER }),
        DB,
        where,
      ).denyAdded,
    ).toBe(true);
  });

  it('a policy left with no statement keeps only the Deny: IAM refuses an empty one', () => {
    const narrowed = narrowIdentityPolicy(doc(allowRead(DB)), DB, where);
    expect(statementsOf(narrowed.after)).toEqual([
      { Sid: denySid(DB), Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: DB },
    ]);
  });

  it('nothing to do when the policy does not allow it, or already denies it', () => {
    expect(narrowIdentityPolicy(doc(allowRead(OTHER)), DB, where).after).toBeUndefined();
    const denied = doc(allowRead('*'), {
      Effect: 'Deny',
      Action: 'secretsmanager:GetSecretValue',
      Resource: DB,
    });
    expect(narrowIdentityPolicy(denied, DB, where).after).toBeUndefined();
  });

  it('a statement that also grants other actions on the secret keeps them: a Deny of the read only', () => {
    const rotate = {
      Sid: 'Rotate',
      Effect: 'Allow' as const,
      Action: [
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:DescribeSecret',
      ],
      Resource: DB,
    };
    const narrowed = narrowIdentityPolicy(doc(rotate), DB, where);
    expect(statementsOf(narrowed.after)).toEqual([
      rotate,
      { Sid: denySid(DB), Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: DB },
    ]);
    expect(narrowed.edits).toEqual([
      `add statement ${denySid(DB)} denying secretsmanager:GetSecretValue on ${DB}, because Rotate (statement 1) of ${where} grants more than secretsmanager:GetSecretValue on it (Action ${rotate.Action.join(', ')}), and those other actions stay allowed`,
    ]);
    // An action wildcard is other actions too, even with the secret named exactly.
    const all = { Effect: 'Allow' as const, Action: 'secretsmanager:*', Resource: [DB, OTHER] };
    expect(statementsOf(narrowIdentityPolicy(doc(all), DB, where).after)).toEqual([
      all,
      { Sid: denySid(DB), Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: DB },
    ]);
  });
});

/*
 * For any identity policy: after narrowing, the principal cannot read the secret, and every other
 * action on every secret that the policy allowed before is still allowed (checked by iam-simulate).
 */

const ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:UpdateSecretVersionStage',
];
const actionPatterns = [...ACTIONS, 'secretsmanager:*', 'secretsmanager:Get*', '*'];
const resourcePatterns = [DB, OTHER, 'arn:aws:secretsmanager:*:*:secret:prod/*', '*'];
const identityStatement: fc.Arbitrary<PolicyStatement> = fc
  .record({
    sid: fc.option(fc.constantFrom('Read', 'Rotate', 'All'), { nil: undefined }),
    actions: fc.uniqueArray(fc.constantFrom(...actionPatterns), { minLength: 1, maxLength: 3 }),
    notAction: fc.boolean(),
    resources: fc.uniqueArray(fc.constantFrom(...resourcePatterns), { minLength: 1, maxLength: 3 }),
    list: fc.boolean(),
  })
  .map(({ sid, actions, notAction, resources, list }) => {
    const action = list || actions.length > 1 ? actions : (actions[0] ?? '*');
    const resource = list || resources.length > 1 ? resources : (resources[0] ?? '*');
    return {
      ...(sid ? { Sid: sid } : {}),
      Effect: 'Allow' as const,
      ...(notAction ? { NotAction: action } : { Action: action }),
      Resource: resource,
    };
  });

describe('narrowing any identity policy', () => {
  it('removes exactly the read of the secret: everything else it allowed stays allowed', async () => {
    const simulator = new Simulator();
    const allows = async (document: PolicyDocument, action: string, resource: string) =>
      (
        await simulator.run(
          {
            identityPolicies: [{ name: 'p', policy: document }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            request: {
              action,
              principal: `arn:aws:iam::${A}:user/alice`,
              resource: { accountId: A, resource },
              contextVariables: {},
            },
          },
          [],
          `${action} on ${resource}`,
        )
      ).allowed;
    await fc.assert(
      fc.asyncProperty(fc.array(identityStatement, { minLength: 1, maxLength: 3 }), async (statements) => {
        const before = doc(...statements);
        const narrowed = narrowIdentityPolicy(before, DB, where);
        if (!(await allows(before, 'secretsmanager:GetSecretValue', DB))) {
          expect(narrowed.after).toBeUndefined();
          return;
        }
        const after = narrowed.after as PolicyDocument;
        expect(after).toBeDefined();
        expect(statementsOf(after).length).toBeGreaterThan(0);
        expect(await allows(after, 'secretsmanager:GetSecretValue', DB)).toBe(false);
        for (const action of ACTIONS) {
          for (const resource of [DB, OTHER]) {
            if (action === 'secretsmanager:GetSecretValue' && resource === DB) continue;
            const was = await allows(before, action, resource);
            expect({ action, resource, allowed: await allows(after, action, resource) }).toEqual({
              action,
              resource,
              allowed: was,
            });
          }
        }
      }),
      { numRuns: 80 },
    );
  });
});
