import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaConfigEnvironment } from '../../support/lambda-config';

/**
 * On Lambda, logs are Powertools Logger JSON lines: the service and handler, the invocation's
 * Lambda context (request id, function name, cold start flag), and the campaign the event is about as
 * `campaignId` and Powertools' `correlation_id`, which do not leak into the next invocation.
 */

const saved = { ...process.env };
const CONFIG = {
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice'] },
  people: [{ github: 'alice', email: 'alice@acme.example' }],
};

function context(requestId: string) {
  return {
    functionName: 'AccessReview-SnapshotFunction-AbC123',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:AccessReview-SnapshotFunction-AbC123',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    getRemainingTimeInMillis: () => 900_000,
  };
}

let lines: Array<Record<string, unknown>>;

beforeEach(() => {
  Object.assign(process.env, {
    TABLE_NAME: 'access-review-test',
    ACCESS_REVIEW_HANDLER: 'snapshot',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ...lambdaConfigEnvironment(CONFIG),
  });
  lines = [];
  // Powertools writes through its own Console on process.stdout / process.stderr.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n')) {
        if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      return true;
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('the Lambda logger', () => {
  it('writes the Lambda context, the handler and the campaign as correlation id', async () => {
    vi.resetModules();
    const { lambdaHandler } = await import('../../../functions/runtime/aws');
    const handler = lambdaHandler(async (input: { campaignId?: string }, services) => {
      services.log.warn('person not found in Slack', { login: 'zed' });
      services.progress(`working on ${input.campaignId ?? 'nothing'}`);
      return 'done';
    });

    expect(await handler({ campaignId: '2027-Q1-1a2b3c4d' }, context('req-1'))).toBe('done');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 'WARN',
      message: 'person not found in Slack',
      login: 'zed',
      service: 'access-review',
      handler: 'snapshot',
      campaignId: '2027-Q1-1a2b3c4d',
      correlation_id: '2027-Q1-1a2b3c4d',
      function_request_id: 'req-1',
      function_name: 'AccessReview-SnapshotFunction-AbC123',
      cold_start: expect.any(Boolean),
    });
    expect(lines[1]).toMatchObject({ level: 'INFO', message: 'working on 2027-Q1-1a2b3c4d' });

    // The next invocation in the same container is about no campaign: nothing of the last one stays.
    lines.length = 0;
    await handler({}, context('req-2'));
    expect(lines[1]).toMatchObject({
      message: 'working on nothing',
      function_request_id: 'req-2',
      cold_start: false,
    });
    expect(lines[1]).not.toHaveProperty('campaignId');
    expect(lines[1]).not.toHaveProperty('correlation_id');
  });
});
