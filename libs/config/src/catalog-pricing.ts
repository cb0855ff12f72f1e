// The `pricing` section: USD-per-1M-token prices as exact integer units, and whether an entry
// fits the kind of model a route serves.
import type { ModelKind, ModelPrice } from './config.types';
import { isRecord, positiveInt } from './catalog-values';

const DEFAULT_MAX_OUTPUT_TOKENS = 4_096;
/** Four decimals per 1M tokens = units of 1e-10 USD per token (see PricePerToken). */
const PRICE_PATTERN = /^(\d{1,7})(?:\.(\d{1,4}))?$/;
/** Far above any embedding model's vector length; catches a typo'd extra digit. */
const MAX_DIMENSIONS = 65_536;

/**
 * A `pricing` entry as written. Which fields it must have depends on the kind of the models whose
 * routes use it, known only once the models are read: a chat route needs `output`, an embedding
 * route has no output tokens and may declare `dimensions`.
 */
export interface PriceEntry {
  readonly at: string;
  readonly price: ModelPrice;
  readonly hasOutput: boolean;
  readonly hasMaxOutputTokens: boolean;
  readonly dimensions: number | undefined;
}

export function parsePricing(node: unknown, problems: string[]): Map<string, PriceEntry> {
  const out = new Map<string, PriceEntry>();
  if (node === undefined || node === null) return out;
  if (!isRecord(node)) {
    problems.push('pricing: expected a mapping of "provider/model" to {input, output}');
    return out;
  }
  for (const [key, raw] of Object.entries(node)) {
    const at = `pricing.${key}`;
    if (!isRecord(raw)) {
      problems.push(`${at}: expected {input, output}`);
      continue;
    }
    const input = parsePrice(raw.input, `${at}.input`, problems);
    const hasOutput = raw.output !== undefined && raw.output !== null;
    const output = hasOutput ? parsePrice(raw.output, `${at}.output`, problems) : null;
    const maxOutputTokens = positiveInt(
      raw.max_output_tokens,
      DEFAULT_MAX_OUTPUT_TOKENS,
      `${at}.max_output_tokens`,
      problems,
    );
    const dimensions = positiveInt(raw.dimensions, 0, `${at}.dimensions`, problems);
    if (dimensions > MAX_DIMENSIONS) {
      problems.push(`${at}.dimensions: expected at most ${MAX_DIMENSIONS}`);
    }
    if (input && (output || !hasOutput)) {
      out.set(key, {
        at,
        price: {
          input: input.units,
          output: output?.units ?? 0,
          inputPerMillion: input.text,
          outputPerMillion: output?.text ?? '0',
          maxOutputTokens,
        },
        hasOutput,
        hasMaxOutputTokens: raw.max_output_tokens !== undefined && raw.max_output_tokens !== null,
        dimensions: dimensions > 0 ? dimensions : undefined,
      });
    }
  }
  return out;
}

/** USD per 1M tokens (≤ 4 decimals) → integer units of 1e-10 USD per token, by string arithmetic. */
export function parsePrice(
  value: unknown,
  at: string,
  problems: string[],
): { units: number; text: string } | null {
  const text = typeof value === 'number' ? numberToPlainString(value) : value;
  if (typeof text !== 'string' || text.trim() === '') {
    problems.push(`${at}: missing price (USD per 1M tokens)`);
    return null;
  }
  const m = PRICE_PATTERN.exec(text.trim());
  if (!m) {
    problems.push(
      `${at}: "${text}" is not a price: a non-negative number of USD per 1M tokens with at most 4 decimals`,
    );
    return null;
  }
  const units = Number(m[1]) * 10_000 + Number((m[2] ?? '').padEnd(4, '0'));
  return { units, text: text.trim() };
}

function numberToPlainString(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  // Shortest round-trip form; reject exponent forms rather than guess.
  return String(n);
}

/** What a pricing entry lacks (or has too much of) for the kind of model a route serves. */
export function pricingProblem(entry: PriceEntry, kind: ModelKind): string | null {
  if (kind === 'chat') {
    if (!entry.hasOutput) return `${entry.at}.output: missing price (USD per 1M tokens)`;
    if (entry.dimensions !== undefined) {
      return `${entry.at}.dimensions: only embedding models have dimensions`;
    }
    return null;
  }
  if (entry.price.output !== 0) {
    return `${entry.at}.output: an embedding model has no output tokens (omit output or set it to 0)`;
  }
  if (entry.hasMaxOutputTokens) {
    return `${entry.at}.max_output_tokens: an embedding model has no output tokens`;
  }
  return null;
}
