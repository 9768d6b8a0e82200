import { describe, expect, it } from 'vitest';
import type { GitHubClient } from '../../../../functions/connectors/github/client';
import { gitHubOwnIdentities } from '../../../../functions/connectors/github/own-identity';
import { ConnectorError, TransientError } from '../../../../functions/core/errors';

/*
 * A GitHub App installation token cannot read GET /user (403); the app is then asked who it is
 * (GET /app, which octokit's app auth signs with the app's JWT) and its bot login is the identity.
 * The sandbox has no app-JWT route for GET /app, so the client is a stand-in here.
 */
function client(answers: Record<string, () => unknown>): GitHubClient {
  const request = async (route: string) => {
    const answer = answers[route];
    if (!answer) throw new Error(`unexpected ${route}`);
    return answer();
  };
  return { request } as unknown as GitHubClient;
}
const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status });
const context = (octokit: GitHubClient) => ({ octokit, organization: 'acme', token: 'ghs_x' });

describe('gitHubOwnIdentities', () => {
  it("is the App's bot when GET /user refuses an installation token", async () => {
    const octokit = client({
      'GET /user': () => Promise.reject(httpError(403)),
      'GET /app': () => ({ data: { slug: 'access-review' } }),
    });
    expect(await gitHubOwnIdentities(context(octokit), true)).toEqual(['access-review[bot]']);
    expect(await gitHubOwnIdentities(context(octokit), false)).toEqual([]);
  });

  it('retries later on a 5xx, and names a refused GET /app', async () => {
    await expect(
      gitHubOwnIdentities(context(client({ 'GET /user': () => Promise.reject(httpError(502)) })), false),
    ).rejects.toBeInstanceOf(TransientError);
    await expect(
      gitHubOwnIdentities(
        context(
          client({
            'GET /user': () => Promise.reject(httpError(403)),
            'GET /app': () => Promise.reject(httpError(401)),
          }),
        ),
        true,
      ),
    ).rejects.toBeInstanceOf(ConnectorError);
  });
});
