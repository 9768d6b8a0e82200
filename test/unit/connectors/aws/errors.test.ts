import type { SdkError } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { BoundedRetryStrategy } from '../../../../functions/connectors/aws/clients';
import { RoleSessions } from '../../../../functions/connectors/aws/credentials';
import {
  AwsAccessDeniedError,
  AwsRequestError,
  AwsUnavailableError,
  awsFailure,
} from '../../../../functions/connectors/aws/errors';
import { ConnectorError, TransientError } from '../../../../functions/core/errors';

function sdkError(
  name: string,
  status: number,
  fault: 'client' | 'server' = status >= 500 ? 'server' : 'client',
) {
  return Object.assign(new Error(`${name} happened`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status, attempts: 3 },
  });
}

describe('AWS failures', () => {
  it('AccessDenied names the action, the target and the role, and keeps the cause', () => {
    const cause = sdkError('AccessDenied', 403);
    const error = awsFailure(
      cause,
      'iam:GetAccountAuthorizationDetails',
      'arn:aws:iam::1:role/read',
      'account 1',
    );
    expect(error).toBeInstanceOf(AwsAccessDeniedError);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.message).toBe(
      'AWS refused iam:GetAccountAuthorizationDetails on account 1 as arn:aws:iam::1:role/read (AccessDenied 403: AccessDenied happened). Grant arn:aws:iam::1:role/read iam:GetAccountAuthorizationDetails; the actions each role needs are listed in functions/connectors/aws/permissions.ts',
    );
    expect(error.cause).toBe(cause);
    expect(awsFailure(sdkError('AccessDeniedException', 400), 'kms:GetKeyPolicy', 'r')).toBeInstanceOf(
      AwsAccessDeniedError,
    );
  });

  it('throttling, 5xx and network faults are transient; other refusals are not', () => {
    for (const error of [
      sdkError('ThrottlingException', 400),
      sdkError('Throttling', 400),
      sdkError('InternalFailure', 500),
      Object.assign(new Error('socket'), { code: 'ECONNRESET' }),
      sdkError('TimeoutError', 0),
    ]) {
      const wrapped = awsFailure(error, 'secretsmanager:ListSecrets', 'r');
      expect(wrapped).toBeInstanceOf(AwsUnavailableError);
      expect(wrapped).toBeInstanceOf(TransientError);
    }
    expect(awsFailure(sdkError('ThrottlingException', 400), 'a', 'r').message).toContain(
      'after 3 attempt(s)',
    );
    const invalid = awsFailure(sdkError('MalformedPolicyDocument', 400), 'iam:CreatePolicyVersion', 'r');
    expect(invalid).toBeInstanceOf(AwsRequestError);
    expect(invalid).not.toBeInstanceOf(TransientError);
    expect(awsFailure('a string', 'a', undefined)).toBeInstanceOf(AwsRequestError);
  });
});

/** The SDK's own error type, as its retry middleware hands errors to a strategy. */
const retryable = (name: string, status: number) => sdkError(name, status) as SdkError;

describe('retry strategy', () => {
  const strategy = new BoundedRetryStrategy({
    requestTimeoutMs: 1,
    connectionTimeoutMs: 1,
    maxAttempts: 3,
    baseDelayMs: 100,
    maxDelayMs: 150,
  });

  it('retries transient errors up to the attempt budget, with bounded backoff', async () => {
    const error = retryable('ThrottlingException', 400);
    let token = await strategy.acquireInitialRetryToken();
    token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING', error });
    expect(token.getRetryCount()).toBe(1);
    expect(token.getRetryDelay()).toBeLessThanOrEqual(100);
    token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'SERVER_ERROR', error });
    expect(token.getRetryDelay()).toBeLessThanOrEqual(150);
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT', error })).rejects.toBe(
      error,
    );
  });

  it('never retries a client error; honours retry-after within the cap', async () => {
    const error = retryable('ValidationException', 400);
    const token = await strategy.acquireInitialRetryToken();
    await expect(
      strategy.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR', error }),
    ).rejects.toBe(error);
    const hinted = await strategy.refreshRetryTokenForRetry(token, {
      errorType: 'THROTTLING',
      error,
      retryAfterHint: new Date(Date.now() + 10_000),
    });
    expect(hinted.getRetryDelay()).toBe(150);
  });
});

describe('role sessions', () => {
  it('assumes a role once, shares the call between concurrent users, and renews before expiry', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    const calls: Array<Record<string, unknown>> = [];
    const sts = {
      async send(command: { input: Record<string, unknown> }) {
        calls.push(command.input);
        return {
          Credentials: {
            AccessKeyId: `AK${calls.length}`,
            SecretAccessKey: 's',
            SessionToken: 't',
            Expiration: new Date(now + 3600_000),
          },
        };
      },
    };
    // A stand-in for STSClient: RoleSessions only calls send(AssumeRoleCommand).
    const sessions = new RoleSessions(sts as never, () => new Date(now));
    const provider = sessions.provider('arn:aws:iam::1:role/read', 'ext');
    const [first, second] = await Promise.all([provider(), provider()]);
    expect(first?.accessKeyId).toBe('AK1');
    expect(second?.accessKeyId).toBe('AK1');
    expect(calls).toEqual([
      {
        RoleArn: 'arn:aws:iam::1:role/read',
        RoleSessionName: 'access-review',
        DurationSeconds: 3600,
        ExternalId: 'ext',
      },
    ]);
    now += 50 * 60_000;
    expect((await provider()).accessKeyId).toBe('AK1');
    now += 6 * 60_000; // 4 minutes before expiry: renewed.
    expect((await provider()).accessKeyId).toBe('AK2');
  });

  it('a refused AssumeRole names the role', async () => {
    const sts = { send: async () => Promise.reject(sdkError('AccessDenied', 403)) };
    const sessions = new RoleSessions(sts as never, () => new Date());
    await expect(sessions.provider('arn:aws:iam::1:role/read', undefined)()).rejects.toThrow(
      /^AWS refused sts:AssumeRole on arn:aws:iam::1:role\/read/,
    );
  });
});
