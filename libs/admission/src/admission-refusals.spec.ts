import type { GatewayMetrics } from '@gateway/observability';
import { strictFake, tenant } from './__fixtures__/strict-fake';
import { AdmissionRefusals } from './admission-refusals';

describe('AdmissionRefusals', () => {
  let counted: string[];
  let refusals: AdmissionRefusals;

  beforeEach(() => {
    counted = [];
    refusals = new AdmissionRefusals(
      strictFake<GatewayMetrics>('metrics', {
        rateLimited: {
          inc: (l: { limit: string }) => void counted.push(`rate:${l.limit}`),
        } as unknown as GatewayMetrics['rateLimited'],
        budgetRejected: {
          inc: () => void counted.push('budget'),
        } as unknown as GatewayMetrics['budgetRejected'],
      }),
    );
  });

  const window = { limit: 10, remaining: 0, resetMs: 1_200 };

  it('requests: 429 rate_limit_exceeded, Retry-After rounded up, counted', () => {
    const e = refusals.rateLimited(tenant(), 'requests', 1_200, window, null);
    expect(e.code).toBe('rate_limit_exceeded');
    expect(e.headers).toEqual(
      expect.objectContaining({ 'Retry-After': '2', 'retry-after-ms': '1200' }),
    );
    expect(counted).toEqual(['rate:requests']);
  });

  it('tokens: says when a request can never fit the limit, and when it must wait', () => {
    const t = tenant({ tokensPerMinute: 100 });
    const tokens = { limit: 100, remaining: 20, resetMs: 3_000 };
    const never = refusals.rateLimited(t, 'tokens', 60_000, window, tokens, 150);
    expect(never.code).toBe('tokens_rate_limit_exceeded');
    expect(never.message).toContain('more than the limit of 100 tokens per minute');
    const wait = refusals.rateLimited(t, 'tokens', 3_000, window, tokens, 90);
    expect(wait.message).toContain('Retry after 3 s');
  });

  it('budget: 402 with x-should-retry false and the amounts in dollars', () => {
    const e = refusals.budgetExceeded(tenant(), 5_000_000_000, 7_500_000_000, 10_000_000_000, {});
    expect(e.code).toBe('budget_exceeded');
    expect(e.headers?.['x-should-retry']).toBe('false');
    expect(e.message).toBe(
      'Monthly budget of $1 cannot cover this request: up to $0.5, with $0.75 spent or reserved this month.',
    );
    expect(counted).toEqual(['budget']);
  });

  it('no store can answer: 503 with Retry-After 2', () => {
    const e = refusals.budgetUnavailable({ 'x-ratelimit-limit-requests': '10' });
    expect(e.code).toBe('dependency_unavailable');
    expect(e.headers).toEqual({ 'x-ratelimit-limit-requests': '10', 'Retry-After': '2' });
  });
});
