import type { SourceUsage } from '../connector';
import type { GitHubClient } from './client';

interface ResponseLike {
  headers?: Record<string, string | number | undefined>;
}

/**
 * Counts every request the client sends and the rate-limit points GitHub charged for it, from
 * GitHub's own headers: `x-ratelimit-resource` names the budget (core, graphql…), and the rise of
 * `x-ratelimit-used` between two answers of the same budget is what the request cost (a GraphQL
 * query can cost more than one point). A request without those headers counts as one point.
 */
export function trackUsage(octokit: GitHubClient): () => SourceUsage {
  const requests: Record<string, number> = {};
  const points: Record<string, number> = {};
  const lastUsed = new Map<string, number>();
  const count = (response: ResponseLike | undefined) => {
    const headers = response?.headers ?? {};
    const resource = String(headers['x-ratelimit-resource'] ?? 'unknown');
    requests[resource] = (requests[resource] ?? 0) + 1;
    const used = Number(headers['x-ratelimit-used']);
    const before = lastUsed.get(resource);
    // The first answer of a budget, a reset (used fell) or no header: one point.
    const cost = Number.isFinite(used) && before !== undefined && used > before ? used - before : 1;
    if (Number.isFinite(used)) lastUsed.set(resource, used);
    points[resource] = (points[resource] ?? 0) + cost;
  };
  octokit.hook.after('request', (response) => count(response as ResponseLike));
  octokit.hook.error('request', (error) => {
    count((error as { response?: ResponseLike }).response);
    throw error;
  });
  return () => ({ requests: { ...requests }, points: { ...points } });
}
