import type { GitHubState } from './state';

/*
 * What every REST route of the GitHub sandbox is built from: the request and response records,
 * GitHub's error bodies, path templates as GitHub's docs write them, and REST paging.
 */

export interface RestRequest {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  /** The query string's parameters (`per_page`, `page`, `filter` …). */
  query: URLSearchParams;
  accept: string;
  /** The parsed JSON body, or undefined when there was none. */
  body?: unknown;
}

export interface RestResponse {
  status: number;
  body?: unknown;
  /** GitHub's `x-github-media-type`, which reflects the media type the answer was rendered in. */
  mediaType?: string;
  /** Extra headers, such as the `link` header of a paged list. */
  headers?: Record<string, string>;
}

export const REPOSITORY_MEDIA_TYPE = 'application/vnd.github.v3.repository+json';

export const DOCS = 'https://docs.github.com/rest';

export function notFound(documentation = DOCS): RestResponse {
  return { status: 404, body: { message: 'Not Found', documentation_url: documentation, status: '404' } };
}

export const noContent: RestResponse = { status: 204 };

/** GitHub's answer to a body its schema rejects (the wording of its request validation). */
export function invalidRequest(detail: string, documentation: string): RestResponse {
  return {
    status: 422,
    body: { message: `Invalid request.\n\n${detail}`, documentation_url: documentation, status: '422' },
  };
}

/** GitHub's 422 "Validation Failed" for a request it understood but will not do. */
export function validationFailed(message: string, documentation: string): RestResponse {
  return {
    status: 422,
    body: { message, documentation_url: documentation, status: '422' },
  };
}

/** The `{names}` of a path template, so each handler sees exactly the parameters its path has. */
export type ParamsOf<T extends string> = T extends `${string}{${infer Name}}${infer Rest}`
  ? Name | ParamsOf<Rest>
  : never;

export type Handler<P extends string> = (
  state: GitHubState,
  baseUrl: string,
  params: Record<P, string>,
  request: RestRequest,
) => RestResponse;

export interface Route {
  method: string;
  /** The path as GitHub's OpenAPI description writes it, e.g. `/orgs/{org}/memberships/{username}`. */
  template: string;
  pattern: RegExp;
  names: string[];
  handler: Handler<string>;
}

/** `/orgs/{org}/memberships/{username}` → a matcher with named segments, as GitHub's docs write paths. */
export function route<T extends string>(method: string, template: T, handler: Handler<ParamsOf<T>>): Route {
  const names: string[] = [];
  const source = template.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, template, pattern: new RegExp(`^${source}/?$`), names, handler };
}

/** GitHub's REST paging cap (`per_page` above 100 is treated as 100). */
export const MAX_PER_PAGE = 100;

/**
 * One page of a REST list, as GitHub pages it: `per_page` (default 30, at most 100) and `page`
 * (from 1), with a `link` header naming the next and last pages, which is what octokit.paginate
 * follows. `path` is the request path the links point back to.
 */
export function paged<T>(
  items: readonly T[],
  request: RestRequest,
  baseUrl: string,
  render: (pageItems: T[]) => unknown = (pageItems) => pageItems,
): RestResponse {
  const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number(request.query.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(request.query.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const link = (target: number, rel: string) => {
    const query = new URLSearchParams(request.query);
    query.set('per_page', String(perPage));
    query.set('page', String(target));
    return `<${baseUrl}${request.path}?${query.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
  return {
    status: 200,
    body: render(slice),
    ...(links.length > 0 ? { headers: { link: links.join(', ') } } : {}),
  };
}

/**
 * A paged list GitHub wraps as `{ total_count, <key>: [...] }`; the count is of every item, not
 * of the page.
 */
export function pagedWithCount<T>(
  items: readonly T[],
  key: string,
  request: RestRequest,
  baseUrl: string,
  render: (item: T) => unknown = (item) => item,
): RestResponse {
  return paged(items, request, baseUrl, (page) => ({
    total_count: items.length,
    [key]: page.map((item) => render(item)),
  }));
}

/** A JSON object body, or undefined when the body is missing or not an object. */
export function objectBody(body: unknown): Record<string, unknown> | undefined {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined;
}
