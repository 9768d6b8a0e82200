import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type GrantFlag, type GrantKey, makeGrant, type Via } from '../../../functions/core/grant';
import {
  campaignDelta,
  countDelta,
  type DeltaEntry,
  emptyDeltaCounts,
} from '../../../functions/evidence/delta';
import { EvidenceOrderError, type GrantRecords } from '../../../functions/evidence/merge';
import type { Decision } from '../../../functions/store/decisions';
import type { StoredGrant } from '../../../functions/store/grants';
import type { Revocation, Verification } from '../../../functions/store/outcomes';
import { fuzzParameters } from '../../fuzz/fuzz-parameters';

const A = { id: 'c-a', snapshotAt: '2026-04-01T09:00:00.000Z' };
const B = { id: 'c-b', snapshotAt: '2026-07-01T09:00:00.000Z' };

function grant(
  campaign: { id: string; snapshotAt: string },
  key: Partial<GrantKey> & { principal: string },
  extra: { flags?: GrantFlag[]; reviewable?: boolean; holder?: string; raw?: Record<string, unknown> } = {},
): StoredGrant {
  const full: GrantKey = {
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource: 'acme/api',
    entitlement: 'write',
    via: { kind: 'direct' },
    principalType: 'user',
    ...key,
  };
  return { ...makeGrant(full, extra), campaignId: campaign.id, snapshotAt: campaign.snapshotAt };
}

function decided(g: StoredGrant, decision: 'keep' | 'revoke', decidedAt: string): Decision {
  return {
    campaignId: g.campaignId,
    grantId: g.grantId,
    decision,
    reviewer: 'bob',
    decidedBySlackUserId: 'U0BOB',
    decidedAt,
    channel: 'slack',
  };
}

type Records = Omit<GrantRecords, 'grantId'> & { grant: StoredGrant };

/** A campaign's records in grant-id order, in pages of `pageSize`, as mergeByGrant yields them. */
async function* stream(records: readonly Records[]): AsyncGenerator<GrantRecords> {
  const sorted = [...records].sort((x, y) => (x.grant.grantId < y.grant.grantId ? -1 : 1));
  for (const r of sorted) yield { grantId: r.grant.grantId, ...r };
}

async function delta(a: readonly Records[], b: readonly Records[]): Promise<DeltaEntry[]> {
  const entries: DeltaEntry[] = [];
  for await (const entry of campaignDelta(stream(a), stream(b))) entries.push(entry);
  return entries;
}

