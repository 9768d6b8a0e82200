import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubConnector } from '../../../functions/connectors/github/index';
import { ConnectorError, TransientError } from '../../../functions/core/errors';
import type { Grant } from '../../../functions/core/grant';
import { type GitHubSandbox, secondaryRateLimit, serverError } from '../../../sandbox/github/server';
import { acmeOrganization, collect, connectorFor, findGrant, startSandbox, TOKEN } from './helpers';

let sandbox: GitHubSandbox;
let grants: Grant[];

beforeEach(async () => {
  sandbox = await startSandbox(await acmeOrganization());
  grants = await collect(connectorFor(sandbox).snapshot());
  sandbox.requests.length = 0;
});
afterEach(() => sandbox.close());

const statuses = () => sandbox.requests.map((request) => `${request.status}${request.injected ? '*' : ''}`);
const graphqlStatuses = () =>
  sandbox.requests
    .filter((request) => request.path === '/graphql')
    .map((request) => `${request.status}${request.injected ? '*' : ''}`);

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected the call to fail');
  return outcome;
}

describe('GitHub connector under faults', () => {
  it('retries a transient 502 on GraphQL and completes the snapshot', async () => {
    sandbox.failNext({ ...serverError(502), match: { path: '/graphql' } });
    const again = await collect(connectorFor(sandbox).snapshot());
    expect(again).toHaveLength(grants.length);
    expect(graphqlStatuses().slice(0, 2)).toEqual(['502*', '200']);
  });

  it('retries a 502 on a REST call', async () => {
    sandbox.failNext({ ...serverError(502), times: 2 });
    const result = await connectorFor(sandbox).check(
      findGrant(grants, 'organization acme bob member direct'),
    );
    expect(result.status).toBe('present');
    expect(statuses()).toEqual(['502*', '502*', '200']);
  });

  it('gives up with TransientError when the 5xx outlasts the retries', async () => {
    sandbox.failNext({ ...serverError(503), times: 10 });
    const error = await failure(
      connectorFor(sandbox, { retries: 2 }).check(findGrant(grants, 'organization acme bob member direct')),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error.cause).toBeDefined();
    expect(statuses()).toEqual(['503*', '503*', '503*']);
  });

  it('waits out a 403 secondary rate limit (retry-after) and succeeds', async () => {
    const warnings: string[] = [];
    sandbox.failNext(secondaryRateLimit(403, 0));
    const result = await connectorFor(sandbox, { warn: (message) => warnings.push(message) }).revoke(
      findGrant(grants, 'organization acme frank member direct'),
    );
    expect(result.outcome).toBe('removed');
    expect(statuses()).toEqual(['403*', '204']);
    expect(warnings.join('\n')).toMatch(/secondary rate limit/);
  });

  it('retries a 502 on the PUT that demotes an owner', async () => {
    sandbox.failNext({ ...serverError(502), match: { method: 'PUT' } });
    const result = await connectorFor(sandbox).revoke(
      findGrant(grants, 'organization acme alice owner direct'),
    );
    expect(result.outcome).toBe('removed');
    expect(
      sandbox.requests.map((request) => `${request.method} ${request.status}${request.injected ? '*' : ''}`),
    ).toEqual(['GET 200', 'PUT 502*', 'PUT 200']);
  });

  it('waits out a 429 secondary rate limit on GraphQL and succeeds', async () => {
    sandbox.failNext({ ...secondaryRateLimit(429, 0), match: { path: '/graphql' } });
    const result = await connectorFor(sandbox).check(
      findGrant(grants, 'repository acme/api gina read direct'),
    );
    expect(result.status).toBe('present');
    // The check reads the user's access, then their teams (for access through nested teams).
    expect(graphqlStatuses()).toEqual(['429*', '200', '200']);
  });

  it('turns a persistent secondary rate limit into TransientError', async () => {
    sandbox.failNext({ ...secondaryRateLimit(403, 0), times: 10 });
    const error = await failure(
      connectorFor(sandbox, { retries: 1 }).check(findGrant(grants, 'organization acme bob member direct')),
    );
    expect(error).toBeInstanceOf(TransientError);
  });

  it('turns bad credentials into ConnectorError without the token in the message', async () => {
    const wrongToken = 'ghp_wrongTokenThatMustNotLeak42';
    const connector = connectorFor(sandbox, { token: wrongToken });
    const snapshotError = await failure(collect(connector.snapshot()));
    const checkError = await failure(
      connector.check(findGrant(grants, 'organization acme bob member direct')),
    );
    for (const error of [snapshotError, checkError]) {
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).not.toBeInstanceOf(TransientError);
      expect(error.message).toMatch(/401|Bad credentials/);
      expect(error.message).not.toContain(wrongToken);
      expect(error.message).not.toContain(TOKEN);
      expect(error.cause).toBeDefined();
    }
    // A refusal is not retried: one request per call.
    expect(statuses()).toEqual(['401', '401']);
  });

  it('turns a 403 refusal (not a rate limit) into ConnectorError', async () => {
    sandbox.failNext({
      status: 403,
      body: {
        message: 'Must have admin rights to Repository.',
        documentation_url: 'https://docs.github.com/rest',
      },
    });
    const error = await failure(
      connectorFor(sandbox).revoke(findGrant(grants, 'team acme/web carol member direct')),
    );
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.message).toContain('Must have admin rights');
  });

  it('turns a GraphQL error answer into ConnectorError', async () => {
    const connector = createGitHubConnector({
      organization: 'nope',
      token: TOKEN,
      baseUrl: sandbox.url,
      throttle: { fast: true },
    });
    const refusal = await failure(collect(connector.snapshot()));
    expect(refusal).toBeInstanceOf(ConnectorError);
    expect(refusal.message).toContain("Could not resolve to an Organization with the login of 'nope'");
  });

  it('turns an unreachable server into TransientError', async () => {
    const connector = connectorFor(sandbox, { retries: 1 });
    await sandbox.close();
    const error = await failure(connector.check(findGrant(grants, 'organization acme bob member direct')));
    expect(error).toBeInstanceOf(TransientError);
    // close() in afterEach must stay harmless.
    sandbox.close = async () => {};
  });
});
