import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { acmeOrganization, connectorFor, rest, startSandbox } from './helpers';

/*
 * Who the connector acts as at GitHub, for the revocation guard: GET /user answers the token's
 * user (validated against GitHub's OpenAPI description like every route of the sandbox); an App
 * installation's token has no user, which GitHub refuses with 403, and then only configuration or
 * GET /app can say who the tool is.
 */
let withUser: GitHubSandbox;
let installation: GitHubSandbox;

beforeAll(async () => {
  const organization = await acmeOrganization();
  withUser = await startSandbox({ ...organization, viewer: 'access-review-bot' });
  const { viewer: _viewer, ...noViewer } = organization;
  installation = await startSandbox(noViewer);
});

afterAll(async () => {
  await withUser?.close();
  await installation?.close();
});

describe('the tool’s own GitHub identity', () => {
  it('is the token’s user, from GET /user', async () => {
    const response = await rest(withUser, 'GET', '/user');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ login: 'access-review-bot', type: 'User' });
    expect(await connectorFor(withUser).ownIdentities?.()).toEqual(['access-review-bot']);
    expect(withUser.violations).toEqual([]);
  });

  it('is unknown to GitHub for an installation token without the app’s key (403), and not an error', async () => {
    const response = await rest(installation, 'GET', '/user');
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ message: 'Resource not accessible by integration' });
    expect(await connectorFor(installation).ownIdentities?.()).toEqual([]);
    expect(installation.violations).toEqual([]);
  });
});
