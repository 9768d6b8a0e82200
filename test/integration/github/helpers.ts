import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import type { SnapshotIndex } from '../../../functions/connectors/github/access-kind';
import { createGitHubClient, type ThrottleTuning } from '../../../functions/connectors/github/client';
import type { GitHubContext } from '../../../functions/connectors/github/context';
import { createGitHubConnector } from '../../../functions/connectors/github/index';
import { type Grant, viaLabel } from '../../../functions/core/grant';
import { openApiCheckingEnabled, openApiProblems } from '../../../sandbox/github/openapi';
import { type GitHubSandbox, startGitHubSandbox } from '../../../sandbox/github/server';
import type { OrganizationInput } from '../../../sandbox/github/state';
import { loadScenarioFile } from '../../../sandbox/scenario';

export const TOKEN = 'ghs_sandboxTestToken0123456789';

const ACME = fileURLToPath(new URL('../../../sandbox/scenarios/acme.yaml', import.meta.url));

export async function acmeOrganization(): Promise<OrganizationInput> {
  const { scenario } = await loadScenarioFile(ACME);
  return scenario.organization;
}

export function connectorFor(
  sandbox: GitHubSandbox,
  options: { token?: string; retries?: number; warn?: (message: string) => void } = {},
): Connector {
  return createGitHubConnector({
    organization: sandbox.state.login,
    token: options.token ?? TOKEN,
    baseUrl: sandbox.url,
    // No real waiting in tests: retry-after and backoff count as 0 ms, writes are not spaced.
    throttle: { retryAfterBaseMs: 0, writeIntervalMs: 0, retries: options.retries ?? 3 },
    warn: options.warn ?? (() => {}),
  });
}

/** A sandbox accepting the test token, checking every exchange against GitHub's OpenAPI description. */
export async function startSandbox(organization: OrganizationInput): Promise<GitHubSandbox> {
  return startGitHubSandbox(organization, { token: TOKEN });
}

export async function collect(grants: AsyncIterable<Grant>): Promise<Grant[]> {
  const out: Grant[] = [];
  for await (const grant of grants) out.push(grant);
  return out;
}

/** `repository acme/api carol write team:acme/platform`: one readable line per grant. */
export function line(grant: Grant): string {
  return `${grant.resourceType} ${grant.resource} ${grant.principal} ${grant.entitlement} ${viaLabel(grant.via)}`;
}

export function findGrant(grants: Grant[], text: string): Grant {
  const found = grants.filter((grant) => line(grant) === text);
  if (found.length !== 1) throw new Error(`expected exactly one grant "${text}", found ${found.length}`);
  return found[0]!;
}

/**
 * A started sandbox, its connector, and the grants of a full snapshot (only those of `kinds`
 * when given). The snapshot's requests are cleared, so a test's request log holds only its own.
 */
export async function snapshotSandbox(
  organization: OrganizationInput,
  kinds?: readonly string[],
): Promise<{ sandbox: GitHubSandbox; connector: Connector; grants: Grant[] }> {
  const sandbox = await startSandbox(organization);
  const connector = connectorFor(sandbox);
  const all = await collect(connector.snapshot());
  const grants = kinds ? all.filter((grant) => kinds.includes(grant.grantKind)) : all;
  sandbox.requests.length = 0;
  return { sandbox, connector, grants };
}

/** Every exchange was checked against GitHub's OpenAPI description and none broke it; then stop. */
export async function closeChecked(sandbox: GitHubSandbox): Promise<void> {
  expect(sandbox.violations).toEqual([]);
  await sandbox.close();
}

/** The REST calls that change something (neither GETs nor GraphQL), in the order the sandbox saw them. */
export function writeRequests(sandbox: GitHubSandbox): GitHubSandbox['requests'] {
  return sandbox.requests.filter((request) => request.method !== 'GET' && request.path !== '/graphql');
}

/** One REST call to the sandbox with the test token; a body goes as JSON. */
export function rest(
  sandbox: GitHubSandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, {
    method,
    headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The context one kind's pass runs in, against the sandbox, for running that pass alone. */
export function contextFor(
  sandbox: GitHubSandbox,
  throttle: ThrottleTuning = { fast: true, retries: 0 },
): GitHubContext {
  return {
    octokit: createGitHubClient({ token: TOKEN, baseUrl: sandbox.url, throttle }),
    organization: sandbox.state.login,
    token: TOKEN,
  };
}

/** The index earlier passes would have filled with the sandbox's repositories (no members, no teams). */
export function repositoriesIndex(sandbox: GitHubSandbox): SnapshotIndex {
  return {
    members: new Map(),
    teams: { members: new Set(), repositories: new Map() },
    repositories: [...sandbox.state.repositories.values()].map((repository) => ({
      name: repository.name,
      isPrivate: repository.private,
      defaultBranch: repository.defaultBranch,
    })),
    defaultBranchRequiresReview: new Map(),
    defaultBranchRestrictions: new Map(),
    reviewRulesets: new Map(),
  };
}

/**
 * The sandbox checks against GitHub's OpenAPI description, and that check catches a 200 body
 * missing fields the schema requires: so a test's clean exchanges meant something.
 */
export function expectIncompleteBodyCaught(method: string, template: string, responseBody: unknown): void {
  expect(openApiCheckingEnabled()).toBe(true);
  expect(
    openApiProblems({ method, template, requestBody: undefined, status: 200, responseBody }),
  ).not.toEqual([]);
}
