/**
 * Money is held as integer "units" of 1e-10 USD. Catalog prices have at most 4 decimals per 1M
 * tokens, so a price per token is an integer number of units and every cost is exact integer
 * arithmetic — no floating-point accumulation anywhere (docs/api.md §7, §9).
 *
 * Integers stay exact in a double up to 2^53 units ≈ $900,719: far above any single request, and
 * aggregates are summed in Postgres (BIGINT/NUMERIC) or with BigInt, never as floats.
 */
export const UNITS_PER_USD = 10_000_000_000;
const SCALE_DIGITS = 10;

/**
 * Units → USD as a JSON number: the double nearest to the exact amount. For a safe integer that is
 * one division (both operands are exact doubles and IEEE division rounds the exact quotient to
 * nearest, as Number() does with the exact decimal text), so the hot path (every response's `cost`
 * and the cost counter) builds no string.
 */
export function unitsToUsd(units: number | bigint): number {
  if (typeof units === 'number' && Number.isSafeInteger(units)) return units / UNITS_PER_USD;
  return Number(unitsToDecimalString(units));
}

/** Units → exact decimal string, trailing zeros trimmed (`5400000` → `"0.00054"`). */
export function unitsToDecimalString(units: number | bigint): string {
  let big = BigInt(units);
  const negative = big < 0n;
  if (negative) big = -big;
  const digits = big.toString().padStart(SCALE_DIGITS + 1, '0');
  const whole = digits.slice(0, -SCALE_DIGITS);
  const frac = digits.slice(-SCALE_DIGITS).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/**
 * A USD amount (number or decimal string, e.g. a budget) → units. Amounts finer than 1e-10 USD are
 * refused rather than rounded.
 */
export function usdToUnits(usd: number | string): number {
  const text = typeof usd === 'number' ? String(usd) : usd.trim();
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a non-negative USD amount: "${text}"`);
  const frac = m[2] ?? '';
  if (frac.length > SCALE_DIGITS && /[1-9]/.test(frac.slice(SCALE_DIGITS))) {
    throw new RangeError(`USD amount finer than 1e-10: "${text}"`);
  }
  const units =
    BigInt(m[1]) * BigInt(UNITS_PER_USD) +
    BigInt(frac.slice(0, SCALE_DIGITS).padEnd(SCALE_DIGITS, '0'));
  if (units > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RangeError(`USD amount too large: "${text}"`);
  return Number(units);
}
