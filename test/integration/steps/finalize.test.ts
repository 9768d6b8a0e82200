import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import type { Services } from '../../../functions/runtime/services';
import { finalizeCampaign } from '../../../functions/steps/finalize';
import { verifyChain } from '../../../functions/store/events';
import { createStore, type Store } from '../../../functions/store/index';
import { type LocalDynamo, startLocalDynamo } from '../../../lib/local/dynamo';
import { synthesizeForLocalHost } from '../../../lib/local/synthesized-workflow';
import { seedReviewTask } from '../../support/review-task';

/** Finalize after crashes between a record and its event: every record ends with one event. */
const config = parseConfig({
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice'] },
  people: [{ github: 'alice', email: 'alice@acme.example' }],
});
let dynamo: LocalDynamo;
let store: Store;
let services: Services;

beforeAll(async () => {
  dynamo = await startLocalDynamo({ tableName: 'finalize', schema: synthesizeForLocalHost(config).table });
  store = createStore(dynamo.table);
  services = {
    config,
    store,
    github: async () => {
      throw new Error('not used');
    },
    slack: async () => {
      throw new Error('not used');
    },
    tasks: { succeed: async () => undefined, fail: async () => undefined },
    now: () => new Date(),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    progress: () => undefined,
  };
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
});
