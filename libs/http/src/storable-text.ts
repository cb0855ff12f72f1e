import { echoInput, GatewayError } from '@gateway/errors';

// A JSON text can only produce NUL or a lone surrogate through a \u escape (raw control bytes are
// invalid JSON, and valid UTF-8 cannot encode surrogates), so a body without one of these escapes
// needs no walk: one scan of the text on the hot path, the walk only for the rare body that has one.
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;
// NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when a JSON text may hold a string `findUnstorableText` refuses; false means it cannot. */
export function mayHoldUnstorableText(json: string): boolean {
  return SUSPECT_ESCAPE.test(json);
}

/**
 * The dotted path of the first string (value or key) in a parsed JSON value that PostgreSQL
 * cannot store as text — a NUL character, or an unpaired UTF-16 surrogate (not encodable as
 * UTF-8: the driver would silently write U+FFFD instead) — or null when there is none. The
 * path of a key is the path of its value.
 */
export function findUnstorableText(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path || 'body' : null;
  if (typeof value !== 'object' || value === null) return null;
  // An explicit stack, not recursion: a deeply nested body must not overflow the call stack.
  const stack: Array<[unknown, string]> = [[value, path]];
  while (stack.length > 0) {
    const [node, at] = stack.pop() as [unknown, string];
    if (typeof node === 'string') {
      if (UNSTORABLE.test(node)) return at || 'body';
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], join(at, String(i))]);
    } else if (typeof node === 'object' && node !== null) {
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        if (UNSTORABLE.test(key)) return join(at, key);
        stack.push([(node as Record<string, unknown>)[key], join(at, key)]);
      }
    }
  }
  return null;
}

/** Refuses a parsed body holding a string PostgreSQL cannot store, naming the field. */
export function assertStorableText(body: unknown): void {
  const at = findUnstorableText(body);
  if (at !== null) {
    throw fieldRefusal(at, 'must not contain NUL characters or unpaired UTF-16 surrogates');
  }
}

/**
 * The 400 for a body refused at the dotted path `at`: `param` and the message quote the path
 * escaped and bounded (it is client input).
 */
export function fieldRefusal(at: string, problem: string): GatewayError {
  const param = echoInput(at);
  return new GatewayError('invalid_request', `'${param}' ${problem}.`, { param });
}

function join(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}
