import { fieldRefusal } from './storable-text';

/** How deep a JSON body may nest: far beyond any request the gateway takes (at most 4 levels). */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The dotted path where a JSON text first nests deeper than `maxDepth` (an object or array at
 * depth `maxDepth`, the top level being depth 0; `body` when the top level itself is too deep),
 * or null. Reads the raw bytes once, before anything is parsed: `JSON.parse` of a body nested
 * 100,000 levels builds every level first (tens of milliseconds of blocked event loop on the
 * bench machine, docs/BENCHMARKS.md), while this stops at the first bracket past the limit.
 * Deeply nested bodies would also overflow the call stack of recursive consumers
 * (class-transformer, JSON.stringify), turning a client's mistake into a 500.
 *
 * Only brackets outside strings count; a string is skipped with a native search for its closing
 * quote. Object keys are remembered by position and decoded only to name the path of a refusal.
 * Text that is not JSON (an unterminated string, unbalanced brackets) is left to the parser: this
 * returns null for it unless it nests too deep first. UTF-8 needs no decoding here: every byte of
 * a multi-byte character is 0x80 or above, so it is never taken for a quote or a bracket.
 */
export function findTooDeepJson(json: Uint8Array, maxDepth = MAX_JSON_DEPTH): string | null {
  // Per open container, by depth (1 = the top level): object or array, and where in it we are.
  const isObject: boolean[] = [];
  const keyAt: number[] = [];
  const keyEnd: number[] = [];
  const index: number[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === QUOTE) {
      const end = closingQuote(json, i);
      if (end < 0) return null;
      if (expectKey) {
        keyAt[depth] = i;
        keyEnd[depth] = end;
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth >= maxDepth) return pathOf(json, depth, isObject, keyAt, keyEnd, index);
      depth++;
      isObject[depth] = c === OPEN_OBJECT;
      index[depth] = 0;
      keyAt[depth] = -1;
      expectKey = c === OPEN_OBJECT;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 0) return null;
      depth--;
      expectKey = false;
    } else if (c === COMMA && depth > 0) {
      if (isObject[depth]) expectKey = true;
      else index[depth]++;
    }
  }
  return null;
}

/** Refuses a JSON text nested deeper than `MAX_JSON_DEPTH` with a 400 naming where. */
export function assertShallowJson(json: Uint8Array): void {
  const at = findTooDeepJson(json);
  if (at !== null)
    throw fieldRefusal(at, `is nested too deeply (at most ${MAX_JSON_DEPTH} levels)`);
}

/** The index of the quote closing the string opened at `open`, or -1 if it is never closed. */
function closingQuote(json: Uint8Array, open: number): number {
  let at = open;
  for (;;) {
    at = json.indexOf(QUOTE, at + 1);
    if (at < 0) return -1;
    // Escaped only when an odd number of backslashes precede it (each run is counted once).
    let slashes = 0;
    while (json[at - 1 - slashes] === BACKSLASH) slashes++;
    if ((slashes & 1) === 0) return at;
  }
}

function pathOf(
  json: Uint8Array,
  depth: number,
  isObject: readonly boolean[],
  keyAt: readonly number[],
  keyEnd: readonly number[],
  index: readonly number[],
): string {
  const parts: string[] = [];
  for (let d = 1; d <= depth; d++) {
    parts.push(isObject[d] ? keyText(json, keyAt[d], keyEnd[d]) : String(index[d]));
  }
  return parts.length === 0 ? 'body' : parts.join('.');
}

/** An object key as the parser would read it (its raw text if its escapes are malformed). */
function keyText(json: Uint8Array, at: number, end: number): string {
  if (at < 0) return '';
  const raw = Buffer.from(json.buffer, json.byteOffset + at, end + 1 - at).toString('utf8');
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, -1);
  }
}
