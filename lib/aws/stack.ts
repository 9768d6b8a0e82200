import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AccessReviewConfig } from '../../functions/core/config';
import { EncryptionKey } from './encryption-key';
import { FailureAlerts } from './failure-alerts';
import { HandlerFunctions } from './functions';
import { QuarterlySchedule } from './schedule';
import { VendorCredentials } from './secrets';
import { SlackEndpoint } from './slack-endpoint';
import { EvidenceTable } from './table';
import { ReviewWorkflow } from './workflow';

export interface AccessReviewStackProps extends StackProps {
  /** Parsed with parseConfig; it is baked into every function's environment (no secrets in it). */
  config: AccessReviewConfig;
}

/**
 * Everything the AWS host needs: key, table, credentials, functions, workflow, schedule, Slack URL,
 * and the alerts that make a failed campaign heard.
 */
export class AccessReviewStack extends Stack {
  readonly encryptionKey: EncryptionKey;
  readonly table: EvidenceTable;
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
    this.functions = new HandlerFunctions(this, 'Handlers', {
      config,
      table: this.table.table,
      encryptionKey: key,
      credentials: this.credentials,
    });
    this.workflow = new ReviewWorkflow(this, 'Review', {
      functions: this.functions,
      reviewWindowHours: config.review.windowHours,
      approvalWindowHours: config.revocationGuard.approvalWindowHours,
      encryptionKey: key,
    });
    this.functions.allowTaskCompletion(this.workflow.stateMachine);
    this.schedule = new QuarterlySchedule(this, 'Quarterly', {
      stateMachine: this.workflow.stateMachine,
      timezone: config.schedule.timezone,
    });
    this.slackEndpoint = new SlackEndpoint(this, 'Slack', { handler: this.functions.get('slack-events') });
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
    new CfnOutput(this, 'FailureTopicArn', {
      key: 'FailureTopicArn',
      description:
        'Failed, timed-out or aborted campaigns and their alarm are published here: subscribe the security team',
      value: this.failureAlerts.topic.topicArn,
    });
  }
}
