import { Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { EvidenceBucket } from './evidence-bucket';
import { logicalIdOf } from './logical-id';
import type { SigningKey } from './signing-key';

export interface EvidenceReaderProps {
  table: ITable;
  /** The table's customer-managed key. */
  encryptionKey: IKey;
  signingKey: SigningKey;
  evidenceBucket: EvidenceBucket;
}

/** The table reads the evidence pulls make (`access-review evidence|campaigns … --table`). */
export const READER_TABLE_ACTIONS = ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DescribeTable'] as const;

/**
 * Read-only S3 actions on the evidence bucket: the packs, their versions (a second PutObject of a
 * key adds a version; an auditor may want to see that none was added) and each version's lock.
 */
export const READER_BUCKET_OBJECT_ACTIONS = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectRetention',
] as const;
export const READER_BUCKET_ACTIONS = [
  's3:ListBucket',
  's3:ListBucketVersions',
  's3:GetBucketObjectLockConfiguration',
] as const;

/**
 * A managed policy for an auditor or a security engineer: pull evidence from the deployed table,
 * fetch the signing key's public half and read the locked packs. Nothing in it writes, deletes,
 * signs or decrypts anything but the table's items through DynamoDB.
 */
export class EvidenceReaderPolicy extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: EvidenceReaderProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    const { table, encryptionKey, signingKey, evidenceBucket } = props;
    this.policy = new ManagedPolicy(this, 'Policy', {
      description:
        'access-review: read evidence from the table, the signing public key and the Object Lock evidence bucket (no writes)',
      statements: [
        new PolicyStatement({
          sid: 'ReadTheTable',
          actions: [...READER_TABLE_ACTIONS],
          resources: [table.tableArn, `${table.tableArn}/index/*`],
        }),
        // DynamoDB decrypts the items with the table's key on the caller's behalf; the condition
        // keeps the reader from using the key directly.
        new PolicyStatement({
          sid: 'DecryptTheTableThroughDynamoDB',
          actions: ['kms:Decrypt'],
          resources: [encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.amazonaws.com` } },
        }),
        new PolicyStatement({
          sid: 'FetchTheSigningPublicKey',
          actions: ['kms:GetPublicKey', 'kms:DescribeKey'],
          resources: [signingKey.key.keyArn],
        }),
        new PolicyStatement({
          sid: 'ReadTheEvidencePacks',
          actions: [...READER_BUCKET_OBJECT_ACTIONS],
          resources: [evidenceBucket.bucket.arnForObjects('*')],
        }),
        new PolicyStatement({
          sid: 'ListTheEvidencePacks',
          actions: [...READER_BUCKET_ACTIONS],
          resources: [evidenceBucket.bucket.bucketArn],
        }),
      ],
    });
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(table)}.Arn>/index/*]`,
      reason:
        "The pulls by reviewer, principal and resource query the GSIs of the one evidence table; index/* names only that table's indexes, and the actions only read.",
    });
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(evidenceBucket.bucket)}.Arn>/*]`,
      reason:
        "An auditor reads any campaign's pack, whose keys are known only at run time; the wildcard covers the objects of the one evidence bucket, with read-only actions.",
    });
  }
}
