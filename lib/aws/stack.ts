import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AccessReviewConfig } from '../../functions/core/config';
import { EncryptionKey } from './encryption-key';
import { EvidenceBucket } from './evidence-bucket';
import { EvidenceReaderPolicy } from './evidence-reader';
import { FailureAlerts } from './failure-alerts';
import { HandlerFunctions } from './functions';
import { QuarterlySchedule } from './schedule';
import { VendorCredentials } from './secrets';
import { SigningKey } from './signing-key';
import { SlackEndpoint } from './slack-endpoint';
import { EvidenceTable } from './table';
import { ReviewWorkflow } from './workflow';

export interface AccessReviewStackProps extends StackProps {
  /** Parsed with parseConfig; it is baked into every function's environment (no secrets in it). */
  config: AccessReviewConfig;
}

/**
 * Everything the AWS host needs: key, table, credentials, the signing key and evidence bucket that
 * anchor the evidence outside the table (and a policy to read it), functions, workflow, schedule,
 * Slack URL, and the alerts that make a failed campaign heard.
 */
export class AccessReviewStack extends Stack {
  readonly encryptionKey: EncryptionKey;
  readonly table: EvidenceTable;
  readonly signingKey: SigningKey;
  readonly evidenceBucket: EvidenceBucket;
  readonly evidenceReader: EvidenceReaderPolicy;
  readonly credentials: VendorCredentials;
  readonly functions: HandlerFunctions;
  readonly workflow: ReviewWorkflow;
  readonly schedule: QuarterlySchedule;
  readonly slackEndpoint: SlackEndpoint;
  readonly failureAlerts: FailureAlerts;

  constructor(scope: Construct, id: string, props: AccessReviewStackProps) {
    super(scope, id, {
      description: 'access-review: quarterly SOC 2 user access review (GitHub, Slack, Step Functions)',
      ...props,
    });
    const { config } = props;
    this.encryptionKey = new EncryptionKey(this, 'EncryptionKey');
    const key = this.encryptionKey.key;
    this.table = new EvidenceTable(this, 'Evidence', { encryptionKey: key });
    this.credentials = new VendorCredentials(this, 'Credentials', { encryptionKey: key });
    // The anchor outside the table: a key only the workflow's functions can sign with, and a
    // bucket whose packs nobody can delete or overwrite until their retention ends.
    this.signingKey = new SigningKey(this, 'Signing');
    this.evidenceBucket = new EvidenceBucket(this, 'EvidenceArchive', {
      retentionDays: config.evidence.retentionDays,
    });
    this.functions = new HandlerFunctions(this, 'Handlers', {
      config,
      table: this.table.table,
      encryptionKey: key,
      credentials: this.credentials,
      signingKey: this.signingKey,
      evidenceBucket: this.evidenceBucket,
    });
    this.evidenceReader = new EvidenceReaderPolicy(this, 'EvidenceReader', {
      table: this.table.table,
      encryptionKey: key,
      signingKey: this.signingKey,
      evidenceBucket: this.evidenceBucket,
    });
    this.workflow = new ReviewWorkflow(this, 'Review', {
      functions: this.functions,
      approvalWindowHours: config.revocationGuard.approvalWindowHours,
      encryptionKey: key,
    });
    this.functions.allowTaskCompletion(this.workflow.stateMachine);
    this.schedule = new QuarterlySchedule(this, 'Quarterly', {
      stateMachine: this.workflow.stateMachine,
      timezone: config.schedule.timezone,
    });
    // `/access-review start` starts this state machine (and no other): StartExecution only.
    this.slackEndpoint = new SlackEndpoint(this, 'Slack', {
      handler: this.functions.get('slack-events'),
      stateMachine: this.workflow.stateMachine,
    });
    this.failureAlerts = new FailureAlerts(this, 'FailureAlerts', {
      stateMachine: this.workflow.stateMachine,
      functionOf: (name) => this.functions.get(name),
      encryptionKey: key,
      notifications: config.notifications,
    });

    new CfnOutput(this, 'StateMachineArn', {
      key: 'StateMachineArn',
      description: 'Start an on-demand campaign: aws stepfunctions start-execution --state-machine-arn ...',
      value: this.workflow.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'TableName', { key: 'TableName', value: this.table.table.tableName });
    new CfnOutput(this, 'SigningKeyArn', {
      key: 'SigningKeyArn',
      description:
        'Signs campaign chain heads; the public key: aws kms get-public-key --key-id <this> --output text --query PublicKey',
      value: this.signingKey.key.keyArn,
    });
    new CfnOutput(this, 'EvidenceBucketName', {
      key: 'EvidenceBucketName',
      description: `Evidence packs under campaigns/<campaign id>/, Object Lock compliance mode for ${config.evidence.retentionDays} days`,
      value: this.evidenceBucket.bucket.bucketName,
    });
    new CfnOutput(this, 'EvidenceReaderPolicyArn', {
      key: 'EvidenceReaderPolicyArn',
      description:
        'Attach to an auditor or security engineer: read the table, the signing public key and the evidence packs, nothing else',
      value: this.evidenceReader.policy.managedPolicyArn,
    });
    new CfnOutput(this, 'FailureTopicArn', {
      key: 'FailureTopicArn',
      description:
        'Failed, timed-out or aborted campaigns and their alarm are published here: subscribe the security team',
      value: this.failureAlerts.topic.topicArn,
    });
  }
}
