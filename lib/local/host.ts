import './node20';
import { isUtf8 } from 'node:buffer';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, resolve } from 'node:path';
import { WebClient } from '@slack/web-api';
import { StateMachine } from 'aws-local-stepfunctions';
import { createAwsConnector } from '../../functions/connectors/aws/index';
import { connectorRegistry } from '../../functions/connectors/connector';
import { createGitHubConnector } from '../../functions/connectors/github/index';
import { slackWebClientOptions } from '../../functions/core/call-budget';
import type { AccessReviewConfig } from '../../functions/core/config';
import { sesIdentity } from '../../functions/core/config';
import { AccessReviewError } from '../../functions/core/errors';
import { sesEmailSender } from '../../functions/email/sender';
import type { EvidenceArchive } from '../../functions/evidence/archive/archive';
import { folderArchive } from '../../functions/evidence/archive/folder';
import { ephemeralLocalSigner, localSigner } from '../../functions/evidence/signing/local';
import type { ChainSigner } from '../../functions/evidence/signing/signer';
import type { CampaignSummary } from '../../functions/evidence/summary';
import { createSlackEndpoint, type SlackEndpoint } from '../../functions/handlers/slack-events';
import { configSha256Of } from '../../functions/runtime/config-file';
import type { Logger, Services } from '../../functions/runtime/services';
import { notifyFailure } from '../../functions/steps/notify-failure';
import { createStore, type Store } from '../../functions/store/index';
import type { TableRef } from '../../functions/store/table';
import { type AwsSandbox, startAwsSandbox } from '../../sandbox/aws/server';
import { startGitHubSandbox } from '../../sandbox/github/server';
import { listenOnLoopback } from '../../sandbox/loopback';
import { type SimulatedReviewers, startSimulatedReviewers } from '../../sandbox/reviewers';
import type { Scenario } from '../../sandbox/scenario';
import { startSlackSandbox } from '../../sandbox/slack/server';
import { HANDLERS } from '../aws/handlers';
import { type LocalDynamo, startLocalDynamo } from './dynamo';
import { type LocalSes, startLocalSes } from './ses';
import { loadStepHandler, type StepHandler } from './step-handlers';
import { DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS, synthesizeForLocalHost } from './synthesized-workflow';
import { LocalTaskTokens } from './task-tokens';

type RunOptions = NonNullable<Parameters<StateMachine['run']>[1]>;
type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type RunnerEvents = ReturnType<StateMachine['run']>['eventLogs'];

export class EmbeddedHostError extends AccessReviewError {}

export const LOCAL_TABLE_NAME = 'access-review';

export interface EmbeddedHostOptions {
  scenario: Scenario;
  config: AccessReviewConfig;
  /**
   * Persist the table here (LevelDB); in memory when absent. The chain is signed with the key kept
   * here (`signing-key.pem`, created on first use); without a data directory, with a key that lives
   * as long as the host.
   */
  dataDir?: string;
  /**
   * Where Finalize archives each evidence pack (`campaigns/<id>/…`, read-only files). Defaults to
   * `evidence-archive` beside the data directory (`.access-review/evidence-archive`); without
   * either, packs are not archived.
   */
  archiveDir?: string;
  /**
   * The review window on this host. The deployed window (config.review.windowHours) is days; a
   * local run stands in seconds for it, and the host reports the rewrite.
   */
  reviewWindowSeconds?: number;
  /** Milliseconds a simulated reviewer "reads" before each click. */
  reviewerThinkMs?: number;
  onProgress?: (line: string) => void;
  /** Defaults to a logger that forwards warnings and errors to onProgress. */
  log?: Logger;
}

export interface CampaignRun {
  campaignId: string;
  summary: CampaignSummary;
}

