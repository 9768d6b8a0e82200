import { App, AwsLambdaReceiver, type ButtonAction } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../functions/runtime/services';
import { registerReviewListeners } from '../../../functions/slack/listeners';
import { requestReview } from '../../../functions/steps/request-review';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { buildBlockActionsRequest, signSlackRequest } from '../../../sandbox/slack/interactions';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore, TEST_CONFIG, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/*
 * Bolt routes an action to the review-button listener by its action_id alone, so any element
 * could arrive carrying a review button's action_id and value. Only a button is read as a click:
 * anything else is refused with an ephemeral message and writes nothing.
 */
const SIGNING_SECRET = 'button-check-signing-secret';
const BOT_TOKEN = 'xoxb-button-check';
const ALICE = { id: 'U0ALICE01', name: 'alice' };
const CAMPAIGN = '2026-Q4-button01';

let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;
let services: Services;
let handler: Awaited<ReturnType<AwsLambdaReceiver['start']>>;
let grantIds: string[];
let channel: string;
let messageTs: string;

/** The signed request of a click on grant `index`'s keep button, with `change` made to its action. */
function request(index: number, change: Record<string, unknown> = {}) {
  const grantId = grantIds[index]!;
  const built = buildBlockActionsRequest({
    appUrl: 'unused',
    signingSecret: SIGNING_SECRET,
    user: ALICE,
    teamId: slack.teamId,
    channelId: channel,
    message: slack.message(channel, messageTs)!,
    actionId: `review_keep:${grantId}`,
    value: JSON.stringify({ c: CAMPAIGN, g: grantId }),
    responseUrl: slack.responseUrlFor({ channel, messageTs, user: ALICE.id }),
  });
  const payload = {
    ...built.payload,
    actions: [{ ...(built.payload.actions[0] as ButtonAction), ...change }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = built.headers['X-Slack-Request-Timestamp']!;
  return {
    headers: {
      ...built.headers,
      'X-Slack-Signature': signSlackRequest(body, SIGNING_SECRET, timestamp),
    },
    body,
  };
}

/** A Function URL event (payload format 2.0) carrying the request, as the Lambda receives it. */
function send(signed: { headers: Record<string, string>; body: string }) {
  const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers,
    requestContext: { http: { method: 'POST', path: '/' }, timeEpoch: Date.now() },
    body: signed.body,
    isBase64Encoded: false,
  };
  return (handler as (event: unknown, context: unknown) => Promise<{ statusCode: number }>)(event, {});
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('button-check'));
  slack = await startSlackSandbox({
    users: [{ id: ALICE.id, name: 'alice', email: 'alice@acme.example' }],
    botToken: BOT_TOKEN,
  });
  const config = { ...TEST_CONFIG, slack: { apiUrl: slack.apiUrl } };
  grantIds = await seedReviewTask(store, {
    campaignId: CAMPAIGN,
    reviewer: 'alice',
    slackUserId: ALICE.id,
    principals: ['carol', 'gina'],
    entitlement: 'read',
  });
  services = testServices(store, {
    config,
    slack: async () => new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl }),
    tasks: { succeed: async () => undefined },
  });
  await requestReview({ campaignId: CAMPAIGN, reviewer: 'alice', taskToken: 'task-token-alice' }, services);
  const task = await store.tasks.get(CAMPAIGN, 'alice');
  channel = task!.channelId!;
  messageTs = task!.messageTs!;
  const receiver = new AwsLambdaReceiver({ signingSecret: SIGNING_SECRET });
  const app = new App({
    authorize: async () => ({ botToken: BOT_TOKEN }),
    receiver,
    clientOptions: { slackApiUrl: slack.apiUrl },
  });
  registerReviewListeners(app, services);
  handler = await receiver.start();
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
});

describe('the review-button listener', () => {
  it('refuses an element that is not a button, even with a review action_id and a valid value', async () => {
    for (const type of ['static_select', 'overflow', 'checkboxes', 'datepicker']) {
      const before = slack.ephemerals().length;
      expect((await send(request(0, { type }))).statusCode, type).toBe(200);
      expect(await store.decisions.list(CAMPAIGN), type).toEqual([]);
      await expect.poll(() => slack.ephemerals().length, { timeout: 5_000 }).toBe(before + 1);
      expect(slack.ephemerals().at(-1), type).toMatchObject({
        user: ALICE.id,
        text: expect.stringMatching(/^This button could not be read, so nothing was recorded/),
      });
    }
    expect((await store.events.list(CAMPAIGN)).filter((e) => e.type === 'decision_recorded')).toEqual([]);
  });

  it('records the same request when the element is a button', async () => {
    expect((await send(request(0))).statusCode).toBe(200);
    expect((await store.decisions.list(CAMPAIGN)).map((d) => [d.grantId, d.decision])).toEqual([
      [grantIds[0], 'keep'],
    ]);
  });
});
