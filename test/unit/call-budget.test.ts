import { createRequire } from 'node:module';
import type { SdkError } from '@smithy/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  awsCallBudget,
  awsConnectorBudget,
  awsHubBudget,
  BoundedRetryStrategy,
  budgetsForHandler,
  type CallBudget,
  gitHubCallBudget,
  slackCallBudget,
  slackWebClientOptions,
  worstCaseMs,
} from '../../functions/core/call-budget';
import { HANDLERS, type HandlerSpec } from '../../lib/aws/handlers';

/** The calls a handler makes, read from its catalogue entry (what it may touch is what it calls). */
function callsOf(spec: HandlerSpec): CallBudget[] {
  const budgets = budgetsForHandler(spec.name);
  const calls: CallBudget[] = [awsCallBudget(budgets.hub, 'DynamoDB / Step Functions / Secrets Manager')];
  if (spec.secrets.includes('github')) calls.push(gitHubCallBudget(budgets.github));
  if (spec.secrets.includes('slack')) calls.push(slackCallBudget(budgets.slack));
  if (spec.awsRoles !== 'none') calls.push(awsCallBudget(budgets.awsConnector, 'AWS member accounts'));
  return calls;
}

describe('every call fits inside the Lambda that makes it', () => {
  it.each(HANDLERS.map((spec) => [spec.name, spec] as const))(
    '%s: the worst case of each call it makes is within its timeout',
    (_name, spec) => {
      const timeoutMs = spec.timeout.toMilliseconds();
      for (const call of callsOf(spec)) {
        expect({ service: call.service, worstCaseMs: worstCaseMs(call) <= timeoutMs }).toEqual({
          service: call.service,
          worstCaseMs: true,
        });
      }
    },
  );

  it('the interactivity endpoint uses the short budgets: a Slack call fits in Slack-sized time', () => {
    const spec = HANDLERS.find((candidate) => candidate.name === 'slack-events');
    expect(spec).toBeDefined();
    const budgets = budgetsForHandler('slack-events');
    expect(worstCaseMs(slackCallBudget(budgets.slack))).toBeLessThan(budgets.slack.timeoutMs * 3);
    expect(budgets.hub).not.toBe(awsHubBudget);
  });
});

describe('worstCaseMs', () => {
  it('adds every attempt at its timeout, every backoff and every honoured retry-after', () => {
    expect(
      worstCaseMs({
        service: 'x',
        attemptTimeoutMs: 100,
        attempts: 3,
        retryDelaysMs: [10, 20],
        rateLimitRetries: 2,
        maxRetryAfterMs: 1_000,
      }),
    ).toBe(3 * 100 + 30 + 2 * (1_000 + 100));
  });

  it('GitHub: plugin-retry waits 1, 4, 9 … × base; rate-limit retries wait at most the capped retry-after', () => {
    const budget = gitHubCallBudget({
      requestTimeoutMs: 1_000,
      retries: 3,
      retryAfterBaseMs: 10,
      rateLimitRetries: 1,
      maxRetryAfterSeconds: 5,
    });
    expect(budget.retryDelaysMs).toEqual([10, 40, 90]);
    expect(worstCaseMs(budget)).toBe(4 * 1_000 + 140 + (50 + 1_000));
  });

  it('AWS: an attempt is bounded by connecting plus answering; backoffs by maxDelayMs', () => {
    expect(worstCaseMs(awsCallBudget(awsConnectorBudget))).toBe(4 * 13_000 + 3 * 5_000);
  });
});

describe('the Slack budget matches what the WebClient actually waits', () => {
  // p-retry (inside @slack/web-api) schedules its waits with the `retry` package; this is the copy
  // Slack's client runs, resolved from it rather than declared, since it is only checked here.
  const fromSlack = createRequire(createRequire(import.meta.url).resolve('@slack/web-api'));
  const retry = createRequire(fromSlack.resolve('p-retry'))('retry') as {
    timeouts(options: object): number[];
  };

  it('no wait the retry package schedules is longer than the budget says (randomised, any options)', () => {
    fc.assert(
      fc.property(
        fc.record({
          timeoutMs: fc.integer({ min: 1, max: 10_000 }),
          retries: fc.integer({ min: 0, max: 6 }),
          minTimeoutMs: fc.integer({ min: 0, max: 2_000 }),
          factor: fc.double({ min: 1, max: 4, noNaN: true }),
          extraMs: fc.integer({ min: 0, max: 10_000 }),
        }),
        ({ extraMs, ...rest }) => {
          // The retry package refuses a minimum above the maximum.
          const budget = { ...rest, maxTimeoutMs: rest.minTimeoutMs + extraMs };
          const { retryConfig } = slackWebClientOptions(budget);
          const scheduled = retry.timeouts(retryConfig);
          const declared = slackCallBudget(budget).retryDelaysMs;
          expect(scheduled).toHaveLength(declared.length);
          scheduled.forEach((wait, index) => {
            expect(wait).toBeLessThanOrEqual(declared[index] ?? -1);
          });
        },
      ),
    );
  });
});

describe('BoundedRetryStrategy', () => {
  it('makes exactly maxAttempts attempts and never waits longer than maxDelayMs, whatever AWS hints', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 2_000 }),
        fc.option(fc.integer({ min: -1_000, max: 100_000 })),
        async (maxAttempts, baseDelayMs, maxDelayMs, hintMs) => {
          const strategy = new BoundedRetryStrategy({
            connectionTimeoutMs: 1,
            requestTimeoutMs: 1,
            maxAttempts,
            baseDelayMs,
            maxDelayMs,
          });
          const error = Object.assign(new Error('throttled'), {
            name: 'ThrottlingException',
            $metadata: {},
          }) as SdkError;
          let token = await strategy.acquireInitialRetryToken();
          let attempts = 1;
          for (;;) {
            try {
              token = await strategy.refreshRetryTokenForRetry(token, {
                errorType: 'THROTTLING',
                error,
                ...(hintMs === null ? {} : { retryAfterHint: new Date(Date.now() + hintMs) }),
              });
            } catch (thrown) {
              expect(thrown).toBe(error);
              break;
            }
            attempts += 1;
            expect(token.getRetryDelay()).toBeGreaterThanOrEqual(0);
            expect(token.getRetryDelay()).toBeLessThanOrEqual(maxDelayMs);
          }
          expect(attempts).toBe(maxAttempts);
        },
      ),
    );
  });
});