describe('campaign delta', () => {
  it('sorts grants into new, removed, changed and unchanged, and says what changed', async () => {
    const keepA = grant(A, { principal: 'alice' });
    const goneA = grant(A, { principal: 'carol', resource: 'acme/web' });
    const promotedA = grant(A, { principal: 'dave', entitlement: 'write' });
    const flaggedA = grant(A, { principal: 'erin', resource: 'acme/web' });
    const viaA = grant(A, { principal: 'frank', via: { kind: 'team', team: 'acme/platform' } });
    const entries = await delta(
      [{ grant: keepA }, { grant: goneA }, { grant: promotedA }, { grant: flaggedA }, { grant: viaA }],
      [
        { grant: grant(B, { principal: 'alice' }, { raw: { lastUsed: 'yesterday' } }) },
        { grant: grant(B, { principal: 'Dave', entitlement: 'admin' }) },
        { grant: grant(B, { principal: 'erin', resource: 'acme/web' }, { flags: ['two_factor_disabled'] }) },
        { grant: grant(B, { principal: 'frank', via: { kind: 'direct' } }) },
        { grant: grant(B, { principal: 'gina' }) },
      ],
    );
    const byPrincipal = new Map(entries.map((e) => [(e.to ?? e.from)?.grant.principal.toLowerCase(), e]));
    expect(byPrincipal.get('alice')).toMatchObject({ change: 'unchanged', changes: [] });
    expect(byPrincipal.get('carol')?.change).toBe('removed');
    expect(byPrincipal.get('carol')?.to).toBeUndefined();
    expect(byPrincipal.get('dave')).toMatchObject({
      change: 'changed',
      changes: ['entitlement write → admin'],
    });
    expect(byPrincipal.get('erin')).toMatchObject({
      change: 'changed',
      changes: ['flags +two_factor_disabled'],
    });
    expect(byPrincipal.get('frank')).toMatchObject({
      change: 'changed',
      changes: ['via team:acme/platform → direct'],
    });
    expect(byPrincipal.get('gina')?.change).toBe('new');
    expect(byPrincipal.get('gina')?.from).toBeUndefined();
    const counts = emptyDeltaCounts();
    for (const e of entries) countDelta(counts, e);
    expect(counts).toEqual({
      new: 1,
      removed: 1,
      changed: 3,
      unchanged: 1,
      keptThenRevoked: 0,
      revokedThenPresent: 0,
    });
  });

  it('pairs by the same via before the same entitlement, and never across principals or kinds', async () => {
    const entries = await delta(
      [
        { grant: grant(A, { principal: 'alice', entitlement: 'write' }) },
        {
          grant: grant(A, { principal: 'alice', entitlement: 'read', via: { kind: 'team', team: 'acme/x' } }),
        },
        { grant: grant(A, { principal: 'bob', grantKind: 'team_repository', principalType: 'team' }) },
      ],
      [
        { grant: grant(B, { principal: 'alice', entitlement: 'admin' }) },
        {
          grant: grant(B, { principal: 'alice', entitlement: 'read', via: { kind: 'team', team: 'acme/y' } }),
        },
        { grant: grant(B, { principal: 'bob', entitlement: 'admin' }) },
      ],
    );
    const changes = entries.map((e) => `${e.change}:${e.changes.join(',')}`).sort();
    expect(changes).toEqual([
      'changed:entitlement write → admin',
      'changed:via team:acme/x → team:acme/y',
      'new:',
      'removed:',
    ]);
  });

  it('flags a keep that became a revoke, and a revoked grant present in a later snapshot', async () => {
    const kept = grant(A, { principal: 'alice' });
    const revoked = grant(A, { principal: 'bob' });
    const revokedAgainLater = grant(A, { principal: 'carol' });
    const revocation: Revocation = {
      campaignId: A.id,
      grantId: revoked.grantId,
      status: 'removed',
      at: '2026-04-10T00:00:00.000Z',
    };
    const verification: Verification = {
      campaignId: A.id,
      grantId: revoked.grantId,
      status: 'absent',
      checkedAt: '2026-04-10T00:05:00.000Z',
      paths: [],
    };
    const bobB = grant(B, { principal: 'bob' });
    const entries = await delta(
      [
        { grant: kept, decision: decided(kept, 'keep', '2026-04-02T00:00:00.000Z') },
        {
          grant: revoked,
          decision: decided(revoked, 'revoke', '2026-04-02T00:00:00.000Z'),
          revocation,
          verification,
        },
        {
          grant: revokedAgainLater,
          decision: decided(revokedAgainLater, 'revoke', '2026-04-02T00:00:00.000Z'),
        },
      ],
      [
        {
          grant: grant(B, { principal: 'alice' }),
          decision: decided(grant(B, { principal: 'alice' }), 'revoke', '2026-07-02T00:00:00.000Z'),
        },
        { grant: bobB },
      ],
    );
    const findings = Object.fromEntries(entries.map((e) => [(e.from ?? e.to)?.grant.principal, e.findings]));
    expect(findings).toEqual({
      alice: ['kept_then_revoked'],
      bob: ['revoked_then_present'],
      carol: [],
    });
  });

  it('does not call a grant present again when the later snapshot came before the revocation finished', async () => {
    const revoked = grant(A, { principal: 'bob' });
    const early = { ...grant(B, { principal: 'bob' }), snapshotAt: '2026-04-05T00:00:00.000Z' };
    const [entry] = await delta(
      [
        {
          grant: revoked,
          decision: decided(revoked, 'revoke', '2026-04-02T00:00:00.000Z'),
          revocation: {
            campaignId: A.id,
            grantId: revoked.grantId,
            status: 'removed',
            at: '2026-04-06T00:00:00.000Z',
          },
        },
      ],
      [{ grant: early }],
    );
    expect(entry?.findings).toEqual([]);
  });

  it('leaves out records without a grant, and refuses a stream out of grant-id order', async () => {
    const g = grant(A, { principal: 'alice' });
    async function* withOrphan(): AsyncGenerator<GrantRecords> {
      yield { grantId: 'g_0', decision: decided({ ...g, grantId: 'g_0' }, 'keep', g.snapshotAt) };
      yield { grantId: g.grantId, grant: g };
    }
    const entries: DeltaEntry[] = [];
    for await (const e of campaignDelta(withOrphan(), stream([{ grant: g }]))) entries.push(e);
    expect(entries.map((e) => e.change)).toEqual(['unchanged']);

    async function* backwards(): AsyncGenerator<GrantRecords> {
      yield { grantId: 'g_2', grant: { ...g, grantId: 'g_2' } };
      yield { grantId: 'g_1', grant: { ...g, grantId: 'g_1' } };
    }
    await expect(async () => {
      for await (const _ of campaignDelta(backwards(), stream([]))) void _;
    }).rejects.toThrow(EvidenceOrderError);
  });
});

