import { ECHO_MAX_CHARS, echoInput } from './echo-input';

describe('echoInput', () => {
  it('leaves short printable values alone', () => {
    expect(echoInput('gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(echoInput('café 😀')).toBe('café 😀');
    expect(echoInput(42)).toBe('42');
  });

  it('quotes at most 64 characters, then …', () => {
    const long = 'a'.repeat(10_000);
    expect(echoInput(long)).toBe(`${'a'.repeat(ECHO_MAX_CHARS)}…`);
    expect(echoInput('b'.repeat(64))).toBe('b'.repeat(64));
    expect(echoInput('b'.repeat(65))).toBe(`${'b'.repeat(64)}…`);
  });

  it('escapes every control character, never passing one through', () => {
    for (let c = 0; c < 0x20; c++) {
      expect(echoInput(`x${String.fromCharCode(c)}y`)).toBe(
        `x\\u${c.toString(16).padStart(4, '0')}y`,
      );
    }
    expect(echoInput('\u007f\u0085\u009f')).toBe('\\u007f\\u0085\\u009f');
    expect(echoInput('a\u2028b\u202ec\u2066')).toBe('a\\u2028b\\u202ec\\u2066');
    expect(echoInput('\ufeffx')).toBe('\\ufeffx');
  });

  it('escapes unpaired surrogates but keeps pairs whole', () => {
    expect(echoInput('\ud800x')).toBe('\\ud800x');
    expect(echoInput('x\udc00')).toBe('x\\udc00');
    expect(echoInput('\ud83d\ude00')).toBe('\ud83d\ude00');
  });

  it('never cuts an escape or a surrogate pair in half at the limit', () => {
    const escaped = echoInput(`${'a'.repeat(62)}\u0000`);
    expect(escaped).toBe(`${'a'.repeat(62)}…`);
    const pair = echoInput(`${'a'.repeat(63)}\ud83d\ude00`);
    expect(pair).toBe(`${'a'.repeat(63)}…`);
    // eslint-disable-next-line no-control-regex
    expect(/[\u0000-\u001f]/.test(echoInput('\n'.repeat(100)))).toBe(false);
  });

  it('shows a traversal-looking value as the text it is, bounded', () => {
    expect(echoInput('../..')).toBe('../..');
    expect(echoInput(`${'../'.repeat(3000)}etc/passwd`).length).toBe(ECHO_MAX_CHARS + 1);
  });
});
