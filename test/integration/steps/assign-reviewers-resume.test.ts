import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../../../functions/core/errors';
import { makeGrant } from '../../../functions/core/grant';
import { assignReviewers } from '../../../functions/steps/assign-reviewers';
import { createStore, type Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';

/**
 * AssignReviewers writes its assignments many at a time, and a retry after an attempt that died
 * part-way does not start over: grants already assigned as they would be now are not written again.
 */
const GRANTS = 60;
const CUT_AFTER = 25;

let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;
let client: WebClient;

const grants = Array.from({ length: GRANTS }, (_, i) =>
  makeGrant({
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource: `acme/repo-${i}`,
    principalType: 'user',
    principal: `contractor-${i}`,
    entitlement: 'write',
    via: { kind: 'direct' },
  }),
);

/** A store whose UpdateItem calls are counted; past `cutAfter` of them, every call fails. */
function countingStore(cutAfter = Number.POSITIVE_INFINITY): { store: Store; updates: () => number } {
  let updates = 0;
  const table = dynamo.recordingTable((action) => {
    if (action !== 'UpdateItem') return;
    if (updates >= cutAfter) throw new TransientError('the Lambda ran out of time');
    updates++;
  });
  return { store: createStore(table), updates: () => updates };
}

async function campaignToAssign(campaignId: string): Promise<void> {
  await createTestCampaign(store, campaignId, 'assigning');
  await store.grants.putMany(
    grants.map((grant) => ({ ...grant, campaignId, snapshotAt: '2026-10-01T09:00:00.000Z' })),
  );
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('assign-reviewers-resume'));
  slack = await startSlackSandbox({
    users: [{ id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' }],
    botToken: 'xoxb-test',
  });
  client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl });
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
});

describe('AssignReviewers retried after an attempt cut short', () => {
  it('writes only the grants the cut attempt had not assigned, and ends as a run in one go does', async () => {
    const whole = countingStore();
    await campaignToAssign('c-assign-whole');
    const expected = await assignReviewers(
      { campaignId: 'c-assign-whole' },
      testServices(whole.store, { slack: async () => client }),
    );
    expect(expected.reviewers).toEqual(['alice']);

    await campaignToAssign('c-assign-cut');
    const cut = countingStore(CUT_AFTER);
    await expect(
      assignReviewers({ campaignId: 'c-assign-cut' }, testServices(cut.store, { slack: async () => client })),
    ).rejects.toThrow(TransientError);
    expect(cut.updates()).toBe(CUT_AFTER);

    const retry = countingStore();
    const output = await assignReviewers(
      { campaignId: 'c-assign-cut' },
      testServices(retry.store, { slack: async () => client }),
    );
    expect(output).toEqual({ ...expected, campaignId: 'c-assign-cut' });
    expect(whole.updates() - retry.updates()).toBe(CUT_AFTER);
    const strip = (campaignId: string) =>
      store.grants.list(campaignId).then((list) =>
        list
          .map(({ grantId, reviewer, routingReason, holderSlackUserIds }) => ({
            grantId,
            reviewer,
            routingReason,
            holderSlackUserIds,
          }))
          .sort((a, b) => a.grantId.localeCompare(b.grantId)),
      );
    expect(await strip('c-assign-cut')).toEqual(await strip('c-assign-whole'));
    expect((await strip('c-assign-cut')).every((grant) => grant.reviewer === 'alice')).toBe(true);
  });
});
