import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeGrant } from '../../../functions/core/grant';
import { verifyChain } from '../../../functions/store/events';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore } from '../../support/local-store';

/** The store against dynalite, with the table shape the CDK stack synthesizes. */
let dynamo: LocalDynamo;
let store: Store;
const at = new Date('2026-10-01T09:00:00Z');

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('store-test'));
});

afterAll(async () => {
  await dynamo?.close();
});

async function newCampaign(campaignId: string) {
  await createTestCampaign(store, campaignId, 'snapshotting', at);
}

describe('event log', () => {
  it('keeps one unbroken chain when many writers append at once', async () => {
    await newCampaign('c-chain');
    await Promise.all(
      Array.from({ length: 25 }, (_, index) =>
        store.events.append('c-chain', 'decision_recorded', { index }, at),
      ),
    );
    const events = await store.events.list('c-chain');
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, index) => index + 1));
    expect(new Set(events.map((e) => e.data.index)).size).toBe(25);
    expect(verifyChain(events).ok).toBe(true);
  });

  it('detects an event whose content was changed after it was written', async () => {
    const events = await store.events.list('c-chain');
    const altered = events.map((e, index) => (index === 5 ? { ...e, data: { index: 999 } } : e));
    expect(verifyChain(altered)).toEqual({ ok: false, seq: 6, reason: 'hash does not match content' });
  });
});

describe('decisions', () => {
  it('writes a decision once, even when two arrive together', async () => {
    await newCampaign('c-decide');
    const decide = (decision: 'keep' | 'revoke') =>
      store.decisions.record({
        campaignId: 'c-decide',
        grantId: 'g_1',
        decision,
        reviewer: 'alice',
        decidedBySlackUserId: 'U0ALICE01',
        decidedAt: at.toISOString(),
        channel: 'slack',
      });
    const results = await Promise.all([decide('keep'), decide('revoke'), decide('keep')]);
    expect(results.filter((r) => r.recorded)).toHaveLength(1);
    const winner = results.find((r) => r.recorded)!.decision.decision;
    expect(results.every((r) => r.decision.decision === winner)).toBe(true);
    expect(await store.decisions.list('c-decide')).toHaveLength(1);
  });
});

describe('campaigns and tasks', () => {
  it('moves a campaign forward only, one step at a time', async () => {
    await newCampaign('c-status');
    await store.campaigns.advance('c-status', 'assigning', { counts: { grants: 3 } });
    await store.campaigns.advance('c-status', 'assigning');
    await expect(store.campaigns.advance('c-status', 'snapshotting')).rejects.toThrow(
      /cannot move to snapshotting/,
    );
    await expect(store.campaigns.advance('c-status', 'completed')).rejects.toThrow(
      /cannot move to completed/,
    );
    expect((await store.campaigns.get('c-status')).counts).toEqual({ grants: 3 });
  });

  it('hands a task token back to exactly one closer, and never exposes it on reads', async () => {
    await newCampaign('c-task');
    await store.tasks.create({
      campaignId: 'c-task',
      reviewer: 'alice',
      slackUserId: 'U0ALICE01',
      grantCount: 1,
      status: 'pending',
      dueAt: at.toISOString(),
    });
    await store.tasks.storeToken('c-task', 'alice', 'token-123', at, at);
    expect(JSON.stringify(await store.tasks.get('c-task', 'alice'))).not.toContain('token-123');
    const closes = await Promise.all([
      store.tasks.close('c-task', 'alice', 'completed', at),
      store.tasks.close('c-task', 'alice', 'unresponsive', at),
    ]);
    expect(closes.filter((c) => c?.taskToken === 'token-123')).toHaveLength(1);
    expect(closes.filter((c) => c === undefined)).toHaveLength(1);
  });

  it('overwrites a grant written again by a retried page instead of adding a second row', async () => {
    await newCampaign('c-grants');
    const grant = makeGrant({
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      principal: 'carol',
      entitlement: 'write',
      via: { kind: 'direct' },
    });
    const stored = { ...grant, campaignId: 'c-grants', snapshotAt: at.toISOString() };
    await store.grants.putMany([stored]);
    await store.grants.putMany([stored]);
    expect(await store.grants.list('c-grants')).toHaveLength(1);
  });
});
