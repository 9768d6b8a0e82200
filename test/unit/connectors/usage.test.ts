import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../../../functions/connectors/github/client';
import { trackUsage } from '../../../functions/connectors/github/usage';

/*
 * What a snapshot cost, from GitHub's own headers: x-ratelimit-used rises by a query's cost (a
 * GraphQL query can cost more than one point), per budget; a reset or a missing header counts one.
 */
const answers: Array<{ status: number; resource?: string; used?: number }> = [
  { status: 200, resource: 'graphql', used: 10 },
  { status: 200, resource: 'graphql', used: 13 },
  { status: 200, resource: 'core', used: 40 },
  { status: 200, resource: 'graphql', used: 14 },
  { status: 404, resource: 'core', used: 41 },
  { status: 200, resource: 'graphql', used: 2 },
  { status: 200 },
];
let next = 0;
const server = createServer((_request, response) => {
  const answer = answers[next++] ?? { status: 200 };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (answer.resource) headers['x-ratelimit-resource'] = answer.resource;
  if (answer.used !== undefined) headers['x-ratelimit-used'] = String(answer.used);
  response.writeHead(answer.status, headers);
  response.end(JSON.stringify(answer.status === 404 ? { message: 'Not Found' } : {}));
});
let url = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('snapshot cost from GitHub rate-limit headers', () => {
  it('counts requests and points per budget, failed requests included', async () => {
    const octokit = createGitHubClient({ token: 't', baseUrl: url, throttle: { fast: true, retries: 0 } });
    const usage = trackUsage(octokit);
    for (let i = 0; i < answers.length; i++) {
      await octokit.request('GET /rate_limit').catch(() => undefined);
    }
    expect(usage()).toEqual({
      requests: { graphql: 4, core: 2, unknown: 1 },
      // graphql: 1 (first seen) + 3 + 1 + 1 (the budget reset) = 6; core: 1 + 1.
      points: { graphql: 6, core: 2, unknown: 1 },
    });
  });
});
