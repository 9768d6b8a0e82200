import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Grant, makeGrant } from '../../functions/core/grant';
import {
  evaluateRevocationGuard,
  type GuardInput,
  matchesAwsPrincipal,
  ownIdentitiesOf,
} from '../../functions/core/revocation-guard';

/**
 * A small GitHub organisation as a model (who is a member, an owner, a direct repository admin, a
 * team maintainer) and the grants a snapshot reports for it. The property tests judge the guard
 * against this model, not against the guard's own reading of derivedFrom.
 */
interface Person {
  login: string;
  owner: boolean;
  directAdmin: boolean[];
  maintainer: boolean[];
}

const REPOS = ['acme/api', 'acme/web'];
const TEAMS = ['acme/platform', 'acme/sre'];

function orgGrant(login: string, entitlement: 'member' | 'owner') {
  return makeGrant({
    connector: 'github',
    grantKind: 'organization_membership',
    resourceType: 'organization',
    resource: 'acme',
    principalType: 'user',
    principal: login,
    entitlement,
    via: { kind: 'direct' },
  });
}

interface World {
  grants: Grant[];
  member: Map<string, string>;
  owner: Map<string, string>;
  direct: Map<string, string>;
  maintain: Map<string, string>;
}

function grantsOf(people: Person[]): World {
  const world: World = {
    grants: [],
    member: new Map(),
    owner: new Map(),
    direct: new Map(),
    maintain: new Map(),
  };
  for (const person of people) {
    const member = orgGrant(person.login, 'member');
    world.grants.push(member);
    world.member.set(person.login, member.grantId);
    let owner: Grant | undefined;
    if (person.owner) {
      owner = orgGrant(person.login, 'owner');
      world.grants.push(owner);
      world.owner.set(person.login, owner.grantId);
    }
    REPOS.forEach((repo, index) => {
      if (person.directAdmin[index]) {
        const grant = makeGrant({
          connector: 'github',
          grantKind: 'user_repository',
          resourceType: 'repository',
          resource: repo,
          principalType: 'user',
          principal: person.login,
          entitlement: 'admin',
          via: { kind: 'direct' },
        });
        world.grants.push(grant);
        world.direct.set(`${person.login} ${repo}`, grant.grantId);
      }
      world.grants.push(
        makeGrant(
          {
            connector: 'github',
            grantKind: 'user_repository',
            resourceType: 'repository',
            resource: repo,
            principalType: 'user',
            principal: person.login,
            entitlement: person.owner ? 'admin' : 'read',
            via: { kind: 'organization_base', organization: 'acme' },
          },
          { reviewable: false, derivedFrom: [member.grantId, ...(owner ? [owner.grantId] : [])] },
        ),
      );
    });
    TEAMS.forEach((team, index) => {
      if (!person.maintainer[index]) return;
      const grant = makeGrant({
        connector: 'github',
        grantKind: 'team_membership',
        resourceType: 'team',
        resource: team,
        principalType: 'user',
        principal: person.login,
        entitlement: 'maintainer',
        via: { kind: 'direct' },
      });
      world.grants.push(grant);
      world.maintain.set(`${person.login} ${team}`, grant.grantId);
    });
  }
  return world;
}

/** Who controls what once `applied` grants are removed, read from the model. */
function controllers(people: Person[], world: World, applied: ReadonlySet<string>, own: ReadonlySet<string>) {
  const inOrg = (p: Person) => !applied.has(world.member.get(p.login)!);
  const isOwner = (p: Person) => p.owner && inOrg(p) && !applied.has(world.owner.get(p.login)!);
  const humans = people.filter((p) => !own.has(p.login));
  const result = new Map<string, number>();
  result.set('acme', humans.filter(isOwner).length);
  for (const repo of REPOS) {
    result.set(
      repo,
      humans.filter(
        (p) =>
          isOwner(p) ||
          (inOrg(p) &&
            world.direct.has(`${p.login} ${repo}`) &&
            !applied.has(world.direct.get(`${p.login} ${repo}`)!)),
      ).length,
    );
  }
  for (const team of TEAMS) {
    result.set(
      team,
      humans.filter(
        (p) =>
          inOrg(p) &&
          world.maintain.has(`${p.login} ${team}`) &&
          !applied.has(world.maintain.get(`${p.login} ${team}`)!),
      ).length,
    );
  }
  return result;
}

const personArb = (login: string) =>
  fc.record({
    login: fc.constant(login),
    owner: fc.boolean(),
    directAdmin: fc.array(fc.boolean(), { minLength: REPOS.length, maxLength: REPOS.length }),
    maintainer: fc.array(fc.boolean(), { minLength: TEAMS.length, maxLength: TEAMS.length }),
  });

