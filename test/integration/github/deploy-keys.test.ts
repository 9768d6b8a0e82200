import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import { deployKeys } from '../../../functions/connectors/github/deploy-keys';
import { deployKeyKey } from '../../../functions/connectors/github/keys';
import { ConnectorError } from '../../../functions/core/errors';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import { repositoryCicd } from '../../../sandbox/github/cicd/state';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import type { OrganizationInput } from '../../../sandbox/github/state';
import {
  closeChecked,
  collect,
  connectorFor,
  contextFor,
  expectIncompleteBodyCaught,
  repositoriesIndex,
  rest,
  startSandbox,
  writeRequests,
} from './helpers';

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');

const organization: OrganizationInput = {
  login: 'acme',
  members: [{ login: 'alice', role: 'owner' }, { login: 'bob' }],
  repositories: [
    {
      name: 'api',
      deployKeys: [
        {
          title: 'ci-deploy',
          readOnly: false,
          addedBy: 'alice',
          createdAt: daysAgo(800),
          lastUsed: daysAgo(3),
        },
        { title: 'docs-mirror', readOnly: true, createdAt: daysAgo(900) },
        { title: 'fresh-release', readOnly: false, addedBy: 'bob', createdAt: daysAgo(10) },
      ],
    },
    { name: 'web' },
    {
      name: 'many',
      deployKeys: Array.from({ length: 105 }, (_, index) => ({
        title: `runner-${index}`,
        createdAt: daysAgo(30),
      })),
    },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;

beforeEach(async () => {
  sandbox = await startSandbox(organization);
  connector = connectorFor(sandbox);
});
afterEach(() => closeChecked(sandbox));

/** The sandbox's id of the key titled `title` on `repository`. */
function keyId(repository: string, title: string): number {
  const key = [...(repositoryCicd(sandbox.state, repository)?.deployKeys.values() ?? [])].find(
    (candidate) => candidate.title === title,
  );
  if (!key) throw new Error(`no key ${title} on ${repository}`);
  return key.id;
}

/**
 * This kind's snapshot pass on its own, over the sandbox's repositories (what earlier passes put
 * in the index): the other passes are tested in their own files.
 */
async function deployKeyGrants(): Promise<Grant[]> {
  return collect(deployKeys.snapshot(contextFor(sandbox), repositoriesIndex(sandbox)));
}

function grantFor(grants: Grant[], repository: string, title: string): Grant {
  const principal = `deploy key ${keyId(repository, title)} (${title})`;
  const found = grants.filter(
    (grant) => grant.principal === principal && grant.resource === `acme/${repository}`,
  );
  expect(found).toHaveLength(1);
  return found[0] as Grant;
}

const writes = () => writeRequests(sandbox);

describe('deploy keys: snapshot', () => {
  it('reports every key as a reviewable grant with its access, record and flags', async () => {
    const grants = (await deployKeyGrants()).filter((grant) => grant.resource === 'acme/api');
    const ci = keyId('api', 'ci-deploy');
    const docs = keyId('api', 'docs-mirror');
    const fresh = keyId('api', 'fresh-release');
    expect(
      grants.map(
        ({ resourceType, resource, principalType, principal, entitlement, via, flags, reviewable }) => ({
          resourceType,
          resource,
          principalType,
          principal,
          entitlement,
          via,
          flags,
          reviewable,
        }),
      ),
    ).toEqual([
      {
        resourceType: 'repository',
        resource: 'acme/api',
        principalType: 'deploy_key',
        principal: `deploy key ${ci} (ci-deploy)`,
        entitlement: 'write',
        via: { kind: 'direct' },
        flags: ['write_key_older_than_a_year'],
        reviewable: true,
      },
      {
        resourceType: 'repository',
        resource: 'acme/api',
        principalType: 'deploy_key',
        principal: `deploy key ${docs} (docs-mirror)`,
        entitlement: 'read',
        via: { kind: 'direct' },
        // Old and never used, but read-only: it cannot change code, so nothing to flag.
        flags: [],
        reviewable: true,
      },
      {
        resourceType: 'repository',
        resource: 'acme/api',
        principalType: 'deploy_key',
        principal: `deploy key ${fresh} (fresh-release)`,
        entitlement: 'write',
        via: { kind: 'direct' },
        flags: ['write_key_never_used'],
        reviewable: true,
      },
    ]);
    expect(grants[0]?.raw).toEqual({
      id: ci,
      title: 'ci-deploy',
      readOnly: false,
      addedBy: 'alice',
      createdAt: organization.repositories?.[0]?.deployKeys?.[0]?.createdAt,
      lastUsed: organization.repositories?.[0]?.deployKeys?.[0]?.lastUsed,
      ageDays: 800,
    });
    expect(grants[1]?.raw).toMatchObject({
      id: docs,
      readOnly: true,
      addedBy: null,
      lastUsed: null,
      ageDays: 900,
    });
    expect(grants[0]?.grantId).toBe(makeGrant(deployKeyKey('acme', 'api', ci, 'ci-deploy', false)).grantId);
  });

  it('pages through a repository with more keys than one page holds, 100 at a time', async () => {
    const grants = (await deployKeyGrants()).filter((grant) => grant.resource === 'acme/many');
    expect(grants).toHaveLength(105);
    expect(new Set(grants.map((grant) => grant.principal)).size).toBe(105);
    const listed = sandbox.requests.filter((request) => request.path === '/repos/acme/many/keys');
    expect(listed.map((request) => new URLSearchParams(request.query).get('page') ?? '1')).toEqual([
      '1',
      '2',
    ]);
    expect(listed.every((request) => new URLSearchParams(request.query).get('per_page') === '100')).toBe(
      true,
    );
    // A repository without keys is read and gives nothing.
    expect(sandbox.requests.some((request) => request.path === '/repos/acme/web/keys')).toBe(true);
  });

  it('fails loudly when a repository cannot be read, rather than hiding its keys', async () => {
    sandbox.failNext({ status: 403, match: { method: 'GET', path: '/repos/acme/web/keys' } });
    const failure = deployKeyGrants();
    await expect(failure).rejects.toBeInstanceOf(ConnectorError);
    await expect(failure).rejects.toThrow('GET /repos/acme/web/keys failed with 403');
  });
});

describe('deploy keys: revoke and check', () => {
  it('deletes the key at GitHub, then finds it absent', async () => {
    const grant = grantFor(await deployKeyGrants(), 'api', 'ci-deploy');
    const id = keyId('api', 'ci-deploy');
    sandbox.requests.length = 0;
    expect(await connector.check(grant)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'write' }],
    });

    const result = await connector.revoke(grant);
    expect(result).toMatchObject({
      outcome: 'removed',
      action: `DELETE /repos/acme/api/keys/${id}: removed read-write deploy key "ci-deploy" from acme/api`,
    });
    expect(writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      `DELETE /repos/acme/api/keys/${id}`,
    ]);
    expect(repositoryCicd(sandbox.state, 'api')?.deployKeys.has(id)).toBe(false);
    expect(repositoryCicd(sandbox.state, 'api')?.deployKeys.size).toBe(2);
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });

    // Again: GitHub has nothing left, and no DELETE is sent.
    sandbox.requests.length = 0;
    const again = await connector.revoke(grant);
    expect(again.outcome).toBe('already_absent');
    expect(again.action).toContain(`GET /repos/acme/api/keys/${id}`);
    expect(writes()).toEqual([]);
  });

  it('answers already_absent and absent for a key id GitHub does not know', async () => {
    const grant = makeGrant(deployKeyKey('acme', 'api', 999_999, 'gone', false), { raw: { id: 999_999 } });
    const result = await connector.revoke(grant);
    expect(result.outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
  });

  it('refuses a grant whose principal names no key id, or whose raw.id disagrees', async () => {
    const malformed = { ...makeGrant(deployKeyKey('acme', 'api', 1, 'x', true)), principal: 'ci-deploy' };
    await expect(connector.revoke(malformed)).rejects.toBeInstanceOf(ConnectorError);
    const id = keyId('api', 'ci-deploy');
    const mixed = makeGrant(deployKeyKey('acme', 'api', id, 'ci-deploy', false), { raw: { id: id + 1 } });
    await expect(connector.revoke(mixed)).rejects.toThrow(/raw.id/);
    expect(writes()).toEqual([]);
    expect(repositoryCicd(sandbox.state, 'api')?.deployKeys.has(id)).toBe(true);
  });
});

