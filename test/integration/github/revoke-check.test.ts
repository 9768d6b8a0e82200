import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import { userRepositoryKey } from '../../../functions/connectors/github/keys';
import { ConnectorError } from '../../../functions/core/errors';
import { type Grant, makeGrant, type RepositoryPermission } from '../../../functions/core/grant';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import {
  findMember,
  findRepository,
  findTeam,
  removeMember,
  removeTeamMember,
} from '../../../sandbox/github/state';
import { acmeOrganization, collect, connectorFor, findGrant, startSandbox } from './helpers';

let sandbox: GitHubSandbox;
let connector: Connector;
let grants: Grant[];

beforeEach(async () => {
  sandbox = await startSandbox(await acmeOrganization());
  connector = connectorFor(sandbox);
  grants = await collect(connector.snapshot());
  sandbox.requests.length = 0;
});
afterEach(() => sandbox.close());

/**
 * A user's access to a repository through the base permission, as an earlier campaign's evidence
 * may hold it: the snapshot no longer lists such rows (the base permission is one grant), but a
 * check of one still reads GitHub.
 */
const viaBase = (login: string, repository: string, permission: RepositoryPermission): Grant =>
  makeGrant(
    userRepositoryKey('acme', repository, login, permission, {
      kind: 'organization_base',
      organization: 'acme',
    }),
    { reviewable: false },
  );

const writes = () =>
  sandbox.requests.filter((request) => request.method !== 'GET' && request.path !== '/graphql');