const scenarioArb = fc
  .tuple(
    fc.tuple(...['alice', 'bob', 'carol', 'dave', 'bot'].map(personArb)),
    fc.integer({ min: 0, max: 100 }),
    fc.integer({ min: 0, max: 6 }),
    fc.subarray(['bot', 'dave']),
    fc.subarray(['carol']),
    fc.infiniteStream(fc.boolean()),
  )
  .map(([people, maxRevokedPercent, maxPerPrincipal, own, breakGlass, coins]) => {
    const world = grantsOf(people);
    const reviewable = world.grants.filter((g) => g.reviewable);
    const revoke = reviewable.filter(() => coins.next().value).map((g) => g.grantId);
    return { people, world, revoke, maxRevokedPercent, maxPerPrincipal, own, breakGlass };
  });

type Sample = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function inputOf(s: Sample): GuardInput {
  return {
    grants: s.world.grants,
    revoke: s.revoke,
    limits: {
      maxRevokedPercent: s.maxRevokedPercent,
      maxPerPrincipal: s.maxPerPrincipal,
      breakGlass: { github: s.breakGlass, aws: [] },
    },
    ownIdentities: { github: s.own, aws: [] },
  };
}

describe('revocation guard (properties)', () => {
  it('gives every revoke decision exactly one outcome, and only revoke decisions', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const verdict = evaluateRevocationGuard(inputOf(s));
        expect(verdict.items.map((item) => item.grantId)).toEqual(s.revoke);
        expect(verdict.counts.allowed + verdict.counts.held + verdict.counts.forbidden).toBe(s.revoke.length);
        for (const item of verdict.items) expect(item.outcome === 'allowed').toBe(item.reasons.length === 0);
      }),
    );
  });

  it("never lets the tool's own identity be revoked", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const verdict = evaluateRevocationGuard(inputOf(s));
        const byId = new Map(s.world.grants.map((g) => [g.grantId, g]));
        for (const item of verdict.items) {
          const own = s.own.includes(byId.get(item.grantId)!.principal);
          expect(item.outcome === 'forbidden').toBe(own);
        }
      }),
    );
  });

  it('never allows, without a confirmation, what leaves an org, repository or team nobody in control', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const verdict = evaluateRevocationGuard(inputOf(s));
        const allowed = new Set(verdict.items.filter((i) => i.outcome === 'allowed').map((i) => i.grantId));
        const own = new Set(s.own);
        const before = controllers(s.people, s.world, new Set(), own);
        const after = controllers(s.people, s.world, allowed, own);
        for (const [resource, count] of before) {
          if (count > 0) expect(after.get(resource), resource).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('also keeps someone in control when every held revocation is approved, unless it says last_owner', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const verdict = evaluateRevocationGuard(inputOf(s));
        const applied = new Set(verdict.items.filter((i) => i.outcome !== 'forbidden').map((i) => i.grantId));
        const own = new Set(s.own);
        const before = controllers(s.people, s.world, new Set(), own);
        const after = controllers(s.people, s.world, applied, own);
        const lost = [...before].filter(([resource, count]) => count > 0 && after.get(resource) === 0);
        const saysLastOwner = verdict.items.some((i) => i.reasons.some((r) => r.code === 'last_owner'));
        if (lost.length > 0) expect(saysLastOwner).toBe(true);
        for (const [resource] of lost) {
          expect(
            verdict.items.some((i) =>
              i.reasons.some((r) => r.code === 'last_owner' && r.detail.includes(` ${resource} `)),
            ),
            resource,
          ).toBe(true);
        }
      }),
    );
  });

  it('allows no more than the percent limit and the per-principal limit', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const verdict = evaluateRevocationGuard(inputOf(s));
        const reviewable = s.world.grants.filter((g) => g.reviewable).length;
        const allowedItems = verdict.items.filter((i) => i.outcome === 'allowed');
        expect(allowedItems.length).toBeLessThanOrEqual(Math.floor((reviewable * s.maxRevokedPercent) / 100));
        const perPrincipal = new Map<string, number>();
        const byId = new Map(s.world.grants.map((g) => [g.grantId, g]));
        for (const item of allowedItems) {
          const who = byId.get(item.grantId)!.principal;
          perPrincipal.set(who, (perPrincipal.get(who) ?? 0) + 1);
        }
        for (const count of perPrincipal.values()) expect(count).toBeLessThanOrEqual(s.maxPerPrincipal);
      }),
    );
  });

  it('holds every revocation of an org owner and of a break-glass account', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const verdict = evaluateRevocationGuard(inputOf(s));
        const byId = new Map(s.world.grants.map((g) => [g.grantId, g]));
        for (const item of verdict.items) {
          const login = byId.get(item.grantId)!.principal;
          const owner = s.people.find((p) => p.login === login)?.owner;
          if (owner || s.breakGlass.includes(login)) expect(item.outcome).not.toBe('allowed');
        }
      }),
    );
  });

  it('only ever tightens when limits tighten or break-glass accounts are added', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 0, max: 100 }), (s, lower) => {
        const loose = evaluateRevocationGuard(inputOf(s));
        const tight = evaluateRevocationGuard(
          inputOf({
            ...s,
            maxRevokedPercent: Math.min(lower, s.maxRevokedPercent),
            breakGlass: [...s.breakGlass, 'alice'],
          }),
        );
        const rank = { allowed: 0, held: 1, forbidden: 2 } as const;
        loose.items.forEach((item, index) => {
          expect(rank[tight.items[index]!.outcome]).toBeGreaterThanOrEqual(rank[item.outcome]);
        });
      }),
    );
  });
});

