import { describe, expect, it } from 'vitest';
import {
  evaluateSecretRead,
  externalReaders,
  outsiderReadsNow,
  type SecretAccess,
  Simulator,
  trustAdmits,
} from '../../../../functions/connectors/aws/evaluate';
import type { IamPrincipal, KeyRecord, SecretRecord } from '../../../../functions/connectors/aws/inventory';
import {
  type PolicyDocument,
  type PolicyStatement,
  statementsOf,
} from '../../../../functions/connectors/aws/policy-documents';
import { secretReadGrants } from '../../../../functions/connectors/aws/secrets';
import { narrowTrust } from '../../../../functions/connectors/aws/trust-policy';
import {
  A,
  allowDecrypt,
  allowRead,
  allowReadBy,
  B,
  customerKey,
  customerKeyArn,
  doc,
  inline,
  inventory,
  managed,
  OUTSIDE,
  role,
  secret,
  secretArn,
  user,
} from './fixtures';

/*
 * The IAM evaluation rules AWS documents (policy evaluation logic; cross-account evaluation; KMS
 * key policies), each as one small inventory.
 */

const DB = secretArn('prod/db');

/** Most rules need one principal and one secret only; `keys` default to the AWS managed ones. */
const readAlone = (principal: IamPrincipal, target: SecretRecord, keys?: KeyRecord[]) =>
  evaluateSecretRead(
    inventory({ principals: [principal], secrets: [target], ...(keys ? { keys } : {}) }),
    principal,
    target,
    new Simulator(),
  );

