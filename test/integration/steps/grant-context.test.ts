import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deployKeyKey,
  personalAccessTokenKey,
  userRepositoryKey,
} from '../../../functions/connectors/github/keys';
import { type GrantKey, makeGrant } from '../../../functions/core/grant';
import { type GrantContextStats, grantContexts } from '../../../functions/steps/grant-context';
import type { Campaign } from '../../../functions/store/campaigns';
import type { Decision } from '../../../functions/store/decisions';
import type { StoredGrant } from '../../../functions/store/grants';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { startTestStore, TEST_CONFIG } from '../../support/local-store';

/**
 * The context beside each grant comes from the newest completed, not cancelled campaign whose scope
 * covered it, read once per campaign; the same access is found by id or, when only the path
 * changed, by principal, resource and entitlement.
 */
let dynamo: LocalDynamo;
let store: Store;

const at = (day: number) => `2026-0${day}-01T09:00:00.000Z`;
const stored = (campaignId: string, day: number, key: GrantKey, raw: Record<string, unknown> = {}) =>
  ({ ...makeGrant(key, { raw }), campaignId, snapshotAt: at(day), snapshotSegment: 1 }) as StoredGrant;

const carolWrite = userRepositoryKey('acme', 'api', 'carol', 'write', { kind: 'direct' });
const ginaRead = userRepositoryKey('acme', 'api', 'gina', 'read', { kind: 'direct' });
const ginaReadViaTeam = userRepositoryKey('acme', 'api', 'gina', 'read', {
  kind: 'team',
  team: 'acme/platform',
});
const daveWeb = userRepositoryKey('acme', 'web', 'dave', 'write', { kind: 'direct' });
const erinWeb = userRepositoryKey('acme', 'web', 'erin', 'read', { kind: 'direct' });
const newOnApi = userRepositoryKey('acme', 'api', 'judy', 'write', { kind: 'direct' });
const key = deployKeyKey('acme', 'api', 4711, 'docs-mirror', true);
const token = personalAccessTokenKey('acme', 77, 'carol', 'release', { contents: 'write' });

async function campaign(
  campaignId: string,
  day: number,
  grants: StoredGrant[],
  options: { status?: Campaign['status']; scope?: string[]; cancelled?: boolean } = {},
): Promise<Campaign> {
  const record: Campaign = {
    campaignId,
    organization: 'acme',
    status: options.status ?? 'completed',
    trigger: 'test',
    requestedBy: 'vitest',
    executionName: campaignId,
    startedAt: at(day),
    counts: {},
    ...(options.scope ? { scope: options.scope } : {}),
    ...(options.cancelled
      ? { cancellation: { by: 'U0ERIN001', byName: 'erin', reason: null, phase: 'in_review', at: at(day) } }
      : {}),
  } as Campaign;
  await store.campaigns.create(record);
  await store.grants.putMany(grants);
  return record;
}

async function decide(campaignId: string, key: GrantKey, decision: Partial<Decision>): Promise<void> {
  await store.decisions.record({
    campaignId,
    grantId: makeGrant(key).grantId,
    decision: 'keep',
    reviewer: 'bob',
    decidedBySlackUserId: 'U0BOB0001',
    decidedAt: '2026-02-02T10:00:00.000Z',
    channel: 'slack',
    ...decision,
  });
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('grant-context'));
});
afterAll(async () => dynamo?.close());

describe('grant context', () => {
  it('per grant, from the last campaign that covered it: new, last decision, who, when active', async () => {
    // Q1, whole organisation: carol kept by bob; gina (direct) revoked by the end-of-window policy.
    await campaign('q1', 2, [
      stored('q1', 2, carolWrite),
      stored('q1', 2, ginaRead),
      stored('q1', 2, daveWeb),
    ]);
    await decide('q1', carolWrite, {});
    await decide('q1', ginaRead, { decision: 'revoke', decidedBySlackUserId: '', channel: 'policy' });
    await decide('q1', daveWeb, { decision: 'revoke' });
    // Ad hoc over acme/web only: dave kept, delegated to carol who decided.
    await campaign('web', 3, [stored('web', 3, daveWeb)], { scope: ['repo:acme/web'] });
    await decide('web', daveWeb, {
      reviewer: 'dave',
      decidedBy: 'carol',
      decidedAt: '2026-03-03T10:00:00.000Z',
    });
    // Newer but cancelled, and one still running: neither is "the last campaign".
    await campaign('cancelled', 4, [], { cancelled: true });
    await campaign('running', 5, [], { status: 'in_review' });

    const current = await campaign('q2', 6, [], { status: 'assigning' });
    const grants = [
      stored('q2', 6, carolWrite),
      stored('q2', 6, ginaReadViaTeam),
      stored('q2', 6, newOnApi),
      stored('q2', 6, daveWeb),
      stored('q2', 6, erinWeb),
      stored('q2', 6, key, { lastUsed: '2026-05-20T00:00:00Z' }),
      stored('q2', 6, token, { lastUsedAt: null }),
    ];
    const stats: GrantContextStats = { campaignsRead: [], earlierGrantsRead: 0, earlierGrantsKept: 0 };
    const contexts = await grantContexts(current, grants, { store, config: TEST_CONFIG }, stats);
    const of = (k: GrantKey) => contexts.get(makeGrant(k).grantId);

    expect(of(carolWrite)).toEqual({
      newSinceLastCampaign: false,
      lastCampaignId: 'q1',
      lastDecision: 'keep',
      lastDecidedBy: 'bob',
      lastDecidedAt: '2026-02-02T10:00:00.000Z',
      lastDecisionChannel: 'slack',
    });
    // Same access by another path (direct then, via a team now): not new; the policy decided, nobody.
    expect(of(ginaReadViaTeam)).toEqual({
      newSinceLastCampaign: false,
      lastCampaignId: 'q1',
      lastDecision: 'revoke',
      lastDecidedAt: '2026-02-02T10:00:00.000Z',
      lastDecisionChannel: 'policy',
    });
    expect(of(newOnApi)).toEqual({ newSinceLastCampaign: true, lastCampaignId: 'q1' });
    // acme/web's last look was the scoped campaign; the delegate decided there.
    expect(of(daveWeb)).toMatchObject({
      lastCampaignId: 'web',
      lastDecision: 'keep',
      lastDecidedBy: 'carol',
      newSinceLastCampaign: false,
    });
    expect(of(erinWeb)).toEqual({ newSinceLastCampaign: true, lastCampaignId: 'web' });
    expect(of(key)).toEqual({
      newSinceLastCampaign: true,
      lastCampaignId: 'q1',
      lastActiveAt: '2026-05-20T00:00:00.000Z',
      lastActiveSource: 'GitHub deploy key record',
    });
    // A token GitHub says was never used: the source, without a time ("no activity recorded").
    expect(of(token)).toEqual({
      newSinceLastCampaign: true,
      lastCampaignId: 'q1',
      lastActiveSource: 'GitHub token record',
    });
    // Each covering campaign read once, newest first; the cancelled and the running one never.
    expect(stats.campaignsRead).toEqual(['web', 'q1']);
    expect(stats.earlierGrantsRead).toBe(4);
  });

  it('with no earlier campaign covering a grant, nothing is called new', async () => {
    const first = await campaign('first-of-org', 1, [], { status: 'assigning' });
    const contexts = await grantContexts(first, [stored('first-of-org', 1, carolWrite)], {
      store,
      config: TEST_CONFIG,
    });
    expect([...contexts.values()]).toEqual([{ newSinceLastCampaign: false }]);
  });
});
