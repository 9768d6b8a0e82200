import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import type { Grant } from '../../../functions/core/grant';
import { repositoryCicd } from '../../../sandbox/github/cicd/state';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { findInvitation, type OrganizationInput } from '../../../sandbox/github/state';
import { collect, findGrant, snapshotSandbox, TOKEN, writeRequests } from './helpers';

const ORG: OrganizationInput = {
  login: 'acme',
  members: [{ login: 'alice', role: 'owner' }, { login: 'bob' }],
  teams: [{ slug: 'web', members: ['bob'] }],
  invitations: [
    { login: 'nina', role: 'admin', invitedBy: 'alice', createdAt: '2026-10-01T09:00:00Z', teams: ['web'] },
    { email: 'kim@contractor.example', role: 'member', invitedBy: 'alice' },
    { email: 'bill@acme.example', role: 'billing_manager', invitedBy: 'alice' },
  ],
  repositories: [
    { name: 'api', invitations: [{ login: 'judy', permission: 'write', invitedBy: 'bob' }] },
    { name: 'web' },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;
let grants: Grant[];

beforeEach(async () => {
  ({ sandbox, connector, grants } = await snapshotSandbox(ORG));
});
afterEach(() => sandbox.close());

const invitationGrants = () =>
  grants.filter(
    (grant) => grant.grantKind === 'organization_invitation' || grant.grantKind === 'repository_invitation',
  );
const writes = () => writeRequests(sandbox);

describe('sandbox REST: invitations', () => {
  it('lists org invitations in GitHub’s shape, filtered by role, and pages them', async () => {
    const get = async (query: string) => {
      const response = await fetch(`${sandbox.url}/orgs/acme/invitations${query}`, {
        headers: { authorization: `token ${TOKEN}` },
      });
      return { status: response.status, link: response.headers.get('link'), body: await response.json() };
    };
    const all = await get('');
    expect(all.status).toBe(200);
    expect(all.body).toEqual([
      expect.objectContaining({ login: 'nina', email: null, role: 'admin', team_count: 1 }),
      expect.objectContaining({ login: null, email: 'kim@contractor.example', role: 'direct_member' }),
      expect.objectContaining({ login: null, email: 'bill@acme.example', role: 'billing_manager' }),
    ]);
    expect((all.body as Array<{ inviter: { login: string } }>)[0]?.inviter.login).toBe('alice');
    expect((await get('?role=admin')).body).toHaveLength(1);
    const first = await get('?per_page=2');
    expect(first.body).toHaveLength(2);
    expect(first.link).toContain('rel="next"');
    expect((await get('?role=nonsense')).status).toBe(422);
    // Every exchange above matched GitHub's OpenAPI description (a mismatch would have been a 500).
    expect(sandbox.violations).toEqual([]);
  });

  it('answers 404 when cancelling an org invitation that does not exist', async () => {
    const response = await fetch(`${sandbox.url}/orgs/acme/invitations/999999`, {
      method: 'DELETE',
      headers: { authorization: `token ${TOKEN}` },
    });
    expect(response.status).toBe(404);
  });
});

describe('GitHub connector: pending invitations', () => {
  it('snapshots org and repository invitations with invitee, role, holder and raw', () => {
    const lines = invitationGrants().map(
      (grant) =>
        `${grant.grantKind} ${grant.resource} ${grant.principalType}:${grant.principal} ${grant.entitlement} holder=${grant.holder ?? '-'}`,
    );
    expect(lines.sort()).toEqual(
      [
        'organization_invitation acme invitee:nina owner holder=nina',
        'organization_invitation acme invitee:kim@contractor.example member holder=-',
        'organization_invitation acme invitee:bill@acme.example billing_manager holder=-',
        'repository_invitation acme/api invitee:judy write holder=judy',
      ].sort(),
    );
    const nina = findGrant(grants, 'organization acme nina owner direct');
    expect(nina.reviewable).toBe(true);
    expect(nina.raw).toEqual({
      invitationId: findInvitation(sandbox.state, 'nina')?.id,
      role: 'admin',
      inviter: 'alice',
      createdAt: '2026-10-01T09:00:00Z',
      teamCount: 1,
    });
    const judy = findGrant(grants, 'repository acme/api judy write direct');
    expect(judy.raw).toMatchObject({ inviter: 'bob', createdAt: '2026-11-20T10:00:00Z' });
    expect(judy.flags).toEqual([]);
  });

  it('cancels an org invitation by login: DELETE by id, then check reads it absent', async () => {
    const nina = findGrant(grants, 'organization acme nina owner direct');
    const id = findInvitation(sandbox.state, 'nina')?.id;
    expect(await connector.check(nina)).toMatchObject({ status: 'present' });
    const result = await connector.revoke(nina);
    expect(result).toMatchObject({ outcome: 'removed' });
    expect(result.action).toContain(`DELETE /orgs/acme/invitations/${id}`);
    expect(writes().map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE /orgs/acme/invitations/${id}`]);
    expect(findInvitation(sandbox.state, 'nina')).toBeUndefined();
    expect(await connector.check(nina)).toMatchObject({ status: 'absent' });
    expect(await connector.revoke(nina)).toMatchObject({ outcome: 'already_absent' });
  });

  it('cancels an invitation sent to an email address', async () => {
    const kim = findGrant(grants, 'organization acme kim@contractor.example member direct');
    expect((await connector.revoke(kim)).outcome).toBe('removed');
    expect([...sandbox.state.cicd.emailInvitations.values()].map((i) => i.email)).toEqual([
      'bill@acme.example',
    ]);
    expect(await connector.check(kim)).toMatchObject({ status: 'absent' });
  });

  it('leaves an invitation whose role changed below the reviewed one', async () => {
    const nina = findGrant(grants, 'organization acme nina owner direct');
    const invitation = findInvitation(sandbox.state, 'nina');
    if (!invitation) throw new Error('the scenario has no such invitation');
    invitation.role = 'member';
    expect(await connector.check(nina)).toMatchObject({ status: 'absent' });
    const result = await connector.revoke(nina);
    expect(result.outcome).toBe('already_absent');
    expect(writes()).toEqual([]);
    expect(findInvitation(sandbox.state, 'nina')).toBeDefined();
  });

  it('cancels a repository invitation; a second revoke is already_absent', async () => {
    const judy = findGrant(grants, 'repository acme/api judy write direct');
    const [id] = [...(repositoryCicd(sandbox.state, 'api')?.invitations.keys() ?? [])];
    const result = await connector.revoke(judy);
    expect(result.outcome).toBe('removed');
    expect(writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      `DELETE /repos/acme/api/invitations/${id}`,
    ]);
    expect(repositoryCicd(sandbox.state, 'api')?.invitations.size).toBe(0);
    expect(await connector.check(judy)).toMatchObject({ status: 'absent' });
    expect(await connector.revoke(judy)).toMatchObject({ outcome: 'already_absent' });
  });

  it('answers already_absent for an invitation nobody sent', async () => {
    const ghost = { ...findGrant(grants, 'repository acme/api judy write direct'), principal: 'ghost' };
    expect(await connector.revoke(ghost)).toMatchObject({ outcome: 'already_absent' });
    expect(writes()).toEqual([]);
  });

  it('answers 404 to DELETE of an unknown repository invitation', async () => {
    const response = await fetch(`${sandbox.url}/repos/acme/api/invitations/424242`, {
      method: 'DELETE',
      headers: { authorization: `token ${TOKEN}` },
    });
    expect(response.status).toBe(404);
    expect(sandbox.violations).toEqual([]);
  });
});

describe('a repository whose invitations the token may not read', () => {
  it('stops the snapshot rather than report nobody invited', async () => {
    sandbox.failNext({
      status: 404,
      body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
      match: { method: 'GET', path: '/repos/acme/api/invitations' },
    });
    await expect(collect(connector.snapshot())).rejects.toThrow(
      /invitations answered 404 for a repository the snapshot just listed/,
    );
  });
});
