/**
 * Named errors. Step Functions matches a Lambda failure on `errorType`, which the Node runtime
 * takes from `error.name`; these names are what the workflow's Retry and Catch clauses list, and
 * what `classifyError` reads back from a failed execution (bundles keep class names: keepNames).
 */
export class AccessReviewError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A fault that may pass: a 5xx, a lost connection. The workflow retries these (and its subclasses). */
export class TransientError extends AccessReviewError {}

/** The system asked us to slow down (429, a secondary rate limit, AWS throttling) beyond the call's budget. */
export class ThrottledError extends TransientError {}

/** A call got no answer within its timeout on every attempt its budget allows (functions/core/call-budget.ts). */
export class CallTimeoutError extends TransientError {}

/** Configuration or scenario input that cannot be used. `problems` names every bad field. */
export class ConfigError extends AccessReviewError {
  constructor(
    message: string,
    readonly problems: string[],
    options?: { cause?: unknown },
  ) {
    super(`${message}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`, options);
  }
}

/** A source system answered, but refused or failed the operation (not worth retrying). */
export class ConnectorError extends AccessReviewError {}

/**
 * The credentials were refused: a bad, expired or revoked token, a GitHub App key that does not
 * sign, AWS keys that are not valid. Retrying cannot help; someone must fix the secret.
 */
export class AuthenticationError extends ConnectorError {}

/**
 * The credentials are valid but lack a permission. `missing` says exactly what to grant
 * (`members=write`, `iam:GetAccountAuthorizationDetails to arn:…:role/read`), and the message
 * says it too, so whoever reads the failed campaign knows what to change.
 */
export class PermissionError extends ConnectorError {
  constructor(
    message: string,
    readonly missing: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The thing asked for does not exist (campaign, grant, task). */
export class NotFoundError extends AccessReviewError {}

/** A request that cannot be parsed or does not match what we sent. */
export class MalformedRequestError extends AccessReviewError {}

/**
 * The campaign's chain in the table is not one the signer can vouch for (a signed event changed,
 * a link or hash that does not recompute, a gap, a signature missing or not by the signing key):
 * the step refuses to sign it. Never retried (a retry would find the same table); the workflow's
 * failure path records the campaign as failed and the failed-execution alarm fires.
 */
export class ChainTamperedError extends AccessReviewError {
  constructor(
    message: string,
    readonly campaignId: string,
    /** The first seq at which the chain does not hold. */
    readonly seq: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------

/**
 * What kind of failure an error is. authentication and permission fail fast (someone must act);
 * throttled, timeout and unavailable are retried with backoff; internal is anything else (a bug,
 * bad input, a refusal that is neither).
 */
export type ErrorKind =
  | 'authentication'
  | 'permission'
  | 'throttled'
  | 'timeout'
  | 'unavailable'
  | 'internal';

/**
 * Kinds by error name: ours (connector subclasses listed by name, as core cannot import them), and
 * what Step Functions reports for a Lambda that failed on its own. A Step Functions failure carries
 * only the name, so every class a handler may throw must be here or extend a class that is.
 */
const KIND_BY_NAME: Readonly<Record<string, ErrorKind>> = {
  AuthenticationError: 'authentication',
  AwsAuthenticationError: 'authentication',
  PermissionError: 'permission',
  AwsAccessDeniedError: 'permission',
  ThrottledError: 'throttled',
  AwsThrottledError: 'throttled',
  CallTimeoutError: 'timeout',
  AwsTimeoutError: 'timeout',
  TransientError: 'unavailable',
  AwsUnavailableError: 'unavailable',
  // A tampered chain: someone must look at the table; the closest kind that is never retried.
  ChainTamperedError: 'internal',
  // SES refused the sender identity: someone must verify it or fix the IAM condition; never retried.
  EmailIdentityError: 'permission',
  // Step Functions and the Lambda service.
  'States.Timeout': 'timeout',
  'States.HeartbeatTimeout': 'timeout',
  'Sandbox.Timedout': 'timeout',
  'Lambda.TooManyRequestsException': 'throttled',
  'Lambda.ServiceException': 'unavailable',
  'Lambda.AWSLambdaException': 'unavailable',
  'Lambda.SdkClientException': 'unavailable',
};

/** Kinds worth another attempt. */
export const RETRYABLE_KINDS: readonly ErrorKind[] = ['throttled', 'timeout', 'unavailable'];

/**
 * Every error name the workflow should retry (a Step Functions Retry matches names exactly, not
 * subclasses: listing only `TransientError` leaves `AwsUnavailableError` unretried).
 */
export const RETRYABLE_ERROR_NAMES: readonly string[] = Object.entries(KIND_BY_NAME)
  .filter(([, kind]) => RETRYABLE_KINDS.includes(kind))
  .map(([name]) => name);

/** Names that fail fast: a Catch for them should not wait behind retries. */
export const FAIL_FAST_ERROR_NAMES: readonly string[] = Object.entries(KIND_BY_NAME)
  .filter(([, kind]) => kind === 'authentication' || kind === 'permission')
  .map(([name]) => name);

const SLACK_AUTHENTICATION = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
]);
const SLACK_PERMISSION = new Set([
  'missing_scope',
  'not_allowed_token_type',
  'no_permission',
  'ekm_access_denied',
]);
const SLACK_UNAVAILABLE = new Set([
  'fatal_error',
  'internal_error',
  'service_unavailable',
  'request_timeout',
]);

/** AWS error codes that mean "slow down" (the AWS connector maps them to AwsThrottledError). */
export const AWS_THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);
const AWS_AUTHENTICATION = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);
const AWS_PERMISSION = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedException',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

