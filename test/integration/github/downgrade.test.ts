import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import { createGitHubClient } from '../../../functions/connectors/github/client';
import { DowngradeNotOfferedError } from '../../../functions/connectors/github/downgrade';
import { createGitHubConnector } from '../../../functions/connectors/github/index';
import { downgradedKey, downgradeOptions } from '../../../functions/core/downgrade';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { findMember, findRepository, findTeam, type OrganizationInput } from '../../../sandbox/github/state';
import { closeChecked, collect, connectorFor, findGrant, startSandbox, TOKEN } from './helpers';

/**
 * A small organisation with one of each thing a downgrade lowers: a direct repository admin
 * (bob), a direct admin who also gets admin from a team (carol, via platform), an outside
 * collaborator with maintain (olga), a team with admin on a repository, a team maintainer and a
 * second owner.
 */
const ORG: OrganizationInput = {
  login: 'acme',
  viewer: 'accessbot',
  basePermission: 'read',
  members: [
    { login: 'alice', role: 'owner' },
    { login: 'dave', role: 'owner' },
    { login: 'bob' },
    { login: 'carol' },
    { login: 'erin' },
    { login: 'accessbot', role: 'owner' },
  ],
  teams: [
    { slug: 'platform', maintainers: ['erin'], members: ['carol'], repositories: { api: 'admin' } },
    { slug: 'web-team', members: ['erin'], repositories: { web: 'maintain' } },
  ],
  repositories: [
    { name: 'api', collaborators: { bob: 'admin', carol: 'admin', olga: 'maintain' } },
    { name: 'web', collaborators: {} },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;
let grants: Grant[];

beforeEach(async () => {
  sandbox = await startSandbox(ORG);
  connector = connectorFor(sandbox);
  grants = await collect(connector.snapshot());
  sandbox.requests.length = 0;
});
afterEach(() => closeChecked(sandbox));

const writes = () =>
  sandbox.requests
    .filter((request) => request.method !== 'GET' && request.path !== '/graphql')
    .map((request) => `${request.method} ${request.path}`);

/** The old entitlement by every path, and the target held directly: what verification reads. */
async function afterDowngrade(grant: Grant, to: string) {
  const old = await connector.check(grant);
  const target = await connector.check({ ...grant, ...downgradedKey(grant, to) });
  return { old, target };
}

describe('GitHub connector downgrade', () => {
  it("lowers bob's direct admin on acme/api to write, and reads it back: admin gone, write held", async () => {
    const grant = findGrant(grants, 'repository acme/api bob admin direct');
    expect(downgradeOptions(grant)).toEqual(['maintain', 'write', 'triage', 'read']);
    const result = await connector.downgrade!(grant, 'write');
    expect(result.outcome).toBe('removed');
    expect(result.action).toContain('PUT /repos/acme/api/collaborators/bob {"permission":"push"}');
    expect(writes()).toEqual(['PUT /repos/acme/api/collaborators/bob']);
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('bob')?.permission).toBe('write');
    const { old, target } = await afterDowngrade(grant, 'write');
    expect(old.status).toBe('absent');
    expect(target).toMatchObject({ status: 'present', paths: [{ via: 'direct', permission: 'write' }] });
  });

  it('says carol keeps admin through team platform after her direct admin is lowered', async () => {
    const grant = findGrant(grants, 'repository acme/api carol admin direct');
    expect((await connector.downgrade!(grant, 'write')).outcome).toBe('removed');
    const { old, target } = await afterDowngrade(grant, 'write');
    expect(old).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/platform', permission: 'admin' }],
    });
    expect(target.status === 'present' && target.paths.some((path) => path.via === 'direct')).toBe(true);
  });

  it('lowers an outside collaborator below the base permission (the base applies to members only)', async () => {
    const grant = findGrant(grants, 'repository acme/api olga maintain direct');
    expect(downgradeOptions(grant)).toEqual(['write', 'triage', 'read']);
    expect((await connector.downgrade!(grant, 'read')).outcome).toBe('removed');
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('olga')?.permission).toBe('read');
  });

  it('records a refusal by GitHub (below the base permission) as a connector error, changing nothing', async () => {
    sandbox.state.basePermission = 'write';
    const grant = findGrant(grants, 'repository acme/api bob admin direct');
    // The snapshot recorded a read base; GitHub now refuses anything below write for a member.
    await expect(connector.downgrade!(grant, 'read')).rejects.toThrow(/Cannot assign bob permission of pull/);
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('bob')?.permission).toBe('admin');
  });

  it('sends no PUT for someone who is no longer a direct collaborator (it would invite them)', async () => {
    const grant = findGrant(grants, 'repository acme/api bob admin direct');
    findRepository(sandbox.state, 'api')?.collaborators.delete('bob');
    const result = await connector.downgrade!(grant, 'write');
    expect(result.outcome).toBe('already_absent');
    expect(result.action).toContain('not sent (it would invite them)');
    expect(writes()).toEqual([]);
  });

  it('cancels the invitation GitHub sends when the collaborator left between the read and the PUT', async () => {
    const client = createGitHubClient({
      token: TOKEN,
      baseUrl: sandbox.url,
      throttle: { retryAfterBaseMs: 0, writeIntervalMs: 0, retries: 0 },
    });
    // Someone removes olga (an outside collaborator) after the connector read her as maintain, just before its PUT.
    client.hook.before('request', (options) => {
      if (options.method === 'PUT') findRepository(sandbox.state, 'api')?.collaborators.delete('olga');
    });
    const racing = createGitHubConnector({
      organization: 'acme',
      token: TOKEN,
      baseUrl: sandbox.url,
      client,
    });
    const grant = findGrant(grants, 'repository acme/api olga maintain direct');
    const result = await racing.downgrade!(grant, 'read');
    expect(result.outcome).toBe('already_absent');
    expect(result.action).toMatch(
      /GitHub invited them instead; DELETE \/repos\/acme\/api\/invitations\/\d+ cancelled/,
    );
    expect(writes()).toEqual([
      'PUT /repos/acme/api/collaborators/olga',
      expect.stringMatching(/^DELETE \/repos\/acme\/api\/invitations\/\d+$/),
    ]);
    expect(sandbox.state.cicd.repositories.get('api')?.invitations.size ?? 0).toBe(0);
  });

  it('sends nothing when the grant is already at or below the target', async () => {
    const grant = findGrant(grants, 'repository acme/api bob admin direct');
    findRepository(sandbox.state, 'api')?.collaborators.set('bob', { login: 'bob', permission: 'triage' });
    const result = await connector.downgrade!(grant, 'write');
    expect(result.outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
  });

  it("lowers team platform's admin on acme/api to write; its members' admin goes with it", async () => {
    const grant = findGrant(grants, 'repository acme/api acme/platform admin direct');
    const result = await connector.downgrade!(grant, 'write');
    expect(result.outcome).toBe('removed');
    expect(writes()).toEqual(['PUT /orgs/acme/teams/platform/repos/acme/api']);
    expect(findTeam(sandbox.state, 'platform')?.repositories.get('api')).toBe('write');
    const { old, target } = await afterDowngrade(grant, 'write');
    expect(old.status).toBe('absent');
    expect(target).toMatchObject({ status: 'present', paths: [{ via: 'direct', permission: 'write' }] });
  });

  it('does not add a repository to a team that lost its access (PUT would add it)', async () => {
    const grant = findGrant(grants, 'repository acme/api acme/platform admin direct');
    findTeam(sandbox.state, 'platform')?.repositories.delete('api');
    expect((await connector.downgrade!(grant, 'write')).outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
    expect(findTeam(sandbox.state, 'platform')?.repositories.has('api')).toBe(false);
  });

  it('demotes a team maintainer to member and an owner to member, keeping the memberships', async () => {
    const maintainer = findGrant(grants, 'team acme/platform erin maintainer direct');
    expect((await connector.downgrade!(maintainer, 'member')).outcome).toBe('removed');
    expect(findTeam(sandbox.state, 'platform')?.members.get('erin')?.role).toBe('member');
    const team = await afterDowngrade(maintainer, 'member');
    expect(team.old.status).toBe('absent');
    expect(team.target.status).toBe('present');

    const owner = findGrant(grants, 'organization acme dave owner direct');
    expect((await connector.downgrade!(owner, 'member')).outcome).toBe('removed');
    expect(findMember(sandbox.state, 'dave')?.role).toBe('member');
    const org = await afterDowngrade(owner, 'member');
    expect(org.old.status).toBe('absent');
    expect(org.target.status).toBe('present');
    expect(writes()).toEqual([
      'PUT /orgs/acme/teams/platform/memberships/erin',
      'PUT /orgs/acme/memberships/dave',
    ]);
  });

  it('refuses a target the grant does not offer, before calling GitHub', async () => {
    const grant = findGrant(grants, 'repository acme/api bob admin direct');
    await expect(connector.downgrade!(grant, 'admin')).rejects.toBeInstanceOf(DowngradeNotOfferedError);
    await expect(connector.downgrade!(grant, 'push')).rejects.toThrow(
      /can be lowered to maintain, write, triage, read/,
    );
    const invitation = makeGrant({
      connector: 'github',
      grantKind: 'repository_invitation',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'invitee',
      principal: 'zed',
      entitlement: 'admin',
      via: { kind: 'direct' },
    });
    await expect(connector.downgrade!(invitation, 'write')).rejects.toThrow(/offers no lower level/);
    expect(sandbox.requests).toEqual([]);
  });
});

describe('GitHub sandbox: PUT collaborator', () => {
  it('invites someone who is neither a member nor a collaborator (201)', async () => {
    const response = await fetch(`${sandbox.url}/repos/acme/web/collaborators/olga`, {
      method: 'PUT',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ permission: 'triage' }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { id: number; permissions: string; invitee: { login: string } };
    expect(body).toMatchObject({ permissions: 'triage', invitee: { login: 'olga' } });
    expect(findRepository(sandbox.state, 'web')?.collaborators.has('olga')).toBe(false);
  });

  it('refuses an unknown permission with 422', async () => {
    const response = await fetch(`${sandbox.url}/repos/acme/api/collaborators/bob`, {
      method: 'PUT',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ permission: 'superuser' }),
    });
    expect(response.status).toBe(422);
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('bob')?.permission).toBe('admin');
  });
});