describe('GitHub connector revoke and check', () => {
  it('sees every snapshot grant as present before anything is revoked', async () => {
    for (const grant of grants) {
      const result = await connector.check(grant);
      expect(result.status, `${grant.principal} ${grant.entitlement} ${grant.resource}`).toBe('present');
    }
  });

  it("removes carol's direct write on acme/api, and still finds it via team acme/platform", async () => {
    const direct = findGrant(grants, 'repository acme/api carol write direct');
    const result = await connector.revoke(direct);
    expect(result.outcome).toBe('removed');
    expect(result.action).toContain('DELETE /repos/acme/api/collaborators/carol');
    expect(writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      'DELETE /repos/acme/api/collaborators/carol',
    ]);
    expect(findRepository(sandbox.state, 'api')?.collaborators.has('carol')).toBe(false);

    const check = await connector.check(direct);
    expect(check).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/platform', permission: 'write' }],
    });
  });

  it('finds a removed direct read still present through the base permission', async () => {
    findRepository(sandbox.state, 'web')?.collaborators.set('erin', { login: 'erin', permission: 'read' });
    const direct = makeGrant(userRepositoryKey('acme', 'web', 'erin', 'read', { kind: 'direct' }));
    expect((await connector.revoke(direct)).outcome).toBe('removed');
    expect(await connector.check(direct)).toMatchObject({
      status: 'present',
      paths: [{ via: 'organization_base:acme', permission: 'read' }],
    });
  });

  it('leaves the base permission to an owner, and checks it until it is lowered', async () => {
    const base = findGrant(grants, 'organization acme members read direct');
    const result = await connector.revoke(base);
    expect(result.outcome).toBe('remediation_required');
    expect(result.remediation).toContain('base permission below read');
    expect(writes()).toEqual([]);
    expect(await connector.check(base)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'read' }],
    });
    sandbox.state.basePermission = 'none';
    expect(await connector.check(base)).toMatchObject({ status: 'absent' });
  });

  it("removes gina's direct read: the outside collaborator has no other path", async () => {
    const gina = findGrant(grants, 'repository acme/api gina read direct');
    expect((await connector.revoke(gina)).outcome).toBe('removed');
    expect(await connector.check(gina)).toMatchObject({ status: 'absent' });
  });

  it('removes a team membership, which also ends access that came through the team', async () => {
    const membership = findGrant(grants, 'team acme/web carol member direct');
    const viaTeam = findGrant(grants, 'repository acme/web carol write team:acme/web');
    expect(await connector.check(viaTeam)).toMatchObject({ status: 'present' });

    const result = await connector.revoke(membership);
    expect(result.outcome).toBe('removed');
    expect(writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      'DELETE /orgs/acme/teams/web/memberships/carol',
    ]);
    expect(await connector.check(membership)).toMatchObject({ status: 'absent' });
    // carol keeps the base read, which is not write: the team's write is gone by every path.
    expect(await connector.check(viaTeam)).toMatchObject({ status: 'absent' });
    expect(findMember(sandbox.state, 'carol')).toBeDefined();
  });

  it("removes a team's access to a repository", async () => {
    const teamAccess = findGrant(grants, 'repository acme/web acme/web write direct');
    const result = await connector.revoke(teamAccess);
    expect(result.outcome).toBe('removed');
    expect(writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      'DELETE /orgs/acme/teams/web/repos/acme/web',
    ]);
    expect(findTeam(sandbox.state, 'web')?.repositories.size).toBe(0);
    expect(await connector.check(teamAccess)).toMatchObject({ status: 'absent' });
  });

  it("reports a team's lower remaining permission as absent, and a higher one as present", async () => {
    const teamAccess = findGrant(grants, 'repository acme/api acme/platform write direct');
    findTeam(sandbox.state, 'platform')?.repositories.set('api', 'read');
    expect(await connector.check(teamAccess)).toMatchObject({ status: 'absent' });
    findTeam(sandbox.state, 'platform')?.repositories.set('api', 'admin');
    expect(await connector.check(teamAccess)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'admin' }],
    });
  });

  it('removes an owner from the organisation by revoking membership; their direct grants stay, as outside collaborator', async () => {
    const frank = findGrant(grants, 'organization acme frank member direct');
    const result = await connector.revoke(frank);
    expect(result.outcome).toBe('removed');
    expect(writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      'DELETE /orgs/acme/memberships/frank',
    ]);
    expect(findMember(sandbox.state, 'frank')).toBeUndefined();
    expect(await connector.check(frank)).toMatchObject({ status: 'absent' });
    expect(await connector.check(findGrant(grants, 'organization acme frank owner direct'))).toMatchObject({
      status: 'absent',
    });
    expect(await connector.check(viaBase('frank', 'api', 'admin'))).toMatchObject({
      status: 'absent',
    });
    // Removing a member does not remove their direct collaborator entries (GitHub behaves the same way).
    expect(await connector.check(findGrant(grants, 'repository acme/web frank admin direct'))).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'admin' }],
    });
  });

  it('removing a member ends their team memberships too', async () => {
    await connector.revoke(findGrant(grants, 'organization acme carol member direct'));
    expect(await connector.check(findGrant(grants, 'team acme/platform carol member direct'))).toMatchObject({
      status: 'absent',
    });
    expect(
      await connector.check(findGrant(grants, 'repository acme/infra carol admin team:acme/platform')),
    ).toMatchObject({
      status: 'absent',
    });
  });

  it('answers already_absent when the same grant is revoked twice', async () => {
    for (const text of [
      'repository acme/api gina read direct',
      'team acme/platform bob member direct',
      'team acme/web dave maintainer direct',
      'repository acme/infra acme/platform admin direct',
      'organization acme erin member direct',
      'organization acme frank owner direct',
    ]) {
      const grant = findGrant(grants, text);
      expect((await connector.revoke(grant)).outcome, text).toBe('removed');
      const again = await connector.revoke(grant);
      expect(again.outcome, text).toBe('already_absent');
      expect(again.action.length, text).toBeGreaterThan(0);
    }
  });

  it('does not send a collaborator DELETE for someone who is not a direct collaborator', async () => {
    const direct = findGrant(grants, 'repository acme/infra bob admin direct');
    findRepository(sandbox.state, 'infra')?.collaborators.delete('bob');
    expect((await connector.revoke(direct)).outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
  });

  it('reports owner as absent once the member is no longer an owner, member as present', async () => {
    const owner = findGrant(grants, 'organization acme alice owner direct');
    const member = findMember(sandbox.state, 'alice');
    if (member) member.role = 'member';
    expect(await connector.check(owner)).toMatchObject({ status: 'absent' });
    expect(await connector.check(findGrant(grants, 'organization acme alice member direct'))).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'member' }],
    });
  });

  it("reads an owner's member grant as present, with the owner role as the path", async () => {
    expect(await connector.check(findGrant(grants, 'organization acme alice member direct'))).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'owner' }],
    });
  });

  it('demotes an owner to member with a PUT, keeping the membership and the team memberships', async () => {
    const owner = findGrant(grants, 'organization acme alice owner direct');
    const result = await connector.revoke(owner);
    expect(result.outcome).toBe('removed');
    expect(result.action).toContain('PUT /orgs/acme/memberships/alice');
    expect(result.action).toContain('demoted alice from owner to member');
    expect(writes().map((request) => [request.method, request.path, request.body])).toEqual([
      ['PUT', '/orgs/acme/memberships/alice', { role: 'member' }],
    ]);
    // The PUT was sent only after reading the membership.
    const calls = sandbox.requests.map((request) => `${request.method} ${request.path}`);
    expect(calls).toEqual(['GET /orgs/acme/memberships/alice', 'PUT /orgs/acme/memberships/alice']);
    expect(findMember(sandbox.state, 'alice')).toMatchObject({ login: 'alice', role: 'member' });

    expect(await connector.check(owner)).toMatchObject({ status: 'absent' });
    expect(await connector.check(findGrant(grants, 'organization acme alice member direct'))).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'member' }],
    });
    expect(await connector.check(findGrant(grants, 'team acme/platform alice member direct'))).toMatchObject({
      status: 'present',
    });
    // Admin everywhere came with the role: on api she is down to the team's write and the base read.
    expect(await connector.check(viaBase('alice', 'api', 'admin'))).toMatchObject({ status: 'absent' });
    expect(
      await connector.check(findGrant(grants, 'repository acme/api alice write team:acme/platform')),
    ).toMatchObject({ status: 'present', paths: [{ via: 'team:acme/platform', permission: 'write' }] });
  });

  it('answers already_absent for the owner role of someone no longer in the org, without a PUT', async () => {
    const owner = findGrant(grants, 'organization acme frank owner direct');
    removeMember(sandbox.state, 'frank');
    const result = await connector.revoke(owner);
    expect(result.outcome).toBe('already_absent');
    expect(result.action).toContain('not a member');
    expect(sandbox.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /orgs/acme/memberships/frank',
    ]);
    // A PUT would have invited frank back.
    expect(sandbox.state.invitations.size).toBe(0);
    expect(findMember(sandbox.state, 'frank')).toBeUndefined();
  });

  it('answers already_absent for the owner role of someone who is already a plain member, without a PUT', async () => {
    const owner = findGrant(grants, 'organization acme frank owner direct');
    const member = findMember(sandbox.state, 'frank');
    if (member) member.role = 'member';
    expect((await connector.revoke(owner)).outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
  });

  it('demotes a team maintainer to member with a PUT, keeping the team membership and its access', async () => {
    const maintainer = findGrant(grants, 'team acme/web dave maintainer direct');
    const result = await connector.revoke(maintainer);
    expect(result.outcome).toBe('removed');
    expect(result.action).toContain('demoted dave from maintainer to member of team acme/web');
    expect(sandbox.requests.map((request) => [request.method, request.path, request.body])).toEqual([
      ['GET', '/orgs/acme/teams/web/memberships/dave', undefined],
      ['PUT', '/orgs/acme/teams/web/memberships/dave', { role: 'member' }],
    ]);
    expect(findTeam(sandbox.state, 'web')?.members.get('dave')).toEqual({ login: 'dave', role: 'member' });

    expect(await connector.check(maintainer)).toMatchObject({ status: 'absent' });
    expect(await connector.check(findGrant(grants, 'team acme/web dave member direct'))).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'member' }],
    });
    expect(
      await connector.check(findGrant(grants, 'repository acme/web dave write team:acme/web')),
    ).toMatchObject({ status: 'present' });
  });

  it('answers already_absent for the maintainer role of someone no longer in the team, without a PUT', async () => {
    const maintainer = findGrant(grants, 'team acme/web dave maintainer direct');
    removeTeamMember(sandbox.state, 'web', 'dave');
    const result = await connector.revoke(maintainer);
    expect(result.outcome).toBe('already_absent');
    expect(result.action).toContain('not in team acme/web');
    expect(sandbox.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /orgs/acme/teams/web/memberships/dave',
    ]);
    // A PUT would have put dave back in the team.
    expect(findTeam(sandbox.state, 'web')?.members.has('dave')).toBe(false);
  });

  it('answers already_absent for the maintainer role of someone removed from the org, without a PUT', async () => {
    const maintainer = findGrant(grants, 'team acme/web dave maintainer direct');
    removeMember(sandbox.state, 'dave');
    expect((await connector.revoke(maintainer)).outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
    expect(sandbox.state.invitations.size).toBe(0);
  });

  it("keeps an owner's maintainer role present until they are no longer an owner, as GitHub reports it", async () => {
    const maintainer = findGrant(grants, 'team acme/platform alice maintainer direct');
    expect((await connector.revoke(maintainer)).outcome).toBe('removed');
    expect(findTeam(sandbox.state, 'platform')?.members.get('alice')?.role).toBe('member');
    // GitHub reports org owners as maintainers of every team they are in.
    expect(await connector.check(maintainer)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'maintainer' }],
    });
    await connector.revoke(findGrant(grants, 'organization acme alice owner direct'));
    expect(await connector.check(maintainer)).toMatchObject({ status: 'absent' });
    expect(await connector.check(findGrant(grants, 'team acme/platform alice member direct'))).toMatchObject({
      status: 'present',
    });
  });

  it('refuses membership grants with an entitlement it does not know, without calling GitHub', async () => {
    const owner = findGrant(grants, 'organization acme alice owner direct');
    const maintainer = findGrant(grants, 'team acme/web dave maintainer direct');
    for (const grant of [
      { ...owner, entitlement: 'admin' },
      { ...maintainer, entitlement: 'owner' },
    ]) {
      await expect(connector.revoke(grant)).rejects.toThrow(ConnectorError);
      await expect(connector.check(grant)).rejects.toThrow(ConnectorError);
    }
    expect(sandbox.requests).toEqual([]);
  });

  it('reports every path that still gives the entitlement', async () => {
    const check = await connector.check(findGrant(grants, 'repository acme/infra bob admin direct'));
    expect(check.status).toBe('present');
    const paths = check.status === 'present' ? check.paths.map((path) => path.via).sort() : [];
    expect(paths).toEqual(['direct', 'team:acme/platform']);
  });

  it('reads a deleted repository as absent, and its direct grant as already removed', async () => {
    const gina = findGrant(grants, 'repository acme/api gina read direct');
    sandbox.state.repositories.delete('api');
    expect(await connector.check(gina)).toMatchObject({ status: 'absent' });
    expect((await connector.revoke(gina)).outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
  });

  it('refuses to revoke a derived grant and names what to revoke instead', async () => {
    const viaTeam = findGrant(grants, 'repository acme/api carol write team:acme/platform');
    const error = await connector.revoke(viaTeam).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as Error).message).toContain('team acme/platform');
    for (const parent of viaTeam.derivedFrom) expect((error as Error).message).toContain(parent);

    await expect(connector.revoke(viaBase('erin', 'api', 'read'))).rejects.toThrow(ConnectorError);
    expect(writes()).toEqual([]);
  });

  it('refuses grants of another organisation or connector shape', async () => {
    const gina = findGrant(grants, 'repository acme/api gina read direct');
    await expect(connector.revoke({ ...gina, resource: 'other/api' })).rejects.toThrow(ConnectorError);
    // A kind the connector does not know (a grant written by a newer release, say) is refused by name.
    const unknownKind = { ...gina, grantKind: 'oidc_trust' } as unknown as typeof gina;
    await expect(connector.check(unknownKind)).rejects.toThrow(/kind oidc_trust/);
    await expect(connector.revoke(unknownKind)).rejects.toThrow(ConnectorError);
    expect(writes()).toEqual([]);
  });
});