interface ErrorShape {
  name?: unknown;
  Error?: unknown;
  code?: unknown;
  status?: unknown;
  message?: unknown;
  cause?: unknown;
  original?: unknown;
  statusCode?: unknown;
  data?: { error?: unknown };
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  response?: { headers?: Record<string, unknown> };
}

function shapeOf(error: unknown): ErrorShape | undefined {
  return typeof error === 'object' && error !== null ? (error as ErrorShape) : undefined;
}

/** By the class's own name or any ancestor's (a subclass of ThrottledError is throttled). */
function kindByName(error: ErrorShape): ErrorKind | undefined {
  const named =
    typeof error.name === 'string' ? error.name : typeof error.Error === 'string' ? error.Error : undefined;
  if (named !== undefined && Object.hasOwn(KIND_BY_NAME, named)) return KIND_BY_NAME[named];
  if (!(error instanceof AccessReviewError)) return undefined;
  for (
    let proto = Object.getPrototypeOf(error);
    proto && proto !== Error.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = (proto.constructor as { name?: string }).name;
    if (name && Object.hasOwn(KIND_BY_NAME, name)) return KIND_BY_NAME[name];
  }
  return undefined;
}

function isTimeout(error: ErrorShape | undefined, depth = 0): boolean {
  if (!error || depth > 4) return false;
  if (typeof error.name === 'string' && TIMEOUT_NAMES.has(error.name)) return true;
  if (error.code === 'ETIMEDOUT' || error.code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  return isTimeout(shapeOf(error.cause), depth + 1) || isTimeout(shapeOf(error.original), depth + 1);
}

/** Slack's WebClient errors carry a `code` (`slack_webapi_platform_error`, …). */
function slackKind(error: ErrorShape): ErrorKind | undefined {
  switch (error.code) {
    case 'slack_webapi_rate_limited_error':
      return 'throttled';
    case 'slack_webapi_request_error':
      return isTimeout(shapeOf(error.original)) ? 'timeout' : 'unavailable';
    case 'slack_webapi_http_error': {
      const status = Number(error.statusCode);
      if (status === 429) return 'throttled';
      return status >= 500 ? 'unavailable' : 'internal';
    }
    case 'slack_webapi_platform_error': {
      const reason = String(error.data?.error ?? '');
      if (SLACK_AUTHENTICATION.has(reason)) return 'authentication';
      if (SLACK_PERMISSION.has(reason)) return 'permission';
      if (reason === 'ratelimited') return 'throttled';
      if (SLACK_UNAVAILABLE.has(reason)) return 'unavailable';
      return 'internal';
    }
    default:
      return undefined;
  }
}

/**
 * True when an HTTP 403 says the caller lacks a permission (GitHub names it in a header, or says
 * "Resource not accessible by …", "Must have admin rights …", a missing scope, SAML enforcement),
 * as opposed to a rule refusing the operation itself ("You cannot remove the last owner of an
 * organization"), which no permission would change.
 */
export function isPermissionRefusal(message: string, headers: Record<string, unknown> = {}): boolean {
  return (
    Boolean(headers['x-accepted-github-permissions']) ||
    Boolean(headers['x-accepted-oauth-scopes']) ||
    /not accessible by|must have|admin rights|permission|scope|SAML|forbids access/i.test(message)
  );
}

/** Octokit's RequestError: a numeric `status` (500 for a network fault or a timeout). */
function httpKind(error: ErrorShape): ErrorKind | undefined {
  if (typeof error.status !== 'number') return undefined;
  const status = error.status;
  const headers = error.response?.headers ?? {};
  const message = typeof error.message === 'string' ? error.message : '';
  if (status === 401) return 'authentication';
  if (status === 429 || headers['x-ratelimit-remaining'] === '0' || /rate limit/i.test(message))
    return 'throttled';
  if (status === 403) return isPermissionRefusal(message, headers) ? 'permission' : 'internal';
  if (isTimeout(error)) return 'timeout';
  if (status >= 500) return 'unavailable';
  return 'internal';
}

/** An AWS SDK v3 ServiceException (`$fault`, `$metadata`) or a Node network error. */
function awsKind(error: ErrorShape): ErrorKind | undefined {
  const name = typeof error.name === 'string' ? error.name : '';
  if (AWS_THROTTLED.has(name)) return 'throttled';
  if (AWS_AUTHENTICATION.has(name)) return 'authentication';
  if (AWS_PERMISSION.has(name)) return 'permission';
  if (isTimeout(error)) return 'timeout';
  if (typeof error.code === 'string' && NETWORK_CODES.has(error.code)) return 'unavailable';
  if (error.$metadata === undefined) return undefined;
  const status = Number(error.$metadata.httpStatusCode);
  if (status === 429) return 'throttled';
  if (error.$fault === 'server' || status >= 500) return 'unavailable';
  if (status === 403) return 'permission';
  return 'internal';
}

/**
 * The kind of any failure: one of our named errors (by name, so `{ name }` or a Step Functions
 * `{ Error }` read back from an execution works as well as the error itself), or a raw error of
 * Octokit, Slack's WebClient, the AWS SDK or Node's network stack (by shape).
 */
export function classifyError(error: unknown): ErrorKind {
  const shape = shapeOf(error);
  if (!shape) return 'internal';
  return kindByName(shape) ?? slackKind(shape) ?? httpKind(shape) ?? awsKind(shape) ?? 'internal';
}
