import { parseCatalog } from '@gateway/config';
import { costUnits, maxCompletionTokens, worstCaseUnits } from './cost';
import { unitsToDecimalString, unitsToUsd, usdToUnits } from './money';

function catalog(pricing: string) {
  const { catalog, problems } = parseCatalog(
    `
providers:
  a: {type: mock}
  b: {type: mock}
models:
  m:
    - {provider: a, model: x}
    - {provider: b, model: y}
pricing:
${pricing}
`,
    {},
  );
  expect(problems).toEqual([]);
  return catalog.models.get('m')!;
}

describe('cost maths (one case per pricing scenario)', () => {
  it('prices the documented example (docs/api.md §3.1) exactly: gpt-4 at $30/$60, 12 + 15 tokens = $0.00126', () => {
    const m = catalog('  a/x: {input: 30.00, output: 60.00}\n  b/y: {input: 1, output: 1}');
    expect(
      unitsToUsd(costUnits(m.routes[0].price, { promptTokens: 12, completionTokens: 15 })),
    ).toBe(0.00126);
  });

  it('sub-cent prices with 4 decimals stay exact (no float drift)', () => {
    const m = catalog('  a/x: {input: 0.15, output: 0.60}\n  b/y: {input: 0.0001, output: 0.0003}');
    // 0.15/1M × 7 + 0.60/1M × 3 = 0.00000105 + 0.0000018 = 0.00000285
    expect(
      unitsToDecimalString(costUnits(m.routes[0].price, { promptTokens: 7, completionTokens: 3 })),
    ).toBe('0.00000285');
    // The smallest possible cost: one token at $0.0001 per 1M = 1e-10 USD.
    expect(costUnits(m.routes[1].price, { promptTokens: 1, completionTokens: 0 })).toBe(1);
    expect(unitsToUsd(1)).toBe(1e-10);
  });

  it('gives every amount the double nearest its exact decimal value, by division or by text', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const samples = [0, 1, 9, 10, 99_999, 10_000_000_000, 12_345_678_901, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 20_000; i++) samples.push(next() * (1 + (next() % 4_000_000)));
    for (const units of samples) {
      if (!Number.isSafeInteger(units)) continue;
      // The BigInt argument takes the exact-text path; the number one the division.
      expect(unitsToUsd(units)).toBe(unitsToUsd(BigInt(units)));
      expect(unitsToUsd(units)).toBe(Number(unitsToDecimalString(units)));
    }
  });

  it('sums of many small costs equal the exact total (floats would drift)', () => {
    const m = catalog('  a/x: {input: 0.1, output: 0.2}\n  b/y: {input: 1, output: 1}');
    let units = 0;
    let float = 0;
    for (let i = 0; i < 10_000; i++) {
      const c = costUnits(m.routes[0].price, { promptTokens: 1, completionTokens: 1 });
      units += c;
      float += 0.1 / 1e6 + 0.2 / 1e6;
    }
    expect(unitsToDecimalString(units)).toBe('0.003');
    expect(float).not.toBe(0.003);
  });

  it('free routes cost zero', () => {
    const m = catalog('  a/x: {input: 0, output: 0}\n  b/y: {input: 0, output: 0}');
    expect(costUnits(m.routes[0].price, { promptTokens: 1000, completionTokens: 1000 })).toBe(0);
  });

  it('the worst case uses the dearest route and max_tokens', () => {
    const m = catalog(
      '  a/x: {input: 1, output: 2}\n  b/y: {input: 3, output: 15, max_output_tokens: 100}',
    );
    // 10 × 3 + 50 × 15 at the dearer route b
    expect(worstCaseUnits(m, 10, 50)).toBe(
      costUnits(m.routes[1].price, { promptTokens: 10, completionTokens: 50 }),
    );
  });

  it('without max_tokens the worst case reserves each route’s maximum output', () => {
    const m = catalog(
      '  a/x: {input: 1, output: 2, max_output_tokens: 1000}\n  b/y: {input: 1, output: 1, max_output_tokens: 100}',
    );
    expect(worstCaseUnits(m, 0, null)).toBe(1000 * 2 * 10_000);
    expect(maxCompletionTokens(m, null)).toBe(1000);
    expect(maxCompletionTokens(m, 7)).toBe(7);
  });

  it('refuses negative or fractional token counts', () => {
    const m = catalog('  a/x: {input: 1, output: 1}\n  b/y: {input: 1, output: 1}');
    expect(() => costUnits(m.routes[0].price, { promptTokens: -1, completionTokens: 0 })).toThrow(
      RangeError,
    );
    expect(() => costUnits(m.routes[0].price, { promptTokens: 1.5, completionTokens: 0 })).toThrow(
      RangeError,
    );
  });
});

describe('money conversion', () => {
  it.each([
    ['0', 0],
    ['100', 1_000_000_000_000],
    ['0.0000000001', 1],
    ['12.345', 123_450_000_000],
  ])('usdToUnits(%s)', (usd, units) => {
    expect(usdToUnits(usd)).toBe(units);
    expect(unitsToDecimalString(units)).toBe(usd);
  });

  it('refuses amounts finer than 1e-10 and negatives', () => {
    expect(() => usdToUnits('0.00000000001')).toThrow(RangeError);
    expect(() => usdToUnits(-1)).toThrow(RangeError);
  });

  it('JSON numbers print the exact decimal', () => {
    expect(JSON.stringify({ cost: unitsToUsd(5_400_000) })).toBe('{"cost":0.00054}');
  });
});
