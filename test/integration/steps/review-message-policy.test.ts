import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import { downgradeOptions } from '../../../functions/core/downgrade';
import type { Services } from '../../../functions/runtime/services';
import { recordDecision } from '../../../functions/steps/record-decision';
import { requestReview } from '../../../functions/steps/request-review';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/**
 * RequestReview draws the reviewer's whole message with the deployment's policy and the decisions'
 * new fields: with `justificationRequiredFor: []` an admin grant offers a plain Keep (no Keep…),
 * and after a downgrade the retried request's redraw names the target entitlement.
 */

const BOT_TOKEN = 'xoxb-message-policy-token-0123456789';
const ALICE = { id: 'U0ALICE01', name: 'alice' };
const CAMPAIGN = '2026-Q4-p01icy01';

let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;
let services: Services;
let grants: string[];

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('review-message-policy'));
  slack = await startSlackSandbox({
    users: [{ id: ALICE.id, name: ALICE.name, email: 'alice@acme.example' }],
    botToken: BOT_TOKEN,
  });
  const config = parseConfig({
    github: { organization: 'acme' },
    routing: { fallbackReviewers: ['alice'] },
    people: [{ github: 'alice', email: 'alice@acme.example' }],
    review: { windowHours: 336, justificationRequiredFor: [] },
  });
  services = testServices(store, {
    config: { ...config, slack: { apiUrl: slack.apiUrl } },
    slack: async () => new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl }),
    tasks: { succeed: async () => undefined },
  });
  grants = await seedReviewTask(store, {
    campaignId: CAMPAIGN,
    reviewer: 'alice',
    slackUserId: ALICE.id,
    principals: ['carol', 'gina'],
    entitlement: 'admin',
  });
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
});

async function shown(): Promise<string> {
  const task = await store.tasks.get(CAMPAIGN, 'alice');
  return JSON.stringify(slack.message(task!.channelId!, task!.messageTs!)?.blocks ?? []);
}

describe("RequestReview's message follows the configured policy", () => {
  it('offers Keep, not Keep…, on admin grants when no class needs a reason', async () => {
    await requestReview({ campaignId: CAMPAIGN, reviewer: 'alice', taskToken: 'token-1' }, services);
    const blocks = await shown();
    expect(blocks).toContain(`review_keep:${grants[0]}`);
    expect(blocks).not.toContain('review_justify:');
    expect(blocks).not.toContain('"text":"Keep…"');
    expect(blocks).toContain('"text":"Keep"');
  });

  it("shows a downgrade's target after the retried request redraws the message", async () => {
    const grant = await store.grants.get(CAMPAIGN, grants[1]!);
    const [target] = downgradeOptions(grant!);
    expect(target).toBeDefined();
    const outcome = await recordDecision(
      {
        campaignId: CAMPAIGN,
        grantId: grants[1]!,
        decision: 'downgrade',
        downgradeTo: target,
        slackUserId: ALICE.id,
      },
      services,
    );
    expect(outcome.kind).toBe('recorded');
    expect(await shown()).not.toContain('Downgrade to *');
    await requestReview({ campaignId: CAMPAIGN, reviewer: 'alice', taskToken: 'token-1' }, services);
    expect(await shown()).toContain(`Downgrade to *${target}* requested`);
  });
});
