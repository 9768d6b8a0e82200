import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { type ThrottlingOptions, throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';

const GitHubOctokit = Octokit.plugin(throttling, retry);
export type GitHubClient = InstanceType<typeof GitHubOctokit>;

/**
 * Timing knobs. The defaults are GitHub's recommendations as plugin-throttling implements them
 * (writes and GraphQL at least 1 s apart, retry-after honoured in seconds); tests set them to ~0
 * so a retried request does not cost real seconds.
 */
export interface ThrottleTuning {
  /** Shorthand for local runs against the sandbox: no spacing and no waiting (both 0 unless set). */
  fast?: boolean;
  /** Milliseconds per second of `retry-after`, and per step of plugin-retry's 1, 4, 9 … backoff. */
  retryAfterBaseMs?: number;
  /** Minimum spacing between writes (and GraphQL requests, which GitHub counts alike). */
  writeIntervalMs?: number;
  /** Retries after a 5xx, a network fault or a rate limit, before giving up. */
  retries?: number;
}

export interface GitHubClientOptions {
  token: string;
  /** A GitHub App installation instead of `token`: tokens are minted from its key as needed. */
  app?: { appId: string; installationId: number; privateKey: string };
  /** `https://api.github.com`, a GHES `https://host/api/v3`, or the sandbox's URL. */
  baseUrl: string;
  throttle?: ThrottleTuning;
  /** Where rate-limit warnings go; console.warn by default. */
  warn?: (message: string) => void;
}

type LimiterGroup = NonNullable<ThrottlingOptions['write']>;

/**
 * A stand-in for a Bottleneck.Group that only spaces jobs `intervalMs` apart. plugin-throttling
 * keeps its default groups in module state shared by every client of the process, so a test
 * cannot retune them; passing our own group is the plugin's documented override.
 */
function spacingGroup(intervalMs: number): LimiterGroup {
  let nextStart = 0;
  const limiter = {
    async schedule(...args: unknown[]): Promise<unknown> {
      // Bottleneck's signature is schedule([options], fn, ...args).
      const rest = typeof args[0] === 'function' ? args : args.slice(1);
      const [job, ...jobArgs] = rest as [(...values: unknown[]) => unknown, ...unknown[]];
      const now = Date.now();
      const start = Math.max(now, nextStart);
      nextStart = start + intervalMs;
      if (start > now) await new Promise((resolve) => setTimeout(resolve, start - now));
      return job(...jobArgs);
    },
  };
  // Cast: the plugin only calls group.key(id).schedule(...), which this object provides; building
  // a real Bottleneck.Group would need bottleneck as a direct dependency.
  return { key: () => limiter } as unknown as LimiterGroup;
}

export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const given = options.throttle ?? {};
  const tuning: ThrottleTuning = given.fast ? { retryAfterBaseMs: 0, writeIntervalMs: 0, ...given } : given;
  const retries = tuning.retries ?? 3;
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const onLimit =
    (kind: string) =>
    (
      retryAfter: number,
      request: { method: string; url: string },
      _octokit: unknown,
      retryCount: number,
    ): boolean => {
      warn(`GitHub ${kind} on ${request.method} ${request.url}; retry ${retryCount + 1} in ${retryAfter}s`);
      return retryCount < retries;
    };
  const groups =
    tuning.writeIntervalMs === undefined
      ? {}
      : { write: spacingGroup(tuning.writeIntervalMs), notifications: spacingGroup(tuning.writeIntervalMs) };
  return new GitHubOctokit({
    ...(options.app ? { authStrategy: createAppAuth, auth: { ...options.app } } : { auth: options.token }),
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    userAgent: 'access-review',
    // Failures are turned into named errors by the connector; octokit's own error log would only
    // print every expected 404 of a check.
    log: { debug: () => {}, info: () => {}, warn, error: () => {} },
    throttle: {
      onRateLimit: onLimit('rate limit'),
      onSecondaryRateLimit: onLimit('secondary rate limit'),
      ...(tuning.retryAfterBaseMs === undefined ? {} : { retryAfterBaseValue: tuning.retryAfterBaseMs }),
      ...groups,
    },
    retry: {
      retries,
      ...(tuning.retryAfterBaseMs === undefined ? {} : { retryAfterBaseValue: tuning.retryAfterBaseMs }),
    },
  });
}
