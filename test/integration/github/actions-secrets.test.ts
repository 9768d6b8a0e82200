import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import type { Grant } from '../../../functions/core/grant';
import { repositoryCicd } from '../../../sandbox/github/cicd/state';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { findRepository, type OrganizationInput } from '../../../sandbox/github/state';
import {
  closeChecked,
  collect,
  connectorFor,
  findGrant,
  line,
  rest,
  snapshotSandbox,
  startSandbox,
  writeRequests,
} from './helpers';

const organization: OrganizationInput = {
  login: 'acme',
  members: [{ login: 'alice', role: 'owner' }],
  repositories: [
    {
      name: 'api',
      environments: [{ name: 'production', secrets: ['DB_PASSWORD', 'API_KEY'] }, { name: 'staging' }],
    },
    { name: 'web' },
    { name: 'docs', private: false },
  ],
  secrets: [
    {
      name: 'NPM_TOKEN',
      visibility: 'selected',
      repositories: ['api', 'web'],
      updatedAt: '2026-02-01T00:00:00Z',
    },
    { name: 'SLACK_WEBHOOK', visibility: 'all' },
    { name: 'SIGNING_KEY', visibility: 'private' },
    { name: 'UNUSED', visibility: 'selected' },
  ],
  variables: [
    { name: 'REGION', visibility: 'selected', repositories: ['web'], value: 'eu-west-1' },
    { name: 'ORG_NAME', visibility: 'all', value: 'acme' },
  ],
};

const KINDS = ['actions_secret_access', 'actions_variable_access', 'environment_secret'];

let sandbox: GitHubSandbox;
let connector: Connector;
let grants: Grant[];

async function snapshot(): Promise<Grant[]> {
  return (await collect(connector.snapshot())).filter((grant) => KINDS.includes(grant.grantKind));
}

beforeEach(async () => {
  ({ sandbox, connector, grants } = await snapshotSandbox(organization, KINDS));
});
afterEach(() => closeChecked(sandbox));

const writes = () => writeRequests(sandbox).map((request) => `${request.method} ${request.path}`);
const repositoryId = (name: string) => findRepository(sandbox.state, name)?.id;

describe('Actions secrets, variables and environment secrets: snapshot', () => {
  it('reports one grant per selected repository and one per visibility, flagging all', () => {
    expect(
      grants.map((grant) => `${grant.grantKind} ${line(grant)} [${grant.flags.join(',')}]`).sort(),
    ).toEqual(
      [
        'actions_secret_access secret acme/secrets/NPM_TOKEN acme/api read direct []',
        'actions_secret_access secret acme/secrets/NPM_TOKEN acme/web read direct []',
        'actions_secret_access secret acme/secrets/SIGNING_KEY acme/* (private) read visibility:private []',
        'actions_secret_access secret acme/secrets/SLACK_WEBHOOK acme/* read visibility:all [visible_to_all_repositories]',
        'actions_variable_access variable acme/variables/ORG_NAME acme/* read visibility:all [visible_to_all_repositories]',
        'actions_variable_access variable acme/variables/REGION acme/web read direct []',
        'environment_secret secret acme/api:production/secrets/API_KEY acme/api:production read direct []',
        'environment_secret secret acme/api:production/secrets/DB_PASSWORD acme/api:production read direct []',
      ].sort(),
    );
    expect(grants.every((grant) => grant.reviewable)).toBe(true);
  });

  it('keeps ids and dates in raw, for the revoke and for the reviewer', () => {
    expect(findGrant(grants, 'secret acme/secrets/NPM_TOKEN acme/api read direct').raw).toEqual({
      secret: 'NPM_TOKEN',
      visibility: 'selected',
      repositoryId: repositoryId('api'),
      createdAt: '2024-03-01T00:00:00Z',
      updatedAt: '2026-02-01T00:00:00Z',
    });
    expect(findGrant(grants, 'variable acme/variables/ORG_NAME acme/* read visibility:all').raw).toEqual({
      variable: 'ORG_NAME',
      visibility: 'all',
      createdAt: '2024-03-01T00:00:00Z',
      updatedAt: '2026-06-01T00:00:00Z',
    });
    expect(
      findGrant(grants, 'secret acme/api:production/secrets/DB_PASSWORD acme/api:production read direct').raw,
    ).toMatchObject({ repository: 'api', environment: 'production', secret: 'DB_PASSWORD' });
  });

  it('follows every page: 105 secrets and 35 variables (variables come 30 a page)', async () => {
    await sandbox.close();
    sandbox = await startSandbox({
      login: 'acme',
      members: [{ login: 'alice', role: 'owner' }],
      secrets: Array.from({ length: 105 }, (_, index) => ({
        name: `S_${index}`,
        visibility: 'all' as const,
      })),
      variables: Array.from({ length: 35 }, (_, index) => ({
        name: `V_${index}`,
        visibility: 'private' as const,
      })),
    });
    connector = connectorFor(sandbox);
    const all = await snapshot();
    expect(all.filter((grant) => grant.grantKind === 'actions_secret_access')).toHaveLength(105);
    expect(all.filter((grant) => grant.grantKind === 'actions_variable_access')).toHaveLength(35);
    const pages = sandbox.requests.filter((request) => request.path === '/orgs/acme/actions/variables');
    expect(pages.map((request) => request.query)).toEqual(['?per_page=30', '?per_page=30&page=2']);
  });

  it('sees every grant as present before anything is revoked', async () => {
    for (const grant of grants) {
      expect((await connector.check(grant)).status, line(grant)).toBe('present');
    }
  });
});

