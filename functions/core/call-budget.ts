import type { WebClientOptions } from '@slack/web-api';
import type { NodeHttpHandlerOptions, RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

/**
 * The one place that says how long any outbound call may take: GitHub, the Slack Web API and
 * every AWS SDK client (the connector's IAM / STS / KMS / Secrets Manager, and the hub's DynamoDB,
 * Step Functions and Secrets Manager). Each budget is a per-attempt timeout, a number of attempts
 * and the longest wait between them; `worstCaseMs` adds them up, and a test checks that every
 * Lambda in lib/aws/handlers.ts can afford the worst case of each kind of call it makes.
 *
 * Without these, a connection that never answers stalls a step until its Lambda dies, and the
 * Slack client's default policy (ten retries over about thirty minutes) outlasts every Lambda.
 */

/** A call's worst case, in the terms `worstCaseMs` adds up. */
export interface CallBudget {
  /** What is called, for messages. */
  readonly service: string;
  /** Longest one attempt may take, connecting included. */
  readonly attemptTimeoutMs: number;
  /** Attempts after a timeout, a network fault or a 5xx, the first included. */
  readonly attempts: number;
  /** Longest wait before each retry (one entry per retry: `attempts - 1` entries). */
  readonly retryDelaysMs: readonly number[];
  /** Further attempts after a rate limit (GitHub only), each after at most `maxRetryAfterMs`. */
  readonly rateLimitRetries: number;
  readonly maxRetryAfterMs: number;
}

/** The longest a call with this budget can take before it fails: every attempt times out. */
export function worstCaseMs(budget: CallBudget): number {
  const waits = budget.retryDelaysMs.reduce((sum, delay) => sum + delay, 0);
  return (
    budget.attempts * budget.attemptTimeoutMs +
    waits +
    budget.rateLimitRetries * (budget.maxRetryAfterMs + budget.attemptTimeoutMs)
  );
}

// ---------------------------------------------------------------------------------------------
// GitHub (Octokit with plugin-retry and plugin-throttling)
// ---------------------------------------------------------------------------------------------

export interface GitHubRequestBudget {
  /**
   * One request, connection to last byte. GitHub itself gives up on a REST or GraphQL request
   * after 10 s (it answers 502), so 12 s only cuts connections that will never answer.
   */
  readonly requestTimeoutMs: number;
  /** Retries after a 5xx, a timeout or a network fault (plugin-retry waits 1, 4, 9 … × base). */
  readonly retries: number;
  /** plugin-retry's backoff unit and plugin-throttling's "milliseconds per retry-after second". */
  readonly retryAfterBaseMs: number;
  /** Retries after a primary or secondary rate limit. */
  readonly rateLimitRetries: number;
  /**
   * The longest retry-after honoured, in seconds. A longer one (a primary limit resetting in 40
   * minutes) fails at once as a TransientError: the workflow's own retry waits instead of the
   * Lambda.
   */
  readonly maxRetryAfterSeconds: number;
}

export const gitHubRequestBudget: GitHubRequestBudget = {
  requestTimeoutMs: 12_000,
  retries: 3,
  retryAfterBaseMs: 1_000,
  rateLimitRetries: 2,
  maxRetryAfterSeconds: 60,
};

export function gitHubCallBudget(budget: GitHubRequestBudget = gitHubRequestBudget): CallBudget {
  return {
    service: 'GitHub',
    attemptTimeoutMs: budget.requestTimeoutMs,
    attempts: budget.retries + 1,
    // plugin-retry waits (retry number)² × base before each retry.
    retryDelaysMs: Array.from(
      { length: budget.retries },
      (_, index) => (index + 1) ** 2 * budget.retryAfterBaseMs,
    ),
    rateLimitRetries: budget.rateLimitRetries,
    maxRetryAfterMs: budget.maxRetryAfterSeconds * budget.retryAfterBaseMs,
  };
}

// ---------------------------------------------------------------------------------------------
// Slack Web API (@slack/web-api WebClient, also Bolt's client)
// ---------------------------------------------------------------------------------------------

export interface SlackCallBudget {
  /** One request (the WebClient aborts it with AbortSignal.timeout). */
  readonly timeoutMs: number;
  /** Retries after a timeout, a network fault or a non-200 answer (p-retry). */
  readonly retries: number;
  /** p-retry's first wait, growth factor and longest wait; waits are randomised up to 2×. */
  readonly minTimeoutMs: number;
  readonly factor: number;
  readonly maxTimeoutMs: number;
}

/** Workflow steps (30 s Lambdas): a message sent or a user looked up. */
export const slackStepBudget: SlackCallBudget = {
  timeoutMs: 5_000,
  retries: 2,
  minTimeoutMs: 500,
  factor: 2,
  maxTimeoutMs: 2_000,
};

/**
 * The interactivity endpoint (a 10 s Lambda that must acknowledge within Slack's 3 s): one short
 * retry; a redraw that still fails is retried by whoever owns it, not by this Lambda.
 */
export const slackInteractiveBudget: SlackCallBudget = {
  timeoutMs: 2_500,
  retries: 1,
  minTimeoutMs: 200,
  factor: 2,
  maxTimeoutMs: 500,
};

export function slackCallBudget(budget: SlackCallBudget = slackStepBudget): CallBudget {
  return {
    service: 'Slack',
    attemptTimeoutMs: budget.timeoutMs,
    attempts: budget.retries + 1,
    // The `retry` package: min(maxTimeout, round(random(1..2) × max(minTimeout, 1) × factor^n)).
    retryDelaysMs: Array.from({ length: budget.retries }, (_, index) =>
      Math.min(
        budget.maxTimeoutMs,
        Math.round(2 * Math.max(budget.minTimeoutMs, 1) * budget.factor ** index),
      ),
    ),
    // A 429 is rejected at once (WebAPIRateLimitedError, classified as throttled): the WebClient
    // would otherwise sleep for whatever Retry-After Slack sends, which no budget bounds.
    rateLimitRetries: 0,
    maxRetryAfterMs: 0,
  };
}

/** Options for `new WebClient(token, { ...slackWebClientOptions(), slackApiUrl })` and Bolt's `clientOptions`. */
export function slackWebClientOptions(
  budget: SlackCallBudget = slackStepBudget,
): Required<Pick<WebClientOptions, 'timeout' | 'retryConfig' | 'rejectRateLimitedCalls'>> {
  return {
    timeout: budget.timeoutMs,
    retryConfig: {
      retries: budget.retries,
      factor: budget.factor,
      minTimeout: budget.minTimeoutMs,
      maxTimeout: budget.maxTimeoutMs,
      randomize: true,
    },
    rejectRateLimitedCalls: true,
  };
}

// ---------------------------------------------------------------------------------------------
// AWS SDK v3 clients
// ---------------------------------------------------------------------------------------------

export interface AwsCallBudget {
  /** Milliseconds to wait for a connection. */
  readonly connectionTimeoutMs: number;
  /** Milliseconds from sending the request to the end of the answer (thrown, not only logged). */
  readonly requestTimeoutMs: number;
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
  /** First backoff; doubles per retry, with full jitter. */
  readonly baseDelayMs: number;
  /** Longest single backoff, a retry-after hint included. */
  readonly maxDelayMs: number;
}

/**
 * The AWS connector's calls into member accounts (IAM, STS, KMS, Secrets Manager), made from the
 * 15-minute snapshot, apply and verify Lambdas. GetAccountAuthorizationDetails pages are large, so
 * an answer may take seconds.
 */
export const awsConnectorBudget: AwsCallBudget = {
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
};

/**
 * The hub's own DynamoDB, Step Functions and Secrets Manager calls from workflow steps (≥ 30 s
 * Lambdas). They answer in milliseconds; 3 s is far beyond a slow answer, and the worst case
 * (13 s) leaves most of a 30 s step for its other calls.
 */
export const awsHubBudget: AwsCallBudget = {
  connectionTimeoutMs: 1_000,
  requestTimeoutMs: 3_000,
  maxAttempts: 3,
  baseDelayMs: 50,
  maxDelayMs: 500,
};

/** The same calls from the interactivity endpoint (a 10 s Lambda). */
export const awsInteractiveBudget: AwsCallBudget = {
  connectionTimeoutMs: 500,
  requestTimeoutMs: 2_000,
  maxAttempts: 2,
  baseDelayMs: 50,
  maxDelayMs: 200,
};

export function awsCallBudget(budget: AwsCallBudget, service = 'AWS'): CallBudget {
  return {
    service,
    // The request timeout starts with the request, so connecting is inside it; adding both is an
    // upper bound that does not depend on that detail of the handler.
    attemptTimeoutMs: budget.connectionTimeoutMs + budget.requestTimeoutMs,
    attempts: budget.maxAttempts,
    retryDelaysMs: Array.from({ length: budget.maxAttempts - 1 }, () => budget.maxDelayMs),
    rateLimitRetries: 0,
    maxRetryAfterMs: 0,
  };
}

/**
 * Retries throttling, 5xx and network faults (timeouts included) a bounded number of times with
 * exponential backoff and full jitter, honouring a retry-after hint up to `maxDelayMs`; never
 * retries a client error (AccessDenied, a malformed policy). Written here because the SDK's
 * configurable strategies live in @smithy/util-retry, which this project does not declare.
 */
export class BoundedRetryStrategy implements RetryStrategyV2 {
  constructor(private readonly budget: AwsCallBudget) {}

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return retryToken(0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retries = token.getRetryCount() + 1;
    if (info.errorType === 'CLIENT_ERROR' || retries >= this.budget.maxAttempts) {
      throw info.error ?? new Error('no more retries');
    }
    const ceiling = Math.min(this.budget.maxDelayMs, this.budget.baseDelayMs * 2 ** (retries - 1));
    const hinted = info.retryAfterHint ? info.retryAfterHint.getTime() - Date.now() : 0;
    const delay = Math.min(this.budget.maxDelayMs, Math.max(hinted, Math.random() * ceiling));
    return retryToken(retries, Math.max(0, Math.round(delay)));
  }

  recordSuccess(): void {}
}

function retryToken(count: number, delay: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}

/** What every AWS SDK v3 client constructor accepts for timeouts and retries. */
export interface AwsClientTimeouts {
  requestHandler: NodeHttpHandlerOptions;
  maxAttempts: number;
  retryStrategy: RetryStrategyV2;
}

/**
 * Spread into any AWS SDK v3 client: `new DynamoDBClient({ ...awsClientConfig(), region })`.
 * The handler options are the SDK's documented alternative to a NodeHttpHandler instance, so
 * @smithy/node-http-handler need not be imported. `throwOnRequestTimeout` matters: without it the
 * SDK only logs a warning when `requestTimeout` passes and keeps waiting.
 */
export function awsClientConfig(budget: AwsCallBudget = awsHubBudget): AwsClientTimeouts {
  return {
    requestHandler: {
      connectionTimeout: budget.connectionTimeoutMs,
      requestTimeout: budget.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    maxAttempts: budget.maxAttempts,
    retryStrategy: new BoundedRetryStrategy(budget),
  };
}

// ---------------------------------------------------------------------------------------------
// Which budgets a Lambda uses
// ---------------------------------------------------------------------------------------------

/** The handler that answers Slack's interactivity requests, whose budgets are the short ones. */
export const INTERACTIVE_HANDLER = 'slack-events';

export interface HandlerBudgets {
  github: GitHubRequestBudget;
  slack: SlackCallBudget;
  /** DynamoDB, Step Functions (SendTaskSuccess) and Secrets Manager in the hub account. */
  hub: AwsCallBudget;
  /** The AWS connector's calls into member accounts. */
  awsConnector: AwsCallBudget;
}

/** The budgets the Lambda `handlerName` (a name from lib/aws/handlers.ts) builds its clients with. */
export function budgetsForHandler(handlerName: string): HandlerBudgets {
  const interactive = handlerName === INTERACTIVE_HANDLER;
  return {
    github: gitHubRequestBudget,
    slack: interactive ? slackInteractiveBudget : slackStepBudget,
    hub: interactive ? awsInteractiveBudget : awsHubBudget,
    awsConnector: awsConnectorBudget,
  };
}
