import { describe, expect, it } from 'vitest';
import { gitHubFailure } from '../../../../functions/connectors/github/errors';
import { ConnectorError, TransientError } from '../../../../functions/core/errors';

const SECRET = 'ghp_secretValue123';

/** Shaped like @octokit/request-error's RequestError. */
function httpError(status: number, message: string, headers: Record<string, string> = {}) {
  return Object.assign(new Error(message), { name: 'HttpError', status, response: { headers } });
}

/** Shaped like @octokit/graphql's GraphqlResponseError. */
function graphqlError(errors: Array<{ type?: string; message: string }>) {
  return Object.assign(new Error('Request failed due to following response errors'), {
    name: 'GraphqlResponseError',
    errors,
  });
}

describe('gitHubFailure', () => {
  it.each([500, 502, 503, 504])('treats %i as transient', (status) => {
    const cause = httpError(status, 'Server Error');
    const error = gitHubFailure(cause, 'GET /x', SECRET);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('GET /x');
  });

  it('treats rate limits that outlasted the retries as transient', () => {
    expect(gitHubFailure(httpError(429, 'Too Many Requests'), 'a', SECRET)).toBeInstanceOf(TransientError);
    expect(
      gitHubFailure(httpError(403, 'You have exceeded a secondary rate limit'), 'a', SECRET),
    ).toBeInstanceOf(TransientError);
    expect(
      gitHubFailure(httpError(403, 'API rate limit exceeded', { 'x-ratelimit-remaining': '0' }), 'a', SECRET),
    ).toBeInstanceOf(TransientError);
  });

  it.each([401, 403, 422])('treats %i as a refusal', (status) => {
    const error = gitHubFailure(httpError(status, 'Nope'), 'DELETE /y', SECRET);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).not.toBeInstanceOf(TransientError);
    expect(error.message).toContain(String(status));
  });

  it('scrubs the token from any message: HTTP, GraphQL, network and anything else thrown', () => {
    const failures = [
      httpError(401, `Bad credentials for ${SECRET}`),
      graphqlError([{ type: 'FORBIDDEN', message: `token ${SECRET} may not read this` }]),
      httpError(500, `request to https://x-access-token:${SECRET}@api.github.com failed`),
      new Error(`socket hang up (${SECRET})`),
      `a string that names ${SECRET}`,
    ];
    for (const failure of failures) {
      const error = gitHubFailure(failure, 'GET /z', SECRET);
      expect(error.message).not.toContain(SECRET);
      expect(error.message).toContain('[REDACTED]');
    }
  });

  it('maps GraphQL errors: RATE_LIMITED is transient, anything else a refusal', () => {
    expect(
      gitHubFailure(graphqlError([{ type: 'RATE_LIMITED', message: 'slow down' }]), 'q', SECRET),
    ).toBeInstanceOf(TransientError);
    const refusal = gitHubFailure(
      graphqlError([{ type: 'NOT_FOUND', message: 'Could not resolve' }]),
      'q',
      SECRET,
    );
    expect(refusal).toBeInstanceOf(ConnectorError);
    expect(refusal).not.toBeInstanceOf(TransientError);
    expect(refusal.message).toContain('NOT_FOUND: Could not resolve');
  });

  it('wraps anything else as ConnectorError with the cause kept', () => {
    const cause = new TypeError('boom');
    const error = gitHubFailure(cause, 'q', SECRET);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.cause).toBe(cause);
  });
});