describe('same account', () => {
  it('an identity policy allowing GetSecretValue is a path, with the statement and the AWS managed key', async () => {
    const policy = managed('ReadDb', doc(allowRead(DB, { Sid: 'ReadDb' })));
    const alice = user('alice', [policy]);
    const db = secret('prod/db');
    const access = await readAlone(alice, db);
    expect(access?.paths).toEqual([
      {
        via: { kind: 'identity_policy', policy: `arn:aws:iam::${A}:policy/ReadDb` },
        statements: [`ReadDb (statement 1) of arn:aws:iam::${A}:policy/ReadDb`],
        conditions: [],
      },
    ]);
    expect(access?.kmsStatements).toEqual([
      expect.stringMatching(
        /^Allow access through AWS Secrets Manager .* \(statement 1\) of the key policy of arn:aws:kms:/,
      ),
    ]);
    expect(access?.crossAccount).toBe(false);
  });

  it('an explicit deny wins over an allow, wherever the allow is', async () => {
    const allow = managed('ReadAll', doc(allowRead('*')));
    const deny = managed('NoProd', doc({ Effect: 'Deny', Action: 'secretsmanager:*', Resource: DB }));
    const alice = user('alice', [allow, deny]);
    const db = secret('prod/db', {
      resourcePolicy: doc(allowReadBy({ AWS: alice.arn })),
    });
    const inv = inventory({ principals: [alice], secrets: [db] });
    expect(await evaluateSecretRead(inv, alice, db, new Simulator())).toBeUndefined();
    // The same deny in the resource policy also wins over the identity allow.
    const bob = user('bob', [allow]);
    const guarded = secret('prod/db', {
      resourcePolicy: doc({
        Effect: 'Deny',
        Principal: { AWS: bob.arn },
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
      }),
    });
    expect(await readAlone(bob, guarded)).toBeUndefined();
  });

  it('a permission boundary limits what an identity policy grants', async () => {
    const allow = managed('ReadAll', doc(allowRead('*')));
    const onlyS3 = {
      arn: `arn:aws:iam::${A}:policy/OnlyS3`,
      document: doc({ Effect: 'Allow', Action: 's3:*', Resource: '*' }),
    };
    const limited = user('limited', [allow], { permissionBoundary: onlyS3 });
    const db = secret('prod/db');
    expect(await readAlone(limited, db)).toBeUndefined();
    const wide = {
      arn: `arn:aws:iam::${A}:policy/Wide`,
      document: doc({ Effect: 'Allow', Action: 'secretsmanager:*', Resource: '*' }),
    };
    const free = user('free', [allow], { permissionBoundary: wide });
    const access = await readAlone(free, db);
    expect(access?.paths.map((path) => path.via.kind)).toEqual(['identity_policy']);
  });

  it('a resource policy naming the principal suffices alone in the same account (no identity policy)', async () => {
    const ci = role('ci');
    const db = secret('prod/db', {
      resourcePolicy: doc(allowReadBy({ AWS: ci.arn }, { Sid: 'CiReads' })),
    });
    const access = await readAlone(ci, db);
    expect(access?.paths).toEqual([
      {
        via: { kind: 'resource_policy' },
        statements: ['CiReads (statement 1) of the resource policy of prod/db'],
        namedAs: 'principal',
        conditions: [],
      },
    ]);
  });

  it('a resource policy naming only the account root delegates to IAM: it does not suffice alone', async () => {
    const nobody = user('nobody');
    const db = secret('prod/db', {
      resourcePolicy: doc(allowReadBy({ AWS: `arn:aws:iam::${A}:root` })),
    });
    const simulator = new Simulator();
    expect(
      await evaluateSecretRead(inventory({ principals: [nobody], secrets: [db] }), nobody, db, simulator),
    ).toBeUndefined();
    // Prefiltered: no identity statement could allow it, and the policy does not name the user.
    expect(simulator.stats).toMatchObject({ pairs: 1, simulatedPairs: 0, simulations: 0 });
  });

  it('each policy that suffices alone is its own path: a user policy, a group policy, the resource policy', async () => {
    const own = managed('ReadDb', doc(allowRead(DB)));
    const viaGroup = inline(
      `arn:aws:iam::${A}:group/platform`,
      'secrets',
      doc(allowRead('arn:aws:secretsmanager:*:*:secret:prod/*')),
      'platform',
    );
    const alice = user('alice', [own, viaGroup]);
    const db = secret('prod/db', {
      resourcePolicy: doc({
        Effect: 'Allow',
        Principal: { AWS: [alice.arn, `arn:aws:iam::${A}:role/other`] },
        Action: 'secretsmanager:*',
        Resource: '*',
      }),
    });
    const access = await readAlone(alice, db);
    expect(access?.paths.map((path) => path.via)).toEqual([
      { kind: 'identity_policy', policy: `arn:aws:iam::${A}:policy/ReadDb` },
      { kind: 'identity_policy', policy: `arn:aws:iam::${A}:group/platform#secrets`, group: 'platform' },
      { kind: 'resource_policy' },
    ]);
    expect(access?.paths[1]?.statements).toEqual([
      `statement 1 of arn:aws:iam::${A}:group/platform#secrets (group platform)`,
    ]);
  });

  it('a statement naming everyone (*) is marked, so the aws_anyone grant stands for it', async () => {
    const anyone = user('anyone');
    const db = secret('prod/db', {
      resourcePolicy: doc(allowReadBy('*')),
    });
    const access = await readAlone(anyone, db);
    expect(access?.paths).toEqual([
      expect.objectContaining({ via: { kind: 'resource_policy' }, anyPrincipalOnly: true }),
    ]);
  });

  it('a condition the connector cannot know makes the path conditional, not absent', async () => {
    const vpc = managed(
      'FromVpc',
      doc(allowRead(DB, { Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1234' } } })),
    );
    const alice = user('alice', [vpc]);
    const db = secret('prod/db');
    const access = await readAlone(alice, db);
    expect(access?.paths[0]?.conditions).toEqual(['aws:SourceVpce StringEquals vpce-1234']);
  });

  it('conditions on keys the connector knows are decided: resource and principal tags', async () => {
    const abac = managed(
      'Abac',
      doc(
        allowRead('*', {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a JS template
          Condition: { StringEquals: { 'aws:ResourceTag/team': '${aws:PrincipalTag/team}' } },
        }),
      ),
    );
    const payments = user('pay', [abac], { tags: { team: 'payments' } });
    const web = user('web', [abac], { tags: { team: 'web' } });
    const db = secret('prod/db', { tags: { team: 'payments' } });
    const inv = inventory({ principals: [payments, web], secrets: [db] });
    expect((await evaluateSecretRead(inv, payments, db, new Simulator()))?.paths[0]?.conditions).toEqual([]);
    expect(await evaluateSecretRead(inv, web, db, new Simulator())).toBeUndefined();
  });
  it('a role whose trust policy allows sts:TagSession may carry any session tag: its principal tags are unknown', async () => {
    const abac = managed(
      'Abac',
      doc(
        allowRead('*', {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a JS template
          Condition: { StringEquals: { 'aws:PrincipalTag/team': '${aws:ResourceTag/team}' } },
        }),
      ),
    );
    const assume = { Effect: 'Allow' as const, Principal: { AWS: `arn:aws:iam::${A}:root` } };
    const tagged = role('abac', [abac], {
      tags: { team: 'web' },
      trustPolicy: doc({ ...assume, Action: ['sts:AssumeRole', 'sts:TagSession'] }),
    });
    const untagged = role('plain', [abac], {
      tags: { team: 'web' },
      trustPolicy: doc({ ...assume, Action: 'sts:AssumeRole' }),
    });
    const db = secret('prod/db', { tags: { team: 'payments' } });
    const inv = inventory({ principals: [tagged, untagged], secrets: [db] });
    const access = await evaluateSecretRead(inv, tagged, db, new Simulator());
    expect(access?.paths).toEqual([
      {
        via: { kind: 'identity_policy', policy: abac.id },
        statements: [`statement 1 of ${abac.id}`],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a JS template
        conditions: ['aws:PrincipalTag/team StringEquals ${aws:ResourceTag/team}'],
      },
    ]);
    const [grant] = secretReadGrants(inv, tagged, db, access as SecretAccess, {
      automaticRemediation: { identityPolicyPaths: [] },
    });
    expect(grant?.raw).toMatchObject({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a JS template
      conditions: ['aws:PrincipalTag/team StringEquals ${aws:ResourceTag/team}'],
      principalTags: expect.stringMatching(/sts:TagSession/),
    });
    // Without sts:TagSession, the role's own tags decide (web is not payments).
    expect(await evaluateSecretRead(inv, untagged, db, new Simulator())).toBeUndefined();
  });

  it('policy variables in a Resource are evaluated for each principal, not skipped by the prefilter', async () => {
    const own = managed(
      'OwnSecrets',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a JS template
      doc(allowRead('arn:aws:secretsmanager:*:*:secret:home/${aws:username}/*')),
    );
    const alice = user('alice', [own]);
    const bob = user('bob', [own]);
    const home = secret('home/alice/token');
    const inv = inventory({ principals: [alice, bob], secrets: [home] });
    expect(await evaluateSecretRead(inv, alice, home, new Simulator())).toBeDefined();
    expect(await evaluateSecretRead(inv, bob, home, new Simulator())).toBeUndefined();
  });

  it("secretsmanager:ResourceTag conditions are the secret's tags", async () => {
    const tagged = managed(
      'Tagged',
      doc(allowRead('*', { Condition: { StringEquals: { 'secretsmanager:ResourceTag/team': 'payments' } } })),
    );
    const alice = user('alice', [tagged]);
    const payments = secret('prod/pay', { tags: { team: 'payments' } });
    const web = secret('prod/web', { tags: { team: 'web' } });
    const inv = inventory({ principals: [alice], secrets: [payments, web] });
    expect((await evaluateSecretRead(inv, alice, payments, new Simulator()))?.paths[0]?.conditions).toEqual(
      [],
    );
    expect(await evaluateSecretRead(inv, alice, web, new Simulator())).toBeUndefined();
  });
});

describe('KMS', () => {
  it('an identity policy alone does not open a customer key whose policy does not delegate to the account', async () => {
    const admin = `arn:aws:iam::${A}:role/key-admin`;
    const closed = customerKey([
      { Effect: 'Allow', Principal: { AWS: admin }, Action: 'kms:*', Resource: '*' },
    ]);
    const alice = user('alice', [managed('ReadAndDecrypt', doc(allowRead(DB), allowDecrypt()))]);
    const db = secret('prod/db', { keyArn: customerKeyArn() });
    expect(await readAlone(alice, db, [closed])).toBeUndefined();

    const delegating = customerKey();
    const access = await readAlone(alice, db, [delegating]);
    expect(access?.kmsStatements).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^statement 2 of arn:aws:iam::111122223333:policy\/ReadAndDecrypt$/),
        expect.stringMatching(/^Enable IAM User Permissions \(statement 1\) of the key policy/),
      ]),
    );
    // Delegating to the account is not enough without kms:Decrypt in an identity policy.
    const readOnly = user('ro', [managed('ReadOnly', doc(allowRead(DB)))]);
    expect(await readAlone(readOnly, db, [delegating])).toBeUndefined();
  });

  it('a key whose policy could not be read: decrypt is taken as allowed, and the access says so', async () => {
    const unreadable = { ...customerKey(), policy: null, policyUnreadable: 'not configured' };
    const db = secret('prod/db', {
      keyArn: unreadable.arn,
      resourcePolicy: doc(allowReadBy({ AWS: `arn:aws:iam::${OUTSIDE}:root` })),
    });
    const reader = user('reader', [managed('Read', doc(allowRead('*')))]);
    const inv = inventory({ principals: [reader], secrets: [db], keys: [unreadable] });
    expect(await evaluateSecretRead(inv, reader, db, new Simulator())).toMatchObject({
      kmsStatements: [],
      kmsConditions: [],
      kmsUnknown: true,
    });
    expect(await externalReaders(inv, db, new Simulator())).toMatchObject([
      { principal: `arn:aws:iam::${OUTSIDE}:root`, kmsStatements: [], kmsEvaluated: false },
    ]);
  });

  it('evaluates the encryption context (SecretARN) and kms:ViaService of the key policy', async () => {
    const ctx = customerKey([
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${A}:user/alice` },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:EncryptionContext:SecretARN': DB,
            'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com',
          },
        },
      },
    ]);
    const alice = user('alice', [managed('ReadAll', doc(allowRead('*')))]);
    const db = secret('prod/db', { keyArn: customerKeyArn() });
    const other = secret('prod/other', { keyArn: customerKeyArn() });
    const inv = inventory({ principals: [alice], secrets: [db, other], keys: [ctx] });
    expect(await evaluateSecretRead(inv, alice, db, new Simulator())).toBeDefined();
    expect(await evaluateSecretRead(inv, alice, other, new Simulator())).toBeUndefined();
  });
});

describe('across accounts', () => {
  const crossKey = customerKey([
    {
      Sid: 'Account',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${A}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
    {
      Sid: 'CiInB',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${B}:role/ci` },
      Action: 'kms:Decrypt',
      Resource: '*',
    },
  ]);
  const naming = doc(allowReadBy({ AWS: `arn:aws:iam::${B}:role/ci` }, { Sid: 'CiInB' }));

  it('needs both the identity side and the resource policy', async () => {
    const withIdentity = role('ci', [managed('Read', doc(allowRead(DB), allowDecrypt()), { account: B })], {
      accountId: B,
    });
    const withoutIdentity = role('ci', [], { accountId: B });
    const named = secret('prod/db', { keyArn: customerKeyArn(), resourcePolicy: naming });
    const unnamed = secret('prod/db', { keyArn: customerKeyArn() });
    expect(await readAlone(withoutIdentity, named, [crossKey])).toBeUndefined();
    expect(await readAlone(withIdentity, unnamed, [crossKey])).toBeUndefined();
    const access = await readAlone(withIdentity, named, [crossKey]);
    expect(access?.crossAccount).toBe(true);
    expect(access?.paths).toEqual([
      {
        via: { kind: 'resource_policy' },
        namedAs: 'principal',
        statements: [
          `statement 1 of arn:aws:iam::${B}:policy/Read`,
          'CiInB (statement 1) of the resource policy of prod/db',
        ],
        conditions: [],
      },
    ]);
  });

  it('cannot read a secret under the AWS managed key from another account', async () => {
    const ci = role('ci', [managed('Read', doc(allowRead(DB), allowDecrypt()), { account: B })], {
      accountId: B,
    });
    const db = secret('prod/db', { resourcePolicy: naming });
    expect(await readAlone(ci, db)).toBeUndefined();
  });

  it('a resource policy naming the other account (its root) lets its principals read when their own policies allow', async () => {
    const ci = role('ci', [managed('Read', doc(allowRead(DB), allowDecrypt()), { account: B })], {
      accountId: B,
    });
    const db = secret('prod/db', {
      keyArn: customerKeyArn(),
      resourcePolicy: doc(allowReadBy({ AWS: B })),
    });
    const access = await readAlone(ci, db, [crossKey]);
    expect(access?.paths[0]).toMatchObject({ via: { kind: 'resource_policy' }, namedAs: 'account' });
  });
});

