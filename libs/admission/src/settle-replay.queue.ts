import { randomBytes } from 'node:crypto';
import type { SettleMode } from './redis-admission.replies';
import type { UtcMonth } from './utc-month';

/** What an alert fired by a replay needs to know about its tenant (the latest seen). */
export interface AlertProfile {
  readonly fractions: readonly number[];
  readonly budgetUnits: number | null;
  readonly url: string | null;
  readonly secret: string | null;
}

/** A settlement Redis has not seen yet, to apply when it is reachable again. */
export interface ReplayEntry {
  readonly key: string;
  readonly tenantId: string;
  /** The reservation id, or a fresh id for a sum of costs (used for the applied-once marker). */
  readonly id: string;
  readonly mode: Exclude<SettleMode, 'live'>;
  readonly reservationMonth: UtcMonth;
  readonly month: UtcMonth;
  readonly tokens: number | null;
  costUnits: number;
  /** Redis-clock ms: an 'unsent' cost counts only in a month hash built before this. */
  notAfterMs: number;
  claim: string;
  alert: AlertProfile;
}

/**
 * Settlements made while Redis was unavailable (or whose outcome is unknown because the command
 * timed out), replayed when it returns so the shared counters do not lose that spend. Bounded:
 * settlements that held a Redis reservation are kept one by one (at most the requests in flight
 * when Redis went away); costs without one are summed per tenant and month, so a long outage
 * costs one entry per tenant, not one per request.
 */
export class SettleReplayQueue {
  private readonly entries = new Map<string, ReplayEntry>();
  /** tenant|month → key of the sum still open for additions (sealed when a drain starts). */
  private readonly openSums = new Map<string, string>();

  constructor(private readonly maxEntries = 100_000) {}

  get size(): number {
    return this.entries.size;
  }

  /** A settlement whose Redis reservation must be released (and its cost counted). */
  addTicket(e: Omit<ReplayEntry, 'key'>): boolean {
    if (this.entries.has(e.id)) return true;
    if (this.entries.size >= this.maxEntries) return false;
    this.entries.set(e.id, { ...e, key: e.id });
    return true;
  }

  /** A cost (or a budget refusal's claim) with no Redis reservation behind it. */
  addCost(
    tenantId: string,
    month: UtcMonth,
    costUnits: number,
    notAfterMs: number,
    claim: string,
    alert: AlertProfile,
  ): boolean {
    const sumKey = `${tenantId}|${month.label}`;
    const open = this.openSums.get(sumKey);
    const existing = open === undefined ? undefined : this.entries.get(open);
    if (existing) {
      existing.costUnits += costUnits;
      existing.notAfterMs = Math.min(existing.notAfterMs, notAfterMs);
      existing.claim ||= claim;
      existing.alert = alert;
      return true;
    }
    if (this.entries.size >= this.maxEntries) return false;
    const id = `sum.${randomBytes(8).toString('base64url')}`;
    this.entries.set(id, {
      key: id,
      tenantId,
      id,
      mode: 'unsent',
      reservationMonth: month,
      month,
      tokens: null,
      costUnits,
      notAfterMs,
      claim,
      alert,
    });
    this.openSums.set(sumKey, id);
    return true;
  }

  /**
   * The entries to replay now. Open sums are sealed first: a sum being sent must not grow (its
   * applied-once marker would make a retry skip what was added after the first attempt).
   */
  takeSnapshot(): ReplayEntry[] {
    this.openSums.clear();
    return [...this.entries.values()];
  }

  remove(key: string): void {
    this.entries.delete(key);
  }
}
