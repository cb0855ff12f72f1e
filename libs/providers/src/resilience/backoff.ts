/** First retry waits 25–50 ms, then 50–100, 100–200 …; the jitter spreads a fleet's retries apart. */
export const BACKOFF_BASE_MS = 25;
const BACKOFF_MAX_MS = 2_000;

/** Jittered exponential backoff before retry number `retry` (1 = the first retry). */
export function backoffMs(retry: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, retry - 1));
  return Math.round(base * (1 + random()));
}
