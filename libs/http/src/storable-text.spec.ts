import { GatewayError } from '@gateway/errors';
import { assertStorableText, findUnstorableText, mayHoldUnstorableText } from './storable-text';

describe('findUnstorableText', () => {
  it('finds NUL and unpaired surrogates in values and keys, by dotted path', () => {
    expect(findUnstorableText({ model: 'x\u0000y' })).toBe('model');
    expect(
      findUnstorableText({ messages: [{ role: 'user', content: 'a' }, { content: '\ud800' }] }),
    ).toBe('messages.1.content');
    expect(findUnstorableText({ a: { 'k\u0000': 1 } })).toBe('a.k\u0000');
    expect(findUnstorableText({ a: ['\udc00x'] })).toBe('a.0');
    expect(findUnstorableText('\u0000')).toBe('body');
  });

  it('accepts every other character, surrogate pairs and other controls included', () => {
    const fine = {
      a: 'tab\tnew\nline \u0001 \u007f 😀 \ud83d\ude00',
      b: [1, null, true, { c: 'é' }],
    };
    expect(findUnstorableText(fine)).toBeNull();
  });

  it('walks deep nesting without recursion', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableText(deep)).toMatch(/^0(\.0)+$/);
  });
});

describe('mayHoldUnstorableText', () => {
  it('is true only for texts with a NUL or surrogate escape', () => {
    expect(mayHoldUnstorableText('{"a":"b"}')).toBe(false);
    expect(mayHoldUnstorableText('{"a":"\\u00e9"}')).toBe(false);
    expect(mayHoldUnstorableText('{"a":"\\u0000"}')).toBe(true);
    expect(mayHoldUnstorableText('{"a":"\\uD83D\\uDE00"}')).toBe(true);
    expect(mayHoldUnstorableText('{"a":"\\udc00"}')).toBe(true);
  });

  it('never misses a body JSON.parse turns into an unstorable string', () => {
    for (const s of ['\u0000', '\ud800', '\udfff', 'a\u0000b']) {
      const text = JSON.stringify({ v: s });
      const body = JSON.parse(text) as unknown;
      expect([s, mayHoldUnstorableText(text)]).toEqual([s, findUnstorableText(body) !== null]);
    }
  });
});

describe('assertStorableText', () => {
  it('throws a 400 naming the field, with the name escaped and bounded', () => {
    const key = `${'k'.repeat(100)}\u0000`;
    let caught: unknown;
    try {
      assertStorableText({ [key]: 'v' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GatewayError);
    const e = caught as GatewayError;
    expect([e.status, e.code]).toEqual([400, 'invalid_request']);
    expect(e.param).toBe(`${'k'.repeat(64)}…`);
    expect(e.message).not.toContain('\u0000');
    expect(() => assertStorableText({ model: 'gpt-4' })).not.toThrow();
    expect(() => assertStorableText(undefined)).not.toThrow();
  });
});
