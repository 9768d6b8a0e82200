import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { cdkJsonContext, createInProcessApp } from '../../lib/aws/app';
import { EvidenceBucket } from '../../lib/aws/evidence-bucket';
import { exampleConfig } from './support';

// The evidence bucket on its own (a stack of just it synthesizes in milliseconds), and the full
// stack's wiring of `evidence.retentionDays` read from its constructs without a template.

function bucketStack(retentionDays: number) {
  // cdk.json's feature flags, as in every real synth (access logs are delivered by bucket policy).
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, 'Evidence', { env: { account: '111122223333', region: 'eu-west-1' } });
  const evidence = new EvidenceBucket(stack, 'Archive', { retentionDays });
  const writer = new Role(stack, 'Writer', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  return { stack, evidence, writer };
}

describe('evidence bucket', () => {
  it('locks every object in compliance mode for the configured days, versioned, and outlives the stack', () => {
    for (const days of [1, 30, 548, 36_500]) {
      const { stack } = bucketStack(days);
      const template = Template.fromStack(stack);
      const locked = Object.values(
        template.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } }),
      );
      expect(locked, String(days)).toHaveLength(1);
      expect(locked[0]).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          ObjectLockConfiguration: {
            ObjectLockEnabled: 'Enabled',
            Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: days } },
          },
          VersioningConfiguration: { Status: 'Enabled' },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          // SSE-S3: a customer-managed key could be disabled or deleted, leaving locked packs unreadable.
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          LoggingConfiguration: { LogFilePrefix: 'evidence/' },
        },
      });
      expect(JSON.stringify(locked[0])).not.toContain('GOVERNANCE');
      // The access logs are kept as long as the packs they describe, and retained too.
      const logs = Object.values(template.findResources('AWS::S3::Bucket')).filter(
        (bucket) => (bucket.Properties as { ObjectLockEnabled?: boolean }).ObjectLockEnabled !== true,
      );
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: { LifecycleConfiguration: { Rules: [{ ExpirationInDays: days, Status: 'Enabled' }] } },
      });
    }
  });

  it('denies deletes to everyone, and writes to everyone but the listed writers', () => {
    const { stack, evidence, writer } = bucketStack(548);
    evidence.restrictWritesTo([writer]);
    const template = Template.fromStack(stack);
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    const statements = policies.flatMap(
      (policy) =>
        (policy.Properties as { PolicyDocument: { Statement: Array<Record<string, unknown>> } })
          .PolicyDocument.Statement,
    );
    expect(statements.find((statement) => statement.Sid === 'NobodyDeletesEvidence')).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
    });
    expect(
      statements.find((statement) => statement.Sid === 'NobodyDeletesEvidence')?.Condition,
    ).toBeUndefined();
    const writes = statements.find((statement) => statement.Sid === 'OnlyFinalizeWritesEvidence');
    expect(writes).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:PutObject', 's3:PutObjectLegalHold', 's3:PutObjectRetention'],
      Condition: {
        ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [expect.stringMatching(/^Writer/), 'Arn'] }] },
      },
    });
    expect(() => evidence.restrictWritesTo([writer])).toThrow(/already called/);
    expect(() => bucketStack(548).evidence.restrictWritesTo([])).toThrow(/at least one writer/);
  });

  it('takes its retention from evidence.retentionDays in the stack', () => {
    const config = parseConfig({
      ...(JSON.parse(JSON.stringify(exampleConfig())) as Record<string, unknown>),
      evidence: { retentionDays: 90 },
    });
    const { stack } = createInProcessApp({ config });
    expect(stack.evidenceBucket.retentionDays).toBe(90);
    const cfn = stack.evidenceBucket.bucket.node.defaultChild as CfnBucket;
    expect(stack.resolve(cfn.objectLockConfiguration)).toEqual({
      objectLockEnabled: 'Enabled',
      rule: { defaultRetention: { mode: 'COMPLIANCE', days: 90 } },
    });
    const finalize = stack.functions.get('finalize');
    expect(
      stack.resolve((finalize.node.defaultChild as { environment?: unknown }).environment),
    ).toMatchObject({
      variables: { ACCESS_REVIEW_EVIDENCE_RETENTION_DAYS: '90' },
    });
  }, 120_000);
});
