import { usdToUnits } from '@gateway/billing';
import { GatewayError } from '@gateway/errors';

/**
 * A USD JSON number → units of 1e-10 USD, refusing (not rounding) amounts finer than 1e-10.
 * Exponent forms (`1e-7`) are expanded first so their decimals are counted, not misread.
 */
export function budgetUsdToUnits(usd: number, param: string): number {
  let text = String(usd);
  if (/e/i.test(text)) text = usd.toFixed(20).replace(/\.?0+$/, '');
  const decimals = /\.(\d+)$/.exec(text)?.[1].length ?? 0;
  if (!Number.isFinite(usd) || usd < 0 || decimals > 10) {
    throw new GatewayError(
      'invalid_request',
      `${param} must be a non-negative USD amount with at most 10 decimals.`,
      { param },
    );
  }
  try {
    return usdToUnits(text);
  } catch (err) {
    throw new GatewayError('invalid_request', `${param} is out of range.`, { param, cause: err });
  }
}
