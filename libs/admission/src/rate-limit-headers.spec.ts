import { openAiDuration, rateLimitHeaders, retryAfterHeaders } from './rate-limit-headers';

describe('rate-limit headers', () => {
  it('rounds waits up so a client that waits that long is admitted', () => {
    expect(retryAfterHeaders(1)).toEqual({ 'Retry-After': '1', 'retry-after-ms': '1' });
    expect(retryAfterHeaders(1000.2)).toEqual({ 'Retry-After': '2', 'retry-after-ms': '1001' });
    expect(retryAfterHeaders(0)).toEqual({ 'Retry-After': '1', 'retry-after-ms': '1' });
  });

  it('formats OpenAI durations', () => {
    expect(openAiDuration(20)).toBe('20ms');
    expect(openAiDuration(6500)).toBe('6.5s');
    expect(openAiDuration(60_000)).toBe('1m0s');
    expect(openAiDuration(0)).toBe('0ms');
  });

  it('adds the token trio only when tokens are limited', () => {
    const h = rateLimitHeaders({ limit: 10, remaining: 3, resetMs: 1500 }, null);
    expect(h).toEqual({
      'X-RateLimit-Limit': '10',
      'X-RateLimit-Remaining': '3',
      'X-RateLimit-Reset': '2',
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '3',
      'x-ratelimit-reset-requests': '1.5s',
    });
    const t = rateLimitHeaders(
      { limit: 10, remaining: -1, resetMs: 0 },
      { limit: 1000, remaining: 200, resetMs: 59_000 },
    );
    expect(t['X-RateLimit-Remaining']).toBe('0');
    expect(t['x-ratelimit-remaining-tokens']).toBe('200');
    expect(t['x-ratelimit-reset-tokens']).toBe('59s');
  });
});
