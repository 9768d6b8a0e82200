import { App, AwsLambdaReceiver, type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import { servicesFromEnvironment, slackCredentialsFromSecret } from '../runtime/aws';
import type { Logger, Services } from '../runtime/services';
import { slackOnLambda } from '../runtime/slack-on-lambda';
import {
  campaignStarterOnLambda,
  STATE_MACHINE_ARN_VARIABLE,
  stepFunctionsOnLambda,
} from '../runtime/step-functions-on-lambda';
import { withArrival } from '../slack/click-budget';
import { registerSlackListeners } from '../slack/listeners';
import {
  type CheckedSlackRequest,
  checkSlackRequest,
  readFunctionUrlEvent,
  SlackRequestError,
} from '../slack/request-check';

/** What a Function URL (payload format 2.0) takes back from the function. */
export interface FunctionUrlResult {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/** The endpoint both hosts serve: any event in, an HTTP answer out; it never throws. */
export type SlackEndpoint = (event: unknown) => Promise<FunctionUrlResult>;

export interface SlackEndpointOptions {
  signingSecret: string;
  botToken: string;
  services: Services;
}

/**
 * The Slack endpoint: the request checks (functions/slack/request-check.ts) in front of Bolt's
 * AwsLambdaReceiver and the app's listeners. The Lambda serves it behind a Function URL; the
 * embedded host turns each HTTP request into a Function URL event and calls this same function,
 * so one implementation answers on both hosts.
 */
export async function createSlackEndpoint(options: SlackEndpointOptions): Promise<SlackEndpoint> {
  const { services, signingSecret, botToken } = options;
  const logger = boltLogger(services.log);
  const receiver = new AwsLambdaReceiver({ signingSecret, logger });
  // A plain `token` makes Bolt call auth.test (for the bot's ids) before a listener runs. The
  // listener needs neither the ids nor the call, and a cold start must not spend Slack's
  // 3-second budget on it.
  const app = new App({
    authorize: async () => ({ botToken }),
    receiver,
    logger,
    clientOptions: { slackApiUrl: services.config.slack.apiUrl },
  });
  registerSlackListeners(app, services);
  const bolt = await receiver.start();

  return (event) => withArrival(performance.now(), () => answer(event));

  async function answer(event: unknown): Promise<FunctionUrlResult> {
    let checked: CheckedSlackRequest;
    try {
      checked = checkSlackRequest(readFunctionUrlEvent(event), signingSecret, services.now());
    } catch (error) {
      if (error instanceof SlackRequestError) {
        // The reason names a header or a field, never a value that could be a secret.
        services.log.warn('Slack request refused', { status: error.status, reason: error.reason });
        return refusal(error.status, error.reason);
      }
      services.log.error('checking a Slack request failed', { error: describe(error) });
      return refusal(500, 'internal error');
    }
    if (checked.route === 'unhandled') {
      // An element or event this app did not build or subscribe to: Slack only needs the ack.
      services.log.info('Slack request acknowledged without a listener', {
        kind: checked.kind,
        actionId: checked.actionId.slice(0, 80),
      });
      return { statusCode: 200, body: '' };
    }
    if (checked.route === 'url_verification') {
      // Slack checks the Events API URL once (signed like every request): echo its challenge.
      return {
        statusCode: 200,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ challenge: (checked.payload as { challenge: string }).challenge }),
      };
    }
    try {
      // Bolt gets the body as checked: decoded text, the exact form content type (Bolt compares
      // it literally and otherwise tries JSON), and the headers it verifies again.
      const answered = await bolt(
        {
          version: '2.0',
          routeKey: '$default',
          rawPath: '/slack/events',
          rawQueryString: '',
          requestContext: {},
          headers: {
            'content-type': checked.contentType,
            'x-slack-request-timestamp': checked.timestamp,
            'x-slack-signature': checked.signature,
          },
          body: checked.rawBody,
          isBase64Encoded: false,
        },
        {},
      );
      const headers = Object.fromEntries(
        Object.entries(answered.headers ?? {}).map(([name, value]) => [name, String(value)]),
      );
      return { statusCode: answered.statusCode, headers, body: answered.body };
    } catch (error) {
      services.log.error('Bolt failed on a checked Slack request', { error: describe(error) });
      return refusal(500, 'internal error');
    }
  }
}

function refusal(statusCode: number, reason: string): FunctionUrlResult {
  return { statusCode, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: reason };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Bolt's warnings and errors into the project's logger; its debug lines would print bodies. */
function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.WARN;
  const text = (parts: unknown[]) =>
    parts.map((part) => (part instanceof Error ? describe(part) : String(part)));
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...parts: unknown[]) => log.warn('bolt', { detail: text(parts).join(' ') }),
    error: (...parts: unknown[]) => log.error('bolt', { detail: text(parts).join(' ') }),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

const CAPABILITIES = { slack: slackOnLambda, tasks: stepFunctionsOnLambda };

let ready: Promise<SlackEndpoint> | undefined;

/** Built on the first request: the signing secret and bot token come from Secrets Manager. */
async function build(): Promise<SlackEndpoint> {
  // Bundles only what it declares (functions/runtime/aws.ts): the Slack client and SendTaskSuccess;
  // StartExecution on the stack's state machine for `/access-review start`.
  // Set by lib/aws/slack-endpoint.ts with the grant; without it `start` says it cannot start.
  const stateMachineArn = process.env[STATE_MACHINE_ARN_VARIABLE];
  const services: Services = {
    ...servicesFromEnvironment(CAPABILITIES),
    ...(stateMachineArn ? { startCampaign: campaignStarterOnLambda(stateMachineArn) } : {}),
  };
  const { botToken, signingSecret } = await slackCredentialsFromSecret();
  return createSlackEndpoint({ signingSecret, botToken, services });
}

/** The Slack endpoint (Function URL). The listener must finish within Slack's 3-second budget. */
export const handler = (event: unknown, _context?: unknown): Promise<FunctionUrlResult> =>
  // Slack's 3 seconds started before a cold start built the endpoint: the deadline counts from here.
  withArrival(performance.now(), () => handle(event));

async function handle(event: unknown): Promise<FunctionUrlResult> {
  ready ??= build().catch((error: unknown) => {
    ready = undefined;
    throw error;
  });
  let endpoint: SlackEndpoint;
  try {
    endpoint = await ready;
  } catch (error) {
    // Configuration or Secrets Manager, not the request: logged, and a 500 Slack will show.
    console.error(
      JSON.stringify({
        level: 'error',
        message: 'the Slack endpoint could not start',
        error: describe(error),
      }),
    );
    return refusal(500, 'internal error');
  }
  return endpoint(event);
}
