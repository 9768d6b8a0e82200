/**
 * Bounded calls (functions/core/call-budget.ts): what the per-request deadline costs a GitHub
 * request, and the worst case of every call each Lambda makes against that Lambda's timeout.
 *
 * Cost: N GitHub REST requests to a loopback server through the real client (Octokit with the
 * retry and throttling plugins and the deadline-carrying fetch), against the same requests through
 * plain fetch in the same process (the baseline; ratio = client time / baseline time). The client's
 * deadline reads each body under the timeout, so the figure includes that copy.
 */
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createGitHubClient, fetchWithTimeout } from '../functions/connectors/github/client';
import {
  awsCallBudget,
  budgetsForHandler,
  type CallBudget,
  gitHubCallBudget,
  slackCallBudget,
  worstCaseMs,
} from '../functions/core/call-budget';
import { HANDLERS } from '../lib/aws/handlers';

const REQUESTS = 2_000;
/** A page of 100 members, about the size of a REST page the connector reads. */
const BODY = JSON.stringify(
  Array.from({ length: 100 }, (_, i) => ({ login: `user-${i}`, id: i, type: 'User', site_admin: false })),
);

async function time(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < REQUESTS; i += 1) await run();
  return performance.now() - started;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 })} s`;
}

export async function callBudgetBenchmark(): Promise<string> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    response.end(BODY);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const url = `http://127.0.0.1:${address.port}`;
  const bounded = fetchWithTimeout(12_000);
  const client = createGitHubClient({ token: 't', baseUrl: url, throttle: { fast: true }, warn: () => {} });
  const warm = async () => {
    for (let i = 0; i < 200; i += 1) {
      await (await fetch(`${url}/orgs/acme/members`)).json();
      await (await bounded(`${url}/orgs/acme/members`)).json();
      await client.request('GET /orgs/{org}/members', { org: 'acme' });
    }
  };
  await warm();
  const plain = await time(async () => (await fetch(`${url}/orgs/acme/members`)).json());
  const deadline = await time(async () => (await bounded(`${url}/orgs/acme/members`)).json());
  const octokit = await time(() => client.request('GET /orgs/{org}/members', { org: 'acme' }));
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));

  const rows = HANDLERS.map((spec) => {
    const budgets = budgetsForHandler(spec.name);
    const calls: Array<[string, CallBudget]> = [['AWS (hub)', awsCallBudget(budgets.hub)]];
    if (spec.secrets.includes('github')) calls.push(['GitHub', gitHubCallBudget(budgets.github)]);
    if (spec.secrets.includes('slack')) calls.push(['Slack', slackCallBudget(budgets.slack)]);
    if (spec.awsRoles !== 'none') calls.push(['AWS (members)', awsCallBudget(budgets.awsConnector)]);
    const timeout = spec.timeout.toMilliseconds();
    const worst = Math.max(...calls.map(([, call]) => worstCaseMs(call)));
    return `| ${spec.name} | ${seconds(timeout)} | ${calls
      .map(([name, call]) => `${name} ${seconds(worstCaseMs(call))}`)
      .join(', ')} | ${(worst / timeout).toFixed(2)} |`;
  });

  return [
    '### Bounded calls',
    '',
    `${REQUESTS.toLocaleString('en-US')} GitHub REST requests (a 100-member page, ${BODY.length.toLocaleString('en-US')} bytes) to a loopback server, one after another; ratio against plain fetch in the same run.`,
    '',
    '| path | ms per request | ratio |',
    '| --- | ---: | ---: |',
    `| plain fetch (baseline) | ${(plain / REQUESTS).toFixed(3)} | 1.00× |`,
    `| fetch with the 12 s deadline, body read under it | ${(deadline / REQUESTS).toFixed(3)} | ${(deadline / plain).toFixed(2)}× |`,
    `| the GitHub client (Octokit + plugins + deadline) | ${(octokit / REQUESTS).toFixed(3)} | ${(octokit / plain).toFixed(2)}× |`,
    '',
    'Worst case of one call of each kind a Lambda makes (every attempt timing out, every backoff and honoured retry-after at its longest), against the Lambda timeout; the last column is the largest share of the timeout one call can take.',
    '',
    '| Lambda | timeout | worst case per call | largest / timeout |',
    '| --- | ---: | --- | ---: |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await callBudgetBenchmark());
}
