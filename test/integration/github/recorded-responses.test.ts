import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SnapshotIndex } from '../../../functions/connectors/github/access-kind';
import { branchProtection } from '../../../functions/connectors/github/branch-protection';
import { createGitHubClient } from '../../../functions/connectors/github/client';
import type { GitHubContext } from '../../../functions/connectors/github/context';
import { invitations } from '../../../functions/connectors/github/invitations';
import { ConnectorError } from '../../../functions/core/errors';
import type { Grant } from '../../../functions/core/grant';
import { openApiProblems } from '../../../sandbox/github/openapi';
import { packageFile } from '../../../sandbox/github/schema';
import { collect } from './helpers';

/*
 * Real answers GitHub gave, recorded by @octokit/fixtures (api.github.com, organisation
 * octokit-fixture-org), replayed on loopback and fed through the connector's REST paths: the
 * connector must read what GitHub really sends, not only what our sandbox sends. Each recorded
 * answer is also checked against GitHub's OpenAPI description, which keeps the sandbox's checker
 * honest in the other direction (it must accept GitHub's own answers).
 */
interface Recorded {
  method: string;
  path: string;
  status: number;
  response: unknown;
  headers: Record<string, string | number>;
}

const ORG = 'octokit-fixture-org';

function scenario(name: string): Recorded[] {
  const file = packageFile('@octokit/fixtures', `scenarios/api.github.com/${name}/normalized-fixture.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as Recorded[];
}

/** The recorded exchange; `last` for the later of several (the scenario set protection twice). */
function recorded(
  name: string,
  method: string,
  path: string,
  status: number,
  which: 'first' | 'last' = 'first',
): Recorded {
  const all = scenario(name).filter(
    (entry) => entry.method === method && entry.path === path && entry.status === status,
  );
  const found = which === 'first' ? all[0] : all.at(-1);
  if (!found) throw new Error(`no recorded ${method} ${path} ${status} in ${name}`);
  return found;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Serves exactly the given answers for `GET path` (query ignored); anything else is a loud 599. */
async function replay(
  answers: Record<string, { status: number; body: unknown; headers?: Record<string, string | number> }>,
) {
  const served: string[] = [];
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://replay.invalid').pathname;
    const key = `${request.method} ${path}`;
    served.push(key);
    const answer = answers[key];
    if (!answer) {
      response.writeHead(599, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: `not recorded: ${key}` }));
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(answer.headers ?? {})
        .filter(([name]) => name.startsWith('x-ratelimit') || name === 'x-github-media-type')
        .map(([name, value]) => [name, String(value)]),
    );
    response.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    response.end(answer.body === '' ? undefined : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const context: GitHubContext = {
    octokit: createGitHubClient({
      token: 'ghs_recorded',
      baseUrl: `http://127.0.0.1:${port}`,
      throttle: { fast: true, retries: 0 },
      warn: () => {},
    }),
    organization: ORG,
    token: 'ghs_recorded',
  };
  return { context, served };
}

function indexOf(repository: string, defaultBranch = 'main'): SnapshotIndex {
  return {
    members: new Map(),
    teams: { members: new Set(), repositories: new Map() },
    repositories: [{ name: repository, isPrivate: false, defaultBranch }],
    defaultBranchRequiresReview: new Map(),
    defaultBranchRestrictions: new Map(),
    reviewRulesets: new Map(),
  };
}

const lineOf = (grant: Grant) =>
  `${grant.resource} ${grant.principalType} ${grant.principal} ${grant.entitlement}`;

