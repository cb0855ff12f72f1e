import type { ModelConfig, ModelPrice } from '@gateway/config';

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** `prompt × input + completion × output`, exact, in units of 1e-10 USD (docs/api.md §7). */
export function costUnits(price: ModelPrice, usage: TokenUsage): number {
  assertTokens(usage.promptTokens, 'promptTokens');
  assertTokens(usage.completionTokens, 'completionTokens');
  const total =
    BigInt(usage.promptTokens) * BigInt(price.input) +
    BigInt(usage.completionTokens) * BigInt(price.output);
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('cost exceeds the exact range');
  return Number(total);
}

/**
 * The worst case reserved before a call (docs/api.md §4 and §7): an upper bound on the prompt tokens plus
 * `max_tokens` (or the route's maximum output when absent), priced at the most expensive route of
 * the model — so a fallback to a dearer provider can never overspend the reservation.
 */
export function worstCaseUnits(
  model: ModelConfig,
  promptTokensUpperBound: number,
  maxTokens: number | null,
): number {
  let worst = 0;
  for (const route of model.routes) {
    const completion = maxTokens ?? route.price.maxOutputTokens;
    worst = Math.max(
      worst,
      costUnits(route.price, {
        promptTokens: promptTokensUpperBound,
        completionTokens: completion,
      }),
    );
  }
  return worst;
}

/** The largest completion any route of the model may produce for this request. */
export function maxCompletionTokens(model: ModelConfig, maxTokens: number | null): number {
  if (maxTokens !== null) return maxTokens;
  return Math.max(...model.routes.map((r) => r.price.maxOutputTokens));
}

function assertTokens(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number ≥ 0`);
}
