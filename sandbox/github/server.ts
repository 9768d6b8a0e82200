import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { prototypeKeyPaths } from '../../functions/core/records';
import { listenOnLoopback } from '../loopback';
import { jwtProblem, type SandboxApp } from './app-auth';
import { executeGraphQL } from './graphql';
import { OpenApiViolation, openApiCheckingEnabled, openApiProblems } from './openapi';
import { handleRest } from './rest';
import type { RestResponse } from './rest-kit';
import { getAuthenticatedApp } from './routes/apps';
import { createState, type GitHubState, type OrganizationInput } from './state';

/** One request as the sandbox saw it, for tests that assert on what a client did. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: string;
  accept: string;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
  status: number;
  /** True when the answer came from `failNext`, not from the simulated GitHub. */
  injected: boolean;
  /**
   * Rate-limit points the request cost: 1 for REST, GitHub's formula for a GraphQL call (see
   * graphql-cost.ts); 0 for an injected failure, which GitHub never saw.
   */
  points: number;
}

/** A fault the sandbox answers with instead of serving the request, `times` times. */
export interface InjectedFailure {
  status: number;
  times?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Only requests matching this fail; others pass through untouched and do not use up `times`. */
  match?: { method?: string; path?: string | RegExp };
}

/** GitHub's secondary rate limit answer (403 historically, 429 now) with `retry-after` in seconds. */
export function secondaryRateLimit(status: 403 | 429 = 403, retryAfterSeconds = 0): InjectedFailure {
  return {
    status,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
      documentation_url:
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      status: String(status),
    },
  };
}

/** A gateway fault such as GitHub returns during incidents. */
export function serverError(status = 502): InjectedFailure {
  return { status, body: { message: 'Server Error' } };
}

export interface GitHubSandbox {
  /** Base URL for REST; GraphQL is at `${url}/graphql`, as on api.github.com. */
  url: string;
  state: GitHubState;
  requests: RecordedRequest[];
  /** Exchanges that broke GitHub's OpenAPI description (each also answered 500). */
  violations: readonly Error[];
  failNext(failure: InjectedFailure): void;
  close(): Promise<void>;
}

export interface GitHubSandboxOptions {
  /** The only credential the sandbox accepts, as `token <t>` or `Bearer <t>`. */
  token: string;
  port?: number;
  /**
   * Check every REST exchange against GitHub's OpenAPI description and answer 500 on a mismatch.
   * Defaults to on when GITHUB_SANDBOX_OPENAPI=check (the test setup sets it).
   */
  checkOpenApi?: boolean;
  /** A GitHub App whose JWT-signed requests for an installation token get `token`. */
  app?: SandboxApp;
  /**
   * Points (GraphQL) and requests (REST) an hour before `x-ratelimit-used` stops rising; 5,000 as
   * on GitHub. Benchmarks that count past it raise it so the connector's own tally stays exact.
   */
  rateLimitPerHour?: number;
  /** Milliseconds every answer waits before it is sent, to simulate GitHub's latency (0: none). */
  latencyMs?: number;
}

/** GitHub's primary rate limit for a user token: 5,000 requests (REST) or points (GraphQL) an hour. */
const RATE_LIMIT = 5000;

class RateLimits {
  private readonly used = new Map<string, number>();
  private readonly reset = Math.floor(Date.now() / 1000) + 3600;

  constructor(private readonly limit: number) {}

  /**
   * Counts `points` against `resource` (1 for REST; a GraphQL call's cost by GitHub's formula) and
   * returns the headers GitHub sends with it. Like the sandbox's GitHub of old, it never refuses:
   * `used` stops at the limit, and the exact count is in `requests[].points`.
   */
  take(resource: 'core' | 'graphql', points = 1): Record<string, string> {
    const used = Math.min(this.limit, (this.used.get(resource) ?? 0) + points);
    this.used.set(resource, used);
    return {
      'x-ratelimit-limit': String(this.limit),
      'x-ratelimit-remaining': String(this.limit - used),
      'x-ratelimit-reset': String(this.reset),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': resource,
    };
  }
}

function matches(failure: InjectedFailure, method: string, path: string): boolean {
  const match = failure.match;
  if (!match) return true;
  if (match.method && match.method.toUpperCase() !== method) return false;
  if (typeof match.path === 'string' && match.path !== path) return false;
  if (match.path instanceof RegExp && !match.path.test(path)) return false;
  return true;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body?: unknown,
): void {
  const common = {
    'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
    'x-github-media-type': 'github.v3; format=json',
    ...headers,
  };
  if (body === undefined || status === 204) {
    response.writeHead(status, common);
    response.end();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...common });
  response.end(JSON.stringify(body));
}

/**
 * A stateful stand-in for api.github.com on 127.0.0.1, built from a scenario's organisation: the
 * REST routes the connector uses (reads, removals and role changes) and GraphQL executed against GitHub's real
 * schema. Unknown routes are GitHub's 404, bad credentials GitHub's 401.
 */
