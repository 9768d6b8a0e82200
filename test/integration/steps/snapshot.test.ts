import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connector, connectorRegistry } from '../../../functions/connectors/connector';
import { TransientError } from '../../../functions/core/errors';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import { grantContentHash, snapshotDigest } from '../../../functions/evidence/grant-digest';
import { takeSnapshot } from '../../../functions/steps/snapshot';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';

/** A snapshot retried after a fault: what the completed attempt found is the snapshot, exactly. */
let dynamo: LocalDynamo;
let store: Store;

const grant = (principal: string) =>
  makeGrant({
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource: 'acme/api',
    principalType: 'user',
    principal,
    entitlement: 'read',
    via: { kind: 'direct' },
  });

/** Yields `grants`, failing with a TransientError after `failAfter` of them (once). */
function connectorYielding(attempts: Array<{ grants: Grant[]; failAfter?: number }>): Connector {
  let attempt = 0;
  return {
    name: 'github',
    async *snapshot() {
      const { grants, failAfter } = attempts[attempt++]!;
      for (const [index, g] of grants.entries()) {
        if (index === failAfter) throw new TransientError('GitHub answered 502');
        yield g;
      }
    },
    revoke: async () => {
      throw new Error('not used');
    },
    check: async () => {
      throw new Error('not used');
    },
    usage: () => ({ requests: { graphql: attempt }, points: { graphql: attempt } }),
  };
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('snapshot'));
});

afterAll(async () => {
  await dynamo?.close();
});

describe('snapshot retried after a fault', () => {
  it('keeps only what the completed attempt found, and its digest matches the stored grants', async () => {
    const campaignId = 'c-snapshot';
    await createTestCampaign(store, campaignId, 'snapshotting');
    const [carol, gina, bob] = [grant('carol'), grant('gina'), grant('bob')];
    // The first attempt writes carol and gina, then fails; by the retry gina's access is gone.
    const connector = connectorYielding([
      { grants: [carol!, gina!, bob!], failAfter: 2 },
      { grants: [carol!, bob!] },
    ]);
    const services = testServices(store, {
      connectors: connectorRegistry({ github: async () => connector }),
    });
    // Pages of 500 are written as they fill; a fault mid-page loses only the unwritten part, so
    // make the first attempt's grants reach the table as a real first page would.
    await store.grants.putMany(
      [carol!, gina!].map((g) => ({ ...g, campaignId, snapshotAt: new Date().toISOString() })),
    );
    await expect(takeSnapshot({ campaignId }, services)).rejects.toThrow(TransientError);
    const result = await takeSnapshot({ campaignId }, services);

    expect(result.grantCount).toBe(2);
    const stored = await store.grants.list(campaignId);
    expect(stored.map((g) => g.principal).sort()).toEqual(['bob', 'carol']);
    const event = await store.events.findFirst(campaignId, 'snapshot_taken');
    expect(event?.data.digest).toBe(
      snapshotDigest(new Map(stored.map((g) => [g.grantId, grantContentHash(g)]))),
    );
    expect((await store.grants.list(campaignId, { includeStale: true })).length).toBe(3);
  });
});
