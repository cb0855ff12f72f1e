/** How many characters of a client-supplied value an error message may quote. */
export const ECHO_MAX_CHARS = 64;

/**
 * A client-supplied value as an error message may quote it: at most `ECHO_MAX_CHARS` characters
 * (then `…`), with every character a terminal, log viewer or text field could act on escaped as
 * `\uXXXX` — C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides and
 * unpaired surrogates. Messages must not hand an attacker a way to forge log lines, hide text or
 * make the gateway reflect kilobytes of their choosing; the escape keeps the value recognisable.
 * Escapes count toward the limit and are never cut in half.
 */
export function echoInput(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  let out = '';
  for (let i = 0; i < text.length;) {
    const code = text.charCodeAt(i);
    const pair = code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1));
    const piece = pair
      ? text.slice(i, i + 2)
      : needsEscape(code)
        ? `\\u${code.toString(16).padStart(4, '0')}`
        : text[i];
    if (out.length + piece.length > ECHO_MAX_CHARS) return `${out}…`;
    out += piece;
    i += pair ? 2 : 1;
  }
  return out;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function needsEscape(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0xd800 && code <= 0xdfff) || // an unpaired surrogate (pairs are taken whole above)
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069) ||
    code === 0xfeff
  );
}
