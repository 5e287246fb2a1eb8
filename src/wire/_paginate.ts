// Offset pagination as an async iterator.

/** The API's largest page. */
export const MAX_PAGE_SIZE = 1000;

/**
 * Yields items page by page until a short or empty page, or until `limit` items
 * were yielded. `fetchPage(limit, offset)` fetches one page.
 */
export async function* paginate<T>(
  fetchPage: (limit: number, offset: number) => Promise<T[]>,
  pageSize: number = MAX_PAGE_SIZE,
  limit: number = Infinity,
): AsyncGenerator<T> {
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  let offset = 0;
  while (offset < limit) {
    const want = Math.min(pageSize, limit - offset);
    const page = await fetchPage(want, offset);
    for (const item of page.slice(0, want)) yield item;
    offset += page.length;
    if (page.length < want) return;
  }
}
