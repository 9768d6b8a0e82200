import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelCampaign } from '../../../functions/steps/cancel-campaign';
import { recordDecision } from '../../../functions/steps/record-decision';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { startTestStore, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/**
 * A decision's time is the click's, taken before the task is read open. A cancel that lands
 * between that read and the write is later than the decision, which is what the evidence check
 * (a decision at or before the cancel) accepts; stamped at the write, an honest click would read
 * as a decision after the cancel. (Reproduction by the reviewer of issue 10.)
 */

let dynamo: LocalDynamo;
let store: Store;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('decision-click-time'));
});

afterAll(async () => {
  await dynamo?.close();
});

describe('recordDecision', () => {
  it('stamps the decision with the click time, before a cancel that lands between its read and its write', async () => {
    const campaignId = '2026-Q4-0000dac1';
    const [grantId] = await seedReviewTask(store, {
      campaignId,
      reviewer: 'alice',
      slackUserId: 'U0ALICE01',
      principals: ['carol'],
      entitlement: 'read',
    });
    // Each reading of the clock is a second later than the last.
    let t = Date.parse('2026-12-01T12:00:00Z');
    const now = () => {
      t += 1000;
      return new Date(t);
    };
    await store.tasks.markRequested(campaignId, 'alice', now(), new Date(t + 3_600_000));
    const base = testServices(store, { now });
    let fired = false;
    const tasks = Object.create(store.tasks) as Store['tasks'];
    tasks.get = async (c: string, r: string) => {
      const task = await store.tasks.get(c, r);
      if (!fired) {
        fired = true;
        await cancelCampaign({ campaignId, slackUserId: 'U0SEC0001', name: 'sam', reason: null }, base);
      }
      return task;
    };
    const outcome = await recordDecision(
      { campaignId, grantId: grantId as string, decision: 'revoke', slackUserId: 'U0ALICE01' },
      { ...base, store: { ...store, tasks } as Store },
    );
    expect(outcome.kind).toBe('recorded');
    const events = await store.events.list(campaignId);
    const cancelled = events.find((e) => e.type === 'campaign_cancelled')!;
    const decided = events.find((e) => e.type === 'decision_recorded')!;
    expect(decided.seq).toBeGreaterThan(cancelled.seq);
    expect(Date.parse(decided.at)).toBeLessThanOrEqual(Date.parse(cancelled.at));
    expect((await store.decisions.get(campaignId, grantId as string))?.decidedAt).toBe(decided.at);
  });
});