export async function startGitHubSandbox(
  organization: OrganizationInput,
  options: GitHubSandboxOptions,
): Promise<GitHubSandbox> {
  const state = createState(organization);
  const requests: RecordedRequest[] = [];
  const failures: Array<InjectedFailure & { remaining: number }> = [];
  const limits = new RateLimits(options.rateLimitPerHour ?? RATE_LIMIT);
  const latencyMs = options.latencyMs ?? 0;
  const checkOpenApi = options.checkOpenApi ?? openApiCheckingEnabled();
  const violations: OpenApiViolation[] = [];
  let baseUrl = '';

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const method = (request.method ?? 'GET').toUpperCase();
    const target = new URL(request.url ?? '/', 'http://sandbox.invalid');
    const path = target.pathname;
    const accept = String(request.headers.accept ?? '');
    const text = await readBody(request);
    let body: unknown;
    let badJson = false;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        badJson = true;
      }
    }
    const record = (status: number, injected = false, points = injected ? 0 : 1) =>
      requests.push({ method, path, query: target.search, accept, body, status, injected, points });
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));

    const failure = failures.find((candidate) => matches(candidate, method, path));
    if (failure) {
      failure.remaining--;
      if (failure.remaining <= 0) failures.splice(failures.indexOf(failure), 1);
      record(failure.status, true);
      send(response, failure.status, failure.headers ?? {}, failure.body);
      return;
    }

    const resource = path === '/graphql' ? 'graphql' : 'core';
    // A GraphQL call is charged by its cost, known once it is parsed; any other answer costs 1.
    let taken: Record<string, string> | undefined;
    const rateHeaders = () => {
      taken ??= limits.take(resource);
      return taken;
    };
    const credentials = /^(?:token|bearer)\s+(.+)$/i.exec(String(request.headers.authorization ?? ''));
    const minting = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (minting && method === 'POST' && options.app) {
      // A GitHub App asks for an installation token with a JWT signed by its private key.
      const problem = jwtProblem(credentials?.[1] ?? '', options.app);
      const known = Number(minting[1]) === options.app.installationId;
      const status = problem ? 401 : known ? 201 : 404;
      const body =
        status === 201
          ? {
              token: options.token,
              expires_at: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
              permissions: { members: 'write', administration: 'write' },
              repository_selection: 'all',
            }
          : {
              message: problem ?? 'Not Found',
              documentation_url:
                'https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app',
              status: String(status),
            };
      if (checkOpenApi) {
        const problems = openApiProblems({
          method,
          template: '/app/installations/{installation_id}/access_tokens',
          requestBody: undefined,
          status,
          responseBody: body,
        });
        if (problems.length > 0) throw new OpenApiViolation(`${method} ${path} → ${status}`, problems);
      }
      record(status);
      send(response, status, rateHeaders(), body);
      return;
    }
    /**
     * Sends a route's answer, checked first against GitHub's OpenAPI description: a mismatch is
     * answered 500, loud on purpose, so the test that made this exchange fails with the schema's words.
     */
    const sendChecked = (template: string | undefined, requestBody: unknown, answer: RestResponse) => {
      if (checkOpenApi && template) {
        const problems = openApiProblems({
          method,
          template,
          requestBody,
          status: answer.status,
          responseBody: answer.body,
        });
        if (problems.length > 0) {
          const violation = new OpenApiViolation(`${method} ${template} → ${answer.status}`, problems);
          violations.push(violation);
          record(500);
          send(response, 500, rateHeaders(), { message: `sandbox: ${violation.message}` });
          return;
        }
      }
      record(answer.status);
      const headers = { ...rateHeaders(), ...(answer.headers ?? {}) };
      send(
        response,
        answer.status,
        answer.mediaType ? { ...headers, 'x-github-media-type': answer.mediaType } : headers,
        answer.body,
      );
    };
    if (path === '/app' && method === 'GET' && options.app) {
      // The authenticated app: signed with the app's JWT, not the token (routes/apps.ts).
      sendChecked(
        '/app',
        undefined,
        getAuthenticatedApp(state, baseUrl, options.app, credentials?.[1] ?? ''),
      );
      return;
    }
    if (credentials?.[1] !== options.token) {
      record(401);
      send(response, 401, rateHeaders(), {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
        status: '401',
      });
      return;
    }
    if (badJson) {
      record(400);
      send(response, 400, rateHeaders(), {
        message: 'Problems parsing JSON',
        documentation_url: 'https://docs.github.com/rest',
        status: '400',
      });
      return;
    }
    // A record from outside: a key that rewrites a prototype never reaches a route.
    const unsafe = prototypeKeyPaths(body);
    if (unsafe.length > 0) {
      record(400);
      send(response, 400, rateHeaders(), {
        message: `Invalid request.\n\n${unsafe.map((path) => JSON.stringify(path)).join(', ')} is not a permitted key.`,
        documentation_url: 'https://docs.github.com/rest',
        status: '400',
      });
      return;
    }

    if (path === '/graphql' && method === 'POST') {
      const payload = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      const { response: result, points } = await executeGraphQL({ state, baseUrl }, payload);
      record(200, false, points);
      send(response, 200, limits.take('graphql', points), result);
      return;
    }

    const answer = handleRest(state, baseUrl, { method, path, query: target.searchParams, accept, body });
    sendChecked(answer.template, body, answer);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A sandbox bug must show up as a loud 500 in the test, not as a hung request.
      if (!response.headersSent) {
        send(response, 500, {}, { message: `sandbox error: ${String(error)}` });
      } else {
        response.destroy(error instanceof Error ? error : undefined);
      }
    });
  });
  baseUrl = await listenOnLoopback(server, options.port);

  return {
    url: baseUrl,
    state,
    requests,
    violations,
    failNext(failure) {
      failures.push({ ...failure, remaining: failure.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // fetch keeps connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
