import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { ListRolesCommand } from '@aws-sdk/client-iam';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients, callAws } from '../../../functions/connectors/aws/clients';
import { AwsTimeoutError } from '../../../functions/connectors/aws/errors';
import {
  type AwsCallBudget,
  awsCallBudget,
  awsClientConfig,
  type SlackCallBudget,
  slackCallBudget,
  slackWebClientOptions,
  worstCaseMs,
} from '../../../functions/core/call-budget';
import { CallTimeoutError, classifyError, TransientError } from '../../../functions/core/errors';
import { createTableRef } from '../../../functions/store/table';
import { type HungServer, startHungServer } from './hung-server';

/*
 * Every AWS SDK client and the Slack WebClient, built with call-budget.ts's options, against a
 * server that accepts the connection and never answers: each call fails within its budget as a
 * timeout, after exactly the attempts the budget allows.
 */

let server: HungServer;
beforeAll(async () => {
  server = await startHungServer();
  // Load undici and the SDK's http handler once, so the first measured attempt is a real one.
  await fetch(server.url, { signal: AbortSignal.timeout(300) }).catch(() => undefined);
});
afterAll(() => server.close());

const awsBudget: AwsCallBudget = {
  connectionTimeoutMs: 100,
  requestTimeoutMs: 150,
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 5,
};
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
/** Scheduling slack on a loaded machine: far below any budget that matters, far above a hang. */
const SLACK_MS = 1_000;

async function timed(
  call: () => Promise<unknown>,
): Promise<{ error: unknown; elapsed: number; requests: number }> {
  const before = server.requests();
  const started = performance.now();
  const error = await call().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (caught: unknown) => caught,
  );
  return { error, elapsed: performance.now() - started, requests: server.requests() - before };
}

// A hang must fail the test quickly, not after the suite's 60 s default.
describe('AWS SDK clients with the call budget', { timeout: 8_000 }, () => {
  it('DynamoDB (the store client): every attempt times out, then a TimeoutError classified as timeout', async () => {
    const table = createTableRef('t', {
      ...awsClientConfig(awsBudget),
      endpoint: server.url,
      region: 'us-east-1',
      credentials,
    });
    const { error, elapsed, requests } = await timed(() =>
      table.client.send(new DescribeTableCommand({ TableName: 't' })),
    );
    expect((error as Error).name).toBe('TimeoutError');
    expect(classifyError(error)).toBe('timeout');
    expect(requests).toBe(awsBudget.maxAttempts);
    expect(elapsed).toBeLessThan(worstCaseMs(awsCallBudget(awsBudget)) + SLACK_MS);
  });

  it('Step Functions SendTaskSuccess: the same budget, the same failure', async () => {
    const sfn = new SFNClient({
      ...awsClientConfig(awsBudget),
      endpoint: server.url,
      region: 'us-east-1',
      credentials,
    });
    const { error, requests } = await timed(() =>
      sfn.send(new SendTaskSuccessCommand({ taskToken: 'token', output: '{}' })),
    );
    expect(classifyError(error)).toBe('timeout');
    expect(requests).toBe(awsBudget.maxAttempts);
  });

  it('the AWS connector: assuming the member role times out and becomes AwsTimeoutError (transient)', async () => {
    const clients = new AwsClients({
      config: {
        endpoint: server.url,
        accounts: [
          {
            accountId: '111111111111',
            regions: ['us-east-1'],
            readRoleArn: 'arn:aws:iam::111111111111:role/access-review-read',
          },
        ],
      } as ConstructorParameters<typeof AwsClients>[0]['config'],
      credentials,
      tuning: awsBudget,
      stsRegion: 'us-east-1',
    });
    const role = clients.iam('111111111111', 'read');
    const { error, elapsed, requests } = await timed(() =>
      callAws(role, 'iam:ListRoles', 'account 111111111111', () =>
        role.client.send(new ListRolesCommand({})),
      ),
    );
    expect(error).toBeInstanceOf(AwsTimeoutError);
    expect(error).toBeInstanceOf(TransientError);
    expect(classifyError(error)).toBe('timeout');
    expect(classifyError({ name: (error as Error).name })).toBe('timeout');
    // STS AssumeRole is the call that hung, attempted as the budget allows; IAM was never reached.
    expect((error as Error).message).toContain('sts:AssumeRole');
    expect(requests).toBe(awsBudget.maxAttempts);
    expect(elapsed).toBeLessThan(worstCaseMs(awsCallBudget(awsBudget)) + SLACK_MS);
  });
});

// A hang must fail the test quickly, not after the suite's 60 s default.
describe('Slack WebClient with the call budget', { timeout: 8_000 }, () => {
  it('each attempt is aborted at its timeout and retried as the budget allows, then a timeout', async () => {
    const budget: SlackCallBudget = {
      timeoutMs: 150,
      retries: 2,
      minTimeoutMs: 1,
      factor: 2,
      maxTimeoutMs: 5,
    };
    const client = new WebClient('xoxb-test', {
      ...slackWebClientOptions(budget),
      slackApiUrl: `${server.url}/api/`,
      // Each aborted attempt would log a warning; the assertions say what happened.
      logLevel: LogLevel.ERROR,
    });
    const { error, elapsed, requests } = await timed(() =>
      client.chat.postMessage({ channel: 'C1', text: 'hi' }),
    );
    expect(classifyError(error)).toBe('timeout');
    expect(requests).toBe(budget.retries + 1);
    expect(elapsed).toBeGreaterThanOrEqual((budget.retries + 1) * budget.timeoutMs - 10);
    expect(elapsed).toBeLessThan(worstCaseMs(slackCallBudget(budget)) + SLACK_MS);
  });

  it('the default options never wait out Slack’s default ten retries over thirty minutes', () => {
    const options = slackWebClientOptions();
    expect(options.timeout).toBeGreaterThan(0);
    expect(options.retryConfig.retries).toBeLessThan(10);
    expect(options.rejectRateLimitedCalls).toBe(true);
  });
});

describe('named timeouts', () => {
  it('CallTimeoutError is transient and classified as a timeout by instance and by name', () => {
    const error = new CallTimeoutError('no answer');
    expect(error).toBeInstanceOf(TransientError);
    expect(classifyError(error)).toBe('timeout');
    expect(classifyError({ Error: 'CallTimeoutError' })).toBe('timeout');
  });
});
