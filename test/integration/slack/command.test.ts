import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessReviewConfig } from '../../../functions/core/config';
import { createSlackEndpoint } from '../../../functions/handlers/slack-events';
import type { CampaignStartRequest, Services } from '../../../functions/runtime/services';
import { requestReview } from '../../../functions/steps/request-review';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { serveSlackEndpoint } from '../../../lib/local/host';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore, TEST_CONFIG, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/**
 * `/access-review` end to end on the embedded host's endpoint: the Slack sandbox signs the command
 * as Slack does, the request checks and Bolt route it, membership is read from the sandbox's
 * usergroups.users.list, and the answer comes back through the command's response_url.
 */

const SIGNING_SECRET = 'command-signing-secret-0123456789';
const BOT_TOKEN = 'xoxb-command-bot-token-0123456789';
const GROUP = 'S0SECTEAM1';
const SAM = { id: 'U0SEC0001', name: 'sam' };
const MALLORY = { id: 'U0MAL0001', name: 'mallory' };
const ALICE = { id: 'U0ALICE01', name: 'alice' };
const CAMPAIGN = '2026-Q4-c0ffee01';

let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;

interface Endpoint {
  url: string;
  started: CampaignStartRequest[];
  resumed: string[];
  warnings: Array<{ message: string; fields: Record<string, unknown> | undefined }>;
  close(): Promise<void>;
}

/** A fresh endpoint (its own membership cache) with the given security team group. */
async function endpoint(group: string | undefined): Promise<Endpoint> {
  const started: CampaignStartRequest[] = [];
  const resumed: string[] = [];
  const warnings: Endpoint['warnings'] = [];
  const config: AccessReviewConfig = {
    ...TEST_CONFIG,
    slack: { apiUrl: slack.apiUrl, ...(group ? { securityTeamUserGroup: group } : {}) },
  };
  const services: Services = testServices(store, {
    config,
    slack: async () => new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl }),
    tasks: { succeed: async (token) => void resumed.push(token) },
    log: {
      info: () => undefined,
      warn: (message, fields) => void warnings.push({ message, fields }),
      error: (message, fields) => void warnings.push({ message, fields }),
    },
    startCampaign: async (input) => {
      started.push(input);
      return { executionName: `slack-test-${started.length}` };
    },
  });
  const handler = await createSlackEndpoint({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, services });
  const host = await serveSlackEndpoint(handler, services.log);
  return { url: host.url, started, resumed, warnings, close: () => host.close() };
}

async function command(at: Endpoint, user: { id: string }, text: string) {
  const before = slack.ephemerals().length;
  const ack = await slack.sendCommand({
    appUrl: at.url,
    signingSecret: SIGNING_SECRET,
    userId: user.id,
    command: '/access-review',
    text,
  });
  const replies = slack
    .ephemerals()
    .slice(before)
    .filter((e) => e.user === user.id && e.via === 'response_url')
    .map((e) => e.text);
  return { ack, ackText: ack.body === '' ? '' : (JSON.parse(ack.body) as { text: string }).text, replies };
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('slack-command'));
  slack = await startSlackSandbox({
    users: [
      { id: SAM.id, name: SAM.name, email: 'sam@acme.example' },
      { id: MALLORY.id, name: MALLORY.name, email: 'mallory@acme.example' },
      { id: ALICE.id, name: ALICE.name, email: 'alice@acme.example' },
    ],
    botToken: BOT_TOKEN,
    userGroups: [{ id: GROUP, handle: 'security', users: [SAM.id] }],
  });
  await seedReviewTask(store, {
    campaignId: CAMPAIGN,
    reviewer: 'alice',
    slackUserId: ALICE.id,
    principals: ['carol', 'gina'],
    entitlement: 'admin',
  });
  // alice's review DM, as RequestReview sends it: reminders reply in its thread.
  await requestReview(
    { campaignId: CAMPAIGN, reviewer: 'alice', taskToken: 'token-alice' },
    testServices(store, {
      config: { ...TEST_CONFIG, slack: { apiUrl: slack.apiUrl } },
      slack: async () => new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl }),
    }),
  );
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
});

describe('/access-review for the security team', () => {
  it('status: progress per reviewer of the running campaign, to the caller only', async () => {
    const at = await endpoint(GROUP);
    try {
      const { ack, ackText, replies } = await command(at, SAM, 'status');
      expect(ack.status).toBe(200);
      expect(ackText).toContain('Working on');
      expect(replies).toHaveLength(1);
      expect(replies[0]).toContain(`*Campaign ${CAMPAIGN}*: in review`);
      expect(replies[0]).toContain('0 of 2 grants decided; 1 of 1 reviewers still open');
      expect(replies[0]).toMatch(/• alice: 0\/2 decided, awaiting, due 20\d\d-/);
    } finally {
      await at.close();
    }
  });

  it('start: scope and reason go to startCampaign with who asked; a scope outside the deployment starts nothing', async () => {
    const at = await endpoint(GROUP);
    try {
      const { replies } = await command(
        at,
        SAM,
        'start repo:acme/api user:carol -- quarterly audit follow-up',
      );
      expect(at.started).toEqual([
        {
          trigger: 'slack',
          requestedBy: 'U0SEC0001 (sam)',
          scope: ['repo:acme/api', 'user:carol'],
          reason: 'quarterly audit follow-up',
        },
      ]);
      expect(replies[0]).toContain(
        'Started a campaign over repo:acme/api, user:carol (execution slack-test-1)',
      );
      const refused = await command(at, SAM, 'start repo:other/api -- elsewhere');
      expect(refused.replies[0]).toContain('Nothing was started');
      expect(refused.replies[0]).toContain('not in organization acme');
      expect(at.started).toHaveLength(1);
    } finally {
      await at.close();
    }
  });

  it('usage errors are the acknowledgement itself, listing every bad part; nothing runs', async () => {
    const at = await endpoint(GROUP);
    try {
      const { ackText, replies } = await command(at, SAM, 'start repo:acme nonsense:1');
      expect(ackText).toContain('`/access-review start` was not run:');
      expect(ackText).toContain('repo:acme');
      expect(ackText).toContain('nonsense:1');
      expect(ackText).toContain('a reason is required');
      expect(replies).toEqual([]);
      expect(at.started).toEqual([]);
      const other = await command(at, SAM, 'status 2026-Q4-zzz extra -- why');
      expect(other.ackText).toContain('"2026-Q4-zzz" is not a campaign id');
      expect(other.ackText).toContain('"extra" is not a campaign id');
      expect(other.ackText).toContain('one campaign id at most (2 given)');
      expect(other.ackText).toContain('status takes no reason');
    } finally {
      await at.close();
    }
  });
});

