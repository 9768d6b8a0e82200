import {
  AuthenticationError,
  CallTimeoutError,
  ConnectorError,
  isPermissionRefusal,
  PermissionError,
  ThrottledError,
  TransientError,
} from '../../core/errors';

/*
 * Octokit's error classes live in transitive packages (@octokit/request-error, @octokit/graphql),
 * so errors are recognised by shape: RequestError has a numeric `status` (500 for network faults,
 * which is how @octokit/request reports them), GraphqlResponseError has an `errors` list.
 */
interface HttpLikeError {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | undefined>; url?: string };
  request?: { method?: string; url?: string };
  cause?: unknown;
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

/** True when the request never got an answer in time (our fetch's deadline, or a socket timeout). */
function isTimedOut(error: HttpLikeError): boolean {
  const cause = error.cause as { name?: unknown; code?: unknown } | undefined;
  return (
    error.status === 500 &&
    (cause?.name === 'TimeoutError' ||
      cause?.code === 'ETIMEDOUT' ||
      cause?.code === 'UND_ERR_CONNECT_TIMEOUT')
  );
}

/**
 * What GitHub says the call needs. Fine-grained tokens and GitHub Apps get
 * `X-Accepted-GitHub-Permissions` (`members=write`; sets of alternatives separated by `;`),
 * classic tokens `X-Accepted-OAuth-Scopes` (next to `X-OAuth-Scopes`, what the token has).
 */
export function missingGitHubPermission(
  headers: Record<string, string | undefined> = {},
): string | undefined {
  const accepted = headers['x-accepted-github-permissions']?.trim();
  if (accepted) {
    const alternatives = accepted
      .split(';')
      .map((set) =>
        set
          .split(',')
          .map((permission) => permission.trim())
          .filter(Boolean)
          .join(' and '),
      )
      .filter(Boolean);
    if (alternatives.length > 0) return `permission ${alternatives.join(', or ')}`;
  }
  const scopes = headers['x-accepted-oauth-scopes']?.trim();
  if (scopes) {
    const has = headers['x-oauth-scopes']?.trim();
    return `OAuth scope ${scopes
      .split(',')
      .map((scope) => scope.trim())
      .filter(Boolean)
      .join(' or ')} (the token has: ${has || 'none'})`;
  }
  return undefined;
}

/** `GET /orgs/{org}/members`: the endpoint in the request, without the host and query. */
function endpointOf(error: HttpLikeError, action: string): string {
  const method = error.request?.method;
  const url = error.request?.url;
  if (!method || !url) return action;
  try {
    return `${method} ${new URL(url).pathname}`;
  } catch {
    return `${method} ${url.replace(/\?.*$/, '')}`;
  }
}

/** GraphQL's own "needs a scope" message: "The 'x' field requires one of the following scopes: ['read:org']". */
function graphQLMissingScope(message: string): string | undefined {
  const match = /requires one of the following scopes: \[([^\]]*)\]/.exec(message);
  return match?.[1] ? `OAuth scope ${match[1].replace(/'/g, '').split(/,\s*/).join(' or ')}` : undefined;
}

export type GitHubFailure =
  | AuthenticationError
  | PermissionError
  | ThrottledError
  | CallTimeoutError
  | TransientError
  | ConnectorError;

/**
 * Turns whatever a GitHub call threw into one of our named errors, with the original as `cause`.
 * Retries already happened inside the client (functions/core/call-budget.ts), so what reaches here
 * has outlasted them:
 * - 401 (bad, expired or revoked credentials): AuthenticationError, fail fast;
 * - 403 that is neither a rate limit nor a rule (the last owner stays), GraphQL FORBIDDEN /
 *   INSUFFICIENT_SCOPES: PermissionError naming the endpoint and the permission GitHub says it needs;
 * - 429, a secondary or primary rate limit, GraphQL RATE_LIMITED: ThrottledError;
 * - no answer within the timeout: CallTimeoutError; other 5xx and network faults: TransientError;
 * - any other refusal (422, a GraphQL error): ConnectorError.
 * `secret` is scrubbed from the message in case a server ever echoes it.
 */
export function gitHubFailure(error: unknown, action: string, secret: string): GitHubFailure {
  const scrub = (text: string) => (secret ? text.split(secret).join('[REDACTED]') : text);
  if (isGraphQLError(error)) {
    const messages = error.errors.map((item) => (item.type ? `${item.type}: ${item.message}` : item.message));
    const text = scrub(`GitHub GraphQL refused ${action}: ${messages.join('; ')}`);
    if (error.errors.some((item) => item.type === 'RATE_LIMITED'))
      return new ThrottledError(text, { cause: error });
    const forbidden = error.errors.find(
      (item) => item.type === 'FORBIDDEN' || item.type === 'INSUFFICIENT_SCOPES',
    );
    if (forbidden) {
      const missing = scrub(
        graphQLMissingScope(forbidden.message) ??
          `what "${forbidden.message}" asks for (the token's access to ${action})`,
      );
      return new PermissionError(`${text}. The token lacks ${missing}`, missing, { cause: error });
    }
    return new ConnectorError(text, { cause: error });
  }
  if (isHttpError(error)) {
    const text = scrub(`GitHub ${action} failed with ${error.status}: ${error.message}`);
    if (error.status === 401) {
      return new AuthenticationError(
        `${text}. GitHub refused the credentials: the token is invalid, expired or revoked, or the GitHub App's id, installation or key is wrong; update the GitHub secret`,
        { cause: error },
      );
    }
    if (isRateLimited(error)) return new ThrottledError(text, { cause: error });
    if (error.status === 403 && isPermissionRefusal(error.message, error.response?.headers)) {
      const endpoint = endpointOf(error, action);
      const needed = missingGitHubPermission(error.response?.headers);
      const missing = needed ? `${needed} for ${endpoint}` : `access to ${endpoint}`;
      const advice = needed
        ? `grant the token (or the GitHub App) ${needed}`
        : 'GitHub did not say which permission; see the permissions each mode needs in the README';
      return new PermissionError(`${text}. The token lacks ${missing}: ${advice}`, scrub(missing), {
        cause: error,
      });
    }
    if (isTimedOut(error)) return new CallTimeoutError(text, { cause: error });
    if (error.status >= 500) return new TransientError(text, { cause: error });
    return new ConnectorError(text, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new ConnectorError(scrub(`GitHub ${action} failed: ${detail}`), { cause: error });
}
