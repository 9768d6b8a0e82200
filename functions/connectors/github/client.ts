import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { type ThrottlingOptions, throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { type GitHubRequestBudget, gitHubRequestBudget } from '../../core/call-budget';

const GitHubOctokit = Octokit.plugin(throttling, retry);
export type GitHubClient = InstanceType<typeof GitHubOctokit>;

/**
 * Timing knobs. The defaults are the budget in functions/core/call-budget.ts and GitHub's
 * recommendations as plugin-throttling implements them (writes and GraphQL at least 1 s apart,
 * retry-after honoured in seconds); tests set them to ~0 so a retried request does not cost real
 * seconds.
 */
export interface ThrottleTuning {
  /** Shorthand for local runs against the sandbox: no spacing and no waiting (both 0 unless set). */
  fast?: boolean;
  /** Milliseconds per second of `retry-after`, and per step of plugin-retry's 1, 4, 9 … backoff. */
  retryAfterBaseMs?: number;
  /** Minimum spacing between writes (and GraphQL requests, which GitHub counts alike). */
  writeIntervalMs?: number;
  /** Retries after a 5xx, a timeout or a network fault, before giving up. */
  retries?: number;
  /** Retries after a rate limit (default: the budget's, and never more than `retries` when that is set). */
  rateLimitRetries?: number;
  /** A request that has not finished after this many milliseconds is aborted (and retried). */
  requestTimeoutMs?: number;
  /** A rate limit asking to wait longer than this (in retry-after seconds) fails at once. */
  maxRetryAfterSeconds?: number;
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

/** The budget this client runs on: call-budget.ts's, with whatever the tuning overrides. */
export function resolveGitHubBudget(tuning: ThrottleTuning = {}): GitHubRequestBudget {
  const retries = tuning.retries ?? gitHubRequestBudget.retries;
  return {
    requestTimeoutMs: tuning.requestTimeoutMs ?? gitHubRequestBudget.requestTimeoutMs,
    retries,
    retryAfterBaseMs: tuning.retryAfterBaseMs ?? (tuning.fast ? 0 : gitHubRequestBudget.retryAfterBaseMs),
    rateLimitRetries:
      tuning.rateLimitRetries ??
      (tuning.retries === undefined
        ? gitHubRequestBudget.rateLimitRetries
        : Math.min(tuning.retries, gitHubRequestBudget.rateLimitRetries)),
    maxRetryAfterSeconds: tuning.maxRetryAfterSeconds ?? gitHubRequestBudget.maxRetryAfterSeconds,
  };
}

/** The error a request that outlived its timeout fails with (Octokit turns it into a retryable 500). */
export class GitHubRequestTimeout extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`GitHub did not answer ${method} ${url} within ${timeoutMs} ms`, options);
    // The name @octokit/request and the error classification recognise as a timeout.
    this.name = 'TimeoutError';
  }
}

/** Statuses whose Response may not carry a body. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * fetch with a deadline that covers the whole exchange: connecting, the headers and the body.
 * The body is read here, under the same deadline, because @octokit/request reads it after fetch
 * returns and turns a failed read into an empty body, which a stalled page would become.
 */
export function fetchWithTimeout(timeoutMs: number, baseFetch: typeof fetch = fetch): typeof fetch {
  return async (input, init = {}) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    const method = init.method ?? 'GET';
    const url = input instanceof Request ? input.url : String(input);
    try {
      const response = await baseFetch(input, { ...init, signal });
      const body = NULL_BODY_STATUSES.has(response.status) ? null : await response.arrayBuffer();
      const buffered = new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
      Object.defineProperty(buffered, 'url', { value: response.url });
      return buffered;
    } catch (error) {
      if (deadline.aborted && !init.signal?.aborted) {
        throw new GitHubRequestTimeout(method, url.replace(/\?.*$/, ''), timeoutMs, { cause: error });
      }
      throw error;
    }
  };
}

export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const given = options.throttle ?? {};
  const tuning: ThrottleTuning = given.fast ? { retryAfterBaseMs: 0, writeIntervalMs: 0, ...given } : given;
  const budget = resolveGitHubBudget(tuning);
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const onLimit =
    (kind: string) =>
    (
      retryAfter: number,
      request: { method: string; url: string },
      _octokit: unknown,
      retryCount: number,
    ): boolean => {
      if (retryAfter > budget.maxRetryAfterSeconds) {
        warn(
          `GitHub ${kind} on ${request.method} ${request.url}: retry-after ${retryAfter}s is beyond the ${budget.maxRetryAfterSeconds}s this call may wait; giving up`,
        );
        return false;
      }
      if (retryCount >= budget.rateLimitRetries) {
        warn(`GitHub ${kind} on ${request.method} ${request.url}; giving up after ${retryCount} retries`);
        return false;
      }
      warn(`GitHub ${kind} on ${request.method} ${request.url}; retry ${retryCount + 1} in ${retryAfter}s`);
      return true;
    };
  const groups =
    tuning.writeIntervalMs === undefined
      ? {}
      : { write: spacingGroup(tuning.writeIntervalMs), notifications: spacingGroup(tuning.writeIntervalMs) };
  return new GitHubOctokit({
    ...(options.app ? { authStrategy: createAppAuth, auth: { ...options.app } } : { auth: options.token }),
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    userAgent: 'access-review',
    request: { fetch: fetchWithTimeout(budget.requestTimeoutMs) },
    // Failures are turned into named errors by the connector; octokit's own error log would only
    // print every expected 404 of a check.
    log: { debug: () => {}, info: () => {}, warn, error: () => {} },
    throttle: {
      onRateLimit: onLimit('rate limit'),
      onSecondaryRateLimit: onLimit('secondary rate limit'),
      retryAfterBaseValue: budget.retryAfterBaseMs,
      ...groups,
    },
    retry: {
      retries: budget.retries,
      retryAfterBaseValue: budget.retryAfterBaseMs,
    },
  });
}
