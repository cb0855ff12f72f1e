import { refusalThreshold, resolveThresholds, tenantThresholds } from './alert-thresholds';

describe('resolveThresholds', () => {
  it('uses the decimal fraction exactly and rounds up', () => {
    // 0.1 × 3 units = 0.3 → fires at 1 unit; the binary 0.1 would give 0.30000000000000004.
    expect(resolveThresholds([0.1], 3)).toEqual([{ name: '0.1', fraction: 0.1, units: 1 }]);
    const [half, most, all] = resolveThresholds([0.5, 0.8, 1], 1_000_000_000_001);
    expect(half.units).toBe(500_000_000_001);
    expect(most.units).toBe(800_000_000_001);
    expect(all).toEqual({ name: '1', fraction: 1, units: 1_000_000_000_001 });
  });

  it('has nothing to cross for unlimited or zero budgets', () => {
    expect(resolveThresholds([0.5, 1], null)).toEqual([]);
    expect(resolveThresholds([0.5, 1], 0).map((t) => t.units)).toEqual([0, 0]);
  });

  it('names the threshold a budget refusal reaches', () => {
    expect(refusalThreshold(resolveThresholds([0.5, 1], 10))).toBe('1');
    expect(refusalThreshold(resolveThresholds([0.5, 0.9], 10))).toBe('');
  });
});

describe('tenantThresholds', () => {
  it('resolves a tenant fractions array once per budget, with the same result as resolveThresholds', () => {
    const fractions = [0.5, 0.8, 1];
    const first = tenantThresholds(fractions, 1_000);
    expect(first).toEqual(resolveThresholds(fractions, 1_000));
    expect(tenantThresholds(fractions, 1_000)).toBe(first);
    // Another budget (the tenant was edited) is resolved anew, never served the old amounts.
    const raised = tenantThresholds(fractions, 3_000);
    expect(raised).toEqual(resolveThresholds(fractions, 3_000));
    expect(raised.map((t) => t.units)).toEqual([1_500, 2_400, 3_000]);
    expect(tenantThresholds(fractions, null)).toEqual([]);
    // Equal content in another array (another tenant) is its own entry.
    expect(tenantThresholds([0.5, 0.8, 1], 1_000)).not.toBe(first);
  });
});
