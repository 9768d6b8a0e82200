import { CfnOutput } from 'aws-cdk-lib';
import { FunctionUrlAuthType, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface SlackEndpointProps {
  /** The slack-events function (Bolt's AwsLambdaReceiver). */
  handler: IFunction;
}

/**
 * The HTTPS endpoint Slack posts interactions to. A Function URL with auth NONE, because Slack
 * cannot sign requests with AWS SigV4; every request is authenticated by Bolt instead, which
 * rejects any body without a valid Slack signature (HMAC of the signing secret) or older than
 * 5 minutes before a listener runs.
 */
export class SlackEndpoint extends Construct {
  readonly url: string;

  constructor(scope: Construct, id: string, props: SlackEndpointProps) {
    super(scope, id);
    const functionUrl = props.handler.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
    this.url = functionUrl.url;
    new CfnOutput(this, 'SlackRequestUrl', {
      key: 'SlackRequestUrl',
      description: "Paste into the Slack app's Interactivity Request URL",
      value: functionUrl.url,
    });
  }
}
