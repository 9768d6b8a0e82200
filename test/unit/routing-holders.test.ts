import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccessReviewConfig } from '../../functions/core/config';
import { type Grant, type GrantKey, makeGrant } from '../../functions/core/grant';
import {
  allHoldersOf,
  awsIdentityKey,
  holdersOf,
  type TeamDirectory,
  teamDirectoryOf,
  withChildTeamMembers,
} from '../../functions/core/routing';

/**
 * Who holds a grant, read from the snapshot: the team directory built from grants, child teams,
 * repository roles, OIDC subjects and the IAM identities people act as. Each expectation is exact,
 * so a holder too many or too few fails.
 */

const account = '111122223333';

const grant = (key: Partial<GrantKey>, extra: Parameters<typeof makeGrant>[1] = {}): Grant =>
  makeGrant(
    {
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal: 'carol',
      entitlement: 'write',
      via: { kind: 'direct' },
      ...key,
    },
    extra,
  );
const repoAccess = (principal: string, entitlement: string, resource = 'acme/api', baseRole?: string) =>
  grant({ principal, entitlement, resource }, baseRole ? { raw: { baseRole } } : {});
const membership = (
  team: string,
  principal: string,
  entitlement: 'member' | 'maintainer' = 'member',
  parentTeam?: unknown,
) =>
  grant(
    {
      grantKind: 'team_membership',
      resourceType: 'team',
      resource: team,
      principal,
      entitlement,
    },
    parentTeam === undefined ? {} : { raw: { parentTeam } },
  );
const orgMembership = (principal: string, entitlement: string) =>
  grant({
    grantKind: 'organization_membership',
    resourceType: 'organization',
    resource: 'acme',
    principal,
    entitlement,
  });
const trust = (role: string, subject: string) =>
  grant({
    connector: 'aws',
    grantKind: 'oidc_role_trust',
    resourceType: 'iam_role',
    resource: role,
    principalType: 'oidc_subject',
    principal: subject,
    entitlement: 'assume',
    via: { kind: 'trust_policy' },
  });
const roleBypass = (principal: string, resource = 'acme/api/rulesets/4') =>
  grant({
    grantKind: 'ruleset_bypass',
    resourceType: 'ruleset',
    resource,
    principalType: 'role',
    principal,
    entitlement: 'bypass',
  });
const sorted = (holders: Iterable<string>) => [...holders].sort();
const emptyDirectory = (): TeamDirectory => ({ members: new Map(), maintainers: new Map() });

