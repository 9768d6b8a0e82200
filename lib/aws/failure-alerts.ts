import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type NotificationsConfig, sesIdentity } from '../../functions/core/config';
import { HANDLERS, type HandlerName } from './handlers';
import { defaultPolicyOf } from './logical-id';

/** The execution statuses that end a campaign without Finalize having closed it. */
export const FAILED_EXECUTION_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type FailedExecutionStatus = (typeof FAILED_EXECUTION_STATUSES)[number];

/** EventBridge's detail-type for Step Functions execution status changes. */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';

export interface FailureAlertsProps {
  stateMachine: IStateMachine;
  /** The catalogue's handlers, by name (HandlerFunctions.get). */
  functionOf: (name: HandlerName) => IFunction;
  /** The stack's CMK: the topic is encrypted with it. */
  encryptionKey: IKey;
  notifications: NotificationsConfig | undefined;
}

/**
 * No silent failure: an execution of the review that fails, times out or is aborted is published
 * to an SNS topic (the operator subscribes the security team to it) and handed to notify-failure,
 * which emails and posts to Slack as configured. A CloudWatch alarm on the state machine's own
 * metrics publishes to the same topic, so a failure is heard even if the rule or the notify
 * function were broken.
 */
export class FailureAlerts extends Construct {
  readonly topic: Topic;
  readonly rule: Rule;
  readonly alarm: Alarm;

  constructor(scope: Construct, id: string, props: FailureAlertsProps) {
    super(scope, id);
    const { stateMachine, encryptionKey } = props;

    // The stack's CMK rather than the AWS-managed aws/sns key: that key's policy cannot be
    // changed, so neither EventBridge nor CloudWatch could publish to a topic encrypted with it.
    this.topic = new Topic(this, 'Topic', {
      displayName: 'access-review: failed campaigns',
      masterKey: encryptionKey,
      enforceSSL: true,
    });

    this.rule = new Rule(this, 'FailedExecutions', {
      description: 'access-review: a campaign execution failed, timed out or was aborted',
      eventPattern: {
        source: ['aws.states'],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: {
          status: [...FAILED_EXECUTION_STATUSES],
          stateMachineArn: [stateMachine.stateMachineArn],
        },
      },
    });
    // EventBridge publishes through a role of its own (sns:Publish on this topic, the key for this
    // topic's messages) instead of a grant to the events service principal in the topic and key
    // policies, which any account's rule could name.
    const publisher = new Role(this, 'PublishRole', {
      assumedBy: new ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: 'access-review: EventBridge publishes failed executions to the failure topic',
    });
    this.rule.addTarget(new SnsTopic(this.topic, { role: publisher }));
    Validations.of(defaultPolicyOf(publisher)).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'SNS encrypts each message under the topic CMK with a data key generated on the publisher’s behalf (GenerateDataKey and its WithoutPlaintext form); the statement names only that one key.',
    });

    const notifier = props.functionOf('notify-failure');
    this.rule.addTarget(
      new LambdaFunction(notifier, {
        // Delivery to Lambda (throttled, unavailable) is retried by EventBridge for a day.
        maxEventAge: Duration.hours(24),
        retryAttempts: 185,
      }),
    );
    // EventBridge invokes Lambda asynchronously: when the function throws (both channels
    // failed), Lambda retries the event twice more. The failure_notified marker makes a retry
    // send only what is still missing.
    notifier.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6) });

    const period = Duration.minutes(1);
    this.alarm = new Alarm(this, 'FailedExecutionsAlarm', {
      alarmDescription:
        'access-review: at least one campaign execution failed, timed out or was aborted. The failure topic carries the execution; resume it with aws stepfunctions redrive-execution.',
      metric: new MathExpression({
        expression: 'failed + timedOut + aborted',
        label: 'Executions failed, timed out or aborted',
        period,
        usingMetrics: {
          failed: stateMachine.metricFailed({ period, statistic: 'Sum' }),
          timedOut: stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
          aborted: stateMachine.metricAborted({ period, statistic: 'Sum' }),
        },
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // No executions means no data points; that is not a failure.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new SnsAction(this.topic));
    this.allowAlarmsToPublish(encryptionKey);

    this.grantEmail(props);
  }

  /**
   * CloudWatch alarms cannot publish through a role: the topic policy lets the CloudWatch service
   * publish for this account's alarms only, and the key policy lets it use the CMK (the statement
   * AWS documents for alarms on encrypted topics; the topic policy is what scopes it).
   */
  private allowAlarmsToPublish(encryptionKey: IKey): void {
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    const region = Stack.of(this).region;
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${region}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    encryptionKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
  }

  /**
   * ses:SendEmail as the configured identity (and with the configuration set, if any), only From
   * the configured address, for every handler the catalogue says sends email (the failure notice,
   * Finalize's summary and "needs attention", the review task and reminders by email). Nothing
   * when no email is configured.
   */
  private grantEmail(props: FailureAlertsProps): void {
    const email = props.notifications?.email;
    if (!email) return;
    const region = email.region ?? Stack.of(this).region;
    const sesArn = (resource: string) => `arn:${Aws.PARTITION}:ses:${region}:${Aws.ACCOUNT_ID}:${resource}`;
    const resources = [sesArn(`identity/${sesIdentity(email)}`)];
    if (email.configurationSet) resources.push(sesArn(`configuration-set/${email.configurationSet}`));
    for (const spec of HANDLERS.filter((candidate) => candidate.sendsEmail)) {
      props.functionOf(spec.name).addToRolePolicy(
        new PolicyStatement({
          actions: ['ses:SendEmail'],
          resources,
          conditions: { StringEquals: { 'ses:FromAddress': email.from } },
        }),
      );
    }
  }
}