describe('deploy keys: sandbox routes', () => {
  const call = (method: string, path: string) => rest(sandbox, method, path);

  it('reads one key in GitHub deploy-key shape, and 404s an unknown or malformed id', async () => {
    const id = keyId('api', 'fresh-release');
    const answer = await call('GET', `/repos/acme/api/keys/${id}`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({
      id,
      title: 'fresh-release',
      read_only: false,
      added_by: 'bob',
      last_used: null,
      verified: true,
      url: `${sandbox.url}/repos/acme/api/keys/${id}`,
    });
    expect((await call('GET', '/repos/acme/api/keys/999999')).status).toBe(404);
    expect((await call('GET', '/repos/acme/api/keys/abc')).status).toBe(404);
    expect((await call('GET', `/repos/acme/web/keys/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/repos/acme/api/keys/${id}`)).status).toBe(204);
  });

  it('checks its answers against GitHub’s OpenAPI description', () => {
    // A body missing fields the deploy-key schema requires is caught, so the checks above meant something.
    expectIncompleteBodyCaught('GET', '/repos/{owner}/{repo}/keys/{key_id}', { id: 1, title: 'x' });
  });
});

describe('deploy keys: 404s GitHub sends but does not document', () => {
  // GitHub's description documents only 204 for DELETE and 200 for the list; its 404s carry the basic error body.
  it('404s DELETE of an unknown or already deleted key and the list of an unknown repository', async () => {
    const call = (method: string, path: string) => rest(sandbox, method, path);
    expect((await call('DELETE', '/repos/acme/api/keys/999999')).status).toBe(404);
    expect((await call('GET', '/repos/acme/nope/keys')).status).toBe(404);
    const id = keyId('api', 'docs-mirror');
    expect((await call('DELETE', `/repos/acme/api/keys/${id}`)).status).toBe(204);
    const again = await call('DELETE', `/repos/acme/api/keys/${id}`);
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ message: 'Not Found' });
  });
});
