import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import * as awsErrors from '../../functions/connectors/aws/errors';
import { awsFailure, deniedAction } from '../../functions/connectors/aws/errors';
import { missingGitHubPermission } from '../../functions/connectors/github/errors';
import * as coreErrors from '../../functions/core/errors';
import {
  AccessReviewError,
  classifyError,
  FAIL_FAST_ERROR_NAMES,
  PermissionError,
  RETRYABLE_ERROR_NAMES,
} from '../../functions/core/errors';

function sdkError(name: string, status: number, message = `${name} happened`) {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 4 },
  });
}

describe('classifyError: our named errors, by instance and by name alone', () => {
  /** Every error class the core and the AWS connector export, built with whatever it needs. */
  const classes = [...Object.values(coreErrors), ...Object.values(awsErrors)].filter(
    (value): value is typeof AccessReviewError =>
      typeof value === 'function' && value.prototype instanceof AccessReviewError,
  );

  function build(ErrorClass: typeof AccessReviewError): AccessReviewError {
    // Constructors take (message, …extra, options): extras are strings, ConfigError's a list.
    const Any = ErrorClass as unknown as new (...args: unknown[]) => AccessReviewError;
    return ErrorClass === coreErrors.ConfigError ? new Any('m', ['x']) : new Any('m', 'x', 'y');
  }

  it('a failure read back from Step Functions (only its name) classifies as the error itself did', () => {
    expect(classes.length).toBeGreaterThan(10);
    for (const ErrorClass of classes) {
      const error = build(ErrorClass);
      expect({ name: error.name, kind: classifyError({ Error: error.name }) }).toEqual({
        name: error.name,
        kind: classifyError(error),
      });
    }
  });

  it('every transient class is in the retryable names, every refusal of credentials in the fail-fast ones', () => {
    for (const ErrorClass of classes) {
      const error = build(ErrorClass);
      if (error instanceof coreErrors.TransientError) expect(RETRYABLE_ERROR_NAMES).toContain(error.name);
      else expect(RETRYABLE_ERROR_NAMES).not.toContain(error.name);
      if (error instanceof coreErrors.AuthenticationError || error instanceof PermissionError) {
        expect(FAIL_FAST_ERROR_NAMES).toContain(error.name);
      }
    }
    expect(RETRYABLE_ERROR_NAMES).toEqual(
      expect.arrayContaining(['TransientError', 'AwsUnavailableError', 'ThrottledError', 'CallTimeoutError']),
    );
  });

  it('Step Functions and Lambda names', () => {
    expect(classifyError({ Error: 'States.Timeout' })).toBe('timeout');
    expect(classifyError({ Error: 'Sandbox.Timedout' })).toBe('timeout');
    expect(classifyError({ Error: 'Lambda.TooManyRequestsException' })).toBe('throttled');
    expect(classifyError({ Error: 'Lambda.ServiceException' })).toBe('unavailable');
    expect(classifyError({ Error: 'States.TaskFailed' })).toBe('internal');
    expect(classifyError({ name: 'ConfigError' })).toBe('internal');
    expect(classifyError(undefined)).toBe('internal');
    expect(classifyError('a string')).toBe('internal');
    expect(classifyError({ name: 'constructor' })).toBe('internal');
  });
});

describe('classifyError: raw vendor errors by shape', () => {
  it('Slack WebClient errors', () => {
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), {
      name: 'TimeoutError',
    });
    expect(classifyError(new WebAPIRequestError(timeout))).toBe('timeout');
    expect(classifyError(new WebAPIRequestError(new Error('socket hang up')))).toBe('unavailable');
    expect(classifyError(new WebAPIRateLimitedError(30))).toBe('throttled');
    expect(classifyError(new WebAPIHTTPError(503, 'Service Unavailable', {}))).toBe('unavailable');
    expect(classifyError(new WebAPIHTTPError(400, 'Bad Request', {}))).toBe('internal');
    const platform = (error: string) => new WebAPIPlatformError({ ok: false, error });
    expect(classifyError(platform('invalid_auth'))).toBe('authentication');
    expect(classifyError(platform('token_revoked'))).toBe('authentication');
    expect(classifyError(platform('missing_scope'))).toBe('permission');
    expect(classifyError(platform('ratelimited'))).toBe('throttled');
    expect(classifyError(platform('internal_error'))).toBe('unavailable');
    expect(classifyError(platform('channel_not_found'))).toBe('internal');
  });

  it('Octokit RequestError shapes', () => {
    const http = (status: number, message: string, headers: Record<string, string> = {}, cause?: unknown) =>
      Object.assign(new Error(message), { name: 'HttpError', status, response: { headers }, cause });
    expect(classifyError(http(401, 'Bad credentials'))).toBe('authentication');
    expect(classifyError(http(403, 'Resource not accessible by integration'))).toBe('permission');
    expect(classifyError(http(403, 'You have exceeded a secondary rate limit'))).toBe('throttled');
    expect(classifyError(http(403, 'You cannot remove the last owner of an organization.'))).toBe('internal');
    expect(classifyError(http(403, 'Forbidden', { 'x-accepted-github-permissions': 'members=write' }))).toBe(
      'permission',
    );
    expect(classifyError(http(403, 'API rate limit exceeded', { 'x-ratelimit-remaining': '0' }))).toBe(
      'throttled',
    );
    expect(classifyError(http(429, 'Too Many Requests'))).toBe('throttled');
    expect(
      classifyError(http(500, 'no answer', {}, Object.assign(new Error('t'), { name: 'TimeoutError' }))),
    ).toBe('timeout');
    expect(classifyError(http(502, 'Server Error'))).toBe('unavailable');
    expect(classifyError(http(422, 'Validation Failed'))).toBe('internal');
  });

  it('AWS SDK and Node network errors', () => {
    expect(classifyError(sdkError('ThrottlingException', 400))).toBe('throttled');
    expect(classifyError(sdkError('ProvisionedThroughputExceededException', 400))).toBe('throttled');
    expect(classifyError(sdkError('ExpiredToken', 403))).toBe('authentication');
    expect(classifyError(sdkError('AccessDeniedException', 400))).toBe('permission');
    expect(classifyError(sdkError('InternalServerError', 500))).toBe('unavailable');
    expect(classifyError(sdkError('ConditionalCheckFailedException', 400))).toBe('internal');
    expect(classifyError(Object.assign(new Error('x'), { name: 'TimeoutError', code: 'ETIMEDOUT' }))).toBe(
      'timeout',
    );
    expect(classifyError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('unavailable');
  });
});

