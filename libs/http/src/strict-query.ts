import { echoInput, GatewayError } from '@gateway/errors';
import { findUnstorableText } from './storable-text';

/**
 * Checks a request target's query string against the parameters its route accepts: an
 * unknown name, a known one given twice, or a bracket form (`tenant_id[$ne]=x`, which a `qs`-style
 * parser would turn into an object) is a 400 naming it. It reads the raw query string, not a
 * parsed `req.query`, so what it refuses does not depend on which query parser Express runs.
 * Values are the route's to validate, except that none may hold a character PostgreSQL cannot
 * store (NUL), since they end up as query parameters.
 */
export function checkQuery(url: string | undefined, allowed: ReadonlySet<string>): void {
  if (url === undefined) return;
  const start = url.indexOf('?');
  if (start < 0) return;
  const hash = url.indexOf('#', start);
  const search = url.slice(start + 1, hash < 0 ? undefined : hash);
  if (search === '') return;
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(search)) {
    const shown = echoInput(name);
    if (name.includes('[') || name.includes(']')) {
      throw refuse(
        shown,
        `Query parameter '${shown}' uses bracket syntax; give each parameter once, as name=value.`,
      );
    }
    if (!allowed.has(name)) {
      const accepted = allowed.size === 0 ? 'none' : [...allowed].join(', ');
      throw refuse(shown, `Unknown query parameter '${shown}'; this route accepts: ${accepted}.`);
    }
    if (seen.has(name)) {
      throw refuse(shown, `Query parameter '${shown}' may be given only once.`);
    }
    seen.add(name);
    // Values reach SQL as parameters: one Postgres cannot store must be a 400, not a failed query.
    if (findUnstorableText(value) !== null) {
      throw refuse(shown, `Query parameter '${shown}' must not contain NUL characters.`);
    }
  }
}

function refuse(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}