describe('teamDirectoryOf', () => {
  it('reads members, maintainers, owners, repository permissions, custom roles and trusts exactly', () => {
    const deploy = `arn:aws:iam::${account}:role/deploy`;
    const directory = teamDirectoryOf([
      membership('Acme/Platform', 'Zoe', 'maintainer'),
      membership('acme/platform', 'Bob', 'member'),
      membership('acme/platform', 'amy', 'maintainer'),
      orgMembership('Alice', 'owner'),
      orgMembership('dan', 'member'),
      repoAccess('Carol', 'read', 'Acme/API'),
      repoAccess('carol', 'admin', 'acme/api'),
      repoAccess('carol', 'write', 'acme/api'),
      repoAccess('ivan', 'Releaser', 'acme/api', 'write'),
      repoAccess('ivan', 'read', 'acme/api'),
      repoAccess('gus', 'auditor', 'acme/web'),
      trust(deploy, 'repo:acme/api:ref:refs/heads/main'),
      trust(deploy, 'repo:acme/web:*'),
      // A team's own access to a repository is not a membership.
      grant({ grantKind: 'team_repository', principalType: 'team', principal: 'acme/platform' }),
      // Neither is a team as the principal of a team resource.
      grant({
        grantKind: 'team_membership',
        resourceType: 'team',
        resource: 'acme/x',
        principalType: 'team',
      }),
      // An entitlement called `owner` on anything but an org membership makes nobody an owner.
      grant({
        grantKind: 'team_membership',
        resourceType: 'team',
        resource: 'acme/y',
        principal: 'olaf',
        entitlement: 'owner',
      }),
    ]);
    expect(directory).toEqual({
      members: new Map([
        ['acme/platform', new Set(['zoe', 'bob', 'amy'])],
        ['acme/y', new Set(['olaf'])],
      ]),
      maintainers: new Map([['acme/platform', ['amy', 'zoe']]]),
      owners: new Set(['alice']),
      repositoryPermissions: new Map([
        [
          'acme/api',
          new Map([
            ['carol', 'admin'],
            ['ivan', 'write'],
          ]),
        ],
        ['acme/web', new Map()],
      ]),
      customRoles: new Map([
        ['acme/api', new Map([['ivan', new Set(['releaser'])]])],
        ['acme/web', new Map([['gus', new Set(['auditor'])]])],
      ]),
      trustedSubjects: new Map([[deploy, ['repo:acme/api:ref:refs/heads/main', 'repo:acme/web:*']]]),
      // Only `member` grants make a member (an owner also holds one in a real snapshot).
      organizationMembers: new Set(['dan']),
    });
  });

  it('keeps the strongest permission whatever order the paths come in', () => {
    const permissions = ['read', 'triage', 'write', 'maintain', 'admin'];
    fc.assert(
      fc.property(fc.shuffledSubarray(permissions, { minLength: 1 }), (held) => {
        const directory = teamDirectoryOf(held.map((entitlement) => repoAccess('carol', entitlement)));
        const strongest = permissions.filter((p) => held.includes(p)).at(-1);
        expect(directory.repositoryPermissions?.get('acme/api')).toEqual(new Map([['carol', strongest]]));
        expect(directory.customRoles).toEqual(new Map());
      }),
      { numRuns: 60 },
    );
  });

  it('keeps every custom role name a login holds on a repository', () => {
    const directory = teamDirectoryOf([
      repoAccess('ivan', 'releaser', 'acme/api', 'write'),
      repoAccess('ivan', 'Auditor', 'acme/api', 'read'),
      repoAccess('jo', 'releaser', 'acme/api', 'maintain'),
    ]);
    expect(directory.customRoles).toEqual(
      new Map([
        [
          'acme/api',
          new Map([
            ['ivan', new Set(['releaser', 'auditor'])],
            ['jo', new Set(['releaser'])],
          ]),
        ],
      ]),
    );
    expect(directory.repositoryPermissions).toEqual(
      new Map([
        [
          'acme/api',
          new Map([
            ['ivan', 'write'],
            ['jo', 'maintain'],
          ]),
        ],
      ]),
    );
  });

  it('adds child and grandchild team members to their ancestors, parents read case-insensitively', () => {
    const directory = teamDirectoryOf([
      membership('acme/platform', 'alice'),
      membership('Acme/SRE', 'hank', 'member', 'Acme/Platform'),
      membership('acme/oncall', 'ola', 'member', 'ACME/sre'),
      // Only a team membership names a parent, and only as a string.
      membership('acme/bots', 'robo', 'member', 42),
      grant(
        {
          grantKind: 'team_repository',
          resourceType: 'team',
          resource: 'acme/web',
          principalType: 'team',
          principal: 'acme/web',
        },
        { raw: { parentTeam: 'acme/platform' } },
      ),
      membership('acme/web', 'wren'),
    ]);
    expect(directory.members).toEqual(
      new Map([
        ['acme/platform', new Set(['alice', 'hank', 'ola'])],
        ['acme/sre', new Set(['hank', 'ola'])],
        ['acme/oncall', new Set(['ola'])],
        ['acme/bots', new Set(['robo'])],
        ['acme/web', new Set(['wren'])],
      ]),
    );
  });
});