describe('Actions secrets and variables: revoke and check', () => {
  it("removes a selected repository from a secret, by the id from the secret's repository list", async () => {
    const grant = findGrant(grants, 'secret acme/secrets/NPM_TOKEN acme/api read direct');
    const result = await connector.revoke(grant);
    expect(result).toMatchObject({
      outcome: 'removed',
      action: `DELETE /orgs/acme/actions/secrets/NPM_TOKEN/repositories/${repositoryId('api')}: acme/api can no longer read secret NPM_TOKEN`,
    });
    expect(writes()).toEqual([
      `DELETE /orgs/acme/actions/secrets/NPM_TOKEN/repositories/${repositoryId('api')}`,
    ]);
    expect(sandbox.state.cicd.secrets.get('NPM_TOKEN')?.repositories).toEqual(['web']);
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
    // web keeps it.
    expect(
      await connector.check(findGrant(grants, 'secret acme/secrets/NPM_TOKEN acme/web read direct')),
    ).toMatchObject({ status: 'present', paths: [{ via: 'direct', permission: 'read' }] });

    sandbox.requests.length = 0;
    expect(await connector.revoke(grant)).toMatchObject({ outcome: 'already_absent' });
    expect(writes()).toEqual([]);
  });

  it('removes a selected repository from a variable', async () => {
    const grant = findGrant(grants, 'variable acme/variables/REGION acme/web read direct');
    expect(await connector.revoke(grant)).toMatchObject({ outcome: 'removed' });
    expect(writes()).toEqual([
      `DELETE /orgs/acme/actions/variables/REGION/repositories/${repositoryId('web')}`,
    ]);
    expect(sandbox.state.cicd.variables.get('REGION')?.repositories).toEqual([]);
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
  });

  it('asks a person to narrow a secret visible to all repositories, and checks until it is done', async () => {
    const grant = findGrant(grants, 'secret acme/secrets/SLACK_WEBHOOK acme/* read visibility:all');
    const result = await connector.revoke(grant);
    expect(result.outcome).toBe('remediation_required');
    expect(result.remediation).toBe(
      `An organization owner changes the repository access of acme's Actions secret SLACK_WEBHOOK (Settings → Secrets and variables → Actions → secrets) from "all repositories" to "Selected repositories" and selects only the repositories that need it.`,
    );
    expect(writes()).toEqual([]);
    expect(await connector.check(grant)).toMatchObject({
      status: 'present',
      paths: [{ via: 'visibility:all', permission: 'read' }],
    });

    // The owner does it: the grant for every repository is gone (the selected ones are new grants).
    const secret = sandbox.state.cicd.secrets.get('SLACK_WEBHOOK');
    if (!secret) throw new Error('no SLACK_WEBHOOK');
    secret.visibility = 'selected';
    secret.repositories = ['api'];
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
    expect(await connector.revoke(grant)).toMatchObject({ outcome: 'already_absent' });
  });

  it('asks a person when a selected secret became visible to every private repository', async () => {
    const grant = findGrant(grants, 'secret acme/secrets/NPM_TOKEN acme/web read direct');
    const secret = sandbox.state.cicd.secrets.get('NPM_TOKEN');
    if (!secret) throw new Error('no NPM_TOKEN');
    secret.visibility = 'private';
    const result = await connector.revoke(grant);
    expect(result).toMatchObject({ outcome: 'remediation_required' });
    expect(result.remediation).toContain('from "all private repositories" to "Selected repositories"');
    expect(result.remediation).toContain('leaving out acme/web');
    expect(writes()).toEqual([]);
    expect(await connector.check(grant)).toMatchObject({
      status: 'present',
      paths: [{ via: 'visibility:private', permission: 'read' }],
    });
  });

  it('finds nothing to remove once the secret is deleted', async () => {
    const grant = findGrant(grants, 'secret acme/secrets/NPM_TOKEN acme/api read direct');
    sandbox.state.cicd.secrets.delete('NPM_TOKEN');
    expect(await connector.revoke(grant)).toMatchObject({
      outcome: 'already_absent',
      action: 'GET /orgs/acme/actions/secrets: secret NPM_TOKEN no longer exists; nothing to remove',
    });
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
    expect(writes()).toEqual([]);
  });
});

