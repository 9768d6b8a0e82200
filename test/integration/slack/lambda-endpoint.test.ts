import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../../functions/store/index';
import { serveSlackEndpoint } from '../../../lib/local/host';
import { buildBlockActionsRequest, signSlackRequest } from '../../../sandbox/slack/interactions';
import type { SlackSandbox } from '../../../sandbox/slack/server';
import { ALICE, BOB, type SlackLambdaFixture, startSlackLambdaFixture } from '../../support/slack-lambda';

/**
 * The deployed Slack endpoint: the slack-events Lambda handler (Bolt's AwsLambdaReceiver) fed
 * Function URL events (payload format 2.0), with its configuration, table and secrets read from
 * the environment exactly as on AWS. DynamoDB is dynalite (through AWS_ENDPOINT_URL_DYNAMODB);
 * Secrets Manager and Step Functions have no local emulator, so they are mocked with responses
 * shaped as in the AWS API reference (GetSecretValue → SecretString; SendTaskSuccess → {}).
 */
const SIGNING_SECRET = 'lambda-endpoint-signing-secret';
const BOT_TOKEN = 'xoxb-lambda-endpoint';
const CAMPAIGN = '2026-Q4-lambda01';

let fixture: SlackLambdaFixture;
let stepFunctions: SlackLambdaFixture['stepFunctions'];
let slack: SlackSandbox;
let store: Store;
let handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body?: string }>;
let channel: string;
let messageTs: string;
/** The DM as first posted, with every button: later tests click from this view. */
let firstView: NonNullable<ReturnType<SlackSandbox['message']>>;
let grantIds: string[];

function functionUrlEvent(request: { headers: Record<string, string>; body: string }) {
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
      time: '25/Nov/2026:21:00:00 +0000',
      timeEpoch: Date.now(),
    },
    body: request.body,
    isBase64Encoded: false,
  };
}

function click(options: {
  as: { id: string; name: string };
  grantIndex: number;
  signature?: string;
  now?: Date;
  /** The message as the clicker saw it (a double click sends the second from the same view). */
  seen?: ReturnType<SlackSandbox['message']>;
}) {
  const message = options.seen ?? slack.message(channel, messageTs)!;
  const grantId = grantIds[options.grantIndex]!;
  const request = buildBlockActionsRequest({
    appUrl: 'unused',
    signingSecret: SIGNING_SECRET,
    user: options.as,
    teamId: slack.teamId,
    channelId: channel,
    message,
    actionId: `review_keep:${grantId}`,
    value: JSON.stringify({ c: CAMPAIGN, g: grantId }),
    responseUrl: slack.responseUrlFor({ channel, messageTs, user: options.as.id }),
    signature: options.signature,
    now: options.now,
  });
  return handler(functionUrlEvent(request), {});
}

beforeAll(async () => {
  fixture = await startSlackLambdaFixture({
    table: 'lambda-endpoint',
    campaignId: CAMPAIGN,
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    taskToken: 'sfn-task-token-alice',
  });
  ({ store, slack, stepFunctions, grantIds, channel, messageTs } = fixture);
  firstView = slack.message(channel, messageTs)!;

  ({ handler } = (await import('../../../functions/handlers/slack-events')) as unknown as {
    handler: typeof handler;
  });
});

afterAll(async () => {
  await fixture?.close();
});