export interface EmbeddedHost {
  store: Store;
  /** The table itself, for tools that read whole partitions (tests, evidence). */
  table: TableRef;
  services: Services;
  github: Awaited<ReturnType<typeof startGitHubSandbox>>;
  /** The local AWS (IAM, STS, Secrets Manager, KMS), when the scenario has an aws section. */
  aws: AwsSandbox | undefined;
  slack: Awaited<ReturnType<typeof startSlackSandbox>>;
  reviewers: SimulatedReviewers;
  /** Where the Slack app listens, as Slack's Interactivity Request URL would point. */
  slackEndpoint: string;
  signingSecret: string;
  /** The key the workflow's steps sign the chain head with. */
  signer: ChainSigner;
  /** The local SES the host's email goes to (when notifications.email is configured): read what was sent. */
  ses: LocalSes | undefined;
  /** Where Finalize archives evidence packs; undefined when the host keeps none. */
  archive: EvidenceArchive | undefined;
  /** Every DynamoDB action each handler sent so far (handler name → actions such as PutItem). */
  dynamoActionsByHandler(): Map<string, ReadonlySet<string>>;
  /** Timeouts the host changed in the synthesized definition, so a person can see what differs from AWS. */
  rewrittenTimeouts: Array<{ state: string; fromSeconds: number; toSeconds: number }>;
  runCampaign(input?: CampaignInput): Promise<CampaignRun>;
  /**
   * Campaigns started while the host runs by something other than runCampaign (the Slack command's
   * `start`), in the order they were started; each settles when its workflow ends.
   */
  startedCampaigns(): Array<{ executionName: string; run: Promise<CampaignRun> }>;
  close(): Promise<void>;
}

/** The execution input: who started the campaign, and for an ad-hoc one its scope and reason. */
export interface CampaignInput {
  trigger?: string;
  requestedBy?: string;
  scope?: string[];
  reason?: string;
}

/** Retries wait 0.1 s here instead of the seconds the definition asks of AWS. */
const LOCAL_RETRY_INTERVAL_MS = 100;

/**
 * The embedded host: dynalite for DynamoDB, the GitHub and Slack sandboxes, the Slack app on
 * loopback, and aws-local-stepfunctions running the state machine definition the CDK stack
 * synthesizes. Each Lambda state is bound, by the handler name the stack records, to the same
 * handler module the Lambda runs; nothing here decides what step comes next.
 */
