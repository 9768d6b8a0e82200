import { awsCallBudget, awsConnectorBudget, gitHubCallBudget, worstCaseMs } from '../core/call-budget';
import type { Services } from '../runtime/services';

/**
 * The longest a single call to a source may take with its retries and rate-limit waits (a GitHub
 * page, an AWS policy edit), from the call budgets stated in functions/core/call-budget.ts. Steps
 * that work in shards stop this long, plus a minute for their own bookkeeping, before their
 * Lambda's time runs out.
 */
export const LONGEST_CALL_BUDGET_MS = Math.max(
  worstCaseMs(gitHubCallBudget()),
  worstCaseMs(awsCallBudget(awsConnectorBudget)),
);
export const SHARD_SAFETY_MARGIN_MS = 60_000 + LONGEST_CALL_BUDGET_MS;

/**
 * True when the invocation should stop at its next safe point and let the workflow call it again:
 * less than `margin` (plus `reserveMs` for work that must still follow) remains. Never true where
 * no limit is known (tests, CLI).
 */
export function timeIsShort(services: Services, reserveMs = 0, margin = SHARD_SAFETY_MARGIN_MS): boolean {
  const left = services.timeLeftMs?.();
  return left !== undefined && left < margin + reserveMs;
}

/** `work` on every item, at most `concurrency` at a time; results in the items' order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
