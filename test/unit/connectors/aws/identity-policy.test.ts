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
const READ = 'secretsmanager:GetSecretValue';

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
    expect(narrowed.edits[0]).toContain(
      'its Resource arn:aws:secretsmanager:*:*:secret:prod/* also covers other secrets, which stay readable',
    );
    // The Deny overrides the holders' other policies too: the edit warns, naming them.
    expect(
      narrowIdentityPolicy(
        doc(allowRead('arn:aws:secretsmanager:*:*:secret:prod/*')),
        DB,
        where,
        'user frank',
      ).edits[0],
    ).toContain(
      `Warning: a Deny overrides every Allow, so user frank can then no longer read ${DB} through any other policy either`,
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
    // An action wildcard other than "*" too, whatever the resources.
    expect(
      narrowIdentityPolicy(
        doc({ Effect: 'Allow', Action: 'secretsmanager:*', NotResource: OTHER }),
        DB,
        where,
      ).denyAdded,
    ).toBe(true);
  });

  it('"*" and NotResource are narrowed exactly, without a Deny: NotResource gains the secret', () => {
    const all = narrowIdentityPolicy(doc(allowRead('*', { Sid: 'All' })), DB, where);
    expect(all.denyAdded).toBe(false);
    expect(statementsOf(all.after)).toEqual([
      { Sid: 'All', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', NotResource: DB },
    ]);
    const notResource = narrowIdentityPolicy(
      doc({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', NotResource: [OTHER] }),
      DB,
      where,
    );
    expect(statementsOf(notResource.after)).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', NotResource: [OTHER, DB] },
    ]);
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

  it('a statement that also grants other actions on the secret keeps them, without a Deny', () => {
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
    expect(narrowed.denyAdded).toBe(false);
    expect(statementsOf(narrowed.after)).toEqual([{ ...rotate, Action: rotate.Action.slice(1) }]);
    expect(narrowed.edits).toEqual([
      `remove secretsmanager:GetSecretValue from the Action of Rotate (statement 1) of ${where} (${rotate.Action.slice(1).join(', ')} stay)`,
    ]);
  });

  it('other actions on several resources: split in two, the read stays on the other resources', () => {
    const ops = {
      Sid: 'Ops',
      Effect: 'Allow' as const,
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: [DB, OTHER],
      Condition: { Bool: { 'aws:SecureTransport': 'true' } },
    };
    const narrowed = narrowIdentityPolicy(
      doc(ops, { Sid: 'OpsReadOtherResources', Effect: 'Deny', Action: 'iam:*', Resource: '*' }),
      DB,
      where,
    );
    expect(narrowed.denyAdded).toBe(false);
    expect(statementsOf(narrowed.after)).toEqual([
      { ...ops, Action: ['secretsmanager:DescribeSecret'] },
      { ...ops, Sid: 'OpsReadOtherResources2', Action: ['secretsmanager:GetSecretValue'], Resource: [OTHER] },
      { Sid: 'OpsReadOtherResources', Effect: 'Deny', Action: 'iam:*', Resource: '*' },
    ]);
    expect(narrowed.edits[0]).toMatch(
      /^split Ops \(statement 1\) of .* in two, so that only secretsmanager:GetSecretValue on /,
    );
    // "*" actions: every action but the read stays, through NotAction.
    expect(
      statementsOf(
        narrowIdentityPolicy(doc({ Effect: 'Allow', Action: '*', Resource: '*' }), DB, where).after,
      ),
    ).toEqual([
      { Effect: 'Allow', NotAction: 'secretsmanager:GetSecretValue', Resource: '*' },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', NotResource: DB },
    ]);
  });

  it('an action wildcard that cannot lose the read keeps the Deny, and warns what else it ends', () => {
    const all = { Effect: 'Allow' as const, Action: 'secretsmanager:*', Resource: [DB, OTHER] };
    const narrowed = narrowIdentityPolicy(doc(all), DB, where, 'every member of group ops');
    expect(statementsOf(narrowed.after)).toEqual([
      all,
      { Sid: denySid(DB), Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: DB },
    ]);
    expect(narrowed.edits).toEqual([
      `add statement ${denySid(DB)} denying secretsmanager:GetSecretValue on ${DB}, because statement 1 of ${where}: its Action secretsmanager:* also covers other actions, which stay allowed, and IAM cannot write "secretsmanager:* but not secretsmanager:GetSecretValue", so the statement stays as written. Warning: a Deny overrides every Allow, so every member of group ops can then no longer read ${DB} through any other policy either (another identity policy, a group's, the secret's resource policy); if one is to keep that read, rewrite the wildcard statement by hand instead`,
    ]);
  });
});

/*
 * For any identity policy, next to the principal's other policies: after narrowing, the principal
 * cannot read the secret through it, and every other (action, resource) that the principal's
 * policies allowed before is still allowed, nothing more (checked by iam-simulate). The read of
 * the secret through the other policies stays too, unless a Deny had to be added (an action
 * wildcard other than "*", or a resource pattern), which the edit then warns about.
 */

const DEV = secretArn('dev/db');
const BUCKET_OBJECT = 'arn:aws:s3:::acme-reports/q4.csv';
const ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:DescribeSecret',
  'secretsmanager:UpdateSecretVersionStage',
];
const PROBES: [string, string][] = [
  ...ACTIONS.flatMap((action) => [DB, OTHER, DEV].map((resource): [string, string] => [action, resource])),
  ['s3:GetObject', BUCKET_OBJECT],
];
const actionPatterns = [...ACTIONS, 'secretsmanager:*', 'secretsmanager:Get*', '*', 's3:GetObject'];
const resourcePatterns = [DB, OTHER, 'arn:aws:secretsmanager:*:*:secret:prod/*', '*', BUCKET_OBJECT];
const identityStatement: fc.Arbitrary<PolicyStatement> = fc
  .record({
    sid: fc.option(fc.constantFrom('Read', 'Rotate', 'All', 'ReadReadOtherResources'), { nil: undefined }),
    actions: fc.uniqueArray(fc.constantFrom(...actionPatterns), { minLength: 1, maxLength: 3 }),
    notAction: fc.boolean(),
    resources: fc.uniqueArray(fc.constantFrom(...resourcePatterns), { minLength: 1, maxLength: 3 }),
    notResource: fc.constantFrom(false, false, true),
    list: fc.boolean(),
  })
  .map(({ sid, actions, notAction, resources, notResource, list }) => {
    const action = list || actions.length > 1 ? actions : (actions[0] ?? '*');
    const resource = list || resources.length > 1 ? resources : (resources[0] ?? '*');
    return {
      ...(sid ? { Sid: sid } : {}),
      Effect: 'Allow' as const,
      ...(notAction ? { NotAction: action } : { Action: action }),
      ...(notResource ? { NotResource: resource } : { Resource: resource }),
    };
  });
