import { WebClient } from '@slack/web-api';
import { makeGrant } from '../../functions/core/grant';
import { createSlackEndpoint, type SlackEndpoint } from '../../functions/handlers/slack-events';
import type { Services } from '../../functions/runtime/services';
import { parseActionId } from '../../functions/slack/blocks';
import { requestReview } from '../../functions/steps/request-review';
import type { StoredGrant } from '../../functions/store/grants';
import { createStore, type Store } from '../../functions/store/index';
import { keys } from '../../functions/store/table';
import type { LocalDynamo } from '../../lib/local/dynamo';
import { buildBlockActionsRequest } from '../../sandbox/slack/interactions';
import { type SlackSandbox, startSlackSandbox } from '../../sandbox/slack/server';
import { createTestCampaign, startTestStore, TEST_CONFIG, testServices } from './local-store';

/**
 * A reviewer with `grants` grants and their review DM, and the Slack endpoint the slack-events
 * Lambda serves (request checks, Bolt's AwsLambdaReceiver, the listeners) fed signed Function URL
 * events, as Slack sends a click. DynamoDB is dynalite (the endpoint's table client counts the
 * operations it sends), Slack is the sandbox, SendTaskSuccess is recorded. For the click tests and
 * bench/clicks.ts.
 */
export interface ClickHarness {
  dynamo: LocalDynamo;
  store: Store;
  slack: SlackSandbox;
  endpoint: SlackEndpoint;
  campaignId: string;
  channel: string;
  messageTs: string;
  /** SendTaskSuccess calls, in order. */
  resumed: Array<{ taskToken: string; output: Record<string, unknown> }>;
  /** DynamoDB operations the endpoint sent since the last reset (by name). */
  operations: Map<string, number>;
  /** Warnings and errors the endpoint logged. */
  logged: Array<{ level: 'warn' | 'error'; message: string; fields?: Record<string, unknown> }>;
  /** Clicks `decision` on the first open grant the DM shows (or on `grantId`), as `seen` (default: the DM now). */
  click(options?: {
    decision?: 'keep' | 'revoke';
    grantId?: string;
    seen?: ReturnType<SlackSandbox['message']>;
  }): Promise<{ status: number; ms: number; grantId: string }>;
  /** The grant ids the DM shows with buttons now. */
  openInMessage(): string[];
  close(): Promise<void>;
}

export const REVIEWER = { id: 'U0ALICE01', name: 'alice', login: 'alice' };
const SIGNING_SECRET = 'click-harness-signing-secret';
const BOT_TOKEN = 'xoxb-click-harness';
export const TASK_TOKEN = 'sfn-task-token-click-harness';

