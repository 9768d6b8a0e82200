import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import { makeGrant } from '../../../functions/core/grant';
import type { Services } from '../../../functions/runtime/services';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from '../../../functions/slack/approval-blocks';
import { checkRevocations } from '../../../functions/steps/check-revocations';
import { requestRevocationApproval } from '../../../functions/steps/request-revocation-approval';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { clickButton } from '../../../sandbox/slack/interactions';
import type { RecordedMessage } from '../../../sandbox/slack/server';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startApprovalApp } from '../../support/approval-app';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';

/*
 * The security team's Approve / Reject through the real Bolt app behind its HTTP receiver, with
 * requests signed as Slack signs them. Only an approver the request was sent to may decide, never
 * one who holds a held grant, and only once; every refusal is ephemeral and writes nothing.
 */
const SIGNING_SECRET = 'approval-signing-secret';
const BOT_TOKEN = 'xoxb-approval-test';
const USERS = {
  alice: { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
  erin: { id: 'U0ERIN001', name: 'erin', email: 'erin@acme.example' },
  bob: { id: 'U0BOB0001', name: 'bob', email: 'bob@acme.example' },
};
const config = parseConfig({
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['bob'] },
  people: Object.values(USERS).map((u) => ({ github: u.name, email: u.email })),
  // A percent limit of 0 holds every revocation: the batch below is alice's and carol's access.
  revocationGuard: { approvers: ['alice', 'erin'], maxRevokedPercent: 0 },
});

const org = (login: string) =>
  makeGrant({
    connector: 'github',
    grantKind: 'organization_membership',
    resourceType: 'organization',
    resource: 'acme',
    principalType: 'user',
    principal: login,
    entitlement: 'member',
    via: { kind: 'direct' },
  });
const grants = ['alice', 'carol', 'dave', 'bob'].map(org);

let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;
let approvalApp: Awaited<ReturnType<typeof startApprovalApp>>;
let appUrl: string;
let services: Services;
const resumed: Array<{ token: string; output: Record<string, unknown> }> = [];

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('slack-approval'));
  slack = await startSlackSandbox({ users: Object.values(USERS), botToken: BOT_TOKEN });
  const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  services = testServices(store, {
    config,
    connectors: { names: [], get: async () => Promise.reject(new Error('no connector here')) },
    slack: async () => client,
    tasks: {
      succeed: async (token, output) => {
        resumed.push({ token, output });
      },
    },
  });
  approvalApp = await startApprovalApp({
    services,
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    slackApiUrl: slack.apiUrl,
  });
  appUrl = approvalApp.url;
});

afterAll(async () => {
  await approvalApp?.stop();
  await slack?.close();
  await dynamo?.close();
});

/** A campaign whose three revocations (alice, carol, dave leave the org) the guard holds; the request is out. */
async function campaignAwaitingApproval(campaignId: string): Promise<RecordedMessage[]> {
  await createTestCampaign(store, campaignId, 'in_review');
  await store.grants.putMany(
    grants.map((grant) => ({ ...grant, campaignId, snapshotAt: new Date().toISOString() })),
  );
  for (const grant of grants.slice(0, 3)) {
    await store.decisions.record({
      campaignId,
      grantId: grant.grantId,
      decision: 'revoke',
      reviewer: 'bob',
      decidedBySlackUserId: USERS.bob.id,
      decidedAt: new Date().toISOString(),
      channel: 'slack',
    });
  }
  expect(await checkRevocations({ campaignId }, services)).toMatchObject({ held: 3 });
  await requestRevocationApproval({ campaignId, taskToken: `token-${campaignId}` }, services);
  const approval = await store.approvals.get(campaignId);
  expect(approval?.approvers).toEqual([
    { login: 'alice', slackUserId: USERS.alice.id },
    { login: 'erin', slackUserId: USERS.erin.id },
  ]);
  // No channel configured: each approver gets the message in a DM.
  return approval!.messages.map(({ channelId, ts }) => slack.message(channelId, ts)!);
}

function click(message: RecordedMessage, user: { id: string; name: string }, actionId: string) {
  const button = message.blocks
    .flatMap((block) =>
      Array.isArray(block.elements) ? (block.elements as Array<Record<string, unknown>>) : [],
    )
    .find((element) => element.action_id === actionId);
  return clickButton({
    appUrl,
    signingSecret: SIGNING_SECRET,
    user,
    teamId: slack.teamId,
    channelId: message.channel,
    message,
    actionId,
    value: String(button?.value),
    responseUrl: slack.responseUrlFor({ channel: message.channel, messageTs: message.ts, user: user.id }),
  });
}