describe('principals outside the reviewed accounts', () => {
  it('an outside account, a role there, a service and everyone, each judged by the resource and key policies', async () => {
    const key = customerKey([
      {
        Sid: 'Account',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${A}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'Outside',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${OUTSIDE}:root` },
        Action: 'kms:Decrypt',
        Resource: '*',
      },
    ]);
    const db = secret('prod/db', {
      keyArn: customerKeyArn(),
      resourcePolicy: doc(
        allowReadBy({ AWS: [OUTSIDE, 'arn:aws:iam::777766665555:role/x'] }, { Sid: 'Outside' }),
        allowReadBy({ Service: 'lambda.amazonaws.com' }, { Sid: 'Lambda' }),
        allowReadBy('*', { Sid: 'Org', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } } }),
        allowReadBy({ AWS: 'AROAEXAMPLEDELETED' }, { Sid: 'Gone' }),
      ),
    });
    const warnings: string[] = [];
    const readers = await externalReaders(
      inventory({ secrets: [db], keys: [key] }),
      db,
      new Simulator(),
      (message) => warnings.push(message),
    );
    expect(readers.map((reader) => [reader.principalType, reader.principal, reader.conditions])).toEqual([
      ['aws_account', `arn:aws:iam::${OUTSIDE}:root`, []],
      // The role's account is not in the key policy: it cannot decrypt, so it cannot read.
      ['aws_service', 'lambda.amazonaws.com', []],
      ['aws_anyone', '*', ['aws:PrincipalOrgID StringEquals o-abc123']],
    ]);
    expect(readers.find((reader) => reader.principalType === 'aws_anyone')?.reach).toBe('this_account');
    expect(warnings).toEqual([expect.stringContaining('AROAEXAMPLEDELETED')]);
  });

  it('everyone, selected by a condition on who the principal is: allowed when that condition holds', async () => {
    const key = customerKey([
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${OUTSIDE}:root` },
        Action: 'kms:Decrypt',
        Resource: '*',
      },
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
    ]);
    const readersOf = async (condition: Record<string, Record<string, unknown>>, keyArn?: string) => {
      const target = secret('prod/x', {
        ...(keyArn ? { keyArn } : {}),
        resourcePolicy: doc(allowReadBy({ AWS: '*' }, { Condition: condition })),
      });
      return (
        await externalReaders(
          inventory({ secrets: [target], keys: [key, ...inventory({}).keys.values()] }),
          target,
          new Simulator(),
        )
      ).map((reader) => [reader.principalType, reader.reach, reader.conditions]);
    };
    // An account outside the review, which alone may decrypt: its principals read.
    expect(await readersOf({ StringEquals: { 'aws:PrincipalAccount': OUTSIDE } }, key.arn)).toEqual([
      ['aws_anyone', 'any_account', [`aws:PrincipalAccount StringEquals ${OUTSIDE}`]],
    ]);
    // One role of the secret's account, under the AWS managed key (this account only).
    expect(await readersOf({ ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${A}:role/app` } })).toEqual([
      ['aws_anyone', 'this_account', [`aws:PrincipalArn ArnEquals arn:aws:iam::${A}:role/app`]],
    ]);
  });

  it('an outsider still reads through another statement that names its account or everyone', async () => {
    const partner = `arn:aws:iam::${OUTSIDE}:role/partner`;
    const key = customerKey([
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${OUTSIDE}:root` },
        Action: 'kms:Decrypt',
        Resource: '*',
      },
    ]);
    const check = (...statements: PolicyStatement[]) => {
      const target = secret('prod/x', { keyArn: key.arn, resourcePolicy: doc(...statements) });
      return outsiderReadsNow(
        inventory({ secrets: [target], keys: [key] }),
        target,
        'iam_role',
        partner,
        new Simulator(),
      );
    };
    expect((await check(allowReadBy({ AWS: OUTSIDE }, { Sid: 'Account' })))?.statements).toEqual([
      'Account (statement 1) of the resource policy of prod/x',
    ]);
    expect((await check(allowReadBy('*', { Sid: 'Everyone' })))?.statements).toEqual([
      'Everyone (statement 1) of the resource policy of prod/x',
    ]);
    expect(await check(allowReadBy({ AWS: `arn:aws:iam::${OUTSIDE}:role/other` }))).toBeUndefined();
  });

  it('principals of reviewed accounts are not outsiders', async () => {
    const db = secret('prod/db', {
      resourcePolicy: doc(allowReadBy({ AWS: `arn:aws:iam::${B}:role/ci` })),
    });
    expect(await externalReaders(inventory({ secrets: [db] }), db, new Simulator())).toEqual([]);
  });
});

