import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  CallTimeoutError,
  ConnectorError,
  classifyError,
  PermissionError,
  ThrottledError,
  TransientError,
} from '../../../functions/core/errors';
import type { Grant } from '../../../functions/core/grant';
import { type GitHubSandbox, secondaryRateLimit, serverError } from '../../../sandbox/github/server';
import { acmeOrganization, collect, connectorFor, findGrant, rest, startSandbox } from '../github/helpers';

/*
 * Each way GitHub refuses, as the connector meets it through the sandbox (GitHub's own status,
 * headers and body shapes), becomes the error class the workflow acts on: authentication and
 * permission fail fast and say what to fix, throttling and 5xx are transient.
 */

let sandbox: GitHubSandbox;
let grants: Grant[];

beforeAll(async () => {
  sandbox = await startSandbox(await acmeOrganization());
  grants = await collect(connectorFor(sandbox).snapshot());
});
afterAll(() => sandbox.close());
beforeEach(() => {
  sandbox.requests.length = 0;
});
/** Uses up whatever injected failure a test left over, so the next test meets the simulated GitHub. */
afterEach(async () => {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    await rest(sandbox, 'GET', '/orgs/acme/members/frank');
    if (!sandbox.requests.at(-1)?.injected) return;
  }
  throw new Error('injected failures left over');
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail');
  return outcome;
}

const member = () => findGrant(grants, 'organization acme frank member direct');

describe('GitHub refusals are classified', () => {
  it('bad credentials (401) are an AuthenticationError, tried once, that says to fix the secret', async () => {
    const error = await failure(connectorFor(sandbox, { token: 'ghp_notTheToken' }).check(member()));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toMatch(/401: Bad credentials/);
    expect(error.message).toMatch(/invalid, expired or revoked/);
    expect(error.message).not.toContain('ghp_notTheToken');
    expect(classifyError(error)).toBe('authentication');
    expect(classifyError({ name: error.name })).toBe('authentication');
    expect(sandbox.requests).toHaveLength(1);
  });

  it('a 403 with X-Accepted-GitHub-Permissions is a PermissionError naming the permission and the endpoint', async () => {
    sandbox.failNext({
      status: 403,
      headers: { 'x-accepted-github-permissions': 'members=write' },
      body: {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest/orgs/members#remove-an-organization-member',
        status: '403',
      },
      match: { method: 'DELETE' },
    });
    const error = await failure(connectorFor(sandbox).revoke(member()));
    expect(error).toBeInstanceOf(PermissionError);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).not.toBeInstanceOf(TransientError);
    const { missing } = error as PermissionError;
    expect(missing).toMatch(
      /^permission members=write for DELETE \/orgs\/acme\/(members|memberships)\/frank$/,
    );
    expect(error.message).toContain(`lacks ${missing}`);
    expect(error.message).toContain('Resource not accessible by integration');
    expect(classifyError(error)).toBe('permission');
    // Not retried: one DELETE.
    expect(sandbox.requests.filter((request) => request.method === 'DELETE')).toHaveLength(1);
  });

  it('a 403 that is a rule, not a permission (the last owner stays), is a plain refusal', async () => {
    sandbox.failNext({
      status: 403,
      body: { message: 'You cannot remove the last owner of an organization.', status: '403' },
      match: { method: 'DELETE' },
    });
    const error = await failure(connectorFor(sandbox).revoke(member()));
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).not.toBeInstanceOf(PermissionError);
    expect(error.message).toContain('You cannot remove the last owner of an organization.');
    expect(classifyError(error)).toBe('internal');
  });

  it('alternative permission sets and classic OAuth scopes are named as GitHub sends them', async () => {
    sandbox.failNext({
      status: 403,
      headers: {
        'x-accepted-github-permissions': 'members=read; organization_administration=read,members=write',
      },
      body: { message: 'Resource not accessible by personal access token', status: '403' },
    });
    const fineGrained = (await failure(connectorFor(sandbox).check(member()))) as PermissionError;
    expect(fineGrained.missing).toMatch(
      /^permission members=read, or organization_administration=read and members=write for GET /,
    );
    sandbox.failNext({
      status: 403,
      headers: { 'x-accepted-oauth-scopes': 'admin:org, read:org', 'x-oauth-scopes': 'repo' },
      body: { message: 'Must have admin rights to Organization.', status: '403' },
    });
    const classic = (await failure(connectorFor(sandbox).check(member()))) as PermissionError;
    expect(classic).toBeInstanceOf(PermissionError);
    expect(classic.missing).toMatch(/^OAuth scope admin:org or read:org \(the token has: repo\) for GET /);
  });

  it('GraphQL FORBIDDEN and INSUFFICIENT_SCOPES are PermissionErrors with GitHub’s reason', async () => {
    const repositoryGrant = findGrant(grants, 'repository acme/api gina read direct');
    sandbox.failNext({
      status: 200,
      body: {
        data: null,
        errors: [
          {
            type: 'FORBIDDEN',
            path: ['repository', 'collaborators'],
            message: 'Must have push access to view repository collaborators.',
          },
        ],
      },
      match: { path: '/graphql' },
    });
    const forbidden = await failure(connectorFor(sandbox).check(repositoryGrant));
    expect(forbidden).toBeInstanceOf(PermissionError);
    expect(forbidden.message).toContain('Must have push access to view repository collaborators.');
    expect(classifyError(forbidden)).toBe('permission');

    sandbox.failNext({
      status: 200,
      body: {
        data: null,
        errors: [
          {
            type: 'INSUFFICIENT_SCOPES',
            message:
              "Your token has not been granted the required scopes to execute this query. The 'membersWithRole' field requires one of the following scopes: ['read:org'], but your token has only been granted the: ['repo'] scopes.",
          },
        ],
      },
      match: { path: '/graphql' },
    });
    const scopes = (await failure(connectorFor(sandbox).check(repositoryGrant))) as PermissionError;
    expect(scopes).toBeInstanceOf(PermissionError);
    expect(scopes.missing).toBe('OAuth scope read:org');
  });

  it.each([
    ['403 secondary rate limit', secondaryRateLimit(403, 0)],
    ['429 secondary rate limit', secondaryRateLimit(429, 0)],
    [
      '403 primary rate limit',
      {
        status: 403,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0' },
        body: { message: 'API rate limit exceeded for installation ID 1.', status: '403' },
      },
    ],
  ])('a %s that outlasts the budget is a ThrottledError', async (_label, injected) => {
    sandbox.failNext({ ...injected, times: 20 });
    const error = await failure(connectorFor(sandbox, { retries: 1 }).check(member()));
    expect(error).toBeInstanceOf(ThrottledError);
    expect(classifyError(error)).toBe('throttled');
    expect(classifyError({ name: error.name })).toBe('throttled');
  });

  it('a persistent 5xx is a TransientError classified unavailable (not a timeout, not throttling)', async () => {
    sandbox.failNext({ ...serverError(503), times: 3 });
    const error = await failure(connectorFor(sandbox, { retries: 2 }).check(member()));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).not.toBeInstanceOf(ThrottledError);
    expect(error).not.toBeInstanceOf(CallTimeoutError);
    expect(classifyError(error)).toBe('unavailable');
  });
});
