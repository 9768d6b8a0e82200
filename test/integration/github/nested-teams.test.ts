import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import { ConnectorError } from '../../../functions/core/errors';
import type { Grant } from '../../../functions/core/grant';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { findTeam, type OrganizationInput } from '../../../sandbox/github/state';
import { collect, findGrant, line, snapshotSandbox, TOKEN } from './helpers';

/*
 * platform (write on api) ← sre (read on infra) ← oncall: sre's members inherit platform's access,
 * oncall's members inherit both. Base permission none, so nothing else gives access.
 */
const NESTED: OrganizationInput = {
  login: 'acme',
  basePermission: 'none',
  members: [
    { login: 'alice', role: 'member' },
    { login: 'hank', role: 'member' },
    { login: 'olga', role: 'member' },
  ],
  teams: [
    { slug: 'platform', members: ['alice'], repositories: { api: 'write' } },
    { slug: 'sre', parent: 'platform', maintainers: ['hank'], repositories: { infra: 'read' } },
    { slug: 'oncall', parent: 'sre', members: ['olga'] },
  ],
  repositories: [{ name: 'api' }, { name: 'infra' }],
};

let sandbox: GitHubSandbox;
let connector: Connector;
let grants: Grant[];

beforeEach(async () => {
  ({ sandbox, connector, grants } = await snapshotSandbox(NESTED));
});
afterEach(() => sandbox.close());

