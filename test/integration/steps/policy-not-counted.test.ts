import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkDecider, writeDecision } from '../../../functions/steps/record-decision';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { startTestStore, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

let dynamo: LocalDynamo;
let store: Store;
beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('policy-not-counted'));
});
afterAll(async () => {
  await dynamo.close();
});

it("a click that loses to the end-of-window policy counts nothing on the task: the policy decision is an exception, not the reviewer's", async () => {
  const campaignId = '2026-Q4-0000bc01';
  const [grantId] = await seedReviewTask(store, {
    campaignId,
    reviewer: 'alice',
    slackUserId: 'U0ALICE01',
    principals: ['carol', 'dave'],
    entitlement: 'read',
  });
  await store.tasks.markRequested(campaignId, 'alice', new Date(), new Date(Date.now() + 3_600_000));
  const services = testServices(store);
  // The click (or Keep all remaining) read the task open...
  const checked = await checkDecider(services, campaignId, grantId as string, 'U0ALICE01');
  if (!checked.ok) throw new Error(checked.reason);
  // ...then the window closed and the policy kept the grant, as MarkUnresponsive writes it.
  await store.tasks.close(campaignId, 'alice', 'unresponsive', new Date());
  const grant = await store.grants.get(campaignId, grantId as string);
  await store.decisions.record(
    {
      campaignId,
      grantId: grantId as string,
      decision: 'keep',
      reviewer: 'alice',
      decidedBySlackUserId: '',
      decidedAt: new Date().toISOString(),
      channel: 'policy',
    },
    grant!,
  );
  const before = await store.tasks.get(campaignId, 'alice');
  const outcome = await writeDecision(services, checked.grant, checked.task, checked.decider, {
    decision: 'keep',
    slackUserId: 'U0ALICE01',
    bulk: true,
  });
  const after = await store.tasks.get(campaignId, 'alice');
  expect(outcome.kind).toBe('duplicate');
  expect(after?.keptCount ?? 0).toBe(before?.keptCount ?? 0);
  expect(after?.decidedCount ?? 0).toBe(before?.decidedCount ?? 0);
});
