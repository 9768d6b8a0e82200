import { Duration, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { buildReviewWorkflow } from '../workflow/definition';
import type { HandlerFunctions } from './functions';
import { HANDLERS, isWorkflowHandler } from './handlers';
import { defaultPolicyOf, logicalIdOf } from './logical-id';

export interface ReviewWorkflowProps {
  functions: HandlerFunctions;
  /**
   * Not read: the reviewer's calendar (reminders, escalation, the window's end) is computed at run
   * time by RequestReview and ReviewCheckpoint from the same configuration, one wait at a time.
   */
  reviewWindowHours?: number;
  /** How long the security team has to approve held revocations (config `revocationGuard.approvalWindowHours`). */
  approvalWindowHours: number;
  encryptionKey: IKey;
}

/** The Step Functions state machine that runs one campaign from snapshot to finalize. */
export class ReviewWorkflow extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: ReviewWorkflowProps) {
    super(scope, id);
    const fn = props.functions;
    const logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.ONE_YEAR,
      encryptionKey: props.encryptionKey,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      // Standard, not Express: a review waits days for people, Express stops at 5 minutes.
      stateMachineType: StateMachineType.STANDARD,
      comment: 'access-review: one quarterly user access review campaign',
      definitionBody: DefinitionBody.fromChainable(
        buildReviewWorkflow(this, {
          functions: {
            'start-campaign': fn.get('start-campaign'),
            snapshot: fn.get('snapshot'),
            'assign-reviewers': fn.get('assign-reviewers'),
            'request-review': fn.get('request-review'),
            'await-review': fn.get('await-review'),
            'review-checkpoint': fn.get('review-checkpoint'),
            'mark-unresponsive': fn.get('mark-unresponsive'),
            'check-revocations': fn.get('check-revocations'),
            'request-revocation-approval': fn.get('request-revocation-approval'),
            'reject-held-revocations': fn.get('reject-held-revocations'),
            'apply-revocations': fn.get('apply-revocations'),
            'verify-revocations': fn.get('verify-revocations'),
            finalize: fn.get('finalize'),
          },
          approvalWindow: Duration.hours(props.approvalWindowHours),
        }),
      ),
      // Every transition is logged, without state data: decisions are evidence in the table, and
      // execution data in logs would copy reviewer names and counts somewhere with another lifetime.
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    this.acknowledgeRolePolicy(props.functions);
  }

  private acknowledgeRolePolicy(functions: HandlerFunctions): void {
    const policy = defaultPolicyOf(this.stateMachine.role);
    for (const spec of HANDLERS.filter((candidate) => isWorkflowHandler(candidate.name))) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(functions.get(spec.name))}.Arn>:*]`,
        reason: `CDK's LambdaInvoke grants the ${spec.name} function and its versions/aliases (<arn>:*); the workflow calls only this one function, so the wildcard reaches no other function.`,
      });
    }
    // The reviewer Map is a Distributed Map: CDK lets the state machine start, describe and stop
    // executions of itself (the Map Run's children are `<name>/<map run>:<child>`), in a policy
    // of its own.
    const mapPolicy = this.stateMachine.node.findChild('DistributedMapPolicy');
    const ownName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalIdOf(this.stateMachine)}"}]}]}`;
    for (const executions of [`${ownName}:*`, `${ownName}/*:*`]) {
      Validations.of(mapPolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${executions}]`,
        reason:
          'The reviewer Distributed Map starts, describes and stops child executions of this state machine only; Step Functions names each child at run time, so no narrower ARN exists.',
      });
    }
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray (PutTraceSegments, PutTelemetryRecords, GetSampling*) and CloudWatch Logs vended delivery (CreateLogDelivery, ...) do not support resource-level permissions; AWS documents Resource "*" for both.',
    });
  }
}