export async function startClickHarness(options: {
  table: string;
  campaignId: string;
  grants: number;
  /** The endpoint's Slack client; by default a WebClient with its default retry policy. */
  webClient?: (apiUrl: string) => WebClient;
  /** A table another harness started (closed by that one): one campaign per harness. */
  reuse?: { dynamo: LocalDynamo; store: Store };
}): Promise<ClickHarness> {
  const { campaignId } = options;
  const { dynamo, store } = options.reuse ?? (await startTestStore(options.table));
  const slack = await startSlackSandbox({
    users: [{ id: REVIEWER.id, name: REVIEWER.name, email: 'alice@acme.example' }],
    botToken: BOT_TOKEN,
  });
  const config = { ...TEST_CONFIG, slack: { apiUrl: slack.apiUrl } };
  const client = options.webClient?.(slack.apiUrl) ?? new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl });
  await seedGrants(store, campaignId, options.grants);

  const resumed: ClickHarness['resumed'] = [];
  const logged: ClickHarness['logged'] = [];
  await requestReview(
    { campaignId, reviewer: REVIEWER.login, taskToken: TASK_TOKEN },
    testServices(store, { config, slack: async () => client }),
  );
  const task = await store.tasks.get(campaignId, REVIEWER.login);
  if (!task?.channelId || !task.messageTs) throw new Error('RequestReview left no DM on the task');
  const { channelId: channel, messageTs } = task;

  const operations = new Map<string, number>();
  const services: Services = testServices(
    createStore(dynamo.recordingTable((name) => operations.set(name, (operations.get(name) ?? 0) + 1))),
    {
      config,
      slack: async () => client,
      tasks: {
        succeed: async (taskToken, output) => {
          resumed.push({ taskToken, output });
        },
      },
      log: {
        info: () => undefined,
        warn: (message, fields) => logged.push({ level: 'warn', message, fields }),
        error: (message, fields) => logged.push({ level: 'error', message, fields }),
      },
    },
  );
  const endpoint = await createSlackEndpoint({
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    services,
  });

  const openInMessage = () =>
    JSON.stringify(slack.message(channel, messageTs)?.blocks ?? [])
      .match(/"action_id":"review_keep:g_[0-9a-f]{32}"/g)
      ?.map((match) => parseActionId(match.slice('"action_id":"'.length, -1)).grantId) ?? [];

  return {
    dynamo,
    store,
    slack,
    endpoint,
    campaignId,
    channel,
    messageTs,
    resumed,
    operations,
    logged,
    openInMessage,
    async click(clickOptions = {}) {
      const message = clickOptions.seen ?? slack.message(channel, messageTs);
      if (!message) throw new Error('the review DM is gone');
      const grantId = clickOptions.grantId ?? openInMessage()[0];
      if (!grantId) throw new Error('the review DM shows no open grant to click');
      const decision = clickOptions.decision ?? 'keep';
      const request = buildBlockActionsRequest({
        appUrl: 'unused',
        signingSecret: SIGNING_SECRET,
        user: { id: REVIEWER.id, name: REVIEWER.name },
        teamId: slack.teamId,
        channelId: channel,
        message,
        actionId: `review_${decision}:${grantId}`,
        value: JSON.stringify({ c: campaignId, g: grantId }),
        responseUrl: slack.responseUrlFor({ channel, messageTs, user: REVIEWER.id }),
      });
      const started = performance.now();
      const answer = await endpoint(functionUrlEvent(request));
      return { status: answer.statusCode, ms: performance.now() - started, grantId };
    },
    async close() {
      await slack.close();
      if (!options.reuse) await dynamo.close();
    },
  };
}

/**
 * `count` direct grants on acme/repo-NNNN, assigned to alice, as AssignReviewers leaves them (the
 * by-reviewer index keys written with the grants, in batches: seeding 10,000 grants one update at
 * a time would take longer than the measurement), and her pending task.
 */
async function seedGrants(store: Store, campaignId: string, count: number): Promise<void> {
  const now = new Date().toISOString();
  await createTestCampaign(store, campaignId, 'in_review');
  const grants = Array.from({ length: count }, (_, index) => {
    const grant = makeGrant({
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: `acme/repo-${String(Math.floor(index / 4)).padStart(5, '0')}`,
      principalType: 'user',
      principal: `user-${String(index % 4)}`,
      entitlement: 'write',
      via: { kind: 'direct' },
    });
    return {
      ...grant,
      campaignId,
      snapshotAt: now,
      reviewer: REVIEWER.login,
      routingReason: 'owner of the repository (config)',
      holderSlackUserIds: [],
      gsi1pk: keys.reviewerGrants(campaignId, REVIEWER.login),
      gsi1sk: keys.grant(grant.grantId),
    } as StoredGrant;
  });
  await store.grants.putMany(grants);
  await store.tasks.create({
    campaignId,
    reviewer: REVIEWER.login,
    slackUserId: REVIEWER.id,
    grantCount: count,
    status: 'pending',
    dueAt: new Date(Date.now() + 3_600_000).toISOString(),
  });
}

/** A Function URL event (payload format 2.0) carrying a signed Slack request, as AWS builds it. */
export function functionUrlEvent(request: { headers: Record<string, string>; body: string }) {
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefghij',
      domainName: 'abcdefghij.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abcdefghij',
      http: {
        method: 'POST',
        path: '/',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent: 'Slackbot 1.0',
      },
      requestId: 'request-id',
      routeKey: '$default',
      stage: '$default',
      time: '02/Dec/2026:01:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body: request.body,
    isBase64Encoded: false,
  };
}