/** The principal's other policies: nothing, a plain read of the secret (frank's "Keep"), or anything. */
const otherPolicies: fc.Arbitrary<PolicyDocument[]> = fc.oneof(
  fc.constant<PolicyDocument[]>([]),
  fc.constant<PolicyDocument[]>([doc(allowRead(DB, { Sid: 'Keep' }))]),
  fc.array(identityStatement, { minLength: 1, maxLength: 2 }).map((statements) => [doc(...statements)]),
);

const simulator = new Simulator();
/** Whether a principal holding these identity policies may do `action` on `resource` (iam-simulate). */
const allows = async (documents: PolicyDocument[], action: string, resource: string) =>
  (
    await simulator.run(
      {
        identityPolicies: documents.map((policy, index) => ({ name: `p${index}`, policy })),
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

describe("a revoke leaves the principal's other grants alone", () => {
  it('Ops (Get + Describe) revoked, Keep (Get) kept: the read through Keep and the describe through Ops stay', async () => {
    const ops = doc(
      { Sid: 'Ops', Effect: 'Allow', Action: [READ, 'secretsmanager:DescribeSecret'], Resource: DB },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' },
    );
    const keep = doc(allowRead(DB, { Sid: 'Keep' }));
    const narrowed = narrowIdentityPolicy(ops, DB, where);
    const after = narrowed.after as PolicyDocument;
    expect(await allows([after], READ, DB)).toBe(false);
    expect(await allows([after, keep], READ, DB)).toBe(true);
    expect(await allows([after], 'secretsmanager:DescribeSecret', DB)).toBe(true);
    expect(narrowed.denyAdded).toBe(false);
  });

  it('a Resource "*" with an explicit action list: NotResource keeps the read elsewhere, no Deny', async () => {
    const narrowed = narrowIdentityPolicy(
      doc({ Effect: 'Allow', Action: [READ, 'secretsmanager:DescribeSecret'], Resource: '*' }),
      DB,
      where,
    );
    const after = narrowed.after as PolicyDocument;
    expect(narrowed.denyAdded).toBe(false);
    expect(await allows([after], READ, DB)).toBe(false);
    expect(await allows([after], READ, OTHER)).toBe(true);
    expect(await allows([after], 'secretsmanager:DescribeSecret', DB)).toBe(true);
    expect(await allows([after, doc(allowRead(DB))], READ, DB)).toBe(true);
  });
});

describe('narrowing any identity policy', () => {
  it('removes exactly the read of the secret through it: everything else the principal was allowed stays allowed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(identityStatement, { minLength: 1, maxLength: 3 }),
        otherPolicies,
        async (statements, others) => {
          const before = doc(...statements);
          const narrowed = narrowIdentityPolicy(before, DB, where, 'user alice');
          if (!(await allows([before], 'secretsmanager:GetSecretValue', DB))) {
            expect(narrowed.after).toBeUndefined();
            return;
          }
          const after = narrowed.after as PolicyDocument;
          expect(after).toBeDefined();
          expect(statementsOf(after).length).toBeGreaterThan(0);
          // IAM wants Sids unique within a policy: a narrowing never makes them collide.
          const unique = (document: PolicyDocument) => {
            const sids = statementsOf(document).flatMap((statement) =>
              statement.Sid ? [statement.Sid] : [],
            );
            return new Set(sids).size === sids.length;
          };
          if (unique(before)) expect(unique(after)).toBe(true);
          expect(await allows([after], 'secretsmanager:GetSecretValue', DB)).toBe(false);
          // The read through the principal's other policies: kept, unless a Deny had to be added (and said so).
          const otherRead = await allows(others, 'secretsmanager:GetSecretValue', DB);
          const read = await allows([after, ...others], 'secretsmanager:GetSecretValue', DB);
          if (narrowed.denyAdded) {
            expect(read).toBe(false);
            expect(narrowed.edits.at(-1)).toContain(
              'Warning: a Deny overrides every Allow, so user alice can then no longer read',
            );
          } else {
            expect({ otherRead, read }).toEqual({ otherRead, read: otherRead });
          }
          for (const [action, resource] of PROBES) {
            if (action === 'secretsmanager:GetSecretValue' && resource === DB) continue;
            const was = await allows([before, ...others], action, resource);
            expect({ action, resource, allowed: await allows([after, ...others], action, resource) }).toEqual(
              {
                action,
                resource,
                allowed: was,
              },
            );
          }
        },
      ),
      { numRuns: 120 },
    );
  });
});
