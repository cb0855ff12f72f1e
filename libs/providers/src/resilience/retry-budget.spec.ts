import { backoffMs } from './backoff';
import { RetryBudget } from './retry-budget';

describe('RetryBudget', () => {
  it('allows at least the minimum per window even with little traffic', () => {
    const budget = new RetryBudget(0.2, 3, 10_000);
    const t = 1_000_000;
    budget.recordRequest(t);
    expect([1, 2, 3, 4].map(() => budget.tryRetry(t))).toEqual([true, true, true, false]);
  });

  it('caps retries at 20 % of first attempts over the window', () => {
    const budget = new RetryBudget(0.2, 3, 10_000);
    const t = 1_000_000;
    let retries = 0;
    for (let i = 0; i < 100; i++) {
      budget.recordRequest(t + i * 10);
      if (budget.tryRetry(t + i * 10)) retries++;
    }
    // Attempts = 100 + retries ≤ 1.2 × 100 (+ the minimum of 3 early on).
    expect(retries).toBeLessThanOrEqual(20);
    expect(retries).toBeGreaterThanOrEqual(19);
  });

  it('refills as the window slides', () => {
    const budget = new RetryBudget(0.2, 3, 10_000);
    const t = 1_000_000;
    budget.recordRequest(t);
    for (let i = 0; i < 3; i++) budget.tryRetry(t);
    expect(budget.tryRetry(t)).toBe(false);
    expect(budget.tryRetry(t + 11_000)).toBe(true);
  });
});

describe('backoffMs', () => {
  it('starts at 25 ms, doubles, and jitters within [base, 2×base)', () => {
    expect(backoffMs(1, () => 0)).toBe(25);
    expect(backoffMs(1, () => 0.999)).toBe(50);
    expect(backoffMs(2, () => 0)).toBe(50);
    expect(backoffMs(3, () => 0.5)).toBe(150);
    expect(backoffMs(20, () => 0)).toBe(2_000);
  });
});