describe('withChildTeamMembers', () => {
  it('adds members up the whole chain, to parents with no members of their own, and leaves its input alone', () => {
    const members = new Map([
      ['acme/c', new Set(['cy'])],
      ['acme/b', new Set(['bo'])],
    ]);
    const parents = new Map([
      ['acme/c', 'acme/b'],
      ['acme/b', 'acme/a'],
    ]);
    const expanded = withChildTeamMembers(members, parents);
    expect(expanded).toEqual(
      new Map([
        ['acme/c', new Set(['cy'])],
        ['acme/b', new Set(['bo', 'cy'])],
        ['acme/a', new Set(['cy', 'bo'])],
      ]),
    );
    expect(members).toEqual(
      new Map([
        ['acme/c', new Set(['cy'])],
        ['acme/b', new Set(['bo'])],
      ]),
    );
    expect(parents.size).toBe(2);
  });

  it('stops at a cycle of parents', () => {
    const members = new Map([
      ['acme/a', new Set(['al'])],
      ['acme/b', new Set(['bo'])],
    ]);
    const parents = new Map([
      ['acme/a', 'acme/b'],
      ['acme/b', 'acme/a'],
    ]);
    expect(withChildTeamMembers(members, parents)).toEqual(
      new Map([
        ['acme/a', new Set(['al', 'bo'])],
        ['acme/b', new Set(['bo', 'al'])],
      ]),
    );
    const self = withChildTeamMembers(
      new Map([['acme/a', new Set(['al'])]]),
      new Map([['acme/a', 'acme/a']]),
    );
    expect(self).toEqual(new Map([['acme/a', new Set(['al'])]]));
  });

  it('gives every ancestor the members of every descendant (random forests)', () => {
    const teams = ['t0', 't1', 't2', 't3', 't4', 't5'];
    fc.assert(
      fc.property(
        // Each team's parent is an earlier team or none: a forest, no cycles.
        fc.tuple(
          ...teams.map((_, index) => fc.option(fc.nat({ max: Math.max(index - 1, 0) }), { nil: undefined })),
        ),
        fc.array(fc.tuple(fc.constantFrom(...teams), fc.constantFrom('u1', 'u2', 'u3')), { maxLength: 8 }),
        (parentIndexes, memberships) => {
          const parents = new Map<string, string>();
          parentIndexes.forEach((parent, index) => {
            if (parent !== undefined && parent < index)
              parents.set(teams[index] as string, teams[parent] as string);
          });
          const members = new Map<string, Set<string>>();
          for (const [team, login] of memberships)
            members.set(team, (members.get(team) ?? new Set()).add(login));
          const expanded = withChildTeamMembers(members, parents);
          const ancestorsOf = (team: string) => {
            const chain = [team];
            for (let p = parents.get(team); p; p = parents.get(p)) chain.push(p);
            return chain;
          };
          const expected = new Map<string, Set<string>>();
          for (const [team, logins] of members) {
            for (const ancestor of ancestorsOf(team)) {
              const set = expected.get(ancestor) ?? new Set<string>();
              for (const login of logins) set.add(login);
              expected.set(ancestor, set);
            }
          }
          expect(new Map([...expanded].map(([k, v]) => [k, sorted(v)]))).toEqual(
            new Map([...expected].map(([k, v]) => [k, sorted(v)])),
          );
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('holdersOf', () => {
  const directory = teamDirectoryOf([
    membership('acme/platform', 'alice', 'maintainer'),
    membership('acme/platform', 'bob'),
    orgMembership('olga', 'owner'),
    orgMembership('mia', 'member'),
    repoAccess('rita', 'read'),
    repoAccess('tom', 'triage'),
    repoAccess('wes', 'write'),
    repoAccess('max', 'maintain'),
    repoAccess('ada', 'admin'),
    repoAccess('ivan', 'releaser', 'acme/api', 'write'),
    repoAccess('una', 'auditor', 'acme/api'),
    repoAccess('wendy', 'write', 'acme/web'),
    repoAccess('roy', 'Releaser', 'acme/web', 'read'),
    repoAccess('xena', 'write', 'acme/a.b'),
    repoAccess('yuri', 'write', 'acme/axb'),
    repoAccess('Kim', 'admin', 'Acme/API-v2'),
  ]);

  it('is the user or invitee, lower-cased, and nobody for other principals without a holder', () => {
    expect(sorted(holdersOf(grant({ principal: 'Carol' }), directory))).toEqual(['carol']);
    expect(sorted(holdersOf(grant({ principalType: 'invitee', principal: 'Dave' }), directory))).toEqual([
      'dave',
    ]);
    // Principals that are not people, even when their names look like a team, a role or a subject.
    for (const principalType of ['app', 'deploy_key', 'repository', 'environment', 'aws_service'] as const) {
      for (const principal of ['acme/platform', 'write', 'organization_admin', '*', 'repo:acme/*']) {
        expect(sorted(holdersOf(grant({ principalType, principal }), directory))).toEqual([]);
      }
    }
  });

  it('adds the holder behind a token, lower-cased, to its principal', () => {
    const token = grant(
      {
        grantKind: 'personal_access_token',
        principalType: 'personal_access_token',
        principal: "Pat's token",
      },
      { holder: 'Pat' },
    );
    expect(sorted(holdersOf(token, directory))).toEqual(['pat']);
    expect(
      sorted(holdersOf(grant({ principalType: 'invitee', principal: 'dave' }, { holder: 'Dee' }), directory)),
    ).toEqual(['dave', 'dee']);
  });

  it('is every member of a team, looked up case-insensitively', () => {
    const team = grant({ grantKind: 'team_repository', principalType: 'team', principal: 'ACME/Platform' });
    expect(sorted(holdersOf(team, directory))).toEqual(['alice', 'bob']);
    expect(sorted(holdersOf(grant({ principalType: 'team', principal: 'acme/nobody' }), directory))).toEqual(
      [],
    );
  });

  it('is every owner for organization_admin, and nobody without owners', () => {
    expect(sorted(holdersOf(roleBypass('organization_admin', 'acme/rulesets/7'), directory))).toEqual([
      'olga',
    ]);
    expect(sorted(holdersOf(roleBypass('organization_admin'), emptyDirectory()))).toEqual([]);
  });

  it('is everyone holding at least the repository role on the ruleset’s repository', () => {
    // olga is an owner: admin on every repository, so every repository role (no row needed).
    const expected: Record<string, string[]> = {
      read: ['ada', 'ivan', 'max', 'olga', 'rita', 'tom', 'wes'],
      triage: ['ada', 'ivan', 'max', 'olga', 'tom', 'wes'],
      write: ['ada', 'ivan', 'max', 'olga', 'wes'],
      maintain: ['ada', 'max', 'olga'],
      admin: ['ada', 'olga'],
    };
    for (const [role, holders] of Object.entries(expected)) {
      expect(sorted(holdersOf(roleBypass(role), directory))).toEqual(holders);
      expect(sorted(holdersOf(roleBypass(role.toUpperCase(), 'ACME/Api/rulesets/4'), directory))).toEqual(
        holders,
      );
    }
    expect(sorted(holdersOf(roleBypass('write', 'acme/web/rulesets/1'), directory))).toEqual([
      'olga',
      'wendy',
    ]);
    expect(sorted(holdersOf(roleBypass('write', 'acme/none/rulesets/1'), directory))).toEqual(['olga']);
    expect(sorted(holdersOf(roleBypass('write'), emptyDirectory()))).toEqual([]);
  });

  it('is everyone holding a custom role by name, on the repository or (org ruleset) anywhere', () => {
    expect(sorted(holdersOf(roleBypass('Releaser'), directory))).toEqual(['ivan']);
    expect(sorted(holdersOf(roleBypass('auditor'), directory))).toEqual(['una']);
    expect(sorted(holdersOf(roleBypass('releaser', 'acme/rulesets/7'), directory))).toEqual(['ivan', 'roy']);
    expect(sorted(holdersOf(roleBypass('releaser', 'acme/none/rulesets/1'), directory))).toEqual([]);
    expect(sorted(holdersOf(roleBypass('releaser'), emptyDirectory()))).toEqual([]);
    expect(sorted(holdersOf(roleBypass('releaser', 'acme/rulesets/7'), emptyDirectory()))).toEqual([]);
  });

  it('is, for an org ruleset’s repository role, everyone holding it on any repository', () => {
    expect(sorted(holdersOf(roleBypass('admin', 'acme/rulesets/7'), directory))).toEqual([
      'ada',
      'kim',
      'olga',
    ]);
    expect(sorted(holdersOf(roleBypass('write', 'acme/rulesets/7'), emptyDirectory()))).toEqual([]);
  });

  const subject = (principal: string) =>
    grant({
      connector: 'aws',
      grantKind: 'oidc_role_trust',
      resourceType: 'iam_role',
      resource: `arn:aws:iam::${account}:role/deploy`,
      principalType: 'oidc_subject',
      principal,
      entitlement: 'assume',
      via: { kind: 'trust_policy' },
    });

  it('is everyone who can push (write or more) to a repository an OIDC subject covers', () => {
    const cases: Array<[string, string[]]> = [
      ['repo:acme/api:environment:production', ['ada', 'ivan', 'max', 'olga', 'wes']],
      ['repo:acme/api', ['ada', 'ivan', 'max', 'olga', 'wes']],
      ['repo:ACME/WEB:ref:refs/heads/main', ['olga', 'wendy']],
      ['repo:acme/a.b:*', ['olga', 'xena']],
      ['repo:acme/a?b:*', ['olga', 'xena', 'yuri']],
      ['repo:acme/a*:*', ['ada', 'ivan', 'kim', 'max', 'olga', 'wes', 'xena', 'yuri']],
      ['repo:acme/api*', ['ada', 'ivan', 'kim', 'max', 'olga', 'wes']],
      ['repo:acme/*', ['ada', 'ivan', 'kim', 'max', 'olga', 'wendy', 'wes', 'xena', 'yuri']],
      ['repo:acme/ap?', ['ada', 'ivan', 'max', 'olga', 'wes']],
      ['repo:acme/?', []],
      ['repo:*/api', ['ada', 'ivan', 'max', 'olga', 'wes']],
      ['repo:cme/api', []],
      ['repo:acme/ap', []],
      ['repo:acme/api-v', []],
      ['repo:acme/(api)', []],
      ['repo:acme/api|acme/web', []],
      ['repo:acme/[aw]eb', []],
      ['repo:acme/we+b', []],
      ['repo:acme/a\\.b', []],
      ['repo:acme/w{1}eb', []],
      ['repo:acme/^web', []],
      ['repo:acme/web$', []],
      ['*', ['ada', 'ivan', 'kim', 'max', 'olga', 'wendy', 'wes', 'xena', 'yuri']],
      ['environment:production', ['ada', 'ivan', 'kim', 'max', 'olga', 'wendy', 'wes', 'xena', 'yuri']],
      ['xrepo:acme/web', ['ada', 'ivan', 'kim', 'max', 'olga', 'wendy', 'wes', 'xena', 'yuri']],
    ];
    for (const [principal, holders] of cases)
      expect([principal, sorted(holdersOf(subject(principal), directory))]).toEqual([principal, holders]);
    expect(sorted(holdersOf(subject('*'), emptyDirectory()))).toEqual([]);
  });

  it('matches regex special characters in repository names literally', () => {
    const names = [
      'acme/a.b',
      'acme/a+b',
      'acme/a(b)',
      'acme/a$b',
      'acme/a^b',
      'acme/a{1}',
      'acme/a|b',
      'acme/a[b]',
      'acme/a\\b',
    ];
    const specials = teamDirectoryOf([
      ...names.map((name, index) => repoAccess(`u${index}`, 'write', name)),
      repoAccess('plain', 'write', 'acme/ab'),
      repoAccess('plainer', 'write', 'acme/aab'),
      repoAccess('plainest', 'write', 'acme/axb'),
    ]);
    names.forEach((name, index) => {
      expect([name, sorted(holdersOf(subject(`repo:${name}:ref:refs/heads/main`), specials))]).toEqual([
        name,
        [`u${index}`],
      ]);
    });
  });

  it('is, for an IAM role, whoever can push to a repository its trust admits', () => {
    const deploy = `arn:aws:iam::${account}:role/deploy`;
    const trusted = teamDirectoryOf([
      repoAccess('wes', 'write'),
      repoAccess('wendy', 'write', 'acme/web'),
      repoAccess('rita', 'read'),
      trust(deploy, 'repo:acme/api:environment:production'),
      trust(deploy, 'repo:acme/web:ref:refs/heads/main'),
    ]);
    const iam = (principalType: 'iam_role' | 'iam_user', principal: string) =>
      grant({
        connector: 'aws',
        grantKind: 'secret_read',
        resourceType: 'aws_secret',
        resource: `arn:aws:secretsmanager:eu-west-1:${account}:secret:prod/db-AbC123`,
        principalType,
        principal,
        entitlement: 'read',
        via: { kind: 'resource_policy' },
      });
    expect(sorted(holdersOf(iam('iam_role', deploy), trusted))).toEqual(['wendy', 'wes']);
    expect(sorted(holdersOf(iam('iam_role', `arn:aws:iam::${account}:role/batch`), trusted))).toEqual([]);
    // Only a role is assumed through GitHub OIDC.
    expect(sorted(holdersOf(iam('iam_user', deploy), trusted))).toEqual([]);
    expect(sorted(holdersOf(iam('iam_role', deploy), { ...trusted, trustedSubjects: undefined }))).toEqual(
      [],
    );
  });
});

describe('awsIdentityKey', () => {
  it('names IAM users, roles and assumed-role sessions by account, type and lower-cased name', () => {
    const cases: Array<[string, string | undefined]> = [
      [`arn:aws:iam::${account}:user/Alice`, `${account}:user/alice`],
      [`arn:aws:iam::${account}:role/Deploy`, `${account}:role/deploy`],
      [`arn:aws:iam::${account}:role/ops/team/Payments-Ops`, `${account}:role/payments-ops`],
      [`arn:aws:iam::${account}:user/people/bob`, `${account}:user/bob`],
      [`arn:aws:sts::${account}:assumed-role/Payments-Ops/bob@acme`, `${account}:role/payments-ops`],
      [`arn:aws-us-gov:iam::${account}:user/a:b`, `${account}:user/a:b`],
      [`arn:aws:iam::${account}:role/x:y/z`, `${account}:role/z`],
      // Not an IAM user or role.
      [`arn:aws:sts::${account}:assumed-role/only-role`, undefined],
      [`arn:aws:sts::${account}:assumed-role/a/b/c`, undefined],
      [`arn:aws:sts::${account}:user/alice`, undefined],
      [`arn:aws:sts::${account}:role/deploy/session`, undefined],
      [`arn:aws:sts::${account}:federated-user/a/b`, undefined],
      [`arn:aws:iam::${account}:assumed-role/deploy/s`, undefined],
      [`arn:aws:iam::${account}:group/admins`, undefined],
      [`arn:aws:iam::${account}:root`, undefined],
      [`arn:aws:iam::${account}:user/`, undefined],
      [`arn:aws:iam::${account}:role/ops/`, undefined],
      [`arn:aws:s3::${account}:user/alice`, undefined],
      [`arn:aws:secretsmanager:eu-west-1:${account}:secret:prod/db`, undefined],
      [`arx:aws:iam::${account}:user/alice`, undefined],
      [`ARN:aws:iam::${account}:user/alice`, undefined],
      [`xarn:aws:iam::${account}:user/alice`, undefined],
      ['arn:aws:iam:::user/alice', undefined],
      ['arn:aws:iam::11112222333:user/alice', undefined],
      ['arn:aws:iam::1111222233334:user/alice', undefined],
      ['arn:aws:iam::x111122223333:user/alice', undefined],
      ['arn:aws:iam::111122223333x:user/alice', undefined],
      ['arn:aws:iam::11112222333a:user/alice', undefined],
      ['arn:aws:iam', undefined],
      ['', undefined],
      ['*', undefined],
    ];
    for (const [arn, key] of cases) expect([arn, awsIdentityKey(arn)]).toEqual([arn, key]);
  });

  it('gives a role and each of its sessions one key, and users and roles of one name two', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9+=,.@_-]{1,20}$/);
    fc.assert(
      fc.property(name, name, (role, session) => {
        const key = awsIdentityKey(`arn:aws:iam::${account}:role/${role}`);
        expect(key).toBe(`${account}:role/${role.toLowerCase()}`);
        expect(awsIdentityKey(`arn:aws:sts::${account}:assumed-role/${role}/${session}`)).toBe(key);
        expect(awsIdentityKey(`arn:aws:iam::${account}:user/${role}`)).not.toBe(key);
      }),
      { numRuns: 50 },
    );
  });
});

describe('allHoldersOf', () => {
  const people = (entries: Array<[string, string[]]>) =>
    ({
      people: entries.map(([github, aws]) => ({ github, email: `${github}@acme.example`, aws })),
    }) as unknown as AccessReviewConfig;
  const secretRead = (principalType: Grant['principalType'], principal: string) =>
    grant({
      connector: 'aws',
      grantKind: 'secret_read',
      resourceType: 'aws_secret',
      resource: `arn:aws:secretsmanager:eu-west-1:${account}:secret:prod/db-AbC123`,
      principalType,
      principal,
      entitlement: 'read',
      via: { kind: 'resource_policy' },
    });
  const config = people([
    ['Bob', [`arn:aws:sts::${account}:assumed-role/payments-ops/bob`]],
    ['carol', [`arn:aws:iam::${account}:user/ops/Carol`, `arn:aws:iam::${account}:role/deploy`]],
    ['dan', [`arn:aws:iam::999988887777:role/payments-ops`]],
    ['nobody', ['not an arn']],
  ]);

  it('adds the people configured as acting as the IAM user or role', () => {
    expect(
      sorted(
        allHoldersOf(
          secretRead('iam_role', `arn:aws:iam::${account}:role/PAYMENTS-OPS`),
          config,
          emptyDirectory(),
        ),
      ),
    ).toEqual(['bob']);
    expect(
      sorted(
        allHoldersOf(secretRead('iam_user', `arn:aws:iam::${account}:user/carol`), config, emptyDirectory()),
      ),
    ).toEqual(['carol']);
    expect(
      sorted(
        allHoldersOf(secretRead('iam_role', `arn:aws:iam::${account}:role/deploy`), config, emptyDirectory()),
      ),
    ).toEqual(['carol']);
    expect(
      sorted(
        allHoldersOf(secretRead('iam_role', `arn:aws:iam::${account}:role/other`), config, emptyDirectory()),
      ),
    ).toEqual([]);
  });

  it('adds nobody for an ARN that is no IAM identity, or a principal that is not an IAM user or role', () => {
    expect(sorted(allHoldersOf(secretRead('iam_role', 'not an arn'), config, emptyDirectory()))).toEqual([]);
    expect(
      sorted(allHoldersOf(secretRead('iam_user', `arn:aws:iam::${account}:root`), config, emptyDirectory())),
    ).toEqual([]);
    for (const principalType of ['aws_account', 'aws_service', 'aws_anyone', 'app'] as const) {
      expect(
        sorted(
          allHoldersOf(
            secretRead(principalType, `arn:aws:iam::${account}:role/deploy`),
            config,
            emptyDirectory(),
          ),
        ),
      ).toEqual([]);
    }
    // A user grant keeps its own holder.
    expect(sorted(allHoldersOf(grant({ principal: 'Zed' }), config, emptyDirectory()))).toEqual(['zed']);
  });
});
