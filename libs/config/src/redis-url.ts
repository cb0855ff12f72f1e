/**
 * The logical database a Redis URL selects: its path (`redis://host:6379/2`) or its `db` query
 * parameter (`?db=2`), as ioredis reads them; null when it names none.
 */
export function redisUrlDatabase(url: string): number | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const fromPath = parsed.pathname.replace(/^\/+/, '');
  const value = fromPath !== '' ? fromPath : parsed.searchParams.get('db');
  if (value === null || value === '') return null;
  return /^\d+$/.test(value) ? Number(value) : null;
}

/**
 * The URL without its database. ioredis lets a database in the URL win over the `db` option, so a
 * connection that must use another database (the cache's) connects with this and passes `db`.
 */
export function redisUrlWithoutDatabase(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = '';
  parsed.searchParams.delete('db');
  return parsed.toString();
}
