import type { GitHubClient } from './client';
import { gitHubFailure, isGraphQLNotFound, statusOf } from './errors';

/** What every resource file needs: the client, the organisation, and the token to keep out of messages. */
export interface GitHubContext {
  octokit: GitHubClient;
  organization: string;
  token: string;
  /** Repositories per snapshot page (and so between checkpoints): 100, GitHub's maximum, unless a test asks for fewer. */
  repositoriesPerPage?: number;
}

/**
 * Runs one GraphQL document; failures become TransientError / ConnectorError naming `action`.
 * With `notFoundIsAnswer`, GitHub's NOT_FOUND (which comes with the field set to null) is returned
 * as that partial data: for a check, a repository that no longer exists is an answer, not a fault.
 */
export async function runQuery<T>(
  context: GitHubContext,
  action: string,
  document: string,
  variables: Record<string, unknown>,
  options: { notFoundIsAnswer?: boolean } = {},
): Promise<T> {
  try {
    return await context.octokit.graphql<T>(document, variables);
  } catch (error) {
    if (
      options.notFoundIsAnswer &&
      isGraphQLNotFound(error) &&
      typeof error.data === 'object' &&
      error.data
    ) {
      return error.data as T;
    }
    throw gitHubFailure(error, action, context.token);
  }
}

/**
 * Runs one REST call where a 404 is an answer, not a failure ("not a member", "no access"): it
 * resolves to 'not_found'. Everything else that fails becomes a named error.
 */
export async function runRest<T>(
  context: GitHubContext,
  action: string,
  call: () => Promise<T>,
): Promise<T | 'not_found'> {
  try {
    return await call();
  } catch (error) {
    if (statusOf(error) === 404) return 'not_found';
    throw gitHubFailure(error, action, context.token);
  }
}

export const now = () => new Date().toISOString();
