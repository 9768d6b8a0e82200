import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import { createSlackEndpoint } from '../../../functions/handlers/slack-events';
import type { Services } from '../../../functions/runtime/services';
import { buttonValueFor, campaignValueFor } from '../../../functions/slack/blocks';
import { requestReview } from '../../../functions/steps/request-review';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { serveSlackEndpoint } from '../../../lib/local/host';
import { clickButton, type InteractionMessage, submitView } from '../../../sandbox/slack/interactions';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/**
 * The review modals and "Keep all remaining" through the real Slack endpoint (request checks, then
 * Bolt), as a person or a forger in the Slack sandbox would send them. Each refusal changes
 * nothing in the table and says why; Keep… opens its modal before it reads the table.
 */

const SIGNING_SECRET = 'review-modals-signing-secret-0123';
const BOT_TOKEN = 'xoxb-review-modals-token-0123456789';
const ALICE = { id: 'U0ALICE01', name: 'alice' };
const MALLORY = { id: 'U0MAL0001', name: 'mallory' };
const ADMINS = '2026-Q4-m0da1001';
const PLAIN = '2026-Q4-m0da1002';

const config = parseConfig({
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice'] },
  people: [
    { github: 'alice', email: 'alice@acme.example' },
    { github: 'mallory', email: 'mallory@acme.example' },
  ],
});

let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;
let url: string;
let close: () => Promise<void>;
let adminGrants: string[];
let plainGrants: string[];
const warnings: string[] = [];

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('slack-review-modals'));
  slack = await startSlackSandbox({
    users: [
      { id: ALICE.id, name: ALICE.name, email: 'alice@acme.example' },
      { id: MALLORY.id, name: MALLORY.name, email: 'mallory@acme.example' },
    ],
    botToken: BOT_TOKEN,
  });
  const services: Services = testServices(store, {
    config: { ...config, slack: { apiUrl: slack.apiUrl } },
    slack: async () => new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl }),
    tasks: { succeed: async () => undefined },
    log: {
      info: () => undefined,
      warn: (message) => void warnings.push(message),
      error: (message) => void warnings.push(message),
    },
  });
  // Admin grants need a written reason to be kept (the default justificationRequiredFor); write does not.
  adminGrants = await seedReviewTask(store, {
    campaignId: ADMINS,
    reviewer: 'alice',
    slackUserId: ALICE.id,
    principals: ['carol', 'gina'],
    entitlement: 'admin',
  });
  plainGrants = await seedReviewTask(store, {
    campaignId: PLAIN,
    reviewer: 'alice',
    slackUserId: ALICE.id,
    principals: ['dave', 'erin', 'frank'],
    entitlement: 'write',
  });
  for (const campaignId of [ADMINS, PLAIN]) {
    await requestReview({ campaignId, reviewer: 'alice', taskToken: `token-${campaignId}` }, services);
  }
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

async function reviewMessage(campaignId: string): Promise<InteractionMessage & { channel: string }> {
  const task = await store.tasks.get(campaignId, 'alice');
  const message = slack.message(task!.channelId!, task!.messageTs!);
  if (!message) throw new Error(`no review message for ${campaignId}`);
  return message;
}

async function click(
  campaignId: string,
  user: { id: string; name: string },
  actionId: string,
  value: string,
  message?: InteractionMessage,
) {
  const shown = message ?? (await reviewMessage(campaignId));
  const channel = slack.dmChannelFor(ALICE.id);
  return clickButton({
    appUrl: url,
    signingSecret: SIGNING_SECRET,
    user,
    teamId: slack.teamId,
    channelId: channel,
    message: shown,
    actionId,
    value,
    triggerId: slack.issueTrigger(user.id),
    responseUrl: slack.responseUrlFor({ channel, messageTs: shown.ts, user: user.id }),
  });
}

const repliesTo = (userId: string) =>
  slack
    .ephemerals()
    .filter((e) => e.user === userId)
    .map((e) => e.text);

async function openJustification(grantId: string) {
  expect(
    (await click(ADMINS, ALICE, `review_justify:${grantId}`, buttonValueFor(ADMINS, grantId))).status,
  ).toBe(200);
  await expect
    .poll(() => slack.openModalOf(ALICE.id)?.callback_id, { timeout: 10_000 })
    .toBe('review_justification');
  return slack.openModalOf(ALICE.id)!;
}

const reasonValues = (text: string) => ({ reason: { text } });