export async function startEmbeddedHost(options: EmbeddedHostOptions): Promise<EmbeddedHost> {
  const progress = options.onProgress ?? (() => undefined);
  const log: Logger = options.log ?? {
    info: () => undefined,
    warn: (message, fields) => progress(`warning: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
    error: (message, fields) => progress(`error: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`),
  };
  const reviewWindowSeconds = options.reviewWindowSeconds ?? DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS;
  progress(
    `Synthesizing the AWS stack and starting dynalite, the GitHub${options.config.aws && options.scenario.aws ? ', AWS' : ''} and Slack sandboxes and the Slack app…`,
  );
  const synthesized = synthesizeForLocalHost(options.config, { reviewWindowSeconds });

  const githubToken = `ghs_${randomBytes(18).toString('hex')}`;
  const botToken = `xoxb-local-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(16).toString('hex');
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
    closers.length = 0;
  };

  try {
    const dynamo: LocalDynamo = await startLocalDynamo({
      tableName: LOCAL_TABLE_NAME,
      schema: synthesized.table,
      dataDir: options.dataDir,
    });
    closers.push(() => dynamo.close());
    const github = await startGitHubSandbox(options.scenario.organization, { token: githubToken });
    closers.push(() => github.close());
    const slack = await startSlackSandbox({
      users: options.scenario.slack.users,
      userGroups: options.scenario.slack.userGroups,
      botToken,
    });
    closers.push(() => slack.close());
    // AWS is reviewed only when configured; the scenario's accounts then stand in for AWS.
    const aws =
      options.config.aws && options.scenario.aws ? await startAwsSandbox(options.scenario.aws) : undefined;
    if (aws) closers.push(() => aws.close());

    // Email goes to a local SES (aws-ses-v2-local) whatever endpoint the configuration names: a
    // demo never sends real mail. It accepts mail only from the configured identity, as SES does.
    const configuredEmail = options.config.notifications?.email;
    const ses = configuredEmail
      ? await startLocalSes({ verifiedIdentities: [sesIdentity(configuredEmail)] })
      : undefined;
    if (ses) closers.push(() => ses.close());
    const config: AccessReviewConfig = {
      ...options.config,
      github: { ...options.config.github, apiUrl: github.url },
      slack: { ...options.config.slack, apiUrl: slack.apiUrl },
      ...(options.config.aws && aws ? { aws: { ...options.config.aws, endpoint: aws.url } } : {}),
      ...(options.config.notifications && configuredEmail && ses
        ? {
            notifications: {
              ...options.config.notifications,
              email: { ...configuredEmail, endpoint: ses.endpoint },
            },
          }
        : {}),
    };
    const emailConfig = config.notifications?.email;
    const email = emailConfig && ses ? sesEmailSender(emailConfig, ses.clientConfig) : undefined;
    const awsConfig = config.aws;
    const started: Array<{ executionName: string; run: Promise<CampaignRun> }> = [];
    // Assigned below, once the state machine exists; services.startCampaign calls it later.
    let runCampaign: (input?: CampaignInput, executionName?: string) => Promise<CampaignRun>;
    const store = createStore(dynamo.table);
    const tokens = new LocalTaskTokens();
    closers.push(async () => tokens.abandonAll());
    // The same call budget as on Lambda: the host cannot hang on a Slack that never answers.
    const slackClient = new WebClient(botToken, { ...slackWebClientOptions(), slackApiUrl: slack.apiUrl });
    const services: Services = {
      config,
      // Of the configuration as given, before the sandbox URLs are put in: the hash a stack
      // synthesized from the same configuration gives its functions.
      configSha256: configSha256Of(options.config),
      store,
      connectors: connectorRegistry({
        github: async () =>
          createGitHubConnector({
            organization: config.github.organization,
            token: githubToken,
            baseUrl: github.url,
            throttle: { fast: true },
          }),
        ...(aws && awsConfig
          ? {
              aws: async () =>
                createAwsConnector({
                  config: awsConfig,
                  credentials: aws.credentials,
                  stsRegion: 'us-east-1',
                  warn: (message) => log.warn(message),
                }),
            }
          : {}),
      }),
      slack: async () => slackClient,
      tasks: tokens,
      now: () => new Date(),
      log,
      progress,
      ...(email ? { email } : {}),
      // The review calendar in seconds: the window the host stands in for config.review.windowHours,
      // so reminders and escalation keep their place inside it.
      reviewHourSeconds: reviewWindowSeconds / config.review.windowHours,
      // The Slack command's `start`: the campaign runs in the background, as an execution would.
      startCampaign: async (input) => {
        const executionName = randomUUID();
        const run = runCampaign(input, executionName);
        // Observed by startedCampaigns(); an unobserved failure must not crash the host.
        run.catch(() => undefined);
        started.push({ executionName, run });
        return { executionName };
      },
    };
    const signer = options.dataDir ? await localSigner(options.dataDir) : ephemeralLocalSigner();
    const archiveDir =
      options.archiveDir ??
      (options.dataDir ? resolve(dirname(resolve(options.dataDir)), 'evidence-archive') : undefined);
    const archive = archiveDir ? folderArchive(archiveDir, config.evidence.retentionDays) : undefined;
    // Each handler gets its own table client that records the DynamoDB actions it sends, so a
    // run shows whether the code stays within what the stack's IAM policy grants that function.
    // Like the function's role, it gets the signer and the archive only where the catalogue says
    // signsChain and archivesEvidence: the Slack endpoint never signs on either host.
    const actionsByHandler = new Map<string, Set<string>>();
    const servicesFor = (handlerName: string): Services => {
      const actions = actionsByHandler.get(handlerName) ?? new Set<string>();
      actionsByHandler.set(handlerName, actions);
      const spec = HANDLERS.find((candidate) => candidate.name === handlerName);
      return {
        ...services,
        store: createStore(dynamo.recordingTable((action) => actions.add(action))),
        ...(spec?.signsChain ? { signer } : {}),
        ...(spec?.archivesEvidence && archive ? { archive } : {}),
        // Mail only from the handlers the stack lets send it (ses:SendEmail on their roles).
        ...(spec?.sendsEmail ? {} : { email: undefined }),
      };
    };

    // The Slack app: the slack-events Lambda's own endpoint (request checks, AwsLambdaReceiver,
    // listeners), fed each HTTP request as the Function URL event AWS would build from it, so the
    // host answers exactly as the deployed function does.
    const endpoint = await createSlackEndpoint({
      signingSecret,
      botToken,
      services: servicesFor('slack-events'),
    });
    const slackApp = await serveSlackEndpoint(endpoint, log);
    closers.push(() => slackApp.close());
    const slackEndpoint = slackApp.url;

    const reviewers = startSimulatedReviewers({
      scenario: options.scenario,
      slack,
      slackEndpoint,
      signingSecret,
      lookupGrant: (campaignId, grantId) => store.grants.get(campaignId, grantId),
      thinkMs: options.reviewerThinkMs ?? 20,
      onError: (message) => progress(`warning: ${message}`),
      // What each simulated person did (a bulk keep, a reason typed, a command), as a transcript line.
      report: (line) => progress(`  ${line}`),
    });
    closers.push(async () => reviewers.stop());

    const handlers = new Map<string, { run: StepHandler; services: Services }>();
    for (const [state, handlerName] of Object.entries(synthesized.handlerByStateName)) {
      handlers.set(state, { run: await loadStepHandler(handlerName), services: servicesFor(handlerName) });
    }
    const waitForToken = new Set(synthesized.waitForTaskTokenStates);
    const stateMachine = new StateMachine(
      synthesized.definition as ConstructorParameters<typeof StateMachine>[0],
      {
        validationOptions: { checkArn: false },
      },
    );

    /** The embedded host has no EventBridge: a failed run notifies as the notify-failure Lambda would. */
    const notifyLocalFailure = async (
      executionArn: string,
      executionName: string,
      startedAt: Date,
      error: unknown,
    ): Promise<void> => {
      await notifyFailure(
        {
          detail: {
            executionArn,
            name: executionName,
            status: 'FAILED',
            startDate: startedAt.getTime(),
            stopDate: Date.now(),
            error: error instanceof Error ? error.name : 'States.TaskFailed',
            cause: error instanceof Error ? error.message : String(error),
          },
        },
        // Its email is services.email: the local SES started above.
        servicesFor('notify-failure'),
        { table: dynamo.table },
      ).then(
        (result) => progress(`failure notice: email ${result.email}, Slack ${result.slack}`),
        (notifyError: unknown) =>
          progress(
            `⚠ failure notice not sent: ${notifyError instanceof Error ? notifyError.message : String(notifyError)}`,
          ),
      );
    };

    runCampaign = async (input: CampaignInput = {}, executionName = randomUUID()): Promise<CampaignRun> => {
      const executionArn = `arn:aws:states:local:000000000000:execution:AccessReview:${executionName}`;
      const startedAt = new Date();
      const localHandlers: LocalHandlers = {};
      const retryIntervalOverrides: Record<string, number> = {};
      for (const [state, handler] of handlers) {
        retryIntervalOverrides[state] = LOCAL_RETRY_INTERVAL_MS;
        localHandlers[state] = async (parameters: unknown) => {
          const request = lambdaRequest(parameters);
          if (waitForToken.has(state)) {
            const token = (request.payload as { taskToken?: unknown }).taskToken;
            if (typeof token !== 'string') throw new EmbeddedHostError(`${state} received no task token`);
            // A state whose timeout comes from its input (TimeoutSecondsPath) also passes it in the
            // payload; any other waits for the review window the host stands in.
            const waitSeconds = (request.payload as { waitSeconds?: unknown }).waitSeconds;
            const resumed = tokens.wait(
              token,
              (typeof waitSeconds === 'number' && waitSeconds > 0 ? waitSeconds : reviewWindowSeconds) * 1000,
            );
            await handler.run(request.payload, handler.services);
            return (await resumed) as Awaited<ReturnType<LocalHandlers[string]>>;
          }
          const result = await handler.run(request.payload, handler.services);
          // The optimised Lambda integration returns the invocation's envelope; the state's
          // ResultSelector picks Payload out of it, as it does on AWS.
          return (
            request.envelope ? { Payload: result, StatusCode: 200, ExecutedVersion: '$LATEST' } : result
          ) as Awaited<ReturnType<LocalHandlers[string]>>;
        };
      }
      const execution = stateMachine.run(
        {
          trigger: input.trigger ?? 'manual',
          requestedBy: input.requestedBy ?? 'local',
          // Only when given: the quarterly input stays `{ trigger, requestedBy }`, as the schedule sends it.
          ...(input.scope ? { scope: input.scope } : {}),
          ...(input.reason !== undefined ? { reason: input.reason } : {}),
        },
        {
          overrides: {
            taskResourceLocalHandlers: localHandlers,
            retryIntervalOverrides,
          },
          context: {
            Execution: {
              Id: executionArn,
              Name: executionName,
              StartTime: startedAt.toISOString(),
              RoleArn: 'arn:aws:iam::000000000000:role/local',
            },
            // Read once per task state; each Map iteration gets its own token, as on AWS.
            get Task() {
              return { Token: tokens.issue() };
            },
          },
        },
      );
      const watching = reportStates(execution.eventLogs, progress);
      let output: unknown;
      try {
        output = await execution.result;
      } catch (error) {
        // What the EventBridge rule on failed executions does on AWS: tell the security team.
        await notifyLocalFailure(executionArn, executionName, startedAt, error);
        throw new EmbeddedHostError(
          `the workflow failed: ${error instanceof Error ? error.message : String(error)}`,
          {
            cause: error,
          },
        );
      } finally {
        await watching;
      }
      const summary = output as CampaignSummary;
      if (!summary || typeof summary.campaignId !== 'string') {
        throw new EmbeddedHostError('the workflow finished without a campaign summary');
      }
      return { campaignId: summary.campaignId, summary };
    };

    return {
      store,
      table: dynamo.table,
      services,
      github,
      aws,
      slack,
      reviewers,
      slackEndpoint,
      signingSecret,
      signer,
      archive,
      ses,
      rewrittenTimeouts: synthesized.rewrittenTimeouts,
      dynamoActionsByHandler: () => new Map(actionsByHandler),
      runCampaign: (input) => runCampaign(input),
      startedCampaigns: () => [...started],
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Where the local Slack app listens (Bolt's HTTP receiver default, which tests and the CLI print). */
const LOCAL_SLACK_PATH = '/slack/events';

/** A Function URL refuses request payloads over 6 MB with 413 before the function runs. */
const FUNCTION_URL_MAX_BYTES = 6 * 1024 * 1024;

/** Media types a Function URL passes as text; any other body arrives base64-encoded. */
const TEXT_MEDIA_TYPE = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript)\b)/i;

/**
 * The Slack endpoint on loopback at `/slack/events`, each request handed to `endpoint` as the
 * Function URL event AWS would build. Exported so tests drive the host's HTTP path directly.
 */
export async function serveSlackEndpoint(
  endpoint: SlackEndpoint,
  log: Logger,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    serveFunctionUrl(request, response, endpoint).catch((error: unknown) => {
      log.error('the local Slack endpoint failed', {
        error: error instanceof Error ? error.message : String(error),
      });
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  const base = await listenOnLoopback(server);
  return {
    url: `${base}${LOCAL_SLACK_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * One HTTP request in, as a Lambda Function URL (payload format 2.0) would hand it to the
 * function: lower-cased headers (repeated ones joined by commas), the body as text for text media
 * types and base64 otherwise. Paths other than the endpoint's are 404 here, as Bolt's HTTP
 * receiver answered before.
 */
async function serveFunctionUrl(
  request: IncomingMessage,
  response: ServerResponse,
  endpoint: SlackEndpoint,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== LOCAL_SLACK_PATH) {
    request.resume();
    response.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > FUNCTION_URL_MAX_BYTES) {
      response.writeHead(413, { 'Content-Type': 'text/plain' }).end('request too large');
      request.destroy();
      return;
    }
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const headers: Record<string, string> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] as string).toLowerCase();
    const value = request.rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const asText = TEXT_MEDIA_TYPE.test(headers['content-type'] ?? '') && isUtf8(body);
  const result = await endpoint({
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      timeEpoch: Date.now(),
    },
    body: asText ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !asText,
  });
  response.writeHead(result.statusCode, result.headers ?? {});
  response.end(result.body);
}

/**
 * A Task state's resolved Parameters. With `arn:aws:states:::lambda:invoke` they are
 * `{ FunctionName, Payload }` and the result is an envelope; a bare function ARN gets the payload.
 */
function lambdaRequest(parameters: unknown): { payload: unknown; envelope: boolean } {
  if (parameters && typeof parameters === 'object' && 'FunctionName' in parameters) {
    return { payload: (parameters as { Payload?: unknown }).Payload ?? {}, envelope: true };
  }
  return { payload: parameters, envelope: false };
}

async function reportStates(events: RunnerEvents, progress: (line: string) => void): Promise<void> {
  try {
    for await (const event of events) {
      if (event.type === 'StateEntered' && event.index === undefined) progress(`▶ ${event.state.name}`);
      if (event.type === 'StateRetried')
        progress(`↻ ${event.state.name} retried (attempt ${event.retry.attempt})`);
      if (event.type === 'StateFailed')
        progress(`⚠ ${event.state.name}: ${event.Error} (handled by the workflow)`);
      if (event.type === 'ExecutionFailed') progress(`✗ workflow failed: ${event.Error}`);
    }
  } catch {
    // The log ends with the execution; a failed execution is reported by its result.
  }
}
