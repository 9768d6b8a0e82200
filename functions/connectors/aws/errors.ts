import {
  AuthenticationError,
  AWS_THROTTLED,
  ConnectorError,
  PermissionError,
  TransientError,
} from '../../core/errors';

/**
 * A member-account role lacks a permission the connector needs. The message names the action and
 * the role, so an operator can add exactly that (functions/connectors/aws/permissions.ts lists them).
 */
export class AwsAccessDeniedError extends PermissionError {
  constructor(
    message: string,
    readonly action: string,
    readonly roleArn: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, `${action} for ${roleArn ?? 'the caller'}`, options);
  }
}

/** AWS refused the credentials themselves (invalid, expired or unknown keys): no permission would help. */
export class AwsAuthenticationError extends AuthenticationError {}

/** AWS answered, but refused or failed the call for another reason (a bad request, a missing entity). */
export class AwsRequestError extends ConnectorError {}

/** A policy document the connector cannot read or evaluate: it stops the snapshot rather than guess. */
export class PolicyDocumentError extends ConnectorError {}

/** A revoke asked of a grant that only follows from others, or of a grant this connector did not make. */
export class AwsGrantError extends ConnectorError {}

/** Throttling, a 5xx or a network fault that outlasted the SDK's retries: the workflow may try again later. */
export class AwsUnavailableError extends TransientError {}

/** AWS throttled the call on every attempt its budget allows (functions/core/call-budget.ts). */
export class AwsThrottledError extends AwsUnavailableError {}

/** AWS did not answer within the timeout on every attempt its budget allows. */
export class AwsTimeoutError extends AwsUnavailableError {}

/** The parts of an AWS SDK v3 error this file reads (ServiceException, or a Node network error). */
interface SdkErrorLike {
  name: string;
  message: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

function isSdkError(error: unknown): error is Error & SdkErrorLike {
  return error instanceof Error;
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedException',
]);

const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);

const TIMEOUT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ETIMEDOUT']);

const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

/** The error name AWS sent (`NoSuchEntity`, `ResourceNotFoundException`), for callers that expect one. */
export function awsErrorName(error: unknown): string | undefined {
  return isSdkError(error) ? error.name : undefined;
}

export function isNotFound(error: unknown): boolean {
  const name = awsErrorName(error);
  return (
    name === 'NoSuchEntity' ||
    name === 'NoSuchEntityException' ||
    name === 'ResourceNotFoundException' ||
    name === 'NotFoundException'
  );
}

/**
 * The action and resource an AccessDenied message names ("User: arn:… is not authorized to perform:
 * kms:GetKeyPolicy on resource: arn:… because …"), when AWS says it.
 */
export function deniedAction(message: string): { action: string; resource?: string } | undefined {
  const match = /not authorized to perform:? ([\w-]+:[\w*-]+)(?: on resource:? (\S+?))?(?=[\s,.;]|$)/i.exec(
    message,
  );
  if (!match?.[1]) return undefined;
  return match[2] ? { action: match[1], resource: match[2] } : { action: match[1] };
}

/**
 * Turns whatever an AWS call threw into one of the named errors, with the original as `cause`.
 * `action` is the IAM action the call needs (`iam:GetAccountAuthorizationDetails`), `roleArn` the
 * role the call ran as. The SDK already retried throttling, 5xx and network faults within
 * functions/core/call-budget.ts; what reaches here has outlasted those retries. Messages carry
 * AWS's own text but never a request body, so no policy or secret content can leak through them
 * (the connector never reads a secret value).
 */
export function awsFailure(
  error: unknown,
  action: string,
  roleArn: string | undefined,
  target?: string,
): AwsAccessDeniedError | AwsAuthenticationError | AwsRequestError | AwsUnavailableError {
  if (
    error instanceof AwsAccessDeniedError ||
    error instanceof AwsAuthenticationError ||
    error instanceof AwsRequestError ||
    error instanceof AwsUnavailableError
  ) {
    return error;
  }
  const on = target ? ` on ${target}` : '';
  const as = roleArn ? ` as ${roleArn}` : '';
  if (!isSdkError(error)) {
    return new AwsRequestError(`AWS ${action}${on}${as} failed: ${String(error)}`, { cause: error });
  }
  const name = error.name;
  const status = error.$metadata?.httpStatusCode;
  const detail = `${name}${status ? ` ${status}` : ''}: ${error.message}`;
  if (BAD_CREDENTIALS.has(name)) {
    return new AwsAuthenticationError(
      `AWS refused the credentials for ${action}${on}${as} (${detail}): the hub's credentials are invalid or expired, not a missing permission`,
      { cause: error },
    );
  }
  if (ACCESS_DENIED.has(name) || status === 403) {
    // AWS names the action it checked; it can differ from the one the call is known by
    // (a KMS key behind a secret, a role assumed on the way).
    const denied = deniedAction(error.message)?.action ?? action;
    const also = denied === action ? '' : ` (AWS checked ${denied})`;
    return new AwsAccessDeniedError(
      `AWS refused ${action}${on}${as} (${detail}). Grant ${roleArn ?? 'the caller'} ${denied}${also}; the actions each role needs are listed in functions/connectors/aws/permissions.ts`,
      denied,
      roleArn,
      { cause: error },
    );
  }
  const attempts = error.$metadata?.attempts;
  const tried = attempts ? ` after ${attempts} attempt(s)` : '';
  const message = `AWS ${action}${on}${as} failed${tried} (${detail})`;
  if (AWS_THROTTLED.has(name) || status === 429) return new AwsThrottledError(message, { cause: error });
  if (TIMEOUT.has(name) || (error.code !== undefined && TIMEOUT.has(error.code))) {
    return new AwsTimeoutError(message, { cause: error });
  }
  if (
    NETWORK.has(name) ||
    (error.code !== undefined && NETWORK.has(error.code)) ||
    error.$fault === 'server' ||
    (status !== undefined && status >= 500)
  ) {
    return new AwsUnavailableError(message, { cause: error });
  }
  return new AwsRequestError(`AWS ${action}${on}${as} failed (${detail})`, { cause: error });
}
