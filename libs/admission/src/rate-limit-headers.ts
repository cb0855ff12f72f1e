/** One limit's state as seen by a request, for the response headers. */
export interface LimitState {
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until the oldest counted entry leaves the window; 0 when the window is empty. */
  readonly resetMs: number;
}

/**
 * docs/api.md §5 headers plus OpenAI's `x-ratelimit-*` family. X-RateLimit-Reset is whole seconds
 * (rounded up, so a client that waits that long finds the slot free); OpenAI's reset headers use
 * its duration format (`1m0s`, `6.5s`, `20ms`) with the same meaning.
 */
export function rateLimitHeaders(
  requests: LimitState,
  tokens: LimitState | null,
): Record<string, string> {
  const h: Record<string, string> = {
    'X-RateLimit-Limit': String(requests.limit),
    'X-RateLimit-Remaining': String(Math.max(0, requests.remaining)),
    'X-RateLimit-Reset': String(Math.ceil(Math.max(0, requests.resetMs) / 1000)),
    'x-ratelimit-limit-requests': String(requests.limit),
    'x-ratelimit-remaining-requests': String(Math.max(0, requests.remaining)),
    'x-ratelimit-reset-requests': openAiDuration(requests.resetMs),
  };
  if (tokens) {
    h['x-ratelimit-limit-tokens'] = String(tokens.limit);
    h['x-ratelimit-remaining-tokens'] = String(Math.max(0, tokens.remaining));
    h['x-ratelimit-reset-tokens'] = openAiDuration(tokens.resetMs);
  }
  return h;
}

/**
 * The honest wait of a 429: `Retry-After` in whole seconds, at least 1, never shorter than the
 * true wait; `retry-after-ms` (read by the OpenAI SDKs) to the millisecond, rounded up.
 */
export function retryAfterHeaders(waitMs: number): Record<string, string> {
  const ms = Math.max(1, Math.ceil(waitMs));
  return {
    'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))),
    'retry-after-ms': String(ms),
  };
}

/** OpenAI's reset format: `20ms` under a second, else `[Nm]S[.fff]s`. */
export function openAiDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  const minutes = Math.floor(whole / 60_000);
  const rest = (whole - minutes * 60_000) / 1000;
  const seconds = `${Number(rest.toFixed(3))}s`;
  return minutes > 0 ? `${minutes}m${seconds}` : seconds;
}
