import { ConnectorError, TransientError } from '../../core/errors';

/**
 * A member-account role lacks a permission the connector needs. The message names the action and
 * the role, so an operator can add exactly that (functions/connectors/aws/permissions.ts lists them).
 */
export class AwsAccessDeniedError extends ConnectorError {
  constructor(
    message: string,
    readonly action: string,
    readonly roleArn: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** AWS answered, but refused or failed the call for another reason (a bad request, a missing entity). */
export class AwsRequestError extends ConnectorError {}

/** A policy document the connector cannot read or evaluate: it stops the snapshot rather than guess. */
export class PolicyDocumentError extends ConnectorError {}

/** A revoke asked of a grant that only follows from others, or of a grant this connector did not make. */
export class AwsGrantError extends ConnectorError {}

/** Throttling, a 5xx or a network fault that outlasted the SDK's retries: the workflow may try again later. */
export class AwsUnavailableError extends TransientError {}

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
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);

const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

const NETWORK = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

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
 * Turns whatever an AWS call threw into one of the named errors, with the original as `cause`.
 * `action` is the IAM action the call needs (`iam:GetAccountAuthorizationDetails`), `roleArn` the
 * role the call ran as. The SDK already retried throttling, 5xx and network faults; what reaches
 * here has outlasted those retries. Messages carry AWS's own text but never a request body, so no
 * policy or secret content can leak through them (the connector never reads a secret value).
 */
export function awsFailure(
  error: unknown,
  action: string,
  roleArn: string | undefined,
  target?: string,
): AwsAccessDeniedError | AwsRequestError | AwsUnavailableError {
  if (
    error instanceof AwsAccessDeniedError ||
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
  if (ACCESS_DENIED.has(name) || status === 403) {
    return new AwsAccessDeniedError(
      `AWS refused ${action}${on}${as} (${detail}). Grant ${roleArn ?? 'the caller'} ${action}; the actions each role needs are listed in functions/connectors/aws/permissions.ts`,
      action,
      roleArn,
      { cause: error },
    );
  }
  const attempts = error.$metadata?.attempts;
  const tried = attempts ? ` after ${attempts} attempt(s)` : '';
  if (
    THROTTLED.has(name) ||
    NETWORK.has(name) ||
    (error.code !== undefined && NETWORK.has(error.code)) ||
    error.$fault === 'server' ||
    (status !== undefined && status >= 500) ||
    status === 429
  ) {
    return new AwsUnavailableError(`AWS ${action}${on}${as} failed${tried} (${detail})`, { cause: error });
  }
  return new AwsRequestError(`AWS ${action}${on}${as} failed (${detail})`, { cause: error });
}
