import { ConnectorError } from '../../core/errors';
import type { PageInfo } from './queries';

export interface PageOf<T> {
  pageInfo: PageInfo;
  items: T[];
}

/**
 * Every item of a GraphQL connection, page by page. `first` is a page that came nested in an
 * earlier response (a team's first 100 members); without it the first page is fetched.
 * A page that claims more but repeats or omits its cursor would loop forever: that is a refusal.
 */
export async function* allItems<T>(
  what: string,
  fetchPage: (after: string | null) => Promise<PageOf<T>>,
  first?: PageOf<T>,
): AsyncGenerator<T> {
  let page = first ?? (await fetchPage(null));
  const seen = new Set<string>();
  for (;;) {
    yield* page.items;
    const { hasNextPage, endCursor } = page.pageInfo;
    if (!hasNextPage) return;
    if (!endCursor || seen.has(endCursor)) {
      throw new ConnectorError(
        `GitHub paged ${what} with a missing or repeated cursor (${endCursor ?? 'none'})`,
      );
    }
    seen.add(endCursor);
    page = await fetchPage(endCursor);
  }
}

/** Drops the nulls GraphQL allows in lists (an item the token may not see). */
export function present<T>(items: ReadonlyArray<T | null> | null | undefined): T[] {
  return (items ?? []).filter((item): item is T => item !== null && item !== undefined);
}
