import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectLockRetention,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Where Finalize writes each campaign's pack: `campaigns/<campaign id>/…`. */
export const EVIDENCE_PREFIX = 'campaigns/';

/** What Finalize may do under EVIDENCE_PREFIX (HeadObject authorizes as s3:GetObject). */
export const ARCHIVE_OBJECT_ACTIONS = ['s3:PutObject', 's3:PutObjectRetention', 's3:GetObject'] as const;

/** Deleting an object only adds a delete marker under Object Lock; nobody gets to hide a pack that way either. */
export const DENIED_DELETE_ACTIONS = ['s3:DeleteObject', 's3:DeleteObjectVersion'] as const;

export interface EvidenceBucketProps {
  /** Days each object version stays locked in compliance mode (config `evidence.retentionDays`). */
  retentionDays: number;
}

/**
 * The bucket the signed evidence pack of each finished campaign is written to, under S3 Object
 * Lock in compliance mode: until an object version's retention ends, nobody (no IAM policy, not
 * the account root, not AWS support) can delete or overwrite that version or shorten its
 * retention. Versioning is on (Object Lock requires it): a later PutObject of the same key adds a
 * version and leaves the locked one as it was.
 *
 * Encrypted with S3-managed keys (SSE-S3), not the stack's customer-managed key: whoever
 * administers a CMK can disable it or schedule its deletion, which would leave the locked packs
 * unreadable; Object Lock's promise would then depend on the key administrators as well. The
 * packs hold what the table holds, and access to them is IAM's (this bucket and the reader policy).
 *
 * The bucket policy also denies, to everyone, the deletes that Object Lock would turn into delete
 * markers, and lets only the archiving roles (restrictWritesTo) write objects or set retention.
 */
export class EvidenceBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly retentionDays: number;
  private writers: IRole[] | undefined;

  constructor(scope: Construct, id: string, props: EvidenceBucketProps) {
    super(scope, id);
    this.retentionDays = props.retentionDays;
    const common = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // The audit trail of who read or wrote the packs must outlive the stack like the packs.
      removalPolicy: RemovalPolicy.RETAIN,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    };
    // S3 server access logs can only be delivered to a bucket encrypted with SSE-S3.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      ...common,
      encryption: BucketEncryption.S3_MANAGED,
      // As long as the packs they describe are locked; then they go.
      lifecycleRules: [{ expiration: Duration.days(props.retentionDays) }],
    });
    // cdk-nag's AwsSolutions-S1 (server access logs) does not fire for a bucket that is itself a
    // log target; logging its own access would need a third bucket.
    this.bucket = new Bucket(this, 'Bucket', {
      ...common,
      encryption: BucketEncryption.S3_MANAGED,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'evidence/',
    });
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'NobodyDeletesEvidence',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: [...DENIED_DELETE_ACTIONS],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
  }

  /** The ARN pattern of every campaign's pack. */
  get evidenceObjectsArn(): string {
    return this.bucket.arnForObjects(`${EVIDENCE_PREFIX}*`);
  }

  /**
   * PutObject, PutObjectRetention and GetObject on `campaigns/*`, and ListBucket (without it S3
   * answers HeadObject of a missing key with 403, not 404, and a retry could not tell "not written
   * yet" from "refused"), for exactly these roles; an explicit Deny of object writes and retention
   * changes to every other principal. Called once, with the roles of the archivesEvidence handlers.
   */
  restrictWritesTo(roles: readonly IRole[]): void {
    if (this.writers) throw new Error('restrictWritesTo was already called: the writers are listed once');
    if (roles.length === 0) throw new Error('the evidence bucket needs at least one writer');
    this.writers = [...roles];
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyFinalizeWritesEvidence',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject', 's3:PutObjectRetention', 's3:PutObjectLegalHold'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': roles.map((role) => role.roleArn) } },
      }),
    );
    for (const role of roles) {
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: [...ARCHIVE_OBJECT_ACTIONS], resources: [this.evidenceObjectsArn] }),
      );
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
      );
    }
  }
}