describe('AWS failures name what to fix', () => {
  const role = 'arn:aws:iam::111111111111:role/access-review-read';

  it('AccessDenied names the action AWS checked, the resource and the role; the error is a PermissionError', () => {
    const message =
      'User: arn:aws:sts::111111111111:assumed-role/access-review-read/s is not authorized to perform: kms:GetKeyPolicy on resource: arn:aws:kms:us-east-1:111111111111:key/k because no identity-based policy allows the kms:GetKeyPolicy action';
    expect(deniedAction(message)).toEqual({
      action: 'kms:GetKeyPolicy',
      resource: 'arn:aws:kms:us-east-1:111111111111:key/k',
    });
    const error = awsFailure(
      sdkError('AccessDeniedException', 400, message),
      'kms:DescribeKey',
      role,
      'key k',
    );
    expect(error).toBeInstanceOf(PermissionError);
    expect(error).toBeInstanceOf(awsErrors.AwsAccessDeniedError);
    expect((error as PermissionError).missing).toBe(`kms:GetKeyPolicy for ${role}`);
    expect(error.message).toContain(`Grant ${role} kms:GetKeyPolicy (AWS checked kms:GetKeyPolicy)`);
    expect(classifyError(error)).toBe('permission');
  });

  it('bad or expired credentials are an AuthenticationError, not a permission to add', () => {
    for (const name of ['InvalidClientTokenId', 'UnrecognizedClientException', 'ExpiredToken']) {
      const error = awsFailure(sdkError(name, 403), 'sts:AssumeRole', undefined, role);
      expect(error).toBeInstanceOf(coreErrors.AuthenticationError);
      expect(error).not.toBeInstanceOf(PermissionError);
      expect(classifyError({ Error: error.name })).toBe('authentication');
    }
  });

  it('throttling and timeouts keep their kind and stay AwsUnavailableError (transient)', () => {
    const throttled = awsFailure(sdkError('ThrottlingException', 400), 'iam:ListRoles', role);
    expect(throttled).toBeInstanceOf(awsErrors.AwsThrottledError);
    expect(throttled).toBeInstanceOf(awsErrors.AwsUnavailableError);
    expect(classifyError({ Error: throttled.name })).toBe('throttled');
    const timedOut = awsFailure(
      Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }),
      'iam:ListRoles',
      role,
    );
    expect(timedOut).toBeInstanceOf(awsErrors.AwsTimeoutError);
    expect(classifyError({ Error: timedOut.name })).toBe('timeout');
    const down = awsFailure(sdkError('ServiceUnavailable', 503), 'iam:ListRoles', role);
    expect(down).toBeInstanceOf(awsErrors.AwsUnavailableError);
    expect(classifyError({ Error: down.name })).toBe('unavailable');
  });
});

describe('missingGitHubPermission', () => {
  it('reads X-Accepted-GitHub-Permissions sets (";" alternatives, "," all of) and classic scopes', () => {
    expect(missingGitHubPermission({ 'x-accepted-github-permissions': 'members=write' })).toBe(
      'permission members=write',
    );
    expect(
      missingGitHubPermission({
        'x-accepted-github-permissions': 'repository_projects=write; organization_projects=admin',
      }),
    ).toBe('permission repository_projects=write, or organization_projects=admin');
    expect(missingGitHubPermission({ 'x-accepted-github-permissions': 'contents=read,metadata=read' })).toBe(
      'permission contents=read and metadata=read',
    );
    expect(missingGitHubPermission({ 'x-accepted-oauth-scopes': 'admin:org', 'x-oauth-scopes': '' })).toBe(
      'OAuth scope admin:org (the token has: none)',
    );
    expect(missingGitHubPermission({ 'x-accepted-github-permissions': ' ; ' })).toBeUndefined();
    expect(missingGitHubPermission({})).toBeUndefined();
  });
});
