import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterEach, describe, expect, it } from 'vitest';
import { packageFile } from '../../../sandbox/github/schema';
import { type GitHubSandbox, startGitHubSandbox } from '../../../sandbox/github/server';
import { findRepository, type OrganizationInput } from '../../../sandbox/github/state';
import { collect, connectorFor, findGrant, startSandbox, TOKEN } from './helpers';

let sandbox: GitHubSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

const FLAGS: OrganizationInput = {
  login: 'acme',
  basePermission: 'none',
  members: [
    { login: 'alice', role: 'owner', twoFactor: false },
    { login: 'bob' },
    { login: 'carol', twoFactor: false },
  ],
  repositories: [{ name: 'api', collaborators: { carol: 'write', gina: 'read' } }],
};

async function get(path: string) {
  const response = await fetch(`${sandbox?.url}${path}`, { headers: { authorization: `token ${TOKEN}` } });
  return { status: response.status, body: (await response.json()) as unknown };
}

describe('two-factor and outside collaborator flags', () => {
  it('lists members without 2FA with filter=2fa_disabled, and refuses an unknown filter', async () => {
    sandbox = await startSandbox(FLAGS);
    const disabled = await get('/orgs/acme/members?filter=2fa_disabled');
    expect((disabled.body as Array<{ login: string }>).map((user) => user.login)).toEqual(['alice', 'carol']);
    const all = await get('/orgs/acme/members');
    expect((all.body as Array<{ login: string }>).map((user) => user.login)).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
    expect((await get('/orgs/acme/members?filter=sometimes')).status).toBe(422);
    expect(sandbox.violations).toEqual([]);
  });

  it('flags both membership grants of a member without 2FA, and nobody else', async () => {
    sandbox = await startSandbox(FLAGS);
    const grants = await collect(connectorFor(sandbox).snapshot());
    expect(findGrant(grants, 'organization acme alice member direct').flags).toEqual(['two_factor_disabled']);
    expect(findGrant(grants, 'organization acme alice owner direct').flags).toEqual(['two_factor_disabled']);
    expect(findGrant(grants, 'organization acme carol member direct').flags).toEqual(['two_factor_disabled']);
    expect(findGrant(grants, 'organization acme bob member direct').flags).toEqual([]);
    // Not a membership: the repository grant of the same person carries no 2FA flag.
    expect(findGrant(grants, 'repository acme/api carol write direct').flags).toEqual([]);
  });

  it('flags every repository grant of an outside collaborator', async () => {
    sandbox = await startSandbox(FLAGS);
    const grants = await collect(connectorFor(sandbox).snapshot());
    const gina = findGrant(grants, 'repository acme/api gina read direct');
    expect(gina.flags).toEqual(['outside_collaborator']);
    expect(gina.raw.outsideCollaborator).toBe(true);
  });

  it('fails the snapshot loudly when GitHub refuses the 2FA filter', async () => {
    sandbox = await startSandbox(FLAGS);
    sandbox.failNext({
      status: 403,
      body: { message: 'Must have admin rights', documentation_url: 'https://docs.github.com/rest' },
      match: { path: '/orgs/acme/members' },
    });
    await expect(collect(connectorFor(sandbox).snapshot())).rejects.toThrow(/2fa_disabled.*403/);
  });
});

const CUSTOM: OrganizationInput = {
  login: 'acme',
  basePermission: 'none',
  members: [{ login: 'alice', role: 'owner' }, { login: 'bob' }],
  customRoles: [
    { name: 'security-auditor', baseRole: 'triage', permissions: ['view_secret_scanning_alerts'] },
  ],
  repositories: [
    {
      name: 'api',
      collaborators: { bob: 'security-auditor', ivan: 'security-auditor' },
      invitations: [{ login: 'judy', permission: 'security-auditor', invitedBy: 'alice' }],
    },
  ],
};

/*
 * Custom repository roles are a GitHub Enterprise Cloud feature: GET /orgs/{org}/custom-repository-roles
 * is described in GHEC's OpenAPI document, which the sandbox checks it against like every route.
 */
async function startWithCustomRoles(): Promise<GitHubSandbox> {
  return startGitHubSandbox(CUSTOM, { token: TOKEN });
}

describe('custom repository roles', () => {
  it('lists the roles in the shape of GHEC’s organization-custom-repository-role', async () => {
    sandbox = await startWithCustomRoles();
    const answer = await get('/orgs/acme/custom-repository-roles');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      total_count: 1,
      custom_roles: [{ name: 'security-auditor', base_role: 'triage' }],
    });
    const ghec = JSON.parse(readFileSync(packageFile('@octokit/openapi', 'generated/ghec.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true });
    const formats = (addFormats as unknown as { default?: typeof addFormats }).default ?? addFormats;
    formats(ajv);
    ajv.addSchema({ $id: 'ghec', paths: ghec.paths, components: ghec.components });
    const validate = ajv.compile({
      $ref: 'ghec#/paths/~1orgs~1{org}~1custom-repository-roles/get/responses/200/content/application~1json/schema',
    });
    expect(validate(answer.body), JSON.stringify(validate.errors)).toBe(true);
  });

  it('reports the custom role by name in permissionSources, with its base as permission', async () => {
    sandbox = await startWithCustomRoles();
    const response = await fetch(`${sandbox.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `bearer ${TOKEN}` },
      body: JSON.stringify({
        query: `{ repository(owner: "acme", name: "api") { collaborators(first: 10, login: "bob") {
          edges { permission permissionSources { permission roleName } } } } }`,
      }),
    });
    expect(await response.json()).toEqual({
      data: {
        repository: {
          collaborators: {
            edges: [
              {
                permission: 'TRIAGE',
                permissionSources: [{ permission: 'READ', roleName: 'security-auditor' }],
              },
            ],
          },
        },
      },
    });
  });

  it('names the custom role as entitlement, flags it, and keeps the base role', async () => {
    sandbox = await startWithCustomRoles();
    const grants = await collect(connectorFor(sandbox).snapshot());
    const bob = findGrant(grants, 'repository acme/api bob security-auditor direct');
    expect(bob.flags).toEqual(['custom_role']);
    expect(bob.raw.baseRole).toBe('triage');
    const ivan = findGrant(grants, 'repository acme/api ivan security-auditor direct');
    expect(ivan.flags).toEqual(['custom_role', 'outside_collaborator']);
    // The invitation shows GitHub's built-in `permissions` (the role's base role).
    const judy = findGrant(grants, 'repository acme/api judy triage direct');
    expect(judy.grantKind).toBe('repository_invitation');
  });

  it('checks a custom role by its base role', async () => {
    sandbox = await startWithCustomRoles();
    const connector = connectorFor(sandbox);
    const grants = await collect(connector.snapshot());
    const bob = findGrant(grants, 'repository acme/api bob security-auditor direct');
    expect(await connector.check(bob)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'security-auditor' }],
    });
    // Built-in read is below the role's triage: bob would no longer hold it.
    findRepository(sandbox.state, 'api')?.collaborators.set('bob', { login: 'bob', permission: 'read' });
    expect(await connector.check(bob)).toMatchObject({ status: 'absent' });
    // Write is above triage: held.
    findRepository(sandbox.state, 'api')?.collaborators.set('bob', { login: 'bob', permission: 'write' });
    expect(await connector.check(bob)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'write' }],
    });
    expect((await connector.revoke(bob)).outcome).toBe('removed');
    expect(await connector.check(bob)).toMatchObject({ status: 'absent' });
  });
});
