import { Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * The customer-managed key for everything that holds review evidence or credentials: the table,
 * the two secrets and the log groups. Owning the key lets the operator see every use of it in
 * CloudTrail and cut access to the evidence by disabling it.
 */
export class EncryptionKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'access-review: evidence table, vendor credentials and logs',
      enableKeyRotation: true,
      // The retained table stays readable only while its key exists.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // CloudWatch Logs encrypts with the key as its own service principal, not as the writer's
    // role; the condition keeps it to this account's log groups in this region.
    const region = Stack.of(this).region;
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${region}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
  }
}
