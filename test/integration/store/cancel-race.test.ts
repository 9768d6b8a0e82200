import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelCampaign } from '../../../functions/steps/cancel-campaign';
import { checkRevocations } from '../../../functions/steps/check-revocations';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

let dynamo: LocalDynamo;
let store: Store;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('cancel-race'));
});
afterAll(async () => {
  await dynamo.close();
});

const BY = { by: 'U0SEC0001', byName: 'sam', reason: 'wrong scope', phase: 'in_review' as const };

describe('cancel against beginRevoking: exactly one wins', () => {
  it('races on one campaign item, in any interleaving: cancel wins and nothing may begin, or revoking began and cancel is refused', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('cancel', 'begin'), { minLength: 2, maxLength: 6 }),
        fc.nat(3),
        async (callers, delayed) => {
          const campaignId = `2026-Q4-${(run++).toString(16).padStart(8, '0')}`;
          await createTestCampaign(store, campaignId, 'in_review');
          const at = new Date('2026-12-01T10:00:00Z');
          const results = await Promise.all(
            callers.map(async (kind, index) => {
              if (index === delayed) await new Promise((resolve) => setTimeout(resolve, 1));
              return kind === 'cancel'
                ? {
                    kind,
                    won: (await store.campaigns.cancel(campaignId, { ...BY, at: at.toISOString() }))
                      .cancelled,
                  }
                : { kind, won: (await store.campaigns.beginRevoking(campaignId, at)).begun };
            }),
          );
          const cancelWins = results.filter((r) => r.kind === 'cancel' && r.won).length;
          const beginWins = results.filter((r) => r.kind === 'begin' && r.won).length;
          const campaign = await store.campaigns.get(campaignId);
          // At most one cancel is ever recorded, and never together with a begun revocation.
          expect(cancelWins).toBeLessThanOrEqual(1);
          expect(cancelWins > 0 && beginWins > 0).toBe(false);
          expect(campaign.cancellation !== undefined && campaign.revocationsBegunAt !== undefined).toBe(
            false,
          );
          // Whoever won, the other side is decided for good.
          if (campaign.cancellation) {
            expect((await store.campaigns.beginRevoking(campaignId, at)).begun).toBe(false);
          } else {
            expect(campaign.revocationsBegunAt).toBeDefined();
            expect(
              (await store.campaigns.cancel(campaignId, { ...BY, at: at.toISOString() })).cancelled,
            ).toBe(false);
          }
        },
      ),
      { numRuns: 15, seed: 10 },
    );
  });

  it('beginRevoking is idempotent (a retried ApplyRevocations begins again) and keeps the first time', async () => {
    const campaignId = '2026-Q4-0000beef';
    await createTestCampaign(store, campaignId, 'in_review');
    expect(await store.campaigns.beginRevoking(campaignId, new Date('2026-12-01T10:00:00Z'))).toEqual({
      begun: true,
    });
    expect(await store.campaigns.beginRevoking(campaignId, new Date('2026-12-01T11:00:00Z'))).toEqual({
      begun: true,
    });
    expect((await store.campaigns.get(campaignId)).revocationsBegunAt).toBe('2026-12-01T10:00:00.000Z');
  });

  it('refuses to cancel a campaign still being set up, completed, or failed, naming why', async () => {
    for (const [status, words] of [
      ['snapshotting', 'still being set up'],
      ['completed', 'already completed'],
    ] as const) {
      const campaignId = `2026-Q4-${status === 'completed' ? '0000c0de' : '0000f00d'}`;
      await createTestCampaign(store, campaignId, status);
      const outcome = await cancelCampaign(
        { campaignId, slackUserId: 'U0SEC0001', name: 'sam', reason: null },
        testServices(store),
      );
      expect(outcome.kind).toBe('refused');
      expect(outcome.kind === 'refused' && outcome.reason).toContain(words);
      expect((await store.campaigns.get(campaignId)).cancellation).toBeUndefined();
      expect(await store.events.findFirst(campaignId, 'campaign_cancelled')).toBeUndefined();
    }
  });
});

