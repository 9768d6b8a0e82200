import type { AddressInfo } from 'node:net';
import { App, type BlockAction, type ButtonAction, LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeGrant } from '../../../functions/core/grant';
import {
  buildReviewMessage,
  parseActionId,
  parseButtonValue,
  REVIEW_ACTION_ID_PATTERN,
  type ReviewItem,
} from '../../../functions/slack/blocks';
import type { DecisionValue } from '../../../functions/store/decisions';
import { clickButton } from '../../../sandbox/slack/interactions';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';

/**
 * The whole loop with the real Bolt: the app posts the review DM to the sandbox, a simulated
 * reviewer clicks a button with a signed request, the app's listener updates the message. This is
 * a check of the sandbox and the click client against Bolt, not of the project's listeners.
 */

const TOKEN = 'xoxb-sandbox-token';
const SIGNING_SECRET = 'sandbox-signing-secret';
const alice = { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' };
const CAMPAIGN = '2026-Q4';
const DUE = '2026-12-15T09:00:00Z';

const grants = [0, 1, 2].map((i) =>
  makeGrant({
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource: `acme/repo-${i}`,
    principalType: 'user',
    principal: `user${i}`,
    entitlement: 'write',
    via: { kind: 'direct' },
  }),
);
const decisions = new Map<string, { decision: DecisionValue; decidedAt: string }>();
const handled: string[] = [];

function currentMessage() {
  const items: ReviewItem[] = grants.map((grant) => {
    const decision = decisions.get(grant.grantId);
    return { grant, routingReason: 'you own the repository', ...(decision ? { decision } : {}) };
  });
  return buildReviewMessage({ campaignId: CAMPAIGN, reviewerLogin: 'alice', dueAt: DUE, items });
}

let sandbox: SlackSandbox;
let app: App;
let appUrl: string;

beforeAll(async () => {
  sandbox = await startSlackSandbox({ users: [alice], botToken: TOKEN });
  app = new App({
    token: TOKEN,
    signingSecret: SIGNING_SECRET,
    logLevel: LogLevel.ERROR,
    clientOptions: { slackApiUrl: sandbox.apiUrl, retryConfig: { retries: 0 } },
  });
  app.action<BlockAction<ButtonAction>>(REVIEW_ACTION_ID_PATTERN, async ({ ack, body, action, client }) => {
    await ack();
    const { decision, grantId } = parseActionId(action.action_id);
    const value = parseButtonValue(action.value ?? '');
    expect(value).toEqual({ campaignId: CAMPAIGN, grantId });
    handled.push(action.action_id);
    decisions.set(grantId, { decision, decidedAt: '2026-12-01T10:00:00Z' });
    await client.chat.update({
      channel: body.channel?.id as string,
      ts: body.message?.ts as string,
      ...currentMessage(),
    });
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as {
    address(): AddressInfo | string | null;
  };
  appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
});

afterAll(async () => {
  await app.stop();
  await sandbox.close();
});

describe('a simulated reviewer clicking in the sandbox', () => {
  it('reaches the Bolt listener, which updates the DM; forged and stale clicks are refused', async () => {
    const posted = new Promise<{ channel: string; ts: string }>((resolve) => {
      const stop = sandbox.onMessage((event) => {
        if (event.kind !== 'posted') return;
        stop();
        resolve({ channel: event.message.channel, ts: event.message.ts });
      });
    });
    await app.client.chat.postMessage({ channel: alice.id, ...currentMessage() });
    const { channel, ts } = await posted;
    const stored = sandbox.message(channel, ts);
    if (!stored) throw new Error('the posted DM is not in the sandbox');
    const grantId = grants[1]?.grantId as string;
    const click = {
      appUrl,
      signingSecret: SIGNING_SECRET,
      user: { id: alice.id, name: alice.name },
      teamId: sandbox.teamId,
      channelId: channel,
      message: stored,
      actionId: `review_revoke:${grantId}`,
      value: JSON.stringify({ c: CAMPAIGN, g: grantId }),
      responseUrl: sandbox.responseUrlFor({ channel, messageTs: ts, user: alice.id }),
    };

    expect((await clickButton({ ...click, signature: `v0=${'f'.repeat(64)}` })).status).toBe(401);
    expect((await clickButton({ ...click, signingSecret: 'guessed' })).status).toBe(401);
    expect((await clickButton({ ...click, now: new Date(Date.now() - 6 * 60_000) })).status).toBe(401);
    expect(handled).toEqual([]);

    expect((await clickButton(click)).status).toBe(200);
    await expect.poll(() => sandbox.message(channel, ts)?.edited !== undefined).toBe(true);
    expect(handled).toEqual([`review_revoke:${grantId}`]);
    const updated = JSON.stringify(sandbox.message(channel, ts)?.blocks);
    expect(updated).toContain('❌ Revoke requested at');
    expect(updated).not.toContain(`review_revoke:${grantId}`);
    expect(sandbox.takeListenerErrors()).toEqual([]);
  });
});
