import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../functions/runtime/services';
import { finalizeCampaign } from '../../../functions/steps/finalize';
import { verifyChain } from '../../../functions/store/events';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { startTestStore, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/** Finalize after crashes between a record and its event: every record ends with one event. */
let dynamo: LocalDynamo;
let store: Store;
let services: Services;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('finalize'));
  services = testServices(store);
});

afterAll(async () => {
  await dynamo?.close();
});

describe('finalize', () => {
  it('appends a lost event once, links an unlinked one, and never writes an event twice', async () => {
    const campaignId = 'c-finalize';
    const [lost, unlinked] = await seedReviewTask(store, {
      campaignId,
      reviewer: 'alice',
      slackUserId: 'U0ALICE01',
      principals: ['bob', 'carol'],
      entitlement: 'write',
    });
    const decide = (grantId: string) =>
      store.decisions.record({
        campaignId,
        grantId,
        decision: 'revoke',
        reviewer: 'alice',
        decidedBySlackUserId: 'U0ALICE01',
        decidedAt: new Date().toISOString(),
        channel: 'slack',
      });
    // One decision lost its event (crash before the append)…
    await decide(lost!);
    // …the other got its event but not the link (crash before linkEvent).
    await decide(unlinked!);
    const appended = await store.events.append(
      campaignId,
      'decision_recorded',
      { grantId: unlinked, decision: 'revoke', reviewer: 'alice', decidedBySlackUserId: 'U0ALICE01' },
      new Date(),
    );
    for (const status of ['assigning', 'in_review', 'revoking', 'verifying'] as const) {
      await store.campaigns.advance(campaignId, status).catch(() => undefined);
    }

    const summary = await finalizeCampaign({ campaignId }, services);
    await finalizeCampaign({ campaignId }, services);

    const events = await store.events.list(campaignId);
    const decisionEvents = events.filter((e) => e.type === 'decision_recorded');
    expect(decisionEvents.map((e) => e.data.grantId).sort()).toEqual([lost, unlinked].sort());
    expect(decisionEvents.find((e) => e.data.grantId === lost)?.data.recovered).toBe(true);
    expect((await store.decisions.get(campaignId, unlinked!))?.eventSeq).toBe(appended.seq);
    expect((await store.decisions.get(campaignId, lost!))?.eventSeq).toBeGreaterThan(appended.seq);
    expect(events.filter((e) => e.type === 'campaign_completed')).toHaveLength(1);
    expect(verifyChain(events).ok).toBe(true);
    expect(summary.status).toBe('completed');
  });

  it('recovers a lost remediation event with what the person must do', async () => {
    const campaignId = 'c-finalize-remediation';
    const [grantId] = await seedReviewTask(store, {
      campaignId,
      reviewer: 'alice',
      slackUserId: 'U0ALICE01',
      principals: ['dependency-scanner'],
      entitlement: 'contents:read',
    });
    await store.decisions.record({
      campaignId,
      grantId: grantId!,
      decision: 'revoke',
      reviewer: 'alice',
      decidedBySlackUserId: 'U0ALICE01',
      decidedAt: new Date().toISOString(),
      channel: 'slack',
    });
    // ApplyRevocations recorded the outcome, then crashed before appending its event.
    await store.outcomes.beginRevocation(campaignId, grantId!, new Date().toISOString());
    await store.outcomes.finishRevocation({
      campaignId,
      grantId: grantId!,
      status: 'remediation_required',
      at: new Date().toISOString(),
      action: 'no API uninstalls an app',
      remediation: 'An org owner uninstalls dependency-scanner',
    });
    for (const status of ['revoking', 'verifying'] as const) {
      await store.campaigns.advance(campaignId, status).catch(() => undefined);
    }
    await finalizeCampaign({ campaignId }, services);
    const recovered = (await store.events.list(campaignId)).find((e) => e.type === 'revocation_applied');
    expect(recovered?.data).toMatchObject({
      grantId,
      status: 'remediation_required',
      remediation: 'An org owner uninstalls dependency-scanner',
      recovered: true,
    });
  });
});