describe('the justification modal', () => {
  it('opens its modal before reading the table: views.open comes first, then the form replaces it', async () => {
    const before = slack.calls().length;
    const view = await openJustification(adminGrants[0]!);
    expect(view.private_metadata).toBe(JSON.stringify({ c: ADMINS, g: adminGrants[0] }));
    const methods = slack
      .calls()
      .slice(before)
      .map((call) => call.method)
      .filter((method) => method.startsWith('views.'));
    expect(methods).toEqual(['views.open', 'views.update']);
  });

  it('refuses a submission from someone who is not the decider, recording nothing', async () => {
    const view = await openJustification(adminGrants[0]!);
    const answer = await submitView({
      appUrl: url,
      signingSecret: SIGNING_SECRET,
      user: MALLORY,
      teamId: slack.teamId,
      view,
      values: reasonValues('mallory says this admin access is fine'),
    });
    expect(answer.status).toBe(200);
    expect(answer.answer).toMatchObject({ action: 'errors' });
    expect(JSON.stringify(answer.answer)).toContain('Nothing was recorded');
    expect(await store.decisions.get(ADMINS, adminGrants[0]!)).toBeUndefined();
  });

  it('refuses a submission whose private_metadata was tampered with, recording nothing', async () => {
    const view = await openJustification(adminGrants[0]!);
    for (const metadata of [
      JSON.stringify({ c: ADMINS, g: adminGrants[0], extra: 1 }),
      JSON.stringify({ c: PLAIN, g: plainGrants[0] }).replace('"g"', '"g" '),
      '{"c":"2026-Q4-m0da1001","g":"not a grant"}',
    ]) {
      const answer = await submitView({
        appUrl: url,
        signingSecret: SIGNING_SECRET,
        user: ALICE,
        teamId: slack.teamId,
        view: { ...view, private_metadata: metadata },
        values: reasonValues('this admin access is still needed'),
      });
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.answer)).toContain('This form could not be read; nothing was recorded.');
    }
    expect(await store.decisions.get(ADMINS, adminGrants[0]!)).toBeUndefined();
    expect(await store.decisions.get(PLAIN, plainGrants[0]!)).toBeUndefined();
  });

  it('refuses a forged plain Keep on a grant that needs a reason, and says so', async () => {
    const grantId = adminGrants[1]!;
    const forged: InteractionMessage = {
      ts: (await reviewMessage(ADMINS)).ts,
      blocks: [
        {
          type: 'actions',
          block_id: 'forged',
          elements: [
            {
              type: 'button',
              action_id: `review_keep:${grantId}`,
              value: buttonValueFor(ADMINS, grantId),
              text: { type: 'plain_text', text: 'Keep' },
            },
          ],
        },
      ],
    };
    const answer = await click(
      ADMINS,
      ALICE,
      `review_keep:${grantId}`,
      buttonValueFor(ADMINS, grantId),
      forged,
    );
    expect(answer.status).toBe(200);
    await expect
      .poll(() => repliesTo(ALICE.id).at(-1), { timeout: 10_000 })
      .toMatch(/^Nothing was recorded: .*reason/);
    expect(await store.decisions.get(ADMINS, grantId)).toBeUndefined();
  });

  it('records the Keep with the typed reason from the decider', async () => {
    const view = await openJustification(adminGrants[0]!);
    const answer = await submitView({
      appUrl: url,
      signingSecret: SIGNING_SECRET,
      user: ALICE,
      teamId: slack.teamId,
      view,
      values: reasonValues('carol runs the release pipeline'),
    });
    expect(answer.answer).toEqual({ action: 'close' });
    expect(await store.decisions.get(ADMINS, adminGrants[0]!)).toMatchObject({
      decision: 'keep',
      justification: 'carol runs the release pipeline',
    });
  });
});

describe('Keep all remaining', () => {
  it('submitted twice at once keeps each grant once, and the second says nothing was left', async () => {
    const value = campaignValueFor(PLAIN);
    const message = await reviewMessage(PLAIN);
    const answers = await Promise.all([
      click(PLAIN, ALICE, `review_keep_all:${PLAIN}`, value, message),
      click(PLAIN, ALICE, `review_keep_all:${PLAIN}`, value, message),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await expect
      .poll(() => repliesTo(ALICE.id).filter((text) => text.startsWith('Kept ')).length, { timeout: 10_000 })
      .toBe(2);
    const summaries = repliesTo(ALICE.id).filter((text) => text.startsWith('Kept '));
    const kept = summaries.map((text) => Number(/^Kept (\d+)/.exec(text)?.[1] ?? 0));
    // Each grant is kept by exactly one of the two clicks, whichever wins its conditional write.
    expect(kept.reduce((a, b) => a + b, 0)).toBe(3);
    const events = (await store.events.list(PLAIN)).filter((e) => e.type === 'decision_recorded');
    expect(events).toHaveLength(3);
    expect(new Set(events.map((e) => e.data.grantId))).toEqual(new Set(plainGrants));
    expect(events.every((e) => e.data.bulk === true)).toBe(true);
    expect((await store.tasks.get(PLAIN, 'alice'))?.decidedCount).toBe(3);
    // Submitted again after both: nothing left, nothing written.
    await click(PLAIN, ALICE, `review_keep_all:${PLAIN}`, value, message);
    await expect
      .poll(() => repliesTo(ALICE.id).at(-1), { timeout: 10_000 })
      .toMatch(/^Nothing was recorded: |^Kept 0 grants/);
    expect((await store.events.list(PLAIN)).filter((e) => e.type === 'decision_recorded')).toHaveLength(3);
  });
});
