import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { makeGrant } from '../../functions/core/grant';
import { holdersOf, routeGrant, teamDirectoryOf } from '../../functions/core/routing';

const people = ['alice', 'bob', 'carol', 'erin'].map((github) => ({
  github,
  email: `${github}@acme.example`,
}));
const config = parseConfig({
  github: { organization: 'acme' },
  routing: {
    owners: [{ resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' }],
    fallbackReviewers: ['alice', 'erin'],
  },
  people,
});

const teamMember = (login: string, entitlement: 'member' | 'maintainer') =>
  makeGrant({
    connector: 'github',
    grantKind: 'team_membership',
    resourceType: 'team',
    resource: 'acme/platform',
    principalType: 'user',
    principal: login,
    entitlement,
    via: { kind: 'direct' },
  });
const teams = teamDirectoryOf([teamMember('alice', 'maintainer'), teamMember('bob', 'member')]);
const repoGrant = (principalType: 'user' | 'team', principal: string, resource = 'acme/api') =>
  makeGrant({
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource,
    principalType,
    principal,
    entitlement: 'write',
    via: { kind: 'direct' },
  });

describe('routing', () => {
  it('sends a grant to the configured owner of its resource', () => {
    expect(routeGrant(repoGrant('user', 'carol'), config, teams)).toEqual({
      reviewer: 'bob',
      reason: 'owner of repository acme/api',
    });
  });

  it('never sends a grant to the person who holds it', () => {
    const route = routeGrant(repoGrant('user', 'bob'), config, teams);
    expect(route.reviewer).toBe('alice');
    expect(route.reason).toMatch(
      /fallback reviewer: bob \(owner of repository acme\/api\) holds this access/,
    );
  });

  it('treats every member of a team as holding the team’s access', () => {
    expect([...holdersOf(repoGrant('team', 'acme/platform'), teams)].sort()).toEqual(['alice', 'bob']);
    const route = routeGrant(repoGrant('team', 'acme/platform'), config, teams);
    expect(route.reviewer).toBe('erin');
    expect(route.reason).toMatch(/bob .* is in team acme\/platform/);
    expect(route.reason).toMatch(/alice .* is in team acme\/platform/);
  });

  it('asks a team maintainer about memberships, but not about their own', () => {
    expect(routeGrant(teamMember('bob', 'member'), config, teams)).toEqual({
      reviewer: 'alice',
      reason: 'maintainer of team acme/platform',
    });
    expect(routeGrant(teamMember('alice', 'maintainer'), config, teams).reviewer).toBe('erin');
  });

  it('says when no owner is configured', () => {
    const route = routeGrant(repoGrant('user', 'carol', 'acme/web'), config, teams);
    expect(route).toEqual({
      reviewer: 'alice',
      reason: 'fallback reviewer: no owner configured for acme/web',
    });
  });

  it('reports a grant nobody eligible can review instead of assigning it to its holder', () => {
    const lonely = parseConfig({
      github: { organization: 'acme' },
      routing: { fallbackReviewers: ['alice'] },
      people: [{ github: 'alice', email: 'alice@acme.example' }],
    });
    const route = routeGrant(repoGrant('user', 'alice', 'acme/web'), lonely, teams);
    expect(route.reviewer).toBeUndefined();
    expect(route.reason).toMatch(/^no eligible reviewer: alice \(fallback reviewer\) holds this access$/);
  });
});