// ------------------------------------------------------------------------------------------------
// Properties over random campaigns
// ------------------------------------------------------------------------------------------------

const PRINCIPALS = ['alice', 'bob', 'carol'];
const RESOURCES = ['acme/api', 'acme/web'];
const ENTITLEMENTS = ['read', 'write', 'admin'];
const VIAS: Via[] = [{ kind: 'direct' }, { kind: 'team', team: 'acme/platform' }];
const FLAGS: GrantFlag[] = ['two_factor_disabled', 'outside_collaborator'];

const grantSpec = fc.record({
  principal: fc.constantFrom(...PRINCIPALS),
  resource: fc.constantFrom(...RESOURCES),
  entitlement: fc.constantFrom(...ENTITLEMENTS),
  via: fc.constantFrom(...VIAS),
  flags: fc.subarray(FLAGS),
  decision: fc.constantFrom(undefined, 'keep' as const, 'revoke' as const),
});

type GrantSpec = typeof grantSpec extends fc.Arbitrary<infer T> ? T : never;

function campaign(which: { id: string; snapshotAt: string }, specs: readonly GrantSpec[]): Records[] {
  const byId = new Map<string, Records>();
  for (const spec of specs) {
    const g = grant(which, spec, { flags: spec.flags });
    const decidedAt = new Date(Date.parse(which.snapshotAt) + 3_600_000).toISOString();
    byId.set(g.grantId, {
      grant: g,
      ...(spec.decision ? { decision: decided(g, spec.decision, decidedAt) } : {}),
    });
  }
  return [...byId.values()];
}

describe('campaign delta properties', () => {
  it('A → A is empty: every grant unchanged, nothing flagged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(grantSpec, { maxLength: 20 }), async (specs) => {
        const a = campaign(A, specs);
        const entries = await delta(a, a);
        expect(entries.every((e) => e.change === 'unchanged' && e.changes.length === 0)).toBe(true);
        expect(entries.flatMap((e) => e.findings)).toEqual([]);
        expect(entries).toHaveLength(a.length);
      }),
      fuzzParameters(200),
    );
  });

  it('every grant of A ∪ B lands in exactly one entry, on the side it came from', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(grantSpec, { maxLength: 20 }),
        fc.array(grantSpec, { maxLength: 20 }),
        async (specsA, specsB) => {
          const [a, b] = [campaign(A, specsA), campaign(B, specsB)];
          const entries = await delta(a, b);
          const seenA = entries.flatMap((e) => (e.from ? [e.from.grantId] : []));
          const seenB = entries.flatMap((e) => (e.to ? [e.to.grantId] : []));
          expect(seenA.sort()).toEqual(a.map((r) => r.grant.grantId).sort());
          expect(seenB.sort()).toEqual(b.map((r) => r.grant.grantId).sort());
          for (const e of entries) {
            if (e.change === 'new') expect(e.from === undefined && e.to !== undefined).toBe(true);
            else if (e.change === 'removed') expect(e.from !== undefined && e.to === undefined).toBe(true);
            else expect(e.from !== undefined && e.to !== undefined).toBe(true);
            if (e.change === 'unchanged') expect(e.from?.grantId).toBe(e.to?.grantId);
            if (e.change === 'changed') expect(e.changes.length).toBeGreaterThan(0);
            // A grant id only one side has is paired only within the same principal and resource.
            if (e.from && e.to && e.from.grantId !== e.to.grantId) {
              expect(e.from.grant.principal).toBe(e.to.grant.principal);
              expect(e.from.grant.resource).toBe(e.to.grant.resource);
            }
            // Every revoke in A whose grant B still has (same id) is a finding: B is a later snapshot.
            if (e.from?.decision?.decision === 'revoke' && e.to) {
              expect(e.findings).toContain('revoked_then_present');
            }
          }
        },
      ),
      fuzzParameters(200),
    );
  });
});
