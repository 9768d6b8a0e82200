import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccountRootPrincipal,
  AnyPrincipal,
  Effect,
  type IRole,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * What the account (through IAM) may do with the signing key: run it as an administrator would
 * (see it, change its policy, disable it, tag it, schedule its deletion) and read its public key,
 * but never sign. Deliberately no `kms:*`, no `Create*` (CreateGrant would hand out Sign) and no
 * kms:Sign.
 */
export const SIGNING_KEY_ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListResourceTags',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:PutKeyPolicy',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateKeyDescription',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
] as const;

/** Anyone in the account may read the public half and check a signature: neither reveals or uses the private key. */
export const SIGNING_KEY_PUBLIC_ACTIONS = ['kms:GetPublicKey', 'kms:Verify'] as const;

/**
 * The key that signs each campaign's chain head as the campaign advances (the anchor outside the
 * table). An ECDSA P-256 key in AWS KMS: the private half never leaves KMS, so a signature proves
 * that kms:Sign was called, and only the workflow's functions may call it.
 *
 * CDK's default key policy gives the account root `kms:*`, which delegates the key to IAM: any
 * administrator could then sign a rewritten chain. This policy instead gives the account key
 * administration without Sign, allows Sign to the roles of the handlers whose catalogue entry has
 * `signsChain` (restrictSigningTo), and denies Sign explicitly to every other principal, so no
 * identity policy, grant or `kms:*` administrator can sign.
 *
 * Two trusts remain, both visible: every Sign is a CloudTrail management event (which function,
 * when, which key), and whoever may call kms:PutKeyPolicy could rewrite this policy to let
 * someone else sign; that call is logged too, and is a separate trust from writing the table.
 */
export class SigningKey extends Construct {
  readonly key: Key;
  private signers: IRole[] | undefined;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const account = new AccountRootPrincipal();
    this.key = new Key(this, 'Key', {
      description: 'access-review: signs campaign chain heads (kms:Sign only by the workflow functions)',
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      // Signatures already handed to auditors must stay checkable with this key's public half.
      removalPolicy: RemovalPolicy.RETAIN,
      // Given explicitly, this replaces CDK's default `kms:*` for the account root.
      policy: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: 'AccountAdministersTheKeyButCannotSign',
            principals: [account],
            actions: [...SIGNING_KEY_ADMIN_ACTIONS],
            resources: ['*'],
          }),
          new PolicyStatement({
            sid: 'AccountReadsThePublicKey',
            principals: [account],
            actions: [...SIGNING_KEY_PUBLIC_ACTIONS],
            resources: ['*'],
          }),
        ],
      }),
    });
    // Automatic rotation does not exist for asymmetric KMS keys (a new public key would also break
    // the checks of every signature already given out); cdk-nag's AwsSolutions-KMS5 knows this and
    // does not fire for this key spec, so nothing is acknowledged.
  }

  /**
   * Sign (and GetPublicKey) for exactly these roles, in the key policy and in their own policies,
   * and an explicit Deny of Sign for every other principal (by aws:PrincipalArn, which for a
   * Lambda's session is its role's ARN). Called once, with the roles of every signsChain handler.
   */
  restrictSigningTo(roles: readonly IRole[]): void {
    if (this.signers) throw new Error('restrictSigningTo was already called: the signers are listed once');
    if (roles.length === 0) throw new Error('the signing key needs at least one signer');
    this.signers = [...roles];
    const arns = roles.map((role) => role.roleArn);
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'WorkflowFunctionsSign',
        principals: roles.map((role) => role.grantPrincipal),
        actions: ['kms:Sign', 'kms:GetPublicKey'],
        resources: ['*'],
      }),
    );
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'NobodyElseSigns',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': arns } },
      }),
    );
    for (const role of roles) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['kms:Sign', 'kms:GetPublicKey'], resources: [this.key.keyArn] }),
      );
    }
  }
}
