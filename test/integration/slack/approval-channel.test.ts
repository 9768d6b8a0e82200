import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import { makeGrant } from '../../../functions/core/grant';
import type { Services } from '../../../functions/runtime/services';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from '../../../functions/slack/approval-blocks';
import { checkRevocations } from '../../../functions/steps/check-revocations';
import { rejectHeldRevocations } from '../../../functions/steps/reject-held-revocations';
import {
  ApprovalRequestNotSentError,
  requestRevocationApproval,
} from '../../../functions/steps/request-revocation-approval';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { clickButton } from '../../../sandbox/slack/interactions';
import {
  type RecordedMessage,
  type SlackSandbox,
  type SlackSandboxOptions,
  startSlackSandbox,
} from '../../../sandbox/slack/server';
import { startApprovalApp } from '../../support/approval-app';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';

/*
 * `revocationGuard.channel`: the security team's request goes to one channel instead of a DM per
 * approver. One message, in that channel, through the real Bolt app with signed clicks; only the
 * approvers the request names may decide there, not every member of the channel. A channel Slack
 * does not know (or one the bot was never invited to) fails the step, and the workflow's Catch
 * (RejectHeldRevocations) rejects the held revocations and records why.
 */
const SIGNING_SECRET = 'approval-channel-signing-secret';
const BOT_TOKEN = 'xoxb-approval-channel-test';
const SECURITY_CHANNEL = 'C0SECURITY1';
const UNINVITED_CHANNEL = 'C0NOBOT001';
const USERS = {
  alice: { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
  erin: { id: 'U0ERIN001', name: 'erin', email: 'erin@acme.example' },
  bob: { id: 'U0BOB0001', name: 'bob', email: 'bob@acme.example' },
};
const configWith = (channel: string) =>
  parseConfig({
    github: { organization: 'acme' },
    routing: { fallbackReviewers: ['bob'] },
    people: Object.values(USERS).map((u) => ({ github: u.name, email: u.email })),
    // A percent limit of 0 holds every revocation: the batch below is carol's and dave's access.
    revocationGuard: { approvers: ['alice', 'erin'], maxRevokedPercent: 0, channel },
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
  ({ dynamo, store } = await startTestStore('slack-approval-channel'));
  // bob is in the security channel but not on the security team.
  const options: SlackSandboxOptions = {
    users: Object.values(USERS),
    botToken: BOT_TOKEN,
    channels: [
      {
        id: SECURITY_CHANNEL,
        name: 'security-approvals',
        members: [USERS.alice.id, USERS.erin.id, USERS.bob.id],
      },
      { id: UNINVITED_CHANNEL, name: 'security-private', members: [USERS.erin.id], botIsMember: false },
    ],
  };
  slack = await startSlackSandbox(options);
  const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  services = testServices(store, {
    config: configWith(SECURITY_CHANNEL),
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

/** A campaign whose two revocations (carol and dave leave the org) the guard holds. */
async function campaignWithHeldRevocations(campaignId: string, withServices: Services): Promise<void> {
  await createTestCampaign(store, campaignId, 'in_review');
  await store.grants.putMany(
    grants.map((grant) => ({ ...grant, campaignId, snapshotAt: new Date().toISOString() })),
  );
  for (const grant of grants.slice(1, 3)) {
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
  expect(await checkRevocations({ campaignId }, withServices)).toMatchObject({ held: 2 });
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
const postsTo = (channel: string) =>
  slack.calls().filter((c) => c.method === 'chat.postMessage' && c.args.channel === channel);

describe('the approval request in a configured channel', () => {
  it('is one message in the channel, no DMs; a member who is not an approver is refused, an approver decides', async () => {
    const campaignId = 'c-channel';
    const callsBefore = slack.calls().length;
    await campaignWithHeldRevocations(campaignId, services);
    await requestRevocationApproval({ campaignId, taskToken: `token-${campaignId}` }, services);

    // Exactly one message, in the channel; no DM was opened or written to.
    const calls = slack.calls().slice(callsBefore);
    expect(calls.filter((c) => c.method === 'conversations.open')).toEqual([]);
    expect(calls.filter((c) => c.method === 'chat.postMessage').map((c) => [c.args.channel, c.ok])).toEqual([
      [SECURITY_CHANNEL, true],
    ]);
    const inChannel = slack.messages(SECURITY_CHANNEL);
    expect(inChannel).toHaveLength(1);
    for (const user of Object.values(USERS)) {
      expect(slack.messages(slack.dmChannelFor(user.id))).toEqual([]);
    }
    const approval = await store.approvals.get(campaignId);
    expect(approval?.messages).toEqual([{ channelId: SECURITY_CHANNEL, ts: inChannel[0]!.ts }]);
    const requested = (await store.events.list(campaignId)).filter(
      (e) => e.type === 'revocation_approval_requested',
    );
    expect(requested.map((e) => e.data.channel)).toEqual([SECURITY_CHANNEL]);
    const message = slack.message(SECURITY_CHANNEL, inChannel[0]!.ts)!;
    expect(JSON.stringify(message.blocks)).toContain('*2* revocation(s) wait for your approval');

    // bob sees the buttons (he is in the channel) but is not on the security team: refused, nothing written.
    expect((await click(message, USERS.bob, APPROVE_ACTION_ID)).status).toBe(200);
    expect(ephemeralsFor(USERS.bob.id).at(-1)).toMatch(
      /^Nothing was recorded: only the security team \(alice, erin\)/,
    );
    expect(await store.approvals.get(campaignId)).toMatchObject({ status: 'awaiting' });
    expect(await batchEvents(campaignId)).toEqual([]);
    expect(resumed.filter((r) => r.token === `token-${campaignId}`)).toEqual([]);
    expect(JSON.stringify(slack.message(SECURITY_CHANNEL, message.ts)?.blocks)).toContain(APPROVE_ACTION_ID);

    // erin, an approver, decides in the channel: recorded once, the workflow resumes, the message is redrawn.
    expect((await click(message, USERS.erin, APPROVE_ACTION_ID)).status).toBe(200);
    expect(await store.approvals.get(campaignId)).toMatchObject({
      status: 'approved',
      decidedBy: { login: 'erin', slackUserId: USERS.erin.id },
    });
    expect((await batchEvents(campaignId)).map((e) => [e.type, e.data.approver])).toEqual([
      ['revocation_batch_approved', 'erin'],
    ]);
    expect(resumed.filter((r) => r.token === `token-${campaignId}`)).toEqual([
      { token: `token-${campaignId}`, output: { decision: 'approved' } },
    ]);
    const redrawn = slack.message(SECURITY_CHANNEL, message.ts)!;
    expect(redrawn.edited).toBeDefined();
    expect(JSON.stringify(redrawn.blocks)).toContain('*Approved* by <@U0ERIN001> (erin)');
    expect(JSON.stringify(redrawn.blocks)).not.toContain(APPROVE_ACTION_ID);
    expect(slack.messages(SECURITY_CHANNEL)).toHaveLength(1);

    // alice, the other approver, is accepted as one: she is told it is decided, not that she may not.
    expect((await click(message, USERS.alice, REJECT_ACTION_ID)).status).toBe(200);
    expect(ephemeralsFor(USERS.alice.id).at(-1)).toMatch(/^Already approved by erin at /);
    expect(await batchEvents(campaignId)).toHaveLength(1);
    expect(slack.takeListenerErrors()).toEqual([]);
  });

  it('accepts the first approver too (alice rejects in the channel)', async () => {
    const campaignId = 'c-channel-alice';
    await campaignWithHeldRevocations(campaignId, services);
    await requestRevocationApproval({ campaignId, taskToken: `token-${campaignId}` }, services);
    const approval = await store.approvals.get(campaignId);
    expect(approval?.messages).toHaveLength(1);
    const message = slack.message(SECURITY_CHANNEL, approval!.messages[0]!.ts)!;
    expect((await click(message, USERS.alice, REJECT_ACTION_ID)).status).toBe(200);
    expect(await store.approvals.get(campaignId)).toMatchObject({
      status: 'rejected',
      decidedBy: { login: 'alice', slackUserId: USERS.alice.id },
    });
    expect(JSON.stringify(slack.message(SECURITY_CHANNEL, message.ts)?.blocks)).toContain(
      '*Rejected* by <@U0ALICE01> (alice)',
    );
  });
});

describe('a channel the request cannot be posted to', () => {
  it.each([
    ['unknown to Slack', 'C0NOSUCH01', 'channel_not_found'],
    ['the bot was never invited to', UNINVITED_CHANNEL, 'not_in_channel'],
  ])(
    'fails the step (%s) and the Catch rejects the held revocations, saying why',
    async (_what, channel, code) => {
      const campaignId = `c-bad-${channel}`;
      const badChannel: Services = { ...services, config: configWith(channel) };
      await campaignWithHeldRevocations(campaignId, badChannel);
      const failure = await requestRevocationApproval(
        { campaignId, taskToken: `token-${campaignId}` },
        badChannel,
      ).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      expect(failure).toBeInstanceOf(ApprovalRequestNotSentError);
      expect(failure?.message).toBe(`Slack refused the approval request to ${channel}: ${code}`);
      expect(postsTo(channel).map((c) => c.error)).toEqual([code]);
      expect(slack.messages(channel)).toEqual([]);
      expect(slack.calls().filter((c) => c.method === 'conversations.open')).toEqual([]);
      const approval = await store.approvals.get(campaignId);
      expect(approval).toMatchObject({ status: 'awaiting', messages: [] });
      expect((await store.events.list(campaignId)).map((e) => e.type)).not.toContain(
        'revocation_approval_requested',
      );

      // What the workflow does next: States.TaskFailed matches, RejectHeldRevocations gets the
      // Lambda's error as the Catch hands it over ({ Error: its name, Cause: its JSON }).
      const cause = JSON.stringify({ errorType: failure!.name, errorMessage: failure!.message });
      const rejected = await rejectHeldRevocations(
        { campaignId, error: { Error: failure!.name, Cause: cause } },
        badChannel,
      );
      expect(rejected).toEqual({ campaignId, status: 'expired' });
      const expired = (await store.events.list(campaignId)).filter(
        (e) => e.type === 'revocation_batch_expired',
      );
      expect(expired).toHaveLength(1);
      expect(expired[0]!.data).toMatchObject({ heldCount: 2 });
      expect(expired[0]!.data.reason).toBe(
        `the approval request failed (ApprovalRequestNotSentError: Slack refused the approval request to ${channel}: ${code})`,
      );
      expect(String(expired[0]!.data.cause)).toContain(code);
      expect(await store.approvals.get(campaignId)).toMatchObject({
        status: 'expired',
        expiredReason: expired[0]!.data.reason,
      });
      // No late click can approve what could not be asked.
      expect(
        await store.approvals.decide(
          campaignId,
          'approved',
          { login: 'erin', slackUserId: USERS.erin.id },
          new Date(),
        ),
      ).toBeUndefined();
    },
  );
});
