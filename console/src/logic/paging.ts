/** The items of a list endpoint, page after page (100 a page), until there are no more or `stop` says so. */
export async function collect<T>(
  page: (page: number) => Promise<{ items: T[]; total_pages: number }>,
  options: { maxPages?: number; stop?: (item: T) => boolean } = {},
): Promise<T[]> {
  const out: T[] = [];
  const maxPages = options.maxPages ?? 20;
  for (let n = 1; n <= maxPages; n++) {
    const answer = await page(n);
    for (const item of answer.items) {
      if (options.stop?.(item)) return out;
      out.push(item);
    }
    if (n >= answer.total_pages) break;
  }
  return out;
}
