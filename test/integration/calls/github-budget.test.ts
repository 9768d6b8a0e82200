import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient, resolveGitHubBudget } from '../../../functions/connectors/github/client';
import { gitHubFailure } from '../../../functions/connectors/github/errors';
import { gitHubCallBudget } from '../../../functions/core/call-budget';
import { CallTimeoutError, ThrottledError } from '../../../functions/core/errors';

/** A loopback server whose answer each test sets; it counts the requests it gets. */
// Until a test sets one (the warm-up request in beforeAll): an empty 204, so no request finds none.
let answer: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) => {
  response.writeHead(204);
  response.end();
};
let requests = 0;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    requests += 1;
    answer(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  url = `http://127.0.0.1:${address.port}`;
  await fetch(url, { signal: AbortSignal.timeout(300) }).catch(() => undefined);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const TOKEN = 'ghp_budgetToken0';
const tuning = { requestTimeoutMs: 150, retries: 2, retryAfterBaseMs: 1, writeIntervalMs: 0 };

function client(extra: Record<string, number> = {}) {
  return createGitHubClient({
    token: TOKEN,
    baseUrl: url,
    throttle: { ...tuning, ...extra },
    warn: () => {},
  });
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

function rateLimited(status: 403 | 429, retryAfterSeconds: number) {
  return (_request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(status, {
      'content-type': 'application/json',
      'retry-after': String(retryAfterSeconds),
    });
    response.end(
      JSON.stringify({
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      }),
    );
  };
}

// A hang must fail the test quickly, not after the suite's 60 s default.
describe('GitHub calls stay inside their budget', { timeout: 8_000 }, () => {
  it('a body that stops after the headers times out (it is not read as an empty page)', async () => {
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('[{"login":');
    };
    requests = 0;
    const error = gitHubFailure(
      await failure(client().request('GET /orgs/{org}/members', { org: 'acme' })),
      'GET /orgs/acme/members',
      TOKEN,
    );
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect(requests).toBe(tuning.retries + 1);
  });

  it.each([403, 429] as const)(
    'a %i secondary rate limit asking to wait longer than the budget allows fails at once as ThrottledError',
    async (status) => {
      const budget = resolveGitHubBudget(tuning);
      answer = rateLimited(status, budget.maxRetryAfterSeconds + 1);
      requests = 0;
      const error = gitHubFailure(await failure(client().request('GET /user')), 'GET /user', TOKEN);
      expect(error).toBeInstanceOf(ThrottledError);
      expect(requests).toBeLessThanOrEqual(gitHubCallBudget(budget).attempts);
      // 403 is never retried by plugin-retry; a 429 is, as any other status it does not exclude.
      if (status === 403) expect(requests).toBe(1);
    },
  );

  it.each([403, 429] as const)(
    'a %i secondary rate limit that persists is retried at most as the budget says, then ThrottledError',
    async (status) => {
      const budget = resolveGitHubBudget(tuning);
      answer = rateLimited(status, 0);
      requests = 0;
      const error = gitHubFailure(await failure(client().request('GET /user')), 'GET /user', TOKEN);
      expect(error).toBeInstanceOf(ThrottledError);
      const declared = gitHubCallBudget(budget);
      expect(requests).toBeGreaterThan(1);
      expect(requests).toBeLessThanOrEqual(declared.attempts + declared.rateLimitRetries);
    },
  );
});
