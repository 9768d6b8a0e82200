import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { WebClient } from '@slack/web-api';
import { connectorRegistry } from '../connectors/connector';
import { gitHubCredentialsFrom } from '../connectors/github/credentials';
import { createGitHubConnector } from '../connectors/github/index';
import { parseConfig } from '../core/config';
import { ConfigError } from '../core/errors';
import { prototypeKeyPaths, UnsafeRecordError } from '../core/records';
import { createStore } from '../store/index';
import { createTableRef } from '../store/table';
import { jsonLogger, type Services, type TaskCompleter } from './services';

export interface SlackCredentials {
  botToken: string;
  signingSecret: string;
}

const secrets = new SecretsManagerClient({});
const secretCache = new Map<string, Promise<Record<string, unknown>>>();

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigError('Lambda environment is incomplete', [`${name} is not set`]);
  return value;
}

/** Reads a JSON secret once per container; the value never leaves memory (not logged, not returned). */
async function readSecret(arnVariable: string, fields: string[]): Promise<Record<string, unknown>> {
  const arn = requiredEnv(arnVariable);
  let pending = secretCache.get(arn);
  if (!pending) {
    pending = secrets.send(new GetSecretValueCommand({ SecretId: arn })).then((result) => {
      let value: unknown;
      try {
        value = JSON.parse(result.SecretString ?? '');
      } catch (error) {
        throw new ConfigError(`secret ${arn} is not JSON`, ['SecretString must be a JSON object'], {
          cause: error,
        });
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new ConfigError(`secret ${arn} is not a JSON object`, ['SecretString must be a JSON object']);
      }
      // Named by path only: the secret's values never reach an error message.
      const unsafe = prototypeKeyPaths(value);
      if (unsafe.length > 0) {
        throw new ConfigError(
          `secret ${arn} is refused`,
          unsafe.map((path) => `${path} is not an accepted key`),
          { cause: new UnsafeRecordError(`secret ${arn}`, unsafe) },
        );
      }
      return value as Record<string, unknown>;
    });
    secretCache.set(arn, pending);
    pending.catch(() => secretCache.delete(arn));
  }
  const value = await pending;
  const missing = fields.filter((field) => typeof value[field] !== 'string' || value[field] === '');
  if (missing.length > 0) {
    throw new ConfigError(
      `secret ${arn} is incomplete`,
      missing.map((field) => `${field} is missing or empty`),
    );
  }
  return value;
}

export async function slackCredentialsFromSecret(): Promise<SlackCredentials> {
  const value = await readSecret('SLACK_SECRET_ARN', ['botToken', 'signingSecret']);
  // Both were checked to be non-empty strings above.
  return { botToken: String(value.botToken), signingSecret: String(value.signingSecret) };
}

const sfn = new SFNClient({});
export const stepFunctionsTaskCompleter: TaskCompleter = {
  async succeed(taskToken, output) {
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
  },
};

/** ACCESS_REVIEW_CONFIG as JSON; unreadable JSON and prototype keys are a ConfigError naming the variable. */
export function configFromEnvironment(): unknown {
  const text = requiredEnv('ACCESS_REVIEW_CONFIG');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      'ACCESS_REVIEW_CONFIG is not JSON',
      ['ACCESS_REVIEW_CONFIG must be a JSON object'],
      {
        cause: error,
      },
    );
  }
  const unsafe = prototypeKeyPaths(value);
  if (unsafe.length > 0) {
    throw new ConfigError(
      'ACCESS_REVIEW_CONFIG is refused',
      unsafe.map((path) => `${path} is not an accepted key`),
      { cause: new UnsafeRecordError('ACCESS_REVIEW_CONFIG', unsafe) },
    );
  }
  return value;
}

let services: Services | undefined;

/** Built once per Lambda container from its environment; secrets are fetched on first use. */
export function servicesFromEnvironment(): Services {
  if (services) return services;
  const config = parseConfig(configFromEnvironment(), 'ACCESS_REVIEW_CONFIG');
  const store = createStore(createTableRef(requiredEnv('TABLE_NAME')));
  const { aws } = config;
  let slackClient: Promise<WebClient> | undefined;
  services = {
    config,
    store,
    connectors: connectorRegistry({
      async github() {
        const credentials = gitHubCredentialsFrom(
          await readSecret('GITHUB_SECRET_ARN', []),
          'the GitHub secret',
        );
        return createGitHubConnector({
          organization: config.github.organization,
          token: credentials.kind === 'token' ? credentials.token : '',
          ...(credentials.kind === 'app'
            ? {
                app: {
                  appId: credentials.appId,
                  installationId: credentials.installationId,
                  privateKey: credentials.privateKey,
                },
              }
            : {}),
          baseUrl: config.github.apiUrl,
        });
      },
      // The function's own role assumes each account's read or revoke role (granted by the stack).
      // Loaded on first use: only the steps that read AWS pay for the policy simulator and its data.
      ...(aws
        ? {
            aws: async () => {
              const { createAwsConnector } = await import('../connectors/aws/index');
              return createAwsConnector({ config: aws, warn: (message) => jsonLogger.warn(message) });
            },
          }
        : {}),
    }),
    slack() {
      slackClient ??= slackCredentialsFromSecret().then(
        ({ botToken }) => new WebClient(botToken, { slackApiUrl: config.slack.apiUrl }),
      );
      return slackClient;
    },
    tasks: stepFunctionsTaskCompleter,
    now: () => new Date(),
    log: jsonLogger,
    progress: (message) => jsonLogger.info(message),
  };
  return services;
}

/** Wraps a step for Lambda: the same function the embedded host calls with its own services. */
export function lambdaHandler<I, O>(
  step: (input: I, services: Services) => Promise<O>,
): (event: I, context?: { getRemainingTimeInMillis(): number }) => Promise<O> {
  return (event, context) => {
    const shared = servicesFromEnvironment();
    // The deadline belongs to this invocation, not to the container's shared services.
    return step(
      event,
      context ? { ...shared, timeLeftMs: () => context.getRemainingTimeInMillis() } : shared,
    );
  };
}
