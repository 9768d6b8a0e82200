import type { GitHubContext } from './context';
import { gitHubFailure, statusOf } from './errors';

/**
 * Who the connector acts as at GitHub, so the revocation guard never lets a campaign revoke it:
 * the token's user (`GET /user`), or for a GitHub App installation, whose token `GET /user`
 * refuses ("Resource not accessible by integration"), the app's bot `<slug>[bot]` from `GET /app`
 * (which octokit's app auth signs with the app's JWT). Empty when GitHub tells neither; the
 * configured `revocationGuard.ownIdentities.github` still applies then.
 */
export async function gitHubOwnIdentities(context: GitHubContext, isApp: boolean): Promise<string[]> {
  try {
    const { data } = await context.octokit.request('GET /user');
    return [data.login];
  } catch (error) {
    const status = statusOf(error);
    if (status !== 401 && status !== 403 && status !== 404) {
      throw gitHubFailure(error, 'GET /user', context.token);
    }
  }
  if (!isApp) return [];
  try {
    const { data } = await context.octokit.request('GET /app');
    return data?.slug ? [`${data.slug}[bot]`] : [];
  } catch (error) {
    throw gitHubFailure(error, 'GET /app', context.token);
  }
}
