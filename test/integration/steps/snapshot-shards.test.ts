import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Connector,
  connectorRegistry,
  type SnapshotCheckpoint,
} from '../../../functions/connectors/connector';
import { TransientError } from '../../../functions/core/errors';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import { grantContentHash, snapshotDigest } from '../../../functions/evidence/grant-digest';
import type { Services } from '../../../functions/runtime/services';
import { type SnapshotOutput, takeSnapshot } from '../../../functions/steps/snapshot';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';

/**
 * A snapshot read in shards (connector checkpoints, several invocations) records exactly what one
 * invocation reading everything records; an invocation that dies resumes from its last checkpoint.
 */
let dynamo: LocalDynamo;
let store: Store;
const NOW = new Date('2026-10-01T09:00:00.000Z');

const githubGrant = (repo: number, principal: string) =>
  makeGrant(
    {
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: `acme/repo-${repo}`,
      principalType: 'user',
      principal,
      entitlement: repo % 3 === 0 ? 'write' : 'read',
      via: { kind: 'direct' },
    },
    { reviewable: repo % 4 !== 1 },
  );

const awsGrant = (n: number) =>
  makeGrant({
    connector: 'aws',
    grantKind: 'secret_read',
    resourceType: 'aws_secret',
    resource: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:app-${n}`,
    principalType: 'iam_role',
    principal: 'arn:aws:iam::111122223333:role/api',
    entitlement: 'read',
    via: { kind: 'resource_policy' },
  });

/**
 * Yields `grants` with a checkpoint after every `every` of them (cursor: the index to resume at),
 * one request per grant read; `failAt` (once) throws a TransientError before yielding that index.
 */
function resumableConnector(
  grants: () => Grant[],
  every: number,
  failAt?: number,
): Connector & { reads: number } {
  let requests = 0;
  let failed = false;
  const connector = {
    name: 'github' as const,
    reads: 0,
    async *snapshot() {
      yield* grants();
    },
    async *resumableSnapshot(resumeFrom?: string): AsyncIterable<Grant | SnapshotCheckpoint> {
      connector.reads++;
      const all = grants();
      const start = resumeFrom === undefined ? 0 : (JSON.parse(resumeFrom) as { at: number }).at;
      for (let index = start; index < all.length; index++) {
        if (index === failAt && !failed) {
          failed = true;
          throw new TransientError('GitHub answered 502');
        }
        requests++;
        yield all[index]!;
        if ((index + 1) % every === 0 && index + 1 < all.length) {
          yield { kind: 'checkpoint', cursor: JSON.stringify({ at: index + 1 }) };
        }
      }
    },
    revoke: async () => {
      throw new Error('not used');
    },
    check: async () => {
      throw new Error('not used');
    },
    usage: () => ({ requests: { graphql: requests }, points: { graphql: requests } }),
  };
  return connector;
}

/** An AWS connector without resumableSnapshot: read in one go. */
function plainConnector(grants: Grant[]): Connector {
  let requests = 0;
  return {
    name: 'aws',
    async *snapshot() {
      for (const grant of grants) {
        requests++;
        yield grant;
      }
    },
    revoke: async () => {
      throw new Error('not used');
    },
    check: async () => {
      throw new Error('not used');
    },
    usage: () => ({ requests: { iam: requests }, points: {} }),
  };
}

function servicesWith(connectors: Connector[], timeLeftMs?: () => number): Services {
  const factories = Object.fromEntries(connectors.map((c) => [c.name, async () => c]));
  return testServices(store, {
    connectors: connectorRegistry(factories),
    now: () => NOW,
    ...(timeLeftMs ? { timeLeftMs } : {}),
  });
}

/** Calls the step as the workflow's loop does until it reports complete (at most `limit` times). */
async function runToCompletion(
  campaignId: string,
  services: () => Services,
  limit = 500,
): Promise<{ result: SnapshotOutput; invocations: number }> {
  for (let invocation = 1; invocation <= limit; invocation++) {
    const result = await takeSnapshot({ campaignId }, services());
    if (result.complete) return { result, invocations: invocation };
  }
  throw new Error(`snapshot of ${campaignId} not complete after ${limit} invocations`);
}

async function snapshotEvent(campaignId: string) {
  const event = await store.events.findFirst(campaignId, 'snapshot_taken');
  if (!event) throw new Error(`no snapshot_taken in ${campaignId}`);
  return event.data;
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('snapshot-shards'));
});

afterAll(async () => {
  await dynamo?.close();
});

let campaigns = 0;
const newCampaign = async () => {
  const campaignId = `c-shards-${++campaigns}`;
  await createTestCampaign(store, campaignId, 'snapshotting', NOW);
  return campaignId;
};

describe('snapshot in shards', () => {
  it('records the same event, digest and counts as one invocation, however the invocations are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 2, max: 12 }),
        // Some invocation must have time for the closing pass, or no run could ever finish.
        fc
          .array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 })
          .filter((budgets) => budgets.some((budget) => budget > 0)),
        async (githubCount, every, budgets) => {
          const github = Array.from({ length: githubCount }, (_, i) => githubGrant(i, `user-${i % 7}`));
          const aws = [awsGrant(1), awsGrant(2)];
          const single = await newCampaign();
          const whole = await takeSnapshot(
            { campaignId: single },
            servicesWith([resumableConnector(() => github, every), plainConnector(aws)]),
          );
          expect(whole.complete).toBe(true);

          const sharded = await newCampaign();
          const githubShards = resumableConnector(() => github, every);
          const awsPlain = plainConnector(aws);
          // Each invocation may pass `budget` time checks before it is told its time is short.
          let call = 0;
          const { result } = await runToCompletion(sharded, () => {
            let budget = budgets[call++ % budgets.length]!;
            return servicesWith([githubShards, awsPlain], () => (budget-- > 0 ? 900_000 : 1_000));
          });
          expect(result).toEqual({ ...whole, campaignId: sharded });
          const [a, b] = [await snapshotEvent(single), await snapshotEvent(sharded)];
          expect(b).toEqual(a);
          const stored = await store.grants.list(sharded);
          expect(stored.map((g) => g.grantId).sort()).toEqual(
            [...github, ...aws].map((g) => g.grantId).sort(),
          );
        },
      ),
      { numRuns: 8 },
    );
  });

  it('stops at a checkpoint when the time runs short, and says so', async () => {
    const campaignId = await newCampaign();
    const github = Array.from({ length: 30 }, (_, i) => githubGrant(i, 'bob'));
    const connector = resumableConnector(() => github, 10);
    const first = await takeSnapshot(
      { campaignId },
      servicesWith([connector], () => 1_000),
    );
    expect(first).toEqual({ campaignId, grantCount: 10, reviewableCount: 7, complete: false });
    expect((await store.grants.list(campaignId)).length).toBe(10);
    expect(await store.events.findFirst(campaignId, 'snapshot_taken')).toBeUndefined();
    expect((await store.campaigns.get(campaignId)).status).toBe('snapshotting');
    const last = await takeSnapshot({ campaignId }, servicesWith([connector]));
    expect(last).toEqual({ campaignId, grantCount: 30, reviewableCount: 22, complete: true });
    // The second invocation resumed at grant 10; it did not read from the start again.
    expect(connector.reads).toBe(2);
    expect(connector.usage().requests.graphql).toBe(30);
    expect((await snapshotEvent(campaignId)).usage).toEqual({
      github: { requests: { graphql: 30 }, points: { graphql: 30 } },
    });
  });

  it('resumes a failed invocation at its last checkpoint; grants only the failed one wrote are stale', async () => {
    const campaignId = await newCampaign();
    // 700 grants between checkpoints, so the failed invocation flushes a page of 500 past its
    // checkpoint before it dies at grant 1,400 + 600.
    let source = Array.from({ length: 2_100 }, (_, i) => githubGrant(i, 'carol'));
    const connector = resumableConnector(() => source, 700, 2_000);
    await expect(takeSnapshot({ campaignId }, servicesWith([connector]))).rejects.toThrow(TransientError);
    const written = await store.grants.list(campaignId, { includeStale: true });
    expect(written.length).toBe(1_900);
    // Before the retry, repository 1,450's grant disappears at the source.
    const gone = source[1_450]!;
    source = source.filter((g) => g.grantId !== gone.grantId);
    const result = await takeSnapshot({ campaignId }, servicesWith([connector]));
    expect(result.complete).toBe(true);
    expect(result.grantCount).toBe(2_099);
    // Resumed from the checkpoint at 1,400, not from the start.
    expect(connector.reads).toBe(2);
    const stored = await store.grants.list(campaignId);
    expect(stored.some((g) => g.grantId === gone.grantId)).toBe(false);
    expect((await store.grants.get(campaignId, gone.grantId)) as unknown).toMatchObject({ stale: true });
    expect((await snapshotEvent(campaignId)).digest).toBe(
      snapshotDigest(new Map(stored.map((g) => [g.grantId, grantContentHash(g)]))),
    );
  });
});
