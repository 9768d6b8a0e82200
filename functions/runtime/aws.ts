import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { GetParameterError } from '@aws-lambda-powertools/parameters/errors';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { WebClient } from '@slack/web-api';
import { type Connector, connectorRegistry } from '../connectors/connector';
import { awsClientConfig, budgetsForHandler, type HandlerBudgets } from '../core/call-budget';
import { type AccessReviewConfig, parseConfig } from '../core/config';
import { AccessReviewError, ConfigError } from '../core/errors';
import { prototypeKeyPaths, UnsafeRecordError } from '../core/records';
import type { EmailSender } from '../email/types';
import type { EvidenceArchive } from '../evidence/archive/archive';
import type { ChainSigner } from '../evidence/signing/signer';
import { createStore } from '../store/index';
import { createTableRef } from '../store/table';
import { CONFIG_FILE_NAME, CONFIG_SHA256_VARIABLE, readConfigFile, sha256Hex } from './config-file';
import type { Logger, Services, TaskCompleter } from './services';

/**
 * The AWS host's services: configuration from the file in the function's code, the table, the
 * secrets (Secrets Manager through Powertools Parameters, re-read after a TTL) and the logger
 * (Powertools Logger: JSON lines with the Lambda context and the campaign as correlation id).
 *
 * Everything heavy (Octokit, the Slack client, the Step Functions client, the AWS connector) is a
 * capability a handler declares (`lambdaHandler(run, { github: gitHubOnLambda })`): each lives in
 * its own module under runtime/, so esbuild bundles into a function only what it declared. The
 * declarations match lib/aws/handlers.ts (secrets, awsRoles, completesReviewTasks, signsChain,
 * archivesEvidence), which a test checks: a function cannot use a client it has no permission for.
 */

export interface SlackCredentials {
  botToken: string;
  signingSecret: string;
}

/** A secret as read: its JSON object (or what `interpret` made of it) and a SHA-256 of its text (a change means rotation). */
export interface SecretRead<T = Record<string, unknown>> {
  value: T;
  fingerprint: string;
}

/** Turns a secret's checked JSON object into credentials; throws a ConfigError naming bad fields, never values. */
export type SecretInterpreter<T> = (value: Record<string, unknown>) => T;

/** What a capability is built from: the function's configuration, budgets, logger and secrets. */
export interface LambdaEnvironment {
  config: AccessReviewConfig;
  budgets: HandlerBudgets;
  log: Logger;
  readSecret<T = Record<string, unknown>>(
    arnVariable: string,
    fields: readonly string[],
    interpret?: SecretInterpreter<T>,
  ): Promise<SecretRead<T>>;
}

/** Heavy clients a handler may use; each is built by its own module, so only declared ones are bundled. */
export interface LambdaCapabilities {
  /** The GitHub connector (functions/runtime/github-on-lambda.ts). */
  github?: (environment: LambdaEnvironment) => () => Promise<Connector>;
  /** The AWS connector, when the configuration has an `aws` section (runtime/aws-connector-on-lambda.ts). */
  aws?: (
    environment: LambdaEnvironment,
    aws: NonNullable<AccessReviewConfig['aws']>,
  ) => () => Promise<Connector>;
  /** The Slack Web API client (runtime/slack-on-lambda.ts). */
  slack?: (environment: LambdaEnvironment) => () => Promise<WebClient>;
  /** SendTaskSuccess (runtime/step-functions-on-lambda.ts). */
  tasks?: (environment: LambdaEnvironment) => TaskCompleter;
  /** kms:Sign on the stack's signing key (runtime/signing-on-lambda.ts): catalogue flag signsChain. */
  signer?: (environment: LambdaEnvironment) => ChainSigner;
  /** Writes to the Object Lock evidence bucket (runtime/archive-on-lambda.ts): catalogue flag archivesEvidence. */
  archive?: (environment: LambdaEnvironment) => EvidenceArchive;
  /**
   * SES SendEmail as the configured sender (functions/email/on-lambda.ts): catalogue flag sendsEmail.
   * Undefined when the configuration has no `notifications.email`.
   */
  email?: (environment: LambdaEnvironment) => EmailSender | undefined;
}

export type CapabilityName = keyof LambdaCapabilities;

/** A handler used a client its function was not built with (its capabilities do not list it). */
export class MissingCapabilityError extends AccessReviewError {}

/** The Lambda invocation context, as far as this code reads it (the Node runtime passes more). */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  functionName?: string;
  functionVersion?: string;
  invokedFunctionArn?: string;
  memoryLimitInMB?: string;
  awsRequestId?: string;
}

