/** One alert threshold of a tenant, resolved against its budget. */
export interface ResolvedThreshold {
  /** The fraction as the tenant wrote it (`0.8`): the alert's name and its `threshold` field. */
  readonly name: string;
  readonly fraction: number;
  /** Spend at which it fires: ceil(fraction × budget), exact; 0 means "never by spend". */
  readonly units: number;
}

/**
 * Thresholds in exact integer units: spend reaches `fraction × budget` exactly when spend ≥
 * ceil(fraction × budget). The fraction is taken from its shortest decimal text, so 0.8 means
 * 8/10, not the binary double nearest to it. A zero budget has nothing to cross by spending;
 * its 1.0 alert fires on the first refusal instead (docs/api.md §4 and §7).
 */
export function resolveThresholds(
  fractions: readonly number[],
  budgetUnits: number | null,
): ResolvedThreshold[] {
  if (budgetUnits === null) return [];
  const out: ResolvedThreshold[] = [];
  for (const fraction of fractions) {
    if (!Number.isFinite(fraction) || fraction <= 0) continue;
    const name = String(fraction);
    out.push({ name, fraction, units: budgetUnits === 0 ? 0 : ceilFraction(name, budgetUnits) });
  }
  return out;
}

// A tenant's fractions array is immutable and shared by all its requests: resolve it against a
// budget once, not per admission (weak: gone with the tenant context).
const resolvedFor = new WeakMap<
  readonly number[],
  { readonly budgetUnits: number | null; readonly thresholds: readonly ResolvedThreshold[] }
>();

/** `resolveThresholds`, remembered per fractions array and budget; the result is shared: read it only. */
export function tenantThresholds(
  fractions: readonly number[],
  budgetUnits: number | null,
): readonly ResolvedThreshold[] {
  const known = resolvedFor.get(fractions);
  if (known !== undefined && known.budgetUnits === budgetUnits) return known.thresholds;
  const thresholds = resolveThresholds(fractions, budgetUnits);
  resolvedFor.set(fractions, { budgetUnits, thresholds });
  return thresholds;
}

/** The threshold that a refusal for budget counts as reaching, when the tenant has one. */
export function refusalThreshold(thresholds: readonly ResolvedThreshold[]): string {
  return thresholds.find((t) => t.fraction === 1)?.name ?? '';
}

function ceilFraction(decimal: string, units: number): number {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(decimal);
  if (!m) throw new RangeError(`not a threshold: ${decimal}`);
  const frac = m[2] ?? '';
  const exp = Number(m[3] ?? 0) - frac.length;
  let num = BigInt(m[1] + frac) * BigInt(units);
  let den = 1n;
  if (exp >= 0) num *= 10n ** BigInt(exp);
  else den = 10n ** BigInt(-exp);
  const q = (num + den - 1n) / den;
  return q > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(q);
}