describe('recorded GitHub answers through the connector', () => {
  it('reads an unprotected default branch (GitHub\'s 404 "Branch not protected") as no bypass grants', async () => {
    const answer = recorded(
      'branch-protection',
      'get',
      `/repos/${ORG}/branch-protection/branches/main/protection`,
      404,
    );
    expect(answer.response).toMatchObject({ message: 'Branch not protected' });
    const { context, served } = await replay({
      [`GET /repos/${ORG}/branch-protection/branches/main/protection`]: {
        status: 404,
        body: answer.response,
      },
    });
    const index = indexOf('branch-protection');
    expect(await collect(branchProtection.snapshot(context, index))).toEqual([]);
    expect(index.defaultBranchRequiresReview.get('branch-protection')).toBe(false);
    expect(served).toEqual([`GET /repos/${ORG}/branch-protection/branches/main/protection`]);
  });

  it('refuses a plain 404 (a token that may not read the protection) instead of reading it as unprotected', async () => {
    // GitHub's answer to a repository the token cannot see: the recorded error body, with GitHub's
    // generic message instead of "Branch not protected".
    const answer = recorded(
      'branch-protection',
      'get',
      `/repos/${ORG}/branch-protection/branches/main/protection`,
      404,
    );
    const { context } = await replay({
      [`GET /repos/${ORG}/branch-protection/branches/main/protection`]: {
        status: 404,
        body: { ...(answer.response as object), message: 'Not Found' },
      },
    });
    await expect(collect(branchProtection.snapshot(context, indexOf('branch-protection')))).rejects.toThrow(
      /answered 404 "Not Found[^"]*" instead of "Branch not protected"/,
    );
  });

  it('reads push restrictions and required reviews from the protection GitHub recorded', async () => {
    // The recorded answer to the second PUT, which set restrictions and required reviews: GitHub
    // answers it with the same restrictions and review settings a GET returns.
    const answer = recorded(
      'branch-protection',
      'put',
      `/repos/${ORG}/branch-protection/branches/main/protection`,
      200,
      'last',
    );
    const { context } = await replay({
      [`GET /repos/${ORG}/branch-protection/branches/main/protection`]: {
        status: 200,
        body: answer.response,
        headers: answer.headers,
      },
    });
    const index = indexOf('branch-protection');
    const grants = await collect(branchProtection.snapshot(context, index));
    expect(grants.map(lineOf).sort()).toEqual([
      `${ORG}/branch-protection:main team ${ORG}/a-team push`,
      `${ORG}/branch-protection:main user octokit-fixture-user-a push`,
    ]);
    expect(grants.every((grant) => grant.grantKind === 'branch_protection_bypass' && grant.reviewable)).toBe(
      true,
    );
    expect(index.defaultBranchRequiresReview.get('branch-protection')).toBe(true);
    // Recorded with enforce_admins on and push restrictions set.
    expect(index.defaultBranchRestrictions.get('branch-protection')).toEqual({
      reviewsRequired: true,
      pushRestricted: true,
      enforceAdmins: true,
    });
  });

  it('reads a pending repository invitation GitHub recorded, with its invitee as holder', async () => {
    const path = `/repos/${ORG}/add-and-remove-repository-collaborator/invitations`;
    const answer = recorded('add-and-remove-repository-collaborator', 'get', path, 200);
    const { context } = await replay({
      // The organisation's own invitations were not part of the recording: none.
      [`GET /orgs/${ORG}/invitations`]: { status: 200, body: [] },
      [`GET ${path}`]: { status: 200, body: answer.response, headers: answer.headers },
    });
    const grants = await collect(
      invitations.snapshot(context, indexOf('add-and-remove-repository-collaborator')),
    );
    expect(grants.map(lineOf)).toEqual([
      `${ORG}/add-and-remove-repository-collaborator invitee octokit-fixture-user-b write`,
    ]);
    expect(grants[0]?.holder).toBe('octokit-fixture-user-b');
    expect(grants[0]?.raw).toMatchObject({ invitationId: 1000 });
  });

  it("turns GitHub's recorded 422 Validation Failed into a ConnectorError naming it", async () => {
    const answer = recorded('errors', 'post', `/repos/${ORG}/errors/labels`, 422);
    const path = `/repos/${ORG}/errors/invitations`;
    const { context } = await replay({
      [`GET /orgs/${ORG}/invitations`]: { status: 200, body: [] },
      [`GET ${path}`]: { status: 422, body: answer.response },
    });
    const failure = await collect(invitations.snapshot(context, indexOf('errors'))).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ConnectorError);
    expect((failure as Error).message).toMatch(
      /GET \/repos\/octokit-fixture-org\/errors\/invitations failed with 422: Validation Failed/,
    );
  });

  it("finds GitHub's own recorded answers valid against its OpenAPI description", () => {
    const check = (name: string, method: string, path: string, template: string, status: number) => {
      const answer = recorded(name, method, path, status);
      return openApiProblems({
        method: method.toUpperCase(),
        template,
        requestBody: undefined,
        status,
        responseBody: answer.response === '' ? undefined : answer.response,
      });
    };
    expect(
      check(
        'add-and-remove-repository-collaborator',
        'get',
        `/repos/${ORG}/add-and-remove-repository-collaborator/invitations`,
        '/repos/{owner}/{repo}/invitations',
        200,
      ),
    ).toEqual([]);
    expect(
      check(
        'branch-protection',
        'get',
        `/repos/${ORG}/branch-protection/branches/main/protection`,
        '/repos/{owner}/{repo}/branches/{branch}/protection',
        404,
      ),
    ).toEqual([]);
    expect(
      check(
        'branch-protection',
        'put',
        `/repos/${ORG}/branch-protection/branches/main/protection`,
        '/repos/{owner}/{repo}/branches/{branch}/protection',
        200,
      ),
    ).toEqual([]);
    // The checker is not a rubber stamp: the same invitation list with a field GitHub requires removed fails.
    const list = recorded(
      'add-and-remove-repository-collaborator',
      'get',
      `/repos/${ORG}/add-and-remove-repository-collaborator/invitations`,
      200,
    ).response as Array<Record<string, unknown>>;
    const { invitee: _dropped, ...incomplete } = list[0] ?? {};
    expect(
      openApiProblems({
        method: 'GET',
        template: '/repos/{owner}/{repo}/invitations',
        requestBody: undefined,
        status: 200,
        responseBody: [incomplete],
      }),
    ).not.toEqual([]);
  });
});
