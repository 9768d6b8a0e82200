import { describe, expect, it } from 'vitest';
import {
  denySid,
  isAutomatic,
  narrowIdentityPolicy,
  policyRefOf,
} from '../../../../functions/connectors/aws/identity-policy';
import { statementsOf } from '../../../../functions/connectors/aws/policy-documents';
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
});
