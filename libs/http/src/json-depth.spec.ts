import { assertShallowJson, findTooDeepJson, MAX_JSON_DEPTH } from './json-depth';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const deepest = (text: string, max: number): string | null => findTooDeepJson(bytes(text), max);

/** The definition, over the parsed value: where an object or array first sits at depth >= max. */
function reference(value: unknown, max: number): string | null {
  const stack: Array<[unknown, string[]]> = [[value, []]];
  while (stack.length > 0) {
    const [node, at] = stack.shift() as [unknown, string[]];
    if (typeof node !== 'object' || node === null) continue;
    if (at.length >= max) return at.length === 0 ? 'body' : at.join('.');
    const entries = Array.isArray(node)
      ? node.map((v, i) => [String(i), v] as const)
      : Object.entries(node as Record<string, unknown>);
    for (const [k, v] of entries) stack.push([v, [...at, k]]);
  }
  return null;
}

describe('findTooDeepJson', () => {
  it('names where a text first nests deeper than the limit', () => {
    expect(deepest('{"a":[{"b":1}]}', 3)).toBeNull();
    expect(deepest('{"a":[{"b":{}}]}', 3)).toBe('a.0.b');
    expect(deepest('[[[]]]', 2)).toBe('0.0');
    expect(deepest('[1, "x", [2, [3]]]', 2)).toBe('2.1');
    expect(deepest('{"a":1, "b" : {"c":[0,{"d":[]}]}}', 4)).toBe('b.c.1.d');
    expect(deepest('"x"', 0)).toBeNull();
    expect(deepest('{}', 0)).toBe('body');
  });

  it('ignores brackets, quotes and commas inside strings, and decodes the keys it names', () => {
    expect(deepest('{"[[[[":"{{{{","a\\"[":"\\\\","k":[1]}', 2)).toBeNull();
    expect(deepest('{"q\\"\\\\":{"é\\u00e9":[]}}', 2)).toBe('q"\\.éé');
    expect(deepest('{"a":"x\\\\\\"[[[", "b":{"c":{}}}', 2)).toBe('b.c');
  });

  it('leaves text that is not JSON to the parser', () => {
    expect(deepest('{"a":"never closed [[[[', 2)).toBeNull();
    expect(deepest(']]]][[', 3)).toBeNull();
    expect(deepest('', 0)).toBeNull();
  });

  it('agrees with the definition on generated bodies', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const keys = ['a', 'b"', 'c\\', '[{', 'é', '', ',', ':x'];
    const gen = (depth: number): unknown => {
      const pick = depth > 9 ? rand(3) : rand(6);
      if (pick === 0) return rand(100);
      if (pick === 1) return keys[rand(keys.length)] + '"]}\\';
      if (pick === 2) return null;
      if (pick === 3) return Array.from({ length: rand(4) }, () => gen(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = rand(4); i > 0; i--) o[keys[rand(keys.length)]] = gen(depth + 1);
      return o;
    };
    for (let i = 0; i < 3000; i++) {
      const value = gen(0);
      const text = JSON.stringify(value, null, rand(2) === 0 ? 1 : undefined);
      const max = rand(8);
      expect([text, max, deepest(text, max)]).toEqual([text, max, reference(value, max)]);
    }
  });

  it('stops at the first level past the limit of a 100,000-level body', () => {
    const text = `{"model":"m","messages":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const path = deepest(text, MAX_JSON_DEPTH);
    expect(path).toBe(['messages', ...Array<string>(MAX_JSON_DEPTH - 1).fill('0')].join('.'));
  });
});

describe('assertShallowJson', () => {
  it('throws a 400 naming the field, bounded, and passes what the routes take', () => {
    const text = `{"${'k'.repeat(100)}":${'['.repeat(100)}${']'.repeat(100)}}`;
    expect(() => assertShallowJson(bytes(text))).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'invalid_request',
        param: `${'k'.repeat(64)}…`,
        message: expect.stringContaining(`at most ${MAX_JSON_DEPTH} levels`) as string,
      }) as Error,
    );
    const ask = '{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}';
    expect(() => assertShallowJson(bytes(ask))).not.toThrow();
  });
});
