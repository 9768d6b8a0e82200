import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AccessFacts,
  accessPaths,
  reachOf,
  strongestPermission,
  type TeamFacts,
} from '../../../functions/connectors/github/effective-access';
import { REPOSITORY_PERMISSIONS, type RepositoryPermission, viaLabel } from '../../../functions/core/grant';
import {
  createState,
  effectivePermission,
  findRepository,
  permissionSources,
} from '../../../sandbox/github/state';

const team = (
  slug: string,
  members: string[],
  repositories: Record<string, RepositoryPermission>,
  parent?: string,
): TeamFacts => ({
  slug,
  members: new Set(members),
  repositories: new Map(Object.entries(repositories)),
  ...(parent ? { parent } : {}),
});

/** A team's access to the one repository of the property, or none. */
const granted = (access: RepositoryPermission | null): Record<string, RepositoryPermission> =>
  access ? { repo: access } : {};

const ACME: AccessFacts = {
  organization: 'acme',
  basePermission: 'read',
  members: new Map([
    ['alice', { login: 'alice', role: 'owner' }],
    ['bob', { login: 'bob', role: 'member' }],
    ['hank', { login: 'hank', role: 'member' }],
  ]),
  teams: new Map([
    ['platform', team('platform', ['bob'], { api: 'write' })],
    ['sre', team('sre', ['hank'], {}, 'platform')],
  ]),
  directCollaborators: new Map([
    ['api', new Map([['gina', { login: 'gina', permission: 'read', entitlement: 'read' }]])],
    ['web', new Map([['bob', { login: 'bob', permission: 'read', entitlement: 'security-auditor' }]])],
  ]),
};

describe('effective access from the facts of an organisation', () => {
  it('gives an owner admin, a member the base permission, a team its access, a child team its parent’s', () => {
    const labels = (login: string, repository: string) =>
      accessPaths(ACME, login, repository).map((path) => `${viaLabel(path.via)} ${path.entitlement}`);
    expect(labels('alice', 'api')).toEqual(['organization_base:acme admin']);
    expect(labels('bob', 'api')).toEqual(['organization_base:acme read', 'team:acme/platform write']);
    expect(labels('hank', 'api')).toEqual([
      'organization_base:acme read',
      'team:acme/platform (through acme/sre) write',
    ]);
    // An outside collaborator has only their own entry; a custom role is named, compared by its base.
    expect(labels('gina', 'api')).toEqual(['direct read']);
    expect(labels('gina', 'web')).toEqual([]);
    expect(labels('bob', 'web')).toEqual(['organization_base:acme read', 'direct security-auditor']);
  });

  it('answers what someone can reach: every repository, its strongest permission and the paths', () => {
    const reach = reachOf(ACME, 'bob', ['api', 'web', 'infra']);
    expect(reach.map((entry) => `${entry.repository} ${entry.permission} ${entry.paths.length}`)).toEqual([
      'acme/api write 2',
      'acme/web read 2',
      'acme/infra read 1',
    ]);
    expect(reachOf({ ...ACME, basePermission: 'none' }, 'gina', ['api', 'web'])).toHaveLength(1);
  });

  it("agrees with GitHub's own sources (the sandbox's permissionSources) on the strongest permission", () => {
    const permission = fc.constantFrom(...REPOSITORY_PERMISSIONS);
    const logins = ['u0', 'u1', 'u2', 'u3'];
    fc.assert(
      fc.property(
        fc.record({
          base: fc.constantFrom<'none' | 'read' | 'write' | 'admin'>('none', 'read', 'write', 'admin'),
          owners: fc.subarray(logins),
          direct: fc.dictionary(fc.constantFrom(...logins, 'x0', 'x1'), permission),
          teams: fc.array(fc.record({ members: fc.subarray(logins), access: fc.option(permission) }), {
            maxLength: 3,
          }),
        }),
        ({ base, owners, direct, teams }) => {
          const members = logins.map((login) => ({
            login,
            role: owners.includes(login) ? ('owner' as const) : ('member' as const),
          }));
          const state = createState({
            login: 'org',
            basePermission: base,
            members,
            teams: teams.map((entry, index) => ({
              slug: `t${index}`,
              maintainers: [],
              members: entry.members,
              repositories: granted(entry.access),
            })),
            repositories: [{ name: 'repo', collaborators: direct }],
          });
          const facts: AccessFacts = {
            organization: 'org',
            basePermission: base,
            members: new Map(members.map((member) => [member.login, member])),
            teams: new Map(
              teams.map((entry, index) => [
                `t${index}`,
                team(`t${index}`, entry.members, granted(entry.access)),
              ]),
            ),
            directCollaborators: new Map([
              [
                'repo',
                new Map(
                  Object.entries(direct).map(([login, held]) => [
                    login,
                    { login, permission: held, entitlement: held },
                  ]),
                ),
              ],
            ]),
          };
          const repository = findRepository(state, 'repo');
          if (!repository) throw new Error('sandbox lost the repository');
          for (const login of [...logins, 'x0', 'x1']) {
            expect(strongestPermission(accessPaths(facts, login, 'repo')), login).toBe(
              effectivePermission(permissionSources(state, login, repository)),
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
