import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import {
  GRANT_HASH_VERSION,
  grantContentHash,
  hashVersionOf,
  snapshotDigest,
} from '../../../functions/evidence/grant-digest';

/*
 * A grant's content hash is what anchors grants.csv in the hash chain: every field that says what
 * the access is must change it, and nothing else may. Version 1 (the first release) must keep
 * hashing exactly as it did, or evidence exported by that release stops verifying.
 */
const team = makeGrant({
  connector: 'github',
  grantKind: 'team_membership',
  resourceType: 'team',
  resource: 'acme/platform',
  principalType: 'user',
  principal: 'carol',
  entitlement: 'member',
  via: { kind: 'direct' },
});
const base = makeGrant(
  {
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource: 'acme/api',
    principalType: 'user',
    principal: 'carol',
    entitlement: 'write',
    via: { kind: 'team', team: 'acme/platform' },
  },
  { reviewable: false, derivedFrom: [team.grantId], flags: ['outside_collaborator'], holder: 'carol' },
);

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('grantContentHash', () => {
  it('is version 2 by default', () => {
    expect(GRANT_HASH_VERSION).toBe(2);
    expect(grantContentHash(base)).toBe(grantContentHash(base, 2));
    expect(grantContentHash(base, 1)).not.toBe(grantContentHash(base, 2));
  });

  it('is SHA-256 over the canonical JSON of the content fields (pinned: evidence already exported must verify)', () => {
    const v1 = {
      connector: 'github',
      derivedFrom: [team.grantId],
      entitlement: 'write',
      grantId: base.grantId,
      principal: 'carol',
      principalType: 'user',
      resource: 'acme/api',
      resourceType: 'repository',
      reviewable: false,
      via: { kind: 'team', team: 'acme/platform' },
    };
    const canonical = (value: Record<string, unknown>) =>
      `{${Object.keys(value)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${JSON.stringify(value[key])}`)
        .join(',')}}`;
    expect(grantContentHash(base, 1)).toBe(sha(canonical(v1)));
    const v2 = { ...v1, flags: ['outside_collaborator'], grantKind: 'user_repository', holder: 'carol' };
    expect(grantContentHash(base, 2)).toBe(sha(canonical(v2)));
    const { holder: _holder, ...withoutHolder } = base;
    expect(grantContentHash(withoutHolder as Grant, 2)).toBe(sha(canonical({ ...v2, holder: null })));
  });

  it('changes with derivedFrom, in both versions', () => {
    for (const version of [1, 2] as const) {
      const hash = grantContentHash(base, version);
      expect(grantContentHash({ ...base, derivedFrom: [] }, version), `v${version}`).not.toBe(hash);
      expect(grantContentHash({ ...base, derivedFrom: ['g_other'] }, version), `v${version}`).not.toBe(hash);
      expect(
        grantContentHash({ ...base, derivedFrom: [team.grantId, 'g_other'] }, version),
        `v${version}`,
      ).not.toBe(hash);
    }
  });

  it('changes with every field that says what the access is', () => {
    const changes: Array<Partial<Grant>> = [
      { grantId: 'g_other' },
      { connector: 'aws' },
      { resourceType: 'organization' },
      { resource: 'acme/web' },
      { principalType: 'team' },
      { principal: 'dave' },
      { entitlement: 'admin' },
      { via: { kind: 'direct' } },
      { reviewable: true },
      { derivedFrom: [] },
    ];
    for (const version of [1, 2] as const) {
      for (const change of changes) {
        expect(grantContentHash({ ...base, ...change }, version), JSON.stringify(change)).not.toBe(
          grantContentHash(base, version),
        );
      }
    }
    for (const change of [
      { grantKind: 'repository_invitation' },
      { flags: [] },
      { flags: ['outside_collaborator', 'two_factor_disabled'] },
      { holder: 'dave' },
    ] as Array<Partial<Grant>>) {
      expect(grantContentHash({ ...base, ...change }), JSON.stringify(change)).not.toBe(
        grantContentHash(base),
      );
      // Version 1 predates these fields: they must not change what it hashes.
      expect(grantContentHash({ ...base, ...change }, 1), JSON.stringify(change)).toBe(
        grantContentHash(base, 1),
      );
    }
  });

  it('ignores the raw source record and key order; an absent holder hashes as null', () => {
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as unknown as Grant;
    expect(grantContentHash({ ...base, raw: { anything: 1 } })).toBe(grantContentHash(base));
    expect(grantContentHash(reordered)).toBe(grantContentHash(base));
    const { holder: _holder, ...withoutHolder } = base;
    expect(grantContentHash(withoutHolder as Grant)).toBe(
      grantContentHash({ ...withoutHolder, holder: undefined } as Grant),
    );
    expect(grantContentHash(withoutHolder as Grant)).not.toBe(grantContentHash(base));
  });
});

describe('hashVersionOf', () => {
  it('reads version 1 for snapshots written before versions were recorded, 2 for 2, nothing else', () => {
    expect(hashVersionOf(undefined)).toBe(1);
    expect(hashVersionOf({ digest: 'x' })).toBe(1);
    expect(hashVersionOf({ hashVersion: 2 })).toBe(2);
    expect(hashVersionOf({ hashVersion: 1 })).toBeUndefined();
    expect(hashVersionOf({ hashVersion: 3 })).toBeUndefined();
    expect(hashVersionOf({ hashVersion: '2' })).toBeUndefined();
    expect(hashVersionOf({ hashVersion: null })).toBeUndefined();
  });
});

describe('snapshotDigest', () => {
  it('is SHA-256 over `<grantId>:<hash>` lines in grant-id order, whatever the insertion order', () => {
    const hashes = new Map([
      ['g_b', 'hash-b'],
      ['g_a', 'hash-a'],
    ]);
    expect(snapshotDigest(hashes)).toBe(sha('g_a:hash-a\ng_b:hash-b\n'));
    expect(snapshotDigest(new Map([...hashes].reverse()))).toBe(snapshotDigest(hashes));
    expect(snapshotDigest(new Map())).toBe(sha(''));
  });

  it('changes when a grant is added, dropped or re-hashed', () => {
    const hashes = new Map([
      ['g_a', 'hash-a'],
      ['g_b', 'hash-b'],
    ]);
    const digest = snapshotDigest(hashes);
    expect(snapshotDigest(new Map([['g_a', 'hash-a']]))).not.toBe(digest);
    expect(snapshotDigest(new Map([...hashes, ['g_c', 'hash-c']]))).not.toBe(digest);
    expect(snapshotDigest(new Map([...hashes, ['g_b', 'hash-x']]))).not.toBe(digest);
  });
});
