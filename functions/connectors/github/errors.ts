import { ConnectorError, TransientError } from '../../core/errors';

/*
 * Octokit's error classes live in transitive packages (@octokit/request-error, @octokit/graphql),
 * so errors are recognised by shape: RequestError has a numeric `status` (500 for network faults,
 * which is how @octokit/request reports them), GraphqlResponseError has an `errors` list.
 */
interface HttpLikeError {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | undefined> };
}

interface GraphQLLikeError {
  name: 'GraphqlResponseError';
  errors: Array<{ type?: string; message: string }>;
}

function isHttpError(error: unknown): error is HttpLikeError {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

function isGraphQLError(error: unknown): error is GraphQLLikeError {
  return (
    error instanceof Error &&
    error.name === 'GraphqlResponseError' &&
    Array.isArray((error as { errors?: unknown }).errors)
  );
}

/** True when GitHub answered a GraphQL query with only NOT_FOUND errors (e.g. the repository is gone). */
export function isGraphQLNotFound(error: unknown): error is GraphQLLikeError & { data?: unknown } {
  return (
    isGraphQLError(error) &&
    error.errors.length > 0 &&
    error.errors.every((item) => item.type === 'NOT_FOUND')
  );
}

export function statusOf(error: unknown): number | undefined {
  return isHttpError(error) ? error.status : undefined;
}

function isRateLimited(error: HttpLikeError): boolean {
  return (
    error.status === 429 ||
    error.response?.headers?.['x-ratelimit-remaining'] === '0' ||
    /rate limit/i.test(error.message)
  );
}

/**
 * Turns whatever a GitHub call threw into one of our named errors, with the original as `cause`.
 * Retries already happened inside the client, so what reaches here has outlasted them:
 * 5xx, network faults and rate limits are TransientError (the workflow may try again later);
 * any other refusal (401 bad credentials, 403 missing scope, 422, a GraphQL error) is ConnectorError.
 * `secret` is scrubbed from the message in case a server ever echoes it.
 */
export function gitHubFailure(
  error: unknown,
  action: string,
  secret: string,
): TransientError | ConnectorError {
  const scrub = (text: string) => (secret ? text.split(secret).join('[REDACTED]') : text);
  if (isGraphQLError(error)) {
    const messages = error.errors.map((item) => (item.type ? `${item.type}: ${item.message}` : item.message));
    const text = scrub(`GitHub GraphQL refused ${action}: ${messages.join('; ')}`);
    return error.errors.some((item) => item.type === 'RATE_LIMITED')
      ? new TransientError(text, { cause: error })
      : new ConnectorError(text, { cause: error });
  }
  if (isHttpError(error)) {
    const text = scrub(`GitHub ${action} failed with ${error.status}: ${error.message}`);
    if (error.status >= 500 || isRateLimited(error)) return new TransientError(text, { cause: error });
    return new ConnectorError(text, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new ConnectorError(scrub(`GitHub ${action} failed: ${detail}`), { cause: error });
}
