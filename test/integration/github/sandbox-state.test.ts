import { describe, expect, it } from 'vitest';
import {
  createState,
  effectivePermission,
  findMember,
  findRepository,
  findTeam,
  type OrganizationInput,
  permissionSources,
  removeMember,
  usersWithAccess,
} from '../../../sandbox/github/state';
import { acmeOrganization } from './helpers';

const repository = (state: ReturnType<typeof createState>, name: string) => {
  const found = findRepository(state, name);
  if (!found) throw new Error(`no repository ${name}`);
  return found;
};

describe('GitHub sandbox state', () => {
  it('computes permission sources the way GitHub lists them', async () => {
    const state = createState(await acmeOrganization());
    const api = repository(state, 'api');
    expect(permissionSources(state, 'carol', api)).toEqual([
      { kind: 'organization', permission: 'read' },
      { kind: 'repository', permission: 'write' },
      { kind: 'team', team: 'platform', permission: 'write' },
    ]);
    // Owners are admins of every repository through the organisation.
    expect(permissionSources(state, 'frank', api)).toEqual([{ kind: 'organization', permission: 'admin' }]);
    expect(permissionSources(state, 'gina', api)).toEqual([{ kind: 'repository', permission: 'read' }]);
    expect(permissionSources(state, 'gina', repository(state, 'web'))).toEqual([]);
    expect(effectivePermission(permissionSources(state, 'bob', repository(state, 'infra')))).toBe('admin');
    expect(effectivePermission([])).toBeUndefined();
  });

  it('gives members nothing through the organisation when the base permission is none', () => {
    const organization: OrganizationInput = {
      login: 'tight',
      basePermission: 'none',
      members: [
        { login: 'owner', role: 'owner' },
        { login: 'dev', role: 'member' },
        { login: 'idle', role: 'member' },
      ],
      teams: [{ slug: 'devs', maintainers: [], members: ['dev'], repositories: { app: 'maintain' } }],
      repositories: [{ name: 'app', private: true, collaborators: {} }],
    };
    const state = createState(organization);
    const app = repository(state, 'app');
    expect(permissionSources(state, 'dev', app)).toEqual([
      { kind: 'team', team: 'devs', permission: 'maintain' },
    ]);
    expect(permissionSources(state, 'idle', app)).toEqual([]);
    expect(usersWithAccess(state, app)).toEqual(['dev', 'owner']);
  });

  it('removing a member ends their team memberships and keeps their direct collaborator entries', async () => {
    const state = createState(await acmeOrganization());
    expect(removeMember(state, 'Carol')).toBe(true);
    expect(findMember(state, 'carol')).toBeUndefined();
    expect(findTeam(state, 'platform')?.members.has('carol')).toBe(false);
    expect(findTeam(state, 'web')?.members.has('carol')).toBe(false);
    const api = repository(state, 'api');
    expect(permissionSources(state, 'carol', api)).toEqual([{ kind: 'repository', permission: 'write' }]);
    expect(usersWithAccess(state, repository(state, 'web'))).not.toContain('carol');
    expect(removeMember(state, 'carol')).toBe(false);
  });

  it('looks names up case-insensitively, as GitHub does', async () => {
    const state = createState(await acmeOrganization());
    expect(findMember(state, 'ALICE')?.login).toBe('alice');
    expect(findTeam(state, 'Platform')?.slug).toBe('platform');
    expect(findRepository(state, 'API')?.name).toBe('api');
  });
});
