import { parseRetryAfter, safeProviderMessage } from './wire';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-15T10:00:00Z');
  it.each([
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': '0.5' }, 500],
    [{ 'retry-after-ms': '120', 'retry-after': '1' }, 120],
    [{ 'retry-after': 'Thu, 15 Jan 2026 10:00:04 GMT' }, 4000],
    [{ 'retry-after': '99999999' }, 3_600_000],
    [{ 'retry-after': 'soon' }, null],
    [{}, null],
  ])('%j → %s', (headers, expected) => {
    expect(parseRetryAfter(headers, now)).toBe(expected);
  });
});

describe('safeProviderMessage', () => {
  it('keeps a plain message', () => {
    expect(safeProviderMessage('max_tokens: too large', [])).toBe('max_tokens: too large');
  });
  it('removes the provider key, key-shaped tokens and bearer tokens; one line', () => {
    const text = safeProviderMessage(
      'key=SECRETKEY99\nsk-proj-abcdef123456 Bearer abc.def.ghi llm-gw-tenantkey1',
      ['SECRETKEY99'],
    );
    expect(text).toBe('key=[redacted] [redacted] [redacted] [redacted]');
  });
  it('bounds the length and ignores non-strings', () => {
    expect(safeProviderMessage('x'.repeat(2000), [])!.length).toBe(500);
    expect(safeProviderMessage({ nested: true }, [])).toBeNull();
    expect(safeProviderMessage('   ', [])).toBeNull();
  });
});
