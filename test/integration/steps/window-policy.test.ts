import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessReviewConfig } from '../../../functions/core/config';
import { type Grant, type GrantKey, makeGrant } from '../../../functions/core/grant';
import type { Services } from '../../../functions/runtime/services';
import { markUnresponsive } from '../../../functions/steps/mark-unresponsive';
import { recordDecision } from '../../../functions/steps/record-decision';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore, TEST_CONFIG, testServices } from '../../support/local-store';

/**
 * What happens to grants still undecided when the review window closes (review.endOfWindow): kept
 * or revoked by their kind's policy (an exception, recorded as such), or left undecided; each
 * once, however often MarkUnresponsive runs, and a page at a time however large the task.
 */
const ALICE = 'U0ALICE01';

let dynamo: LocalDynamo;
let store: Store;
let counter = 0;
let campaignId: string;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('window-policy'));
});
afterAll(async () => {
  await dynamo?.close();
});
beforeEach(() => {
  campaignId = `wp-${++counter}`;
});

function withPolicy(endOfWindow: AccessReviewConfig['review']['endOfWindow']): AccessReviewConfig {
  return { ...TEST_CONFIG, review: { ...TEST_CONFIG.review, endOfWindow } };
}

const servicesWith = (config: AccessReviewConfig, overrides: Partial<Services> = {}) =>
  testServices(store, { config, ...overrides });

const collaborator = (principal: string): GrantKey => ({
  connector: 'github',
  grantKind: 'user_repository',
  resourceType: 'repository',
  resource: 'acme/api',
  principalType: 'user',
  principal,
  entitlement: 'write',
  via: { kind: 'direct' },
});

const deployKey = (id: number): GrantKey => ({
  connector: 'github',
  grantKind: 'deploy_key',
  resourceType: 'repository',
  resource: 'acme/api',
  principalType: 'deploy_key',
  principal: `${id}:ci`,
  entitlement: 'write',
  via: { kind: 'direct' },
});

const teamMembership: GrantKey = {
  connector: 'github',
  grantKind: 'team_membership',
  resourceType: 'team',
  resource: 'acme/platform',
  principalType: 'user',
  principal: 'erin',
  entitlement: 'member',
  via: { kind: 'direct' },
};