describe('cancelling a campaign in review', () => {
  it('records who cancelled, closes the open task at the event time, resumes its token; CheckRevocations says cancelled', async () => {
    const campaignId = '2026-Q4-00ca0ce1';
    await seedReviewTask(store, {
      campaignId,
      reviewer: 'alice',
      slackUserId: 'U0ALICE01',
      principals: ['carol', 'gina'],
      entitlement: 'admin',
    });
    await store.tasks.storeToken(
      campaignId,
      'alice',
      'token-alice',
      new Date(),
      new Date(Date.now() + 3_600_000),
    );
    const resumed: Array<{ token: string; output: Record<string, unknown> }> = [];
    const services = testServices(store, {
      tasks: { succeed: async (token, output) => void resumed.push({ token, output }) },
      now: () => new Date('2026-12-01T12:00:00Z'),
    });
    const outcome = await cancelCampaign(
      { campaignId, slackUserId: 'U0SEC0001', name: 'sam', reason: 'started by mistake' },
      services,
    );
    expect(outcome).toMatchObject({ kind: 'cancelled', tasksClosed: 1, tokensResumed: 1, resumeFailures: 0 });
    expect(resumed).toEqual([
      { token: 'token-alice', output: { reviewer: 'alice', decided: 0, cancelled: true } },
    ]);
    const event = await store.events.findFirst(campaignId, 'campaign_cancelled');
    expect(event?.data).toEqual({
      by: 'U0SEC0001',
      byName: 'sam',
      reason: 'started by mistake',
      phase: 'in_review',
    });
    const task = await store.tasks.get(campaignId, 'alice');
    expect(task).toMatchObject({ status: 'cancelled', completedAt: event?.at });
    expect((await store.campaigns.get(campaignId)).cancellation?.eventSeq).toBe(event?.seq);

    // A second cancel changes nothing and says who cancelled first.
    const again = await cancelCampaign(
      { campaignId, slackUserId: 'U0OTHER01', name: 'olga', reason: null },
      services,
    );
    expect(again).toMatchObject({
      kind: 'already_cancelled',
      tasksClosed: 0,
      cancellation: { by: 'U0SEC0001' },
    });
    expect((await store.events.list(campaignId)).filter((e) => e.type === 'campaign_cancelled')).toHaveLength(
      1,
    );

    // After the reviews: no guard verdict, nothing held, the workflow goes to Finalize.
    expect(await checkRevocations({ campaignId }, services)).toEqual({
      campaignId,
      cancelled: true,
      revocations: 0,
      allowed: 0,
      held: 0,
      forbidden: 0,
    });
    expect(await store.approvals.getGuardSummary(campaignId)).toBeUndefined();
    // ApplyRevocations' first write refuses: nothing is revoked after a cancel.
    expect(await store.campaigns.beginRevoking(campaignId, new Date())).toMatchObject({
      begun: false,
      cancellation: { by: 'U0SEC0001', byName: 'sam' },
    });
    // Finalize may close it from in_review.
    await store.campaigns.advance(campaignId, 'completed');
    expect((await store.campaigns.get(campaignId)).status).toBe('completed');
  });

  it('a click after the cancel is not counted: the task is closed', async () => {
    const campaignId = '2026-Q4-00ca0ce2';
    await seedReviewTask(store, {
      campaignId,
      reviewer: 'alice',
      slackUserId: 'U0ALICE01',
      principals: ['carol'],
      entitlement: 'read',
    });
    await cancelCampaign(
      { campaignId, slackUserId: 'U0SEC0001', name: null, reason: null },
      testServices(store),
    );
    expect(await store.tasks.close(campaignId, 'alice', 'completed', new Date())).toBeUndefined();
    expect(await store.tasks.close(campaignId, 'alice', 'unresponsive', new Date())).toBeUndefined();
  });

  it('an uncancelled campaign cannot skip to completed', async () => {
    const campaignId = '2026-Q4-00ca0ce3';
    await createTestCampaign(store, campaignId, 'in_review');
    await expect(store.campaigns.advance(campaignId, 'completed')).rejects.toThrow(
      /cannot move to completed/,
    );
  });
});