describe('GitHub OIDC trust', () => {
  const provider = 'token.actions.githubusercontent.com';
  const deploy = { arn: `arn:aws:iam::${A}:role/deploy`, accountId: A };
  const trust = (condition: Record<string, Record<string, unknown>>) =>
    doc({
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::${A}:oidc-provider/${provider}` },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: condition,
    });

  it('admits a subject pattern taken literally', async () => {
    const policy = trust({
      StringEquals: { [`${provider}:aud`]: 'sts.amazonaws.com' },
      StringLike: { [`${provider}:sub`]: 'repo:acme/*' },
    });
    const simulator = new Simulator();
    expect(
      await trustAdmits(policy, deploy, provider, 'repo:acme/api:ref:refs/heads/main', simulator),
    ).toEqual([`statement 1 of the trust policy of ${deploy.arn}`]);
    expect(await trustAdmits(policy, deploy, provider, 'repo:acme/api:*', simulator)).toBeDefined();
    expect(await trustAdmits(policy, deploy, provider, 'repo:evil/api:*', simulator)).toBeUndefined();
  });

  it('takes the audience as unknown: a workflow chooses the aud of its token', async () => {
    const simulator = new Simulator();
    const otherAudience = trust({
      StringEquals: {
        [`${provider}:aud`]: 'https://github.com/acme',
        [`${provider}:sub`]: 'repo:acme/api:*',
      },
    });
    expect(await trustAdmits(otherAudience, deploy, provider, 'repo:acme/api:*', simulator)).toEqual([
      `statement 1 of the trust policy of ${deploy.arn}`,
    ]);
    // Revoking a subject one statement names leaves it admitted by another with a custom audience:
    // verify must say so.
    const subject = 'repo:acme/api:ref:refs/heads/main';
    const twoStatements = doc(
      ...statementsOf(
        trust({ StringEquals: { [`${provider}:sub`]: subject, [`${provider}:aud`]: 'sts.amazonaws.com' } }),
      ),
      ...statementsOf(
        trust({
          StringLike: { [`${provider}:sub`]: 'repo:acme/*' },
          StringEquals: { [`${provider}:aud`]: 'https://github.com/acme' },
        }),
      ),
    );
    const narrowed = narrowTrust(twoStatements, deploy, provider, subject);
    expect(narrowed.after).toBeDefined();
    expect(await trustAdmits(narrowed.after as PolicyDocument, deploy, provider, subject, simulator)).toEqual(
      [`statement 1 of the trust policy of ${deploy.arn}`],
    );
  });

  it('a literal * is admitted only by a statement without a sub condition', async () => {
    const simulator = new Simulator();
    expect(await trustAdmits(trust({}), deploy, provider, '*', simulator)).toBeDefined();
    expect(
      await trustAdmits(
        trust({ StringLike: { [`${provider}:sub`]: 'repo:acme/*' } }),
        deploy,
        provider,
        '*',
        simulator,
      ),
    ).toBeUndefined();
  });
});