const ephemeralsFor = (userId: string) =>
  slack
    .ephemerals()
    .filter((e) => e.user === userId)
    .map((e) => e.text);
const batchEvents = async (campaignId: string) =>
  (await store.events.list(campaignId)).filter((e) => e.type.startsWith('revocation_batch_'));

describe('the approval buttons', () => {
  it('lists what would happen, with the reasons, and keeps the task token out of Slack', async () => {
    const [message] = await campaignAwaitingApproval('c-message');
    const text = JSON.stringify(message!.blocks);
    expect(text).toContain('Revocations held for approval');
    expect(text).toContain('*3* revocation(s) wait for your approval');
    expect(text).toContain('*alice* member on acme');
    expect(text).toContain('the campaign revokes 3 of 4 reviewable grants (limit 0%: 0)');
    expect(text).toContain(APPROVE_ACTION_ID);
    expect(text).toContain(REJECT_ACTION_ID);
    expect(text).not.toContain('token-c-message');
  });

  it('refuses forged requests, strangers and an approver who holds a held grant, writing nothing', async () => {
    const campaignId = 'c-refusals';
    const [message] = await campaignAwaitingApproval(campaignId);
    const forged = await clickButton({
      appUrl,
      signingSecret: 'guessed',
      user: USERS.erin,
      teamId: slack.teamId,
      channelId: message!.channel,
      message: message!,
      actionId: APPROVE_ACTION_ID,
      value: JSON.stringify({ c: campaignId }),
    });
    expect(forged.status).toBe(401);

    expect((await click(message!, USERS.bob, APPROVE_ACTION_ID)).status).toBe(200);
    expect(ephemeralsFor(USERS.bob.id).at(-1)).toMatch(
      /^Nothing was recorded: only the security team \(alice, erin\)/,
    );

    expect((await click(message!, USERS.alice, REJECT_ACTION_ID)).status).toBe(200);
    expect(ephemeralsFor(USERS.alice.id).at(-1)).toMatch(
      /^Nothing was recorded: you hold one of the held grants \(alice member on acme\), so another member/,
    );

    expect(await store.approvals.get(campaignId)).toMatchObject({ status: 'awaiting' });
    expect(await batchEvents(campaignId)).toEqual([]);
    expect(resumed.filter((r) => r.token === `token-${campaignId}`)).toEqual([]);
  });

  it('records the first decision once, resumes the workflow and redraws every copy', async () => {
    const campaignId = 'c-decide';
    const messages = await campaignAwaitingApproval(campaignId);
    const [first, second] = await Promise.all([
      click(messages[1]!, USERS.erin, REJECT_ACTION_ID),
      click(messages[1]!, USERS.erin, REJECT_ACTION_ID),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);

    const approval = await store.approvals.get(campaignId);
    expect(approval).toMatchObject({
      status: 'rejected',
      decidedBy: { login: 'erin', slackUserId: USERS.erin.id },
    });
    const events = await batchEvents(campaignId);
    expect(events.map((e) => [e.type, e.data.approver, e.data.slackUserId])).toEqual([
      ['revocation_batch_rejected', 'erin', USERS.erin.id],
    ]);
    expect(approval?.eventSeq).toBe(events[0]?.seq);
    expect(resumed.filter((r) => r.token === `token-${campaignId}`)).toEqual([
      { token: `token-${campaignId}`, output: { decision: 'rejected' } },
    ]);
    expect(ephemeralsFor(USERS.erin.id).at(-1)).toMatch(/^Already rejected by erin at /);
    for (const copy of approval!.messages) {
      const redrawn = JSON.stringify(slack.message(copy.channelId, copy.ts)?.blocks);
      expect(redrawn).toContain('*Rejected* by <@U0ERIN001> (erin)');
      expect(redrawn).not.toContain(APPROVE_ACTION_ID);
    }
    // A late click on the old copy of the message changes nothing.
    expect((await click(messages[0]!, USERS.erin, APPROVE_ACTION_ID)).status).toBe(200);
    expect(await store.approvals.get(campaignId)).toMatchObject({ status: 'rejected' });
    expect(await batchEvents(campaignId)).toHaveLength(1);
    expect(slack.takeListenerErrors()).toEqual([]);
  });
});
