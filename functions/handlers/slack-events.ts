import { App, AwsLambdaReceiver } from '@slack/bolt';
import { servicesFromEnvironment, slackCredentialsFromSecret } from '../runtime/aws';
import { registerReviewListeners } from '../slack/listeners';

type LambdaHandler = Awaited<ReturnType<AwsLambdaReceiver['start']>>;

let ready: Promise<LambdaHandler> | undefined;

/** Built on the first request: the signing secret and bot token come from Secrets Manager. */
async function build(): Promise<LambdaHandler> {
  const services = servicesFromEnvironment();
  const { botToken, signingSecret } = await slackCredentialsFromSecret();
  const receiver = new AwsLambdaReceiver({ signingSecret });
  // A plain `token` makes Bolt call auth.test (for the bot's ids) before a listener runs. The
  // listener needs neither the ids nor the call, and a cold start must not spend Slack's
  // 3-second budget on it.
  const app = new App({
    authorize: async () => ({ botToken }),
    receiver,
    clientOptions: { slackApiUrl: services.config.slack.apiUrl },
  });
  registerReviewListeners(app, services);
  return receiver.start();
}

/** The Slack endpoint (Function URL). The listener must finish within Slack's 3-second budget. */
export const handler = async (...args: Parameters<LambdaHandler>): ReturnType<LambdaHandler> => {
  ready ??= build().catch((error: unknown) => {
    ready = undefined;
    throw error;
  });
  return (await ready)(...args);
};