describe('environment secrets: revoke and check', () => {
  it('asks a person to delete the secret; check follows the secret until it is gone', async () => {
    const grant = findGrant(
      grants,
      'secret acme/api:production/secrets/DB_PASSWORD acme/api:production read direct',
    );
    const result = await connector.revoke(grant);
    expect(result.outcome).toBe('remediation_required');
    expect(result.remediation).toContain('deletes the secret DB_PASSWORD of environment production');
    expect(result.remediation).toContain('stays open until the secret is gone');
    expect(writes()).toEqual([]);
    expect(await connector.check(grant)).toMatchObject({ status: 'present' });

    const production = repositoryCicd(sandbox.state, 'api')?.environments.get('production');
    if (!production) throw new Error('no production');
    production.secrets = ['API_KEY'];
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
    expect(await connector.revoke(grant)).toMatchObject({ outcome: 'already_absent' });
  });
});

describe('sandbox answers as GitHub does', () => {
  let raw: GitHubSandbox;
  beforeEach(async () => {
    // GitHub's description does not list the 404s it sends for unknown names: checked as basic-error.
    raw = await startSandbox(organization);
  });
  afterEach(() => raw.close());

  const call = (method: string, path: string) => rest(raw, method, path);

  it('409 for the selection of a secret or variable that is not selected, 404 for unknown ones', async () => {
    const web = findRepository(raw.state, 'web')?.id;
    expect(
      (await call('DELETE', `/orgs/acme/actions/secrets/SLACK_WEBHOOK/repositories/${web}`)).status,
    ).toBe(409);
    expect((await call('GET', '/orgs/acme/actions/variables/ORG_NAME/repositories')).status).toBe(409);
    expect((await call('GET', '/orgs/acme/actions/secrets/NOPE/repositories')).status).toBe(404);
    expect((await call('DELETE', '/orgs/acme/actions/secrets/NPM_TOKEN/repositories/999999')).status).toBe(
      404,
    );
    expect((await call('GET', '/repos/acme/api/environments/nope/secrets')).status).toBe(404);
  });

  it('204 for removing a repository that is not selected, which changes nothing', async () => {
    const docs = findRepository(raw.state, 'docs')?.id;
    expect((await call('DELETE', `/orgs/acme/actions/secrets/NPM_TOKEN/repositories/${docs}`)).status).toBe(
      204,
    );
    expect(raw.state.cicd.secrets.get('NPM_TOKEN')?.repositories).toEqual(['api', 'web']);
  });
});