describe('revocation guard (examples)', () => {
  const people: Person[] = [
    { login: 'alice', owner: true, directAdmin: [false, false], maintainer: [true, false] },
    { login: 'frank', owner: true, directAdmin: [false, false], maintainer: [false, false] },
    { login: 'bot', owner: true, directAdmin: [false, false], maintainer: [false, false] },
    { login: 'bob', owner: false, directAdmin: [true, false], maintainer: [false, true] },
    { login: 'carol', owner: false, directAdmin: [false, false], maintainer: [false, false] },
  ];
  const world = grantsOf(people);
  const base = {
    grants: world.grants,
    limits: { maxRevokedPercent: 100, maxPerPrincipal: 10, breakGlass: { github: [] as string[], aws: [] } },
    ownIdentities: { github: ['bot'], aws: [] },
  };

  it('allows an ordinary revocation within the limits', () => {
    const verdict = evaluateRevocationGuard({ ...base, revoke: [world.member.get('carol')!] });
    expect(verdict.items).toEqual([{ grantId: world.member.get('carol'), outcome: 'allowed', reasons: [] }]);
  });

  it('reproduces the incident: every owner demoted and removed, the bot too', () => {
    const revoke = ['alice', 'frank', 'bot'].flatMap((login) => [
      world.owner.get(login)!,
      world.member.get(login)!,
    ]);
    const verdict = evaluateRevocationGuard({ ...base, revoke });
    expect(verdict.counts).toEqual({ allowed: 0, held: 4, forbidden: 2 });
    const alice = verdict.items.find((i) => i.grantId === world.owner.get('alice'))!;
    expect(alice.reasons.map((r) => r.detail)).toEqual([
      'alice is an owner of the organization',
      'organization acme would be left with no owner (besides the tool itself)',
      // Owners administer every repository through the org: with no owner, acme/web has no admin.
      'repository acme/web would be left with no admin (besides the tool itself)',
    ]);
    // alice's removal from the org also takes away platform's only maintainer.
    const aliceRemoval = verdict.items.find((i) => i.grantId === world.member.get('alice'))!;
    expect(aliceRemoval.reasons.map((r) => r.detail)).toContain(
      'team acme/platform would be left with no maintainer (besides the tool itself)',
    );
    expect(verdict.items.find((i) => i.grantId === world.member.get('bot'))!.outcome).toBe('forbidden');
  });

  it('holds the removal of the last admin of a repository that no owner administers', () => {
    const noOwners = grantsOf(people.map((p) => ({ ...p, owner: false })));
    const verdict = evaluateRevocationGuard({
      ...base,
      grants: noOwners.grants,
      revoke: [noOwners.direct.get('bob acme/api')!],
    });
    expect(verdict.items[0]!.outcome).toBe('held');
    expect(verdict.items[0]!.reasons).toEqual([
      {
        code: 'last_owner',
        detail: 'repository acme/api would be left with no admin (besides the tool itself)',
      },
    ]);
  });

  it('allows exactly the percent allowance, and holds the batch one revocation past it', () => {
    // 9 reviewable grants at 25%: 2 may go without a confirmation.
    const plain = [world.member.get('carol')!, world.direct.get('bob acme/api')!];
    const limits = { ...base.limits, maxRevokedPercent: 25 };
    const reviewable = world.grants.filter((g) => g.reviewable).length;
    expect(Math.floor((reviewable * 25) / 100)).toBe(2);
    const within = evaluateRevocationGuard({ ...base, limits, revoke: plain });
    expect(within.counts).toEqual({ allowed: 2, held: 0, forbidden: 0 });
    const past = evaluateRevocationGuard({
      ...base,
      limits,
      revoke: [...plain, world.member.get('bob')!],
    });
    expect(past.overPercentLimit).toBe(true);
    expect(past.counts).toEqual({ allowed: 0, held: 3, forbidden: 0 });
    // And one principal at its limit, then past it.
    const perPrincipal = { ...base.limits, maxPerPrincipal: 1 };
    expect(
      evaluateRevocationGuard({ ...base, limits: perPrincipal, revoke: [plain[1]!] }).counts.allowed,
    ).toBe(1);
    const twice = evaluateRevocationGuard({
      ...base,
      limits: perPrincipal,
      revoke: [plain[1]!, world.member.get('bob')!],
    });
    expect(twice.items.map((i) => i.reasons.some((r) => r.code === 'over_principal_limit'))).toEqual([
      true,
      true,
    ]);
  });

  it('holds the whole batch over the percent limit and a principal over its limit', () => {
    const revoke = [world.member.get('carol')!, world.direct.get('bob acme/api')!];
    const verdict = evaluateRevocationGuard({
      ...base,
      revoke,
      limits: { ...base.limits, maxRevokedPercent: 5, maxPerPrincipal: 0 },
    });
    expect(verdict.overPercentLimit).toBe(true);
    expect(verdict.percentAllowance).toBe(0);
    expect(verdict.items.every((i) => i.outcome === 'held')).toBe(true);
    expect(verdict.items[0]!.reasons.map((r) => r.code)).toEqual([
      'over_principal_limit',
      'over_percent_limit',
    ]);
    expect(verdict.principalsOverLimit).toEqual([
      { principal: 'github:bob', count: 1 },
      { principal: 'github:carol', count: 1 },
    ]);
  });

  it('protects an App by its bot login and AWS roles with their sessions', () => {
    const app = makeGrant({
      connector: 'github',
      grantKind: 'app_installation',
      resourceType: 'organization',
      resource: 'acme',
      principalType: 'app',
      principal: 'access-review',
      entitlement: 'members:write',
      via: { kind: 'direct' },
    });
    const session = makeGrant({
      connector: 'aws',
      grantKind: 'secret_read',
      resourceType: 'aws_secret',
      resource: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf',
      principalType: 'iam_role',
      principal: 'arn:aws:sts::111122223333:assumed-role/break-glass/jane',
      entitlement: 'read',
      via: { kind: 'resource_policy' },
    });
    const verdict = evaluateRevocationGuard({
      grants: [app, session],
      revoke: [app.grantId, session.grantId],
      limits: {
        maxRevokedPercent: 100,
        maxPerPrincipal: 10,
        breakGlass: { github: [], aws: ['arn:aws:iam::111122223333:role/emergency/break-glass'] },
      },
      ownIdentities: { github: ['access-review[bot]'], aws: [] },
    });
    expect(verdict.items.map((i) => [i.outcome, i.reasons.map((r) => r.code)])).toEqual([
      ['forbidden', ['own_identity']],
      ['held', ['break_glass']],
    ]);
  });

  it('matches roles by account and name, not by path or another account', () => {
    const protectedRoles = ['arn:aws:iam::111122223333:role/access-review-read'];
    expect(
      matchesAwsPrincipal('arn:aws:sts::111122223333:assumed-role/access-review-read/s1', protectedRoles),
    ).toBe(true);
    expect(matchesAwsPrincipal('arn:aws:iam::111122223333:role/x/access-review-read', protectedRoles)).toBe(
      true,
    );
    expect(matchesAwsPrincipal('arn:aws:iam::999988887777:role/access-review-read', protectedRoles)).toBe(
      false,
    );
    expect(matchesAwsPrincipal('arn:aws:iam::111122223333:user/access-review-read', protectedRoles)).toBe(
      false,
    );
  });

  it("collects the tool's identities from configuration, connectors and the configured roles", () => {
    expect(
      ownIdentitiesOf(
        {
          revocationGuard: { ownIdentities: { github: ['Ops-Bot'], aws: [] } },
          aws: {
            accounts: [
              {
                readRoleArn: 'arn:aws:iam::111122223333:role/r',
                revokeRoleArn: 'arn:aws:iam::111122223333:role/w',
              },
            ],
          },
        },
        { github: ['access-review[bot]'] },
      ),
    ).toEqual({
      github: ['access-review[bot]', 'ops-bot'],
      aws: ['arn:aws:iam::111122223333:role/r', 'arn:aws:iam::111122223333:role/w'],
    });
  });
});

describe('approval button values', () => {
  it('carry the campaign id only; anything else is refused', async () => {
    const { approvalButtonValue, parseApprovalButtonValue } = await import(
      '../../functions/slack/approval-blocks'
    );
    expect(parseApprovalButtonValue(approvalButtonValue('2026-Q4-1'))).toEqual({ campaignId: '2026-Q4-1' });
    for (const bad of [
      '',
      'not json',
      '{}',
      '{"c":1}',
      '{"c":"x","g":"y"}',
      '{"c":"x","__proto__":{"a":1}}',
    ]) {
      expect(() => parseApprovalButtonValue(bad), bad).toThrow(/approval button value/);
    }
  });
});
