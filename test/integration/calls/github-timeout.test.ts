import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, resolveGitHubBudget } from '../../../functions/connectors/github/client';
import { gitHubFailure } from '../../../functions/connectors/github/errors';
import { gitHubCallBudget, worstCaseMs } from '../../../functions/core/call-budget';
import { CallTimeoutError, TransientError } from '../../../functions/core/errors';
import { type HungServer, startHungServer } from './hung-server';

let server: HungServer;
beforeAll(async () => {
  server = await startHungServer();
  // The first fetch of a process loads undici, which can take longer than a short timeout before
  // the request is written; warm it so every attempt below reaches the server.
  await fetch(server.url, { signal: AbortSignal.timeout(300) }).catch(() => undefined);
});
afterAll(() => server.close());

const TOKEN = 'ghp_hungServerToken0';
const tuning = { requestTimeoutMs: 150, retries: 2, retryAfterBaseMs: 5, writeIntervalMs: 0 };

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

// A hang must fail the test quickly, not after the suite's 60 s default.
describe('GitHub calls against a server that never answers', { timeout: 8_000 }, () => {
  it.each([
    [
      'REST',
      (client: ReturnType<typeof createGitHubClient>) => client.request('GET /orgs/{org}', { org: 'acme' }),
    ],
    [
      'GraphQL',
      (client: ReturnType<typeof createGitHubClient>) => client.graphql('query { viewer { login } }'),
    ],
  ])(
    '%s: each attempt times out, is retried within the budget, then fails as CallTimeoutError',
    async (_kind, call) => {
      const client = createGitHubClient({
        token: TOKEN,
        baseUrl: server.url,
        throttle: tuning,
        warn: () => {},
      });
      const before = server.requests();
      const started = performance.now();
      const error = gitHubFailure(await failure(call(client)), 'the call', TOKEN);
      const elapsed = performance.now() - started;

      expect(error).toBeInstanceOf(CallTimeoutError);
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toMatch(/did not answer .* within 150 ms/);
      expect(server.requests() - before).toBe(tuning.retries + 1);
      const budget = worstCaseMs(gitHubCallBudget(resolveGitHubBudget(tuning)));
      // Each attempt lasts its timeout, so the call takes at least all of them, and never more
      // than the budget (plus scheduling slack on a loaded machine).
      expect(elapsed).toBeGreaterThanOrEqual((tuning.retries + 1) * tuning.requestTimeoutMs - 10);
      expect(elapsed).toBeLessThan(budget + 500);
    },
  );
});
