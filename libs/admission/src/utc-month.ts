/** How long a month's budget hash outlives the month: late settlements and last month's report. */
const MONTH_KEY_GRACE_MS = 35 * 24 * 3600 * 1000;

/** A UTC calendar month: the budget period (docs/api.md §7). */
export interface UtcMonth {
  /** `YYYY-MM`, as in the alert body and the Redis key. */
  readonly label: string;
  readonly startMs: number;
  /** Exclusive. */
  readonly endMs: number;
  /** When the month's Redis hash may be dropped. */
  readonly expireAtMs: number;
}

/** The UTC month containing the instant `ms` (milliseconds since the epoch). */
export function utcMonthOf(ms: number): UtcMonth {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const startMs = Date.UTC(y, m, 1);
  const endMs = Date.UTC(y, m + 1, 1);
  return {
    label: `${y}-${String(m + 1).padStart(2, '0')}`,
    startMs,
    endMs,
    expireAtMs: endMs + MONTH_KEY_GRACE_MS,
  };
}

/** The month named `YYYY-MM`. */
export function utcMonthNamed(label: string): UtcMonth {
  const m = /^(\d{4})-(\d{2})$/.exec(label);
  if (!m) throw new RangeError(`not a month label: ${label}`);
  return utcMonthOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
}
