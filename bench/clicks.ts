/**
 * Click → acknowledgement for a reviewer with 10, 1,000 and 10,000 grants: each click a signed
 * Function URL event through the real Slack endpoint (request checks, Bolt's AwsLambdaReceiver,
 * the listeners), on dynalite and the Slack sandbox, the message redrawn through the click's
 * response_url before the answer (as on Lambda). Times are ratios against the 10-grant p50 measured
 * in the same run; DynamoDB operations per click are exact counts (what the endpoint's table
 * client sent).
 */
import '../lib/local/node20';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type ClickHarness, startClickHarness } from '../test/support/click-endpoint';
import { startTestStore } from '../test/support/local-store';

const SIZES = [10, 1_000, 10_000] as const;
/** Clicks measured per size (for 10 grants: nine clicks on each of five reviewers' tasks). */
const SAMPLES = 45;

interface SizeResult {
  grants: number;
  times: number[];
  /** Operations of each measured click, by name. */
  operations: Array<Map<string, number>>;
  /** Operations of a click that turned the page (read the next grants), when one was measured. */
  pageTurn?: Map<string, number>;
  /** Operations of the click that decided the last grant (completes the task, resumes the workflow). */
  lastClick?: Map<string, number>;
  seedMs: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function total(operations: Map<string, number>): number {
  return [...operations.values()].reduce((sum, count) => sum + count, 0);
}

function describeOperations(operations: Map<string, number>): string {
  return [...operations.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
}

async function measuredClick(harness: ClickHarness) {
  harness.operations.clear();
  const open = harness.openInMessage();
  const answer = await harness.click();
  if (answer.status !== 200) throw new Error(`a click was answered ${answer.status}`);
  return { ms: answer.ms, operations: new Map(harness.operations), turnedPage: open.length === 1 };
}

export async function clicksBenchmark(): Promise<string> {
  const { dynamo, store } = await startTestStore('bench-clicks');
  let campaign = 0;
  const harnessFor = async (grants: number) =>
    startClickHarness({
      table: 'bench-clicks',
      campaignId: `2026-Q4-bench${String(campaign++).padStart(3, '0')}`,
      grants,
      reuse: { dynamo, store },
    });
  try {
    // Warm-up (JIT, connections): one whole small review, not measured.
    const warm = await harnessFor(10);
    for (let i = 0; i < 10; i++) await measuredClick(warm);
    await warm.close();

    const results: SizeResult[] = [];
    for (const grants of SIZES) {
      const result: SizeResult = { grants, times: [], operations: [], seedMs: 0 };
      while (result.times.length < SAMPLES) {
        const seedStart = performance.now();
        const harness = await harnessFor(grants);
        result.seedMs += performance.now() - seedStart;
        // Every click but the task's last; the last is measured apart (it also completes the task).
        const clicks = Math.min(grants - 1, SAMPLES - result.times.length);
        for (let i = 0; i < clicks; i++) {
          const click = await measuredClick(harness);
          result.times.push(click.ms);
          result.operations.push(click.operations);
          if (click.turnedPage && !result.pageTurn) result.pageTurn = click.operations;
        }
        if (grants === 10 && !result.lastClick) {
          const last = await measuredClick(harness);
          if (harness.resumed.length !== 1) throw new Error('the last click did not resume the workflow');
          result.lastClick = last.operations;
        }
        if (harness.logged.length > 0) {
          throw new Error(`the endpoint logged: ${JSON.stringify(harness.logged.slice(0, 3))}`);
        }
        await harness.close();
      }
      results.push(result);
    }

    const baseline = percentile((results[0] as SizeResult).times, 50);
    const lines = [
      '## Click → acknowledgement (Slack endpoint, dynalite + Slack sandbox)',
      '',
      `Each click is a signed request through the slack-events endpoint (request checks, Bolt's AwsLambdaReceiver, the listener): the decision written, counted on the task, and the message redrawn through the click's response_url before the answer. ${SAMPLES} clicks per size; ratios against the 10-grant p50 of this run (${baseline.toFixed(1)} ms on this machine). Operations are the DynamoDB requests the endpoint sent per click (exact counts).`,
      '',
      '| grants of the reviewer | p50 (× 10-grant p50) | p99 (× 10-grant p50) | DynamoDB ops per click (median) | max |',
      '|---:|---:|---:|---:|---:|',
      ...results.map((r) => {
        const ops = r.operations.map(total);
        return `| ${r.grants.toLocaleString('en-US')} | ${(percentile(r.times, 50) / baseline).toFixed(2)} | ${(percentile(r.times, 99) / baseline).toFixed(2)} | ${percentile(ops, 50)} | ${Math.max(...ops)} |`;
      }),
      '',
    ];
    const typical = results
      .at(-1)
      ?.operations.find(
        (ops) => total(ops) === percentile((results.at(-1) as SizeResult).operations.map(total), 50),
      );
    if (typical) lines.push(`- A click (10,000 grants): ${describeOperations(typical)}.`);
    const turn = results.find((r) => r.pageTurn)?.pageTurn;
    if (turn) {
      lines.push(
        `- A click that turns the page (every listed grant decided; the next ones read): ${describeOperations(turn)}.`,
      );
    }
    const last = results[0]?.lastClick;
    if (last) {
      lines.push(
        `- The last click of a task (closes it, appends review_completed, sends the task token): ${describeOperations(last)}.`,
      );
    }
    return lines.join('\n');
  } finally {
    await dynamo.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await clicksBenchmark());
}
