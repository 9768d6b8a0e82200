import { fileURLToPath } from 'node:url';
import type { Connector } from '../../../functions/connectors/connector';
import { createGitHubConnector } from '../../../functions/connectors/github/index';
import { type Grant, viaLabel } from '../../../functions/core/grant';
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