describe('the Slack endpoint Lambda (AwsLambdaReceiver behind a Function URL)', () => {
  it('answers 401 to a forged signature and to a stale timestamp, writing nothing', async () => {
    const forged = await click({ as: ALICE, grantIndex: 0, signature: `v0=${'f'.repeat(64)}` });
    const stale = await click({ as: ALICE, grantIndex: 0, now: new Date(Date.now() - 6 * 60_000) });
    expect(forged.statusCode).toBe(401);
    expect(stale.statusCode).toBe(401);
    expect(await store.decisions.list(CAMPAIGN)).toEqual([]);
  });

  it('refuses a click by someone else and records one by the reviewer', async () => {
    expect((await click({ as: BOB, grantIndex: 0 })).statusCode).toBe(200);
    expect(await store.decisions.list(CAMPAIGN)).toEqual([]);
    expect(slack.ephemerals().at(-1)).toMatchObject({ user: BOB.id });
    expect((await click({ as: ALICE, grantIndex: 0 })).statusCode).toBe(200);
    expect((await store.decisions.list(CAMPAIGN)).map((d) => d.grantId)).toEqual([grantIds[0]]);
    expect(stepFunctions.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('resumes the workflow with the stored token on the last decision, and only then', async () => {
    const seen = slack.message(channel, messageTs);
    expect((await click({ as: ALICE, grantIndex: 1, seen })).statusCode).toBe(200);
    expect((await click({ as: ALICE, grantIndex: 1, seen })).statusCode).toBe(200);
    const calls = stepFunctions.commandCalls(SendTaskSuccessCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input.taskToken).toBe('sfn-task-token-alice');
    expect(JSON.parse(calls[0]!.args[0].input.output ?? '{}')).toEqual({ reviewer: 'alice', decided: 2 });
    expect(await store.decisions.list(CAMPAIGN)).toHaveLength(2);
    // The token never reaches Slack, and a cold start spends nothing on auth.test.
    expect(JSON.stringify(slack.calls())).not.toContain('sfn-task-token-alice');
    expect(slack.calls().filter((call) => call.method === 'auth.test')).toEqual([]);
  });
});

/** The same requests to both hosts: the Lambda handler, and the embedded host's HTTP server. */
describe('request checks, the same on both hosts', () => {
  let host: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    host = await serveSlackEndpoint(async (event) => ({ body: '', ...(await handler(event, {})) }), {
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    });
  });
  afterAll(async () => host?.close());

  const hosts = {
    lambda: async (headers: Record<string, string>, body: string) =>
      (await handler(functionUrlEvent({ headers, body }), {})).statusCode,
    embedded: async (headers: Record<string, string>, body: string) =>
      (await fetch(host.url, { method: 'POST', headers, body })).status,
  };

  /** A click by bob (not the reviewer), its payload changed by `change`, signed correctly. */
  function signedClick(change: (payload: Record<string, unknown>) => void, now = new Date()) {
    const request = buildBlockActionsRequest({
      appUrl: 'unused',
      signingSecret: SIGNING_SECRET,
      user: BOB,
      teamId: slack.teamId,
      channelId: channel,
      message: firstView,
      actionId: `review_keep:${grantIds[0]}`,
      value: JSON.stringify({ c: CAMPAIGN, g: grantIds[0] }),
      responseUrl: slack.responseUrlFor({ channel, messageTs, user: BOB.id }),
      now,
    });
    const payload = structuredClone(request.payload) as unknown as Record<string, unknown>;
    change(payload);
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = request.headers['X-Slack-Request-Timestamp'] as string;
    return {
      headers: { ...request.headers, 'X-Slack-Signature': signSlackRequest(body, SIGNING_SECRET, timestamp) },
      body,
    };
  }

  for (const [name, send] of Object.entries(hosts)) {
    it(`${name}: a correctly signed click 30 minutes in the future is 401 and writes nothing`, async () => {
      const before = await store.decisions.list(CAMPAIGN);
      const future = new Date(Date.now() + 30 * 60_000);
      const request = buildBlockActionsRequest({
        appUrl: 'unused',
        signingSecret: SIGNING_SECRET,
        user: ALICE,
        teamId: slack.teamId,
        channelId: channel,
        message: firstView,
        actionId: `review_revoke:${grantIds[0]}`,
        value: JSON.stringify({ c: CAMPAIGN, g: grantIds[0] }),
        now: future,
      });
      expect(await send(request.headers, request.body)).toBe(401);
      expect(await store.decisions.list(CAMPAIGN)).toEqual(before);
    });

    it(`${name}: signed payloads without user, user.id, actions or container are 400 and write nothing`, async () => {
      const before = await store.decisions.list(CAMPAIGN);
      const cases: Array<(p: Record<string, unknown>) => void> = [
        (p) => delete p.user,
        (p) => delete (p.user as Record<string, unknown>).id,
        (p) => delete p.actions,
        (p) => delete p.container,
        (p) => Object.defineProperty(p, '__proto__', { value: { polluted: true }, enumerable: true }),
      ];
      for (const change of cases) {
        const { headers, body } = signedClick(change);
        expect(await send(headers, body)).toBe(400);
      }
      expect(await store.decisions.list(CAMPAIGN)).toEqual(before);
    });

    it(`${name}: an unknown action is acknowledged at once and writes nothing`, async () => {
      const before = await store.decisions.list(CAMPAIGN);
      const { headers, body } = signedClick((p) => {
        (p.actions as Array<Record<string, unknown>>)[0]!.action_id = 'someone_elses_button';
      });
      const started = performance.now();
      expect(await send(headers, body)).toBe(200);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(await store.decisions.list(CAMPAIGN)).toEqual(before);
    });

    it(`${name}: no headers and a body that is not a form is 401, not an exception`, async () => {
      expect(await send({}, '{"payload":')).toBe(401);
    });
  }

  it('lambda: an event without headers, without a body, or no event at all is 401', async () => {
    expect((await handler({}, {})).statusCode).toBe(401);
    expect((await handler(undefined, {})).statusCode).toBe(401);
    expect((await handler({ headers: null, body: 42, isBase64Encoded: 'yes' }, {})).statusCode).toBe(401);
  });
});
