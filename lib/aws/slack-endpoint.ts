import { CfnOutput } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType, type Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STATE_MACHINE_ARN_VARIABLE } from '../../functions/runtime/step-functions-on-lambda';

export interface SlackEndpointProps {
  /** The slack-events function (Bolt's AwsLambdaReceiver). */
  handler: LambdaFunction;
  /**
   * The review workflow: `/access-review start` starts an execution of it, and of nothing else.
   * Absent (older stacks in tests): the command answers that it cannot start campaigns.
   */
  stateMachine?: IStateMachine;
}

/**
 * The HTTPS endpoint Slack posts interactions, slash commands and events to. A Function URL with
 * auth NONE, because Slack cannot sign requests with AWS SigV4; every request is authenticated by
 * its Slack signature (HMAC of the signing secret over the raw body, at most 5 minutes old) before
 * a listener runs (functions/slack/request-check.ts, then Bolt).
 */
export class SlackEndpoint extends Construct {
  readonly url: string;

  constructor(scope: Construct, id: string, props: SlackEndpointProps) {
    super(scope, id);
    const functionUrl = props.handler.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    this.url = functionUrl.url;
    if (props.stateMachine) {
      // StartExecution only (no StopExecution, no other state machine): a campaign started from
      // Slack is the same workflow the schedule starts, and the command cannot end one by force;
      // cancel is recorded in the table and the workflow finishes itself.
      props.handler.addEnvironment(STATE_MACHINE_ARN_VARIABLE, props.stateMachine.stateMachineArn);
      props.handler.addToRolePolicy(
        new PolicyStatement({
          actions: ['states:StartExecution'],
          resources: [props.stateMachine.stateMachineArn],
        }),
      );
    }
    new CfnOutput(this, 'SlackRequestUrl', {
      key: 'SlackRequestUrl',
      description:
        "Paste into the Slack app's Interactivity Request URL, the /access-review command's Request URL and the Event Subscriptions Request URL",
      value: functionUrl.url,
    });
  }
}
