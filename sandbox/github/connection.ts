import type { GraphQLError } from 'graphql';
import { graphql } from './graphql-js';

/** The paging arguments every GitHub connection takes. */
export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Page<T> {
  totalCount: number;
  pageInfo: PageInfo;
  items: Array<{ cursor: string; item: T }>;
}

/** GitHub's cap on `first` / `last` for every connection. */
export const MAX_PAGE_SIZE = 100;

/** A GraphQL error carrying GitHub's error `type` (NOT_FOUND, EXCESSIVE_PAGINATION, …). */
export function gitHubError(type: string, message: string): GraphQLError {
  return new graphql.GraphQLError(message, { extensions: { type } });
}

/*
 * Cursors name the item (its sort key), not its position: a page fetched after a removal still
 * continues where the previous page stopped, which is how GitHub's opaque cursors behave too.
 */
export function encodeCursor(key: string): string {
  return Buffer.from(`cursor:v2:${key}`, 'utf8').toString('base64');
}

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  if (!text.startsWith('cursor:v2:')) {
    throw gitHubError('INVALID_CURSOR_ARGUMENTS', `\`${cursor}\` does not appear to be a valid cursor.`);
  }
  return text.slice('cursor:v2:'.length);
}

function checkBound(value: number | null | undefined, name: 'first' | 'last', connection: string): void {
  if (value === null || value === undefined) return;
  if (value < 0) {
    throw gitHubError(
      'INVALID_PAGINATION',
      `\`${name}\` on the \`${connection}\` connection cannot be less than zero.`,
    );
  }
  if (value > MAX_PAGE_SIZE) {
    throw gitHubError(
      'EXCESSIVE_PAGINATION',
      `Requesting ${value} records on the \`${connection}\` connection exceeds the \`${name}\` limit of ${MAX_PAGE_SIZE} records.`,
    );
  }
}

/**
 * One page of `items`, which must already be sorted by `keyOf` (compared lower-cased, as the
 * keys are logins, slugs and names). Enforces GitHub's rules: a `first` or `last` is required and
 * neither may exceed 100.
 */
export function paginate<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  args: ConnectionArgs,
  connection: string,
): Page<T> {
  const hasFirst = args.first !== null && args.first !== undefined;
  const hasLast = args.last !== null && args.last !== undefined;
  if (!hasFirst && !hasLast) {
    throw gitHubError(
      'MISSING_PAGINATION_BOUNDARIES',
      `You must provide a \`first\` or \`last\` value to properly paginate the \`${connection}\` connection.`,
    );
  }
  checkBound(args.first, 'first', connection);
  checkBound(args.last, 'last', connection);
  const keys = items.map((item) => keyOf(item).toLowerCase());
  let start = 0;
  let end = items.length;
  if (args.after) {
    const after = decodeCursor(args.after).toLowerCase();
    while (start < end && (keys[start] ?? '') <= after) start++;
  }
  if (args.before) {
    const before = decodeCursor(args.before).toLowerCase();
    while (end > start && (keys[end - 1] ?? '') >= before) end--;
  }
  if (hasFirst) end = Math.min(end, start + (args.first ?? 0));
  if (hasLast) start = Math.max(start, end - (args.last ?? 0));
  const slice = items.slice(start, end).map((item) => ({ cursor: encodeCursor(keyOf(item)), item }));
  return {
    totalCount: items.length,
    pageInfo: {
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      startCursor: slice[0]?.cursor ?? null,
      endCursor: slice.at(-1)?.cursor ?? null,
    },
    items: slice,
  };
}
