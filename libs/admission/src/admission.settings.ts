import type { GatewayConfig } from '@gateway/config';

/** docs/api.md §7: one sliding window of 60 s for requests and for tokens. */
export const RATE_WINDOW_MS = 60_000;
/** Added to the longest a request can take, for the reservation's lifetime. */
const RESERVATION_MARGIN_MS = 5_000;

/**
 * What the parts of admission read from the configuration, read once: the reservation lifetime
 * (and the keepAlive period derived from it) and the budget policy when no store can answer.
 */
export class AdmissionSettings {
  constructor(
    readonly reservationTtlMs: number,
    readonly failClosed: boolean,
    /** How often keepAlive renews: a renewal may fail or be late twice before it would expire. */
    readonly renewalPeriodMs = Math.max(1, Math.floor(reservationTtlMs / 3)),
  ) {}

  static from(config: GatewayConfig): AdmissionSettings {
    return new AdmissionSettings(
      reservationLifetimeMs(config),
      config.admission.budgetFailurePolicy === 'fail-closed',
    );
  }
}

/**
 * How long a reservation may stay unsettled before it is presumed orphaned (its instance died):
 * the longest a request can legitimately take — waiting for a coalescing leader, then every route
 * of the slowest model with all its retries — plus a margin. A stream may run longer (its timeout
 * is per event): it keeps its reservation with AdmissionService.keepAlive.
 */
export function reservationLifetimeMs(config: GatewayConfig): number {
  let slowestChain = 0;
  for (const model of config.catalog.models.values()) {
    let chain = 0;
    for (const route of model.routes) {
      const p = config.catalog.providers.get(route.provider);
      if (p) chain += p.timeoutMs * (p.maxRetries + 1);
    }
    slowestChain = Math.max(slowestChain, chain);
  }
  return config.cache.coalesceWaitMs + slowestChain + RESERVATION_MARGIN_MS;
}
