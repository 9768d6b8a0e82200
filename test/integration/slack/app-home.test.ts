import { createServer, type Server } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessReviewConfig } from '../../../functions/core/config';
import type { Services } from '../../../functions/runtime/services';
import { buildHomeView, registerHomeListener } from '../../../functions/slack/app-home';
import { listenOnLoopback } from '../../../sandbox/loopback';
import { validateBlocks } from '../../../sandbox/slack/blockKit';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';

/**
 * The App Home tab against the Slack sandbox and a real Bolt app: app_home_opened publishes the
 * person's open tasks, the grants handed to them, and (for the security team only) the running
 * campaigns. The store is a stand-in that records each read, so the test also holds the listener
 * to bounded reads: no listing of a campaign's grants, only the campaigns index, a task GetItem,
 * the handover notes, and the tasks of a campaign for the security team.
 */

const TOKEN = 'xoxb-home';
const SECRET = 'home-secret';
const users = [
  { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
  { id: 'U0BOB0001', name: 'bob', email: 'bob@acme.example' },
  { id: 'U0STRANGE', name: 'strange', email: 'nobody@else.example' },
];
const reads: string[] = [];
const due = '2026-12-09T08:00:00.000Z';
const campaigns = [
  {
    campaignId: '2026-Q4-aaaa',
    status: 'in_review',
    trigger: 'schedule',
    startedAt: '2026-12-02T08:00:00.000Z',
    scope: [],
    reason: null,
  },
  {
    campaignId: '2026-Q4-done',
    status: 'completed',
    trigger: 'schedule',
    startedAt: '2026-10-01T08:00:00.000Z',
  },
];
const tasks = [
  {
    campaignId: '2026-Q4-aaaa',
    reviewer: 'bob',
    slackUserId: 'U0BOB0001',
    grantCount: 6,
    decidedCount: 2,
    status: 'awaiting',
    dueAt: due,
    channelId: 'DBOB',
    messageTs: '1796119200.000100',
  },
  {
    campaignId: '2026-Q4-aaaa',
    reviewer: 'alice',
    slackUserId: 'U0ALICE01',
    grantCount: 3,
    decidedCount: 3,
    status: 'completed',
    dueAt: due,
  },
];

const store = {
  campaigns: {
    list: async () => {
      reads.push('campaigns.list');
      return campaigns;
    },
  },
  tasks: {
    get: async (campaignId: string, reviewer: string) => {
      reads.push(`tasks.get ${campaignId} ${reviewer}`);
      return tasks.find((t) => t.campaignId === campaignId && t.reviewer === reviewer);
    },
    list: async (campaignId: string) => {
      reads.push(`tasks.list ${campaignId}`);
      return tasks.filter((t) => t.campaignId === campaignId);
    },
  },
  grants: {
    handedTo: async (campaignId: string, login: string) => {
      reads.push(`grants.handedTo ${campaignId} ${login}`);
      return login === 'alice'
        ? [
            { grantId: 'g_1', reviewer: 'dave', assignee: 'alice', assignedBy: 'escalation' },
            { grantId: 'g_2', reviewer: 'dave', assignee: 'alice', assignedBy: 'escalation' },
          ]
        : [];
    },
    getHandoverMessage: async (campaignId: string, login: string) => {
      reads.push(`grants.getHandoverMessage ${campaignId} ${login}`);
      return login === 'alice' ? { channelId: 'DALICE', messageTs: '1796119300.000100' } : undefined;
    },
  },
  decisions: {
    get: async (campaignId: string, grantId: string) => {
      reads.push(`decisions.get ${campaignId} ${grantId}`);
      return grantId === 'g_2' ? { decision: 'keep' } : undefined;
    },
  },
};

let slack: SlackSandbox;
let server: Server;
let appUrl: string;
const warnings: unknown[] = [];

beforeAll(async () => {
  slack = await startSlackSandbox({
    users,
    botToken: TOKEN,
    userGroups: [{ id: 'S0SECTEAM', handle: 'security-team', users: ['U0ALICE01'] }],
  });
  const client = new WebClient(TOKEN, {
    slackApiUrl: slack.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
  });
  const services = {
    config: {
      slack: { apiUrl: slack.apiUrl, securityTeamUserGroup: 'S0SECTEAM' },
      people: [
        { github: 'alice', email: 'alice@acme.example', aws: [] },
        { github: 'bob', email: 'bob@acme.example', aws: [] },
      ],
    } as unknown as AccessReviewConfig,
    store,
    slack: async () => client,
    log: {
      info: () => undefined,
      warn: (...args: unknown[]) => warnings.push(args),
      error: (...args: unknown[]) => warnings.push(args),
    },
  } as unknown as Services;
  const receiver = new HTTPReceiver({ signingSecret: SECRET, logLevel: LogLevel.ERROR });
  const app = new App({
    receiver,
    token: TOKEN,
    clientOptions: { slackApiUrl: slack.apiUrl },
    logLevel: LogLevel.ERROR,
  });
  registerHomeListener(app, services);
  server = createServer(receiver.requestListener);
  appUrl = `${await listenOnLoopback(server)}/slack/events`;
});

afterAll(async () => {
  await slack.close();
  await new Promise((resolve) => server.close(resolve));
});

const text = (userId: string) => JSON.stringify(slack.homeOf(userId)?.blocks ?? []);

describe('App Home', () => {
  it("shows a reviewer's open task with grants left, the deadline and a link, and no campaign list", async () => {
    reads.length = 0;
    expect((await slack.openAppHome({ appUrl, signingSecret: SECRET, userId: 'U0BOB0001' })).status).toBe(
      200,
    );
    await expect.poll(() => slack.homeOf('U0BOB0001')?.type, { timeout: 10_000 }).toBe('home');
    expect(text('U0BOB0001')).toContain(
      '*2026-Q4-aaaa*: 4 grants of 6 left to decide, due <!date^1796803200^',
    );
    expect(text('U0BOB0001')).toContain('https://slack.com/archives/DBOB/p1796119200000100');
    expect(text('U0BOB0001')).not.toContain('Running campaigns');
    // Only the running campaign is read further; nothing lists a campaign's grants.
    expect(reads.sort()).toEqual([
      'campaigns.list',
      'grants.getHandoverMessage 2026-Q4-aaaa bob',
      'grants.handedTo 2026-Q4-aaaa bob',
      'tasks.get 2026-Q4-aaaa bob',
    ]);
  });

  it('shows the security team the grants handed to them (undecided only) and the running campaigns', async () => {
    reads.length = 0;
    await slack.openAppHome({ appUrl, signingSecret: SECRET, userId: 'U0ALICE01' });
    await expect.poll(() => slack.homeOf('U0ALICE01')?.type, { timeout: 10_000 }).toBe('home');
    const shown = text('U0ALICE01');
    expect(shown).toContain('Nothing waits for your decision.');
    expect(shown).toContain('*2026-Q4-aaaa*: 1 grant from dave (escalated) to decide.');
    expect(shown).toContain('Running campaigns');
    expect(shown).toContain('5 of 9 grants decided; 1 of 2 reviewers done');
    expect(shown).toContain('Waiting on: bob (4)');
    expect(reads).toContain('tasks.list 2026-Q4-aaaa');
    expect(reads.filter((read) => read.includes('2026-Q4-done'))).toEqual([]);
  });

  it('tells someone who is not a configured person that nothing is theirs', async () => {
    await slack.openAppHome({ appUrl, signingSecret: SECRET, userId: 'U0STRANGE' });
    await expect.poll(() => slack.homeOf('U0STRANGE')?.type, { timeout: 10_000 }).toBe('home');
    expect(text('U0STRANGE')).toContain('not one of the people this access review knows');
    expect(warnings).toEqual([]);
  });

  it('stays within Slack’s 100 blocks however many campaigns there are', () => {
    const view = buildHomeView({
      login: 'alice',
      tasks: Array.from({ length: 150 }, (_, i) => ({
        campaignId: `c-${i}`,
        grantsLeft: 1,
        grantCount: 2,
        dueAt: due,
      })),
      handovers: [],
      moreCampaigns: 0,
    });
    expect(view.blocks).toHaveLength(100);
    expect(validateBlocks(view.blocks, 'home').ok).toBe(true);
  });
});