async function graphql(query: string) {
  const response = await fetch(`${sandbox.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

describe('sandbox GraphQL: nested teams', () => {
  it('answers parentTeam, childTeams (immediate or all) and ancestors', async () => {
    const answer = await graphql(`{ organization(login: "acme") {
      sre: team(slug: "sre") { parentTeam { slug } childTeams(first: 10) { nodes { slug } } }
      platform: team(slug: "platform") {
        parentTeam { slug }
        immediate: childTeams(first: 10) { nodes { slug } }
        all: childTeams(first: 10, immediateOnly: false) { totalCount nodes { slug } }
      }
      oncall: team(slug: "oncall") { ancestors(first: 10) { nodes { slug } } }
      roots: teams(first: 10, rootTeamsOnly: true) { nodes { slug } }
    } }`);
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toEqual({
      organization: {
        sre: { parentTeam: { slug: 'platform' }, childTeams: { nodes: [{ slug: 'oncall' }] } },
        platform: {
          parentTeam: null,
          immediate: { nodes: [{ slug: 'sre' }] },
          all: { totalCount: 2, nodes: [{ slug: 'oncall' }, { slug: 'sre' }] },
        },
        oncall: { ancestors: { nodes: [{ slug: 'sre' }, { slug: 'platform' }] } },
        roots: { nodes: [{ slug: 'platform' }] },
      },
    });
  });

  it('counts child-team members as team members by default (ALL), not for IMMEDIATE', async () => {
    const answer = await graphql(`{ organization(login: "acme") { team(slug: "platform") {
      all: members(first: 10) { nodes { login } }
      immediate: members(first: 10, membership: IMMEDIATE) { nodes { login } }
      child: members(first: 10, membership: CHILD_TEAM) { nodes { login } }
    } } }`);
    expect(answer.data).toEqual({
      organization: {
        team: {
          all: { nodes: [{ login: 'alice' }, { login: 'hank' }, { login: 'olga' }] },
          immediate: { nodes: [{ login: 'alice' }] },
          child: { nodes: [{ login: 'hank' }, { login: 'olga' }] },
        },
      },
    });
  });

  it('leaves child-team members out of Repository.collaborators, as GitHub does', async () => {
    const answer = await graphql(`{ repository(owner: "acme", name: "api") {
      collaborators(first: 10) { nodes { login } } } }`);
    expect(answer.data).toEqual({ repository: { collaborators: { nodes: [{ login: 'alice' }] } } });
  });
});

describe('GitHub connector: access inherited through nested teams', () => {
  it('gives child and grandchild members the ancestors’ access, through the team they are in', async () => {
    const repositoryLines = grants.filter((grant) => grant.grantKind === 'user_repository').map(line);
    expect(repositoryLines.sort()).toEqual(
      [
        'repository acme/api alice write team:acme/platform',
        'repository acme/api hank write team:acme/platform (through acme/sre)',
        'repository acme/api olga write team:acme/platform (through acme/oncall)',
        'repository acme/infra hank read team:acme/sre',
        'repository acme/infra olga read team:acme/sre (through acme/oncall)',
      ].sort(),
    );
    const olga = findGrant(grants, 'repository acme/api olga write team:acme/platform (through acme/oncall)');
    expect(olga.via).toEqual({ kind: 'team', team: 'acme/platform', through: 'acme/oncall' });
    expect(olga.reviewable).toBe(false);
    expect(olga.derivedFrom).toEqual([
      findGrant(grants, 'team acme/oncall olga member direct').grantId,
      findGrant(grants, 'repository acme/api acme/platform write direct').grantId,
    ]);
    expect(new Set(grants.map((grant) => grant.grantId)).size).toBe(grants.length);
  });

  it('keeps team membership grants immediate, naming the parent team in raw', async () => {
    const teamLines = grants.filter((grant) => grant.grantKind === 'team_membership').map(line);
    expect(teamLines.sort()).toEqual(
      [
        'team acme/platform alice member direct',
        'team acme/sre hank member direct',
        'team acme/sre hank maintainer direct',
        'team acme/oncall olga member direct',
      ].sort(),
    );
    expect(findGrant(grants, 'team acme/oncall olga member direct').raw).toEqual({
      team: 'acme/oncall',
      role: 'MEMBER',
      parentTeam: 'acme/sre',
    });
  });

  it('refuses to revoke the inherited access itself, naming the child team membership', async () => {
    const hank = findGrant(grants, 'repository acme/api hank write team:acme/platform (through acme/sre)');
    await expect(connector.revoke(hank)).rejects.toThrow(ConnectorError);
    await expect(connector.revoke(hank)).rejects.toThrow(/membership of team acme\/sre/);
  });

  it('checks nested paths: present through the child team until the membership goes', async () => {
    const olga = findGrant(grants, 'repository acme/api olga write team:acme/platform (through acme/oncall)');
    expect(await connector.check(olga)).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/platform (through acme/oncall)', permission: 'write' }],
    });
    // A read entitlement on infra is also held through sre's read, from the same membership.
    const infra = findGrant(grants, 'repository acme/infra olga read team:acme/sre (through acme/oncall)');
    expect(await connector.check(infra)).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/sre (through acme/oncall)', permission: 'read' }],
    });

    const membership = findGrant(grants, 'team acme/oncall olga member direct');
    expect((await connector.revoke(membership)).outcome).toBe('removed');
    expect(findTeam(sandbox.state, 'oncall')?.members.has('olga')).toBe(false);
    expect(await connector.check(olga)).toMatchObject({ status: 'absent' });
    expect(await connector.check(infra)).toMatchObject({ status: 'absent' });
  });

  it('checks nested paths: absent once the parent team loses the repository', async () => {
    const hank = findGrant(grants, 'repository acme/api hank write team:acme/platform (through acme/sre)');
    const teamAccess = findGrant(grants, 'repository acme/api acme/platform write direct');
    expect((await connector.revoke(teamAccess)).outcome).toBe('removed');
    expect(await connector.check(hank)).toMatchObject({ status: 'absent' });
  });

  it('reports a nested path when a direct grant is removed but a parent team still gives it', async () => {
    findTeam(sandbox.state, 'platform')?.repositories.set('infra', 'write');
    const { repositories } = sandbox.state;
    repositories.get('infra')?.collaborators.set('olga', { login: 'olga', permission: 'write' });
    const fresh = await collect(connector.snapshot());
    const direct = findGrant(fresh, 'repository acme/infra olga write direct');
    expect((await connector.revoke(direct)).outcome).toBe('removed');
    expect(await connector.check(direct)).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/platform (through acme/oncall)', permission: 'write' }],
    });
  });
});

describe('checking access through a child team whose members GitHub can only search', () => {
  it('refuses to answer rather than report absent when the search has more than a page of matches', async () => {
    await sandbox.close();
    // GitHub's member `query` matches logins and names; 101 members contain "ab" and sort before it.
    const crowd = Array.from({ length: 101 }, (_, i) => `aab-${String(i).padStart(3, '0')}`);
    ({ sandbox, connector, grants } = await snapshotSandbox({
      ...NESTED,
      members: [
        ...(NESTED.members ?? []),
        { login: 'ab', role: 'member' },
        ...crowd.map((login) => ({ login })),
      ],
      teams: [
        { slug: 'platform', members: ['alice'], repositories: { api: 'write' } },
        { slug: 'sre', parent: 'platform', members: ['ab', ...crowd] },
      ],
    }));
    const inherited = findGrant(grants, 'repository acme/api ab write team:acme/platform (through acme/sre)');
    const refusal = await connector.check(inherited).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConnectorError);
    expect((refusal as Error).message).toMatch(/more than 100 members matching "ab"/);
    // A login the search finds on its first page is answered as usual.
    const olgaLike = findGrant(grants, 'repository acme/api alice write team:acme/platform');
    expect(await connector.check(olgaLike)).toMatchObject({ status: 'present' });
  });
});