/** How long a warm container trusts a secret it read: a rotated secret is in use within this. */
export const SECRET_MAX_AGE_SECONDS = 300;

/** An environment variable the stack sets on the function; ConfigError naming it when absent. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigError('Lambda environment is incomplete', [`${name} is not set`]);
  return value;
}

/** The catalogue name of this function (lib/aws/functions.ts sets it); absent outside Lambda. */
function handlerName(): string {
  return process.env.ACCESS_REVIEW_HANDLER ?? 'unknown';
}

const powertools = new PowertoolsLogger({
  serviceName: 'access-review',
  persistentKeys: { handler: handlerName() },
});

/** The Lambda host's logger: Powertools JSON lines; callers pass ids and counts, never secret values. */
export const lambdaLogger: Logger = {
  info: (message, fields) => (fields ? powertools.info(message, fields) : powertools.info(message)),
  warn: (message, fields) => (fields ? powertools.warn(message, fields) : powertools.warn(message)),
  error: (message, fields) => (fields ? powertools.error(message, fields) : powertools.error(message)),
};

/** The Powertools logger itself, for tests and for handlers that add their own context. */
export function powertoolsLogger(): PowertoolsLogger {
  return powertools;
}

let secretsProvider: SecretsProvider | undefined;
/** Secrets whose last read was refused: read again at once next time, not after the TTL. */
const refusedSecrets = new Set<string>();

function secrets(): SecretsProvider {
  secretsProvider ??= new SecretsProvider({
    awsSdkV3Client: new SecretsManagerClient(awsClientConfig(budgetsForHandler(handlerName()).hub)),
  });
  return secretsProvider;
}

/**
 * Reads a JSON secret through Powertools Parameters, cached for SECRET_MAX_AGE_SECONDS. The value
 * never leaves memory: errors name the secret's ARN and the bad fields or key paths, never a value.
 * A refused secret (by the checks here or by `interpret`) is not trusted for the TTL: the next read
 * fetches it again, so a corrected secret is used at once.
 */
export async function readSecret<T = Record<string, unknown>>(
  arnVariable: string,
  fields: readonly string[],
  interpret?: SecretInterpreter<T>,
): Promise<SecretRead<T>> {
  const arn = requiredEnv(arnVariable);
  let text: unknown;
  try {
    text = await secrets().get(arn, { maxAge: SECRET_MAX_AGE_SECONDS, forceFetch: refusedSecrets.has(arn) });
  } catch (error) {
    // Powertools wraps the SDK's error; the SDK's own (AccessDeniedException, ThrottlingException…)
    // is what the workflow's Retry/Catch and classifyError recognise.
    throw error instanceof GetParameterError && error.cause !== undefined ? error.cause : error;
  }
  try {
    const { value, fingerprint } = checkSecret(arn, text, fields);
    const read = { value: interpret ? interpret(value) : (value as T), fingerprint };
    refusedSecrets.delete(arn);
    return read;
  } catch (error) {
    refusedSecrets.add(arn);
    throw error;
  }
}

