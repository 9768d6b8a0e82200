import { WebClient } from '@slack/web-api';
import { slackWebClientOptions } from '../core/call-budget';
import { type LambdaEnvironment, slackSecret } from './aws';

/**
 * The Slack Web API client on Lambda, with the handler's call budget (timeout, bounded retries,
 * 429 rejected at once). Rebuilt when the Slack secret changes (a rotated bot token), which the
 * runtime re-reads after its TTL. Only the handlers that declare it bundle the Slack client.
 */
export function slackOnLambda(environment: LambdaEnvironment): () => Promise<WebClient> {
  let built: { fingerprint: string; client: WebClient } | undefined;
  return async () => {
    const { botToken, fingerprint } = await slackSecret();
    if (built?.fingerprint !== fingerprint) {
      built = {
        fingerprint,
        client: new WebClient(botToken, {
          ...slackWebClientOptions(environment.budgets.slack),
          slackApiUrl: environment.config.slack.apiUrl,
        }),
      };
    }
    return built.client;
  };
}
