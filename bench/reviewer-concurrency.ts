/**
 * How soon every reviewer is asked: the synthesized workflow's reviewer Map (a Distributed Map,
 * MaxConcurrency 10,000) against the same definition with the former inline Map's cap of 40, run on
 * aws-local-stepfunctions with stub steps. Each reviewer answers a fixed time after being asked
 * (standing in for a review window of people who take their time); the figure is when the last
 * reviewer was asked, and how many were waiting to be asked at once at most.
 */
import '../lib/local/node20';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import { parseConfig } from '../functions/core/config';
import { synthesizeForLocalHost } from '../lib/local/synthesized-workflow';

type Handlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

const CONFIG = parseConfig({
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice'] },
  people: [{ github: 'alice', email: 'alice@acme.example' }],
});

/** How long each stub reviewer takes to answer, in ms. */
const ANSWER_MS = 200;

interface Measured {
  reviewers: number;
  maxConcurrency: number;
  /** From the first reviewer asked to the last. */
  spreadMs: number;
  peakWaiting: number;
}

async function measure(reviewers: number, maxConcurrency: number | undefined): Promise<Measured> {
  const local = synthesizeForLocalHost(CONFIG, { reviewWindowSeconds: 60 });
  const map = local.definition.States.ReviewEachReviewer as unknown as { MaxConcurrency: number };
  if (maxConcurrency !== undefined) map.MaxConcurrency = maxConcurrency;
  const logins = Array.from({ length: reviewers }, (_, i) => `reviewer-${i}`);
  let firstAsked: number | undefined;
  let lastAsked = 0;
  let waiting = 0;
  let peakWaiting = 0;
  const handlers: Handlers = {};
  for (const [state, handler] of Object.entries(local.handlerByStateName)) {
    handlers[state] = async () => {
      if (handler === 'request-review') {
        lastAsked = performance.now();
        firstAsked ??= lastAsked;
        waiting += 1;
        peakWaiting = Math.max(peakWaiting, waiting);
        await new Promise((done) => setTimeout(done, ANSWER_MS));
        waiting -= 1;
        return {};
      }
      const output: Record<string, unknown> = { campaignId: 'bench' };
      if (handler === 'assign-reviewers') output.reviewers = logins;
      if (handler === 'check-revocations') output.held = 0;
      return { Payload: output } as never;
    };
  }
  await new StateMachine(local.definition).run(
    {},
    {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: { Name: 'bench' },
        get Task() {
          return { Token: `token-${Math.random()}` };
        },
      },
    },
  ).result;
  return {
    reviewers,
    maxConcurrency: map.MaxConcurrency,
    spreadMs: lastAsked - (firstAsked ?? lastAsked),
    peakWaiting,
  };
}

export async function reviewerConcurrencyBenchmark(): Promise<string> {
  const rows: string[] = [];
  for (const reviewers of [40, 400, 2_000]) {
    const inline = await measure(reviewers, 40);
    const distributed = await measure(reviewers, undefined);
    for (const [label, run] of [
      ['inline Map, 40 at once (before)', inline],
      ['Distributed Map (now)', distributed],
    ] as const) {
      rows.push(
        `| ${reviewers.toLocaleString('en')} | ${label} | ${run.maxConcurrency.toLocaleString('en')} | ${run.peakWaiting.toLocaleString('en')} | ${Math.floor(run.spreadMs / ANSWER_MS)} | ${(run.spreadMs / ANSWER_MS).toFixed(2)} |`,
      );
    }
  }
  return [
    '### Reviewers asked at once (reviewer Map)',
    '',
    `The synthesized workflow on aws-local-stepfunctions, every step a stub; each reviewer answers ${ANSWER_MS} ms`,
    'after being asked (a stand-in for a review window). "Answer times before the last is asked" counts how many',
    'whole answer times passed between the first reviewer being asked and the last: on AWS each one is up to a',
    'whole review window (14 days by default) that a queued reviewer waits before being asked.',
    '',
    '| reviewers | Map | MaxConcurrency | most waiting at once | answer times before the last is asked | spread / answer time |',
    '|---:|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await reviewerConcurrencyBenchmark());
}