function checkSecret(arn: string, text: unknown, fields: readonly string[]): SecretRead {
  if (typeof text !== 'string') {
    throw new ConfigError(`secret ${arn} is not a JSON string`, ['SecretString must be a JSON object']);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the text it choked on: not passed on.
    throw new ConfigError(`secret ${arn} is not JSON`, ['SecretString must be a JSON object'], {
      cause: new SyntaxError('SecretString is not valid JSON'),
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
  const record = value as Record<string, unknown>;
  const missing = fields.filter((field) => typeof record[field] !== 'string' || record[field] === '');
  if (missing.length > 0) {
    throw new ConfigError(
      `secret ${arn} is incomplete`,
      missing.map((field) => `${field} is missing or empty`),
    );
  }
  return { value: record, fingerprint: sha256Hex(text) };
}

/** The Slack bot token and signing secret, with the secret's fingerprint (it changes on rotation). */
export async function slackSecret(): Promise<SlackCredentials & { fingerprint: string }> {
  const { value, fingerprint } = await readSecret('SLACK_SECRET_ARN', ['botToken', 'signingSecret']);
  // Both were checked to be non-empty strings above.
  return { botToken: String(value.botToken), signingSecret: String(value.signingSecret), fingerprint };
}

export async function slackCredentialsFromSecret(): Promise<SlackCredentials> {
  const { botToken, signingSecret } = await slackSecret();
  return { botToken, signingSecret };
}

/** Where the configuration file is: the function's code directory (LAMBDA_TASK_ROOT), else beside this module. */
export function configFilePath(): string {
  const root = process.env.LAMBDA_TASK_ROOT ?? dirname(fileURLToPath(import.meta.url));
  return join(root, CONFIG_FILE_NAME);
}

/** The configuration file's JSON after its hash check (ConfigError naming the file or the variable). */
export function configFromFile(): unknown {
  return readConfigFile(configFilePath(), requiredEnv(CONFIG_SHA256_VARIABLE));
}

let loadedConfig: AccessReviewConfig | undefined;

/** Read, checked and parsed once per container. */
export function lambdaConfig(): AccessReviewConfig {
  loadedConfig ??= parseConfig(configFromFile(), CONFIG_FILE_NAME);
  return loadedConfig;
}

function missing(capability: string, what: string): Error {
  return new MissingCapabilityError(
    `the ${handlerName()} function was built without ${what}: functions/handlers/${handlerName()}.ts must declare the ${capability} capability (and lib/aws/handlers.ts grant it)`,
  );
}

const builtServices = new WeakMap<LambdaCapabilities, Services>();

/** Built once per container and capability set; secrets are fetched on first use and re-read after their TTL. */
export function servicesFromEnvironment(capabilities: LambdaCapabilities = {}): Services {
  const existing = builtServices.get(capabilities);
  if (existing) return existing;
  const config = lambdaConfig();
  const budgets = budgetsForHandler(handlerName());
  const store = createStore(createTableRef(requiredEnv('TABLE_NAME'), awsClientConfig(budgets.hub)));
  const environment: LambdaEnvironment = { config, budgets, log: lambdaLogger, readSecret };

  const github = capabilities.github?.(environment);
  const aws = capabilities.aws && config.aws ? capabilities.aws(environment, config.aws) : undefined;
  const registry = connectorRegistry({ ...(github ? { github } : {}), ...(aws ? { aws } : {}) });
  const slack = capabilities.slack?.(environment);
  const tasks = capabilities.tasks?.(environment);
  const signer = capabilities.signer?.(environment);
  const archive = capabilities.archive?.(environment);
  const email = capabilities.email?.(environment);

  const services: Services = {
    config,
    configSha256: requiredEnv(CONFIG_SHA256_VARIABLE),
    store,
    connectors: {
      names: registry.names,
      // The GitHub factory decides itself when to rebuild (a rotated secret); the registry would
      // keep the first connector for the container's life.
      get: (name) => (name === 'github' && github ? github() : registry.get(name)),
    },
    slack: slack ?? (() => Promise.reject(missing('slack', 'the Slack client'))),
    tasks: tasks ?? {
      succeed: () => Promise.reject(missing('tasks', 'the Step Functions client')),
    },
    now: () => new Date(),
    log: lambdaLogger,
    progress: (message) => lambdaLogger.info(message),
    ...(signer ? { signer } : {}),
    ...(archive ? { archive } : {}),
    ...(email ? { email } : {}),
  };
  builtServices.set(capabilities, services);
  return services;
}

/** Every log line of an invocation about a campaign carries its id (and Powertools' correlation_id). */
function correlate(event: unknown): void {
  const campaignId =
    typeof event === 'object' && event !== null && 'campaignId' in event ? event.campaignId : undefined;
  if (typeof campaignId === 'string' && campaignId !== '') {
    powertools.appendPersistentKeys({ campaignId });
    powertools.setCorrelationId(campaignId);
  } else {
    powertools.removePersistentKeys(['campaignId']);
    powertools.removeKeys(['correlation_id']);
  }
}

export type LambdaStepHandler<I, O> = ((event: I, context?: LambdaContext) => Promise<O>) & {
  /** What the handler declared, sorted: compared with lib/aws/handlers.ts by the tests. */
  readonly capabilities: readonly CapabilityName[];
};

/** Wraps a step for Lambda: the same function the embedded host calls with its own services. */
export function lambdaHandler<I, O>(
  step: (input: I, services: Services) => Promise<O>,
  capabilities: LambdaCapabilities = {},
): LambdaStepHandler<I, O> {
  const handler = async (event: I, context?: LambdaContext): Promise<O> => {
    if (context?.awsRequestId)
      powertools.addContext(context as Parameters<PowertoolsLogger['addContext']>[0]);
    correlate(event);
    const shared = servicesFromEnvironment(capabilities);
    // The deadline belongs to this invocation, not to the container's shared services.
    return step(
      event,
      context ? { ...shared, timeLeftMs: () => context.getRemainingTimeInMillis() } : shared,
    );
  };
  const declared = (Object.keys(capabilities) as CapabilityName[])
    .filter((name) => capabilities[name] !== undefined)
    .sort();
  return Object.assign(handler, { capabilities: declared });
}