/** A campaign in review with one awaiting task of alice's over `keys`. */
async function seedTask(keys: GrantKey[]): Promise<Grant[]> {
  const now = new Date().toISOString();
  await createTestCampaign(store, campaignId, 'in_review');
  const grants = keys.map((key) => makeGrant(key));
  await store.grants.putMany(grants.map((grant) => ({ ...grant, campaignId, snapshotAt: now })));
  await store.grants.assignMany(
    campaignId,
    grants.map((grant) => ({
      grantId: grant.grantId,
      reviewer: 'alice',
      routingReason: 'owner of acme/api',
      holderSlackUserIds: [],
    })),
  );
  await store.tasks.create({
    campaignId,
    reviewer: 'alice',
    slackUserId: ALICE,
    grantCount: grants.length,
    status: 'pending',
    dueAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
  await store.tasks.storeToken(campaignId, 'alice', `token-${campaignId}`, new Date(), new Date());
  return grants;
}

const close = (services: Services) =>
  markUnresponsive({ campaignId, reviewer: 'alice', error: { Error: 'States.Timeout' } }, services);

const eventsOf = async (type: string) =>
  (await store.events.list(campaignId)).filter((event) => event.type === type);

describe('end-of-window policy', () => {
  it('keeps and revokes undecided grants by kind, as exceptions after the close, and leaves the rest', async () => {
    const [bob, carol, key, team] = await seedTask([
      collaborator('bob'),
      collaborator('carol'),
      deployKey(7),
      teamMembership,
    ]);
    const services = servicesWith(
      withPolicy({ default: 'leave', byGrantKind: { user_repository: 'keep', deploy_key: 'revoke' } }),
    );
    // Alice decided carol herself: the policy leaves a reviewer's decision alone.
    expect(
      (
        await recordDecision(
          { campaignId, grantId: carol!.grantId, decision: 'revoke', slackUserId: ALICE },
          services,
        )
      ).kind,
    ).toBe('recorded');

    const result = await close(services);
    expect(result).toMatchObject({
      status: 'unresponsive',
      undecided: 3,
      policy: { kept: 1, revoked: 1, left: 1 },
      complete: true,
    });

    const bobDecision = await store.decisions.get(campaignId, bob!.grantId);
    expect(bobDecision).toMatchObject({
      decision: 'keep',
      channel: 'policy',
      decidedBySlackUserId: '',
      reviewer: 'alice',
    });
    expect(await store.decisions.get(campaignId, key!.grantId)).toMatchObject({
      decision: 'revoke',
      channel: 'policy',
    });
    expect(await store.decisions.get(campaignId, carol!.grantId)).toMatchObject({
      decision: 'revoke',
      channel: 'slack',
    });
    expect(await store.decisions.get(campaignId, team!.grantId)).toBeUndefined();

    const events = await store.events.list(campaignId);
    const closedAt = events.find((event) => event.type === 'reviewer_unresponsive')!.seq;
    const applied = events.filter((event) => event.type === 'window_policy_applied');
    expect(
      applied.map((event) => event.data).sort((a, b) => String(a.policy).localeCompare(String(b.policy))),
    ).toEqual([
      { grantId: bob!.grantId, reviewer: 'alice', grantKind: 'user_repository', policy: 'keep' },
      { grantId: key!.grantId, reviewer: 'alice', grantKind: 'deploy_key', policy: 'revoke' },
    ]);
    const policyDecisions = events.filter(
      (event) => event.type === 'decision_recorded' && event.data.channel === 'policy',
    );
    expect(policyDecisions).toHaveLength(2);
    for (const event of [...applied, ...policyDecisions]) expect(event.seq).toBeGreaterThan(closedAt);
    const bobEvent = policyDecisions.find((event) => event.data.grantId === bob!.grantId)!;
    expect(bobEvent.data).toEqual({
      grantId: bob!.grantId,
      decision: 'keep',
      reviewer: 'alice',
      decidedBySlackUserId: '',
      justification: null,
      channel: 'policy',
    });
    // The record names its event, at the event's own time; the task's counts are the reviewer's.
    expect(bobDecision?.eventSeq).toBe(bobEvent.seq);
    expect(bobDecision?.decidedAt).toBe(bobEvent.at);
    expect(await store.tasks.get(campaignId, 'alice')).toMatchObject({
      status: 'unresponsive',
      decidedCount: 1,
    });
  });

  it('writes nothing more when MarkUnresponsive runs again', async () => {
    await seedTask([collaborator('bob'), deployKey(8)]);
    const services = servicesWith(withPolicy({ default: 'revoke', byGrantKind: {} }));
    await close(services);
    const before = await store.events.list(campaignId);
    const again = await close(services);
    expect(again).toMatchObject({ status: 'unresponsive', policy: { kept: 0, revoked: 0 }, complete: true });
    expect(await store.events.list(campaignId)).toEqual(before);
    expect(before.filter((event) => event.type === 'window_policy_applied')).toHaveLength(2);
  });

  it('finishes the events of a decision an earlier run wrote before it stopped, without repeating one', async () => {
    const [bob, carol] = await seedTask([collaborator('bob'), collaborator('carol')]);
    const services = servicesWith(withPolicy({ default: 'keep', byGrantKind: {} }));
    // An earlier run closed the task, wrote both decisions, and stopped: bob's after its first
    // event, carol's before any.
    await store.tasks.close(campaignId, 'alice', 'unresponsive', new Date());
    const decidedAt = new Date(Date.now() - 1000);
    for (const grant of [bob!, carol!]) {
      await store.decisions.record({
        campaignId,
        grantId: grant.grantId,
        decision: 'keep',
        reviewer: 'alice',
        decidedBySlackUserId: '',
        decidedAt: decidedAt.toISOString(),
        channel: 'policy',
      });
    }
    await store.events.append(
      campaignId,
      'window_policy_applied',
      { grantId: bob!.grantId, reviewer: 'alice', grantKind: 'user_repository', policy: 'keep' },
      decidedAt,
    );

    expect(await close(services)).toMatchObject({ policy: { kept: 2 }, complete: true });
    const applied = await eventsOf('window_policy_applied');
    expect(applied.map((event) => event.data.grantId).sort()).toEqual([bob!.grantId, carol!.grantId].sort());
    const decided = await eventsOf('decision_recorded');
    expect(decided.map((event) => event.data.grantId).sort()).toEqual([bob!.grantId, carol!.grantId].sort());
    for (const event of [...applied, ...decided]) expect(event.at).toBe(decidedAt.toISOString());
    expect((await store.decisions.get(campaignId, carol!.grantId))?.eventSeq).toBe(
      decided.find((event) => event.data.grantId === carol!.grantId)?.seq,
    );
  });

  it('leaves every undecided grant undecided by default', async () => {
    const [bob] = await seedTask([collaborator('bob'), deployKey(9)]);
    const result = await close(servicesWith(TEST_CONFIG));
    expect(result).toMatchObject({ status: 'unresponsive', undecided: 2, complete: true });
    expect(result.policy).toBeUndefined();
    expect(await store.decisions.get(campaignId, bob!.grantId)).toBeUndefined();
    expect(await eventsOf('window_policy_applied')).toEqual([]);
    expect(await eventsOf('decision_recorded')).toEqual([]);
  });

  it('decides nothing for a campaign cancelled meanwhile', async () => {
    const [bob] = await seedTask([collaborator('bob')]);
    await store.campaigns.cancel(campaignId, {
      by: 'U0SEC0001',
      byName: 'sam',
      reason: null,
      phase: 'in_review',
      at: new Date().toISOString(),
    });
    const result = await close(servicesWith(withPolicy({ default: 'keep', byGrantKind: {} })));
    expect(result.complete).toBe(true);
    expect(await store.decisions.get(campaignId, bob!.grantId)).toBeUndefined();
  });

  it('goes through a large task a page at a time, stopping when time is short and resuming', async () => {
    const keys = Array.from({ length: 120 }, (_, index) =>
      collaborator(`user${String(index).padStart(3, '0')}`),
    );
    await seedTask(keys);
    const config = withPolicy({ default: 'revoke', byGrantKind: {} });
    const limits: number[] = [];
    const grantsAfter = store.tasks.grantsAfter.bind(store.tasks);
    const pagedStore = {
      ...store,
      tasks: Object.assign(Object.create(store.tasks), {
        grantsAfter: (...args: Parameters<typeof grantsAfter>) => {
          limits.push(args[3]);
          return grantsAfter(...args);
        },
      }),
    } as Store;
    // Time for one page, then short: the run stops and says so.
    let checks = 0;
    const first = await close(
      testServices(pagedStore, { config, timeLeftMs: () => (++checks <= 1 ? 900_000 : 1_000) }),
    );
    expect(first).toMatchObject({ status: 'unresponsive', complete: false, policy: { revoked: 100 } });
    const second = await close(testServices(pagedStore, { config }));
    expect(second).toMatchObject({ complete: true, policy: { revoked: 20 } });
    expect(limits.every((limit) => limit <= 100)).toBe(true);
    const applied = await eventsOf('window_policy_applied');
    expect(applied).toHaveLength(120);
    expect(new Set(applied.map((event) => event.data.grantId)).size).toBe(120);
    expect(await eventsOf('decision_recorded')).toHaveLength(120);
  });
});
