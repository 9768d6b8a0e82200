import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../lib/aws/app';
import { logicalIdOf } from '../../lib/aws/logical-id';
import { SIGNING_KEY_ADMIN_ACTIONS, SigningKey } from '../../lib/aws/signing-key';
import { type Json, type PolicyStatementJson, statementsOf } from './support';

// The signing key on its own, with cdk.json's feature flags (under which CDK's default key policy
// would give the account root kms:*). The full stack's signers are checked in template.test.ts and,
// by policy simulation, in iam.test.ts.

function keyStack(signers: number) {
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, 'Signing', { env: { account: '111122223333', region: 'eu-west-1' } });
  const signing = new SigningKey(stack, 'Signing');
  const roles = Array.from(
    { length: signers },
    (_, index) =>
      new Role(stack, `Signer${index}`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }),
  );
  if (signers > 0) signing.restrictSigningTo(roles);
  const template = Template.fromStack(stack);
  const [key] = Object.values(template.findResources('AWS::KMS::Key'));
  return {
    signing,
    roles,
    template,
    key: key as { Properties: Record<string, Json>; DeletionPolicy?: string },
  };
}

type Statement = PolicyStatementJson & { Sid?: string; Principal?: Json };

function keyStatements(key: { Properties: Record<string, Json> }): Statement[] {
  return statementsOf([key.Properties.KeyPolicy!]) as Statement[];
}

/** The account root, however CDK spells its ARN (a Join with the partition). */
const isAccountRoot = (principal: Json | undefined) =>
  /:iam::111122223333:root/.test(JSON.stringify(principal));

describe('signing key', () => {
  it('is an ECC P-256 sign/verify key, kept when the stack goes', () => {
    const { key } = keyStack(2);
    expect(key.Properties.KeySpec).toBe('ECC_NIST_P256');
    expect(key.Properties.KeyUsage).toBe('SIGN_VERIFY');
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties.EnableKeyRotation).toBeUndefined();
  });

  it('gives the account administration and the public key, never Sign, kms:* or CreateGrant', () => {
    const statements = keyStatements(keyStack(2).key);
    const forRoot = statements.filter((statement) => isAccountRoot(statement.Principal));
    expect(forRoot.map((statement) => statement.Sid).sort()).toEqual([
      'AccountAdministersTheKeyButCannotSign',
      'AccountReadsThePublicKey',
    ]);
    const rootActions = forRoot.flatMap((statement) => [statement.Action].flat());
    expect(rootActions).toEqual(
      expect.arrayContaining(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:GetPublicKey']),
    );
    for (const action of rootActions) {
      expect(action).not.toMatch(/\*/);
      expect(['kms:Sign', 'kms:CreateGrant', 'kms:ReEncryptFrom', 'kms:Decrypt']).not.toContain(action);
    }
    expect([...SIGNING_KEY_ADMIN_ACTIONS]).not.toContain('kms:Sign');
  });

  it('allows Sign to exactly the listed roles and denies it to every other principal by aws:PrincipalArn', () => {
    const { key, roles } = keyStack(3);
    const statements = keyStatements(key);
    const roleArns = roles.map((role) => ({
      'Fn::GetAtt': [logicalIdOf(role), 'Arn'],
    }));
    const allow = statements.filter(
      (statement) => statement.Effect === 'Allow' && [statement.Action].flat().includes('kms:Sign'),
    );
    expect(allow).toHaveLength(1);
    expect(allow[0]).toMatchObject({ Sid: 'WorkflowFunctionsSign', Principal: { AWS: roleArns } });
    const deny = statements.filter((statement) => statement.Effect === 'Deny');
    expect(deny).toEqual([
      {
        Sid: 'NobodyElseSigns',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Sign',
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': roleArns } },
      },
    ]);
  });

  it('lists its signers once, and never none', () => {
    const { signing, roles } = keyStack(1);
    expect(() => signing.restrictSigningTo(roles)).toThrow(/already called/);
    expect(() => keyStack(0).signing.restrictSigningTo([])).toThrow(/at least one signer/);
  });
});