describe('refusals', () => {
  it('someone outside the group: refused, told so, and the attempt is logged with who and which subcommand', async () => {
    const at = await endpoint(GROUP);
    try {
      const { replies } = await command(at, MALLORY, 'start -- let me in');
      expect(replies[0]).toContain('Nothing was done');
      expect(replies[0]).toContain('you are not one. This attempt was logged.');
      expect(at.started).toEqual([]);
      expect(at.warnings).toContainEqual({
        message: 'slash command refused',
        fields: {
          who: MALLORY.id,
          subcommand: 'start',
          reason: 'not a member of the security team user group',
          group: GROUP,
        },
      });
      const cancel = await command(at, MALLORY, `cancel ${CAMPAIGN}`);
      expect(cancel.replies[0]).toContain('Nothing was done');
      expect((await store.campaigns.get(CAMPAIGN)).cancellation).toBeUndefined();
    } finally {
      await at.close();
    }
  });

  it('no group configured: everyone is refused, and the reply says why', async () => {
    const at = await endpoint(undefined);
    try {
      const { replies } = await command(at, SAM, 'status');
      expect(replies[0]).toContain('no security team is configured (`slack.securityTeamUserGroup`');
      expect(at.warnings[0]?.fields).toMatchObject({
        who: SAM.id,
        reason: 'no security team user group configured',
      });
    } finally {
      await at.close();
    }
  });

  it('Slack failing to list the group refuses (never allows), and the next command asks again', async () => {
    const at = await endpoint(GROUP);
    try {
      slack.failNext('usergroups.users.list', { error: 'internal_error' });
      const { replies } = await command(at, SAM, 'start -- during an outage');
      expect(replies[0]).toContain('Slack could not confirm that you are in the security team');
      expect(replies[0]).toContain('internal_error');
      expect(at.started).toEqual([]);
      const next = await command(at, SAM, 'status');
      expect(next.replies[0]).toContain(`*Campaign ${CAMPAIGN}*`);
    } finally {
      await at.close();
    }
  });

  it('a group that does not exist refuses everyone', async () => {
    const at = await endpoint('S0NOSUCH01');
    try {
      const { replies } = await command(at, SAM, 'status');
      expect(replies[0]).toContain('no_such_subteam');
    } finally {
      await at.close();
    }
  });
});

describe('remind from Slack', () => {
  it('reminds every reviewer with undecided grants now, in their review thread, recorded as reminder_sent', async () => {
    const at = await endpoint(GROUP);
    try {
      const { replies } = await command(at, SAM, `remind ${CAMPAIGN}`);
      expect(replies[0]).toBe(`Campaign ${CAMPAIGN}: reminded 1 reviewer(s): alice (2 undecided, by Slack).`);
      const events = (await store.events.list(CAMPAIGN)).filter((e) => e.type === 'reminder_sent');
      expect(events.map((e) => e.data)).toMatchObject([
        { reviewer: 'alice', number: 1, channel: 'slack', undecided: 2 },
      ]);
      const task = await store.tasks.get(CAMPAIGN, 'alice');
      const thread = slack.messages(task?.channelId as string).filter((m) => m.threadTs === task?.messageTs);
      expect(thread).toHaveLength(1);
      const status = await command(at, SAM, 'status');
      expect(status.replies[0]).toContain('1 reminder(s)');
    } finally {
      await at.close();
    }
  });
});

describe('cancel from Slack', () => {
  it('cancels the running campaign, says what it did, and resumes the open task', async () => {
    const at = await endpoint(GROUP);
    try {
      const { replies } = await command(at, SAM, 'cancel -- wrong scope');
      expect(replies[0]).toContain(
        `Campaign ${CAMPAIGN} is cancelled: 1 open review task(s) closed, nothing will be revoked`,
      );
      expect(at.resumed).toEqual(['token-alice']);
      const event = await store.events.findFirst(CAMPAIGN, 'campaign_cancelled');
      expect(event?.data).toEqual({ by: SAM.id, byName: 'sam', reason: 'wrong scope', phase: 'in_review' });
      const status = await command(at, SAM, `status ${CAMPAIGN}`);
      expect(status.replies[0]).toContain(`cancelled by <@${SAM.id}>`);
      expect(status.replies[0]).toContain('alice: 0/2 decided, cancelled');
      const again = await command(at, SAM, `cancel ${CAMPAIGN}`);
      expect(again.replies[0]).toContain(`was already cancelled by <@${SAM.id}>`);
    } finally {
      await at.close();
    }
  });
});
