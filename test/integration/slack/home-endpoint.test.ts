import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackEndpoint } from '../../../functions/handlers/slack-events';
import type { Services } from '../../../functions/runtime/services';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { serveSlackEndpoint } from '../../../lib/local/host';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore, TEST_CONFIG, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/**
 * The App Home through the real Slack endpoint (request checks, then Bolt with every listener
 * registerSlackListeners adds): the sandbox signs app_home_opened as Slack does, and the person's
 * Home tab is published from the store. app-home.test.ts holds the view's content to account;
 * this holds the wiring: without registerHomeListener the endpoint answers 200 and publishes nothing.
 */

const SIGNING_SECRET = 'home-endpoint-signing-secret-0123';
const BOT_TOKEN = 'xoxb-home-endpoint-token-0123456789';
const ALICE = { id: 'U0ALICE01', name: 'alice' };
const CAMPAIGN = '2026-Q4-h0me0001';

let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;
let url: string;
let close: () => Promise<void>;
const warnings: unknown[] = [];

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('slack-home-endpoint'));
  slack = await startSlackSandbox({
    users: [{ id: ALICE.id, name: ALICE.name, email: 'alice@acme.example' }],
    botToken: BOT_TOKEN,
  });
  await seedReviewTask(store, {
    campaignId: CAMPAIGN,
    reviewer: 'alice',
    slackUserId: ALICE.id,
    principals: ['carol', 'gina', 'hank'],
    entitlement: 'admin',
  });
  const services: Services = testServices(store, {
    config: { ...TEST_CONFIG, slack: { apiUrl: slack.apiUrl } },
    slack: async () => new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl }),
    log: {
      info: () => undefined,
      warn: (...args) => void warnings.push(args),
      error: (...args) => void warnings.push(args),
    },
  });
  const handler = await createSlackEndpoint({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, services });
  const host = await serveSlackEndpoint(handler, services.log);
  url = host.url;
  close = () => host.close();
});

afterAll(async () => {
  await close?.();
  await slack?.close();
  await dynamo?.close();
});

describe('app_home_opened through the Slack endpoint', () => {
  it("publishes the reviewer's Home view with their open task", async () => {
    expect(slack.homeOf(ALICE.id)).toBeUndefined();
    const answer = await slack.openAppHome({ appUrl: url, signingSecret: SIGNING_SECRET, userId: ALICE.id });
    expect(answer.status).toBe(200);
    await expect.poll(() => slack.homeOf(ALICE.id)?.type, { timeout: 10_000 }).toBe('home');
    const shown = JSON.stringify(slack.homeOf(ALICE.id)?.blocks ?? []);
    expect(shown).toContain(`*${CAMPAIGN}*: 3 grants of 3 left to decide`);
    expect(warnings).toEqual([]);
  });
});
