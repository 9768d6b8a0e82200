import { ConnectorError } from '../../core/errors';
import { type GitHubContext, runRest } from './context';

/*
 * What the org-wide CI/CD kinds (installations, fine-grained tokens, Actions secrets and
 * variables, runner groups) read the same way: one paginated list of the organisation.
 */

/**
 * Every item of an organisation's list (`call` names the GET for messages). A 404 here means the
 * organisation itself cannot be read, which is a failure, not an empty list; `hint` adds what
 * else such a 404 can mean for this endpoint.
 */
export async function organizationList<T>(
  context: GitHubContext,
  call: string,
  fetchAll: () => Promise<T[]>,
  hint = '',
): Promise<T[]> {
  const answer = await runRest(context, call, fetchAll);
  if (answer === 'not_found') {
    throw new ConnectorError(`${call} answered 404: is ${context.organization} an organization${hint}?`);
  }
  return answer;
}

/** GitHub treats secret, variable and runner group names case-insensitively. */
export const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
