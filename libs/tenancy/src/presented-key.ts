import type { IncomingMessage } from 'node:http';

/** Longer than any key we issue or accept as ADMIN_API_KEY would be absurd: refuse before hashing. */
const MAX_KEY_LENGTH = 512;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The key a request presents: `X-API-Key`, else `Authorization: Bearer` (docs/api.md §2). */
export function presentedKey(req: IncomingMessage): string | null {
  const header = req.headers['x-api-key'];
  let key = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!key) {
    const m = BEARER.exec(req.headers.authorization ?? '');
    key = m?.[1];
  }
  if (!key || key.length > MAX_KEY_LENGTH) return null;
  return key;
}
