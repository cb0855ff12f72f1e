import { Injectable, Logger } from '@nestjs/common';
import type { ModelConfig } from '@gateway/config';
import type { TenantContext } from '@gateway/context';
import { RedisService, RedisUnavailableError } from '@gateway/redis';
import { AdmissionModeHandover } from './admission-mode.handover';
import { AdmissionTickets } from './admission-tickets';
import type {
  ActualUsage,
  AdmissionDemand,
  AdmissionTicket,
  MonthSpend,
  Speculation,
} from './admission.types';
import { FallbackAdmission } from './fallback-admission';
import { promptTokenUpperBound, type PromptMessage } from './prompt-token-bound';
import { ReservationRenewer } from './reservation.renewer';
import { SharedAdmission } from './shared-admission';
import { budgetOf } from './tenant-budget';
import { WarnEvery } from './warn-every';

const UNDECIDED: Speculation = Object.freeze({ kind: 'undecided' });
const NO_RENEWAL = (): void => undefined;

/**
 * Admission control: per-tenant request and token limits over a 60 s sliding window and
 * monthly budgets, exact across every instance, with alerts and a defined Redis-outage mode. See
 * docs/limits-and-budgets.md for the algorithms and their bounds.
 *
 * The facade picks the mode and hands each call to the part that owns it: SharedAdmission (Redis
 * scripts), FallbackAdmission (local windows, Postgres budgets), AdmissionModeHandover (the mode
 * state machine and what each switch carries across), ReservationRenewer (keepAlive).
 */
@Injectable()
export class AdmissionService {
  private readonly logger = new Logger('Admission');
  private readonly warnings = new WarnEvery(this.logger);

  constructor(
    private readonly redis: RedisService,
    private readonly tickets: AdmissionTickets,
    private readonly handover: AdmissionModeHandover,
    private readonly shared: SharedAdmission,
    private readonly fallback: FallbackAdmission,
    private readonly renewer: ReservationRenewer,
  ) {}

  /** True while limits and budgets are enforced through the shared Redis (for /health). */
  isRedisAvailable(): boolean {
    return this.handover.shared && this.redis.isAvailable();
  }

  /**
   * A true upper bound on the prompt tokens of `messages` for any route of `model`: UTF-8 bytes
   * plus per-message and per-request template allowances (prompt-token-bound.ts explains why no
   * tokenizer). The model does not change the bound: a route may fall back to another family.
   */
  promptTokenUpperBound(_model: ModelConfig, messages: readonly PromptMessage[]): number {
    return promptTokenUpperBound(messages);
  }

  /**
   * Admits one completion request, or throws GatewayError: 429 `rate_limit_exceeded` /
   * `tokens_rate_limit_exceeded` (no slot taken), 402 `budget_exceeded` (slot taken), 503
   * `dependency_unavailable` (neither Redis nor Postgres could answer for the budget and the
   * policy is fail-closed). `demand === null` is a cache hit: a request slot only, never refused
   * for budget. One Redis round trip in shared mode.
   */
  async admit(tenant: TenantContext, demand: AdmissionDemand | null): Promise<AdmissionTicket> {
    if (demand) assertDemand(demand);
    const budgetUnits = budgetOf(tenant);
    const id = this.tickets.nextId();
    if (this.handover.shared) {
      try {
        const ticket = await this.shared.admit(tenant, demand, id, budgetUnits, false);
        if (ticket) return ticket;
      } catch (err) {
        if (!(err instanceof RedisUnavailableError)) throw err;
        this.handover.enterFallback(err.message);
      }
    }
    return this.fallback.admit(tenant, demand, id, budgetUnits);
  }

  /**
   * Admits a request as a cache miss while its cache lookup is still on its way, so the two round
   * trips overlap instead of adding up. Never rejects:
   * - `admitted`: slot, tokens and budget taken as `admit(tenant, demand)` would. Should the lookup
   *   hit after all, `releaseAsHit` hands the tokens and budget back; the slot stays, as a hit's
   *   would.
   * - `refused`: the request limit refused it, which no cache answer changes (nothing taken).
   * - `undecided`: the token limit or the budget would refuse a miss but not a hit (nothing taken,
   *   no alert claimed), or shared enforcement is away. Call `admit` once the cache has answered.
   * Between a speculative admission and a hit's release, the tenant's budget and token window hold
   * the miss's worst case: a concurrent miss at the very edge of the budget may be refused (402),
   * never admitted beyond it.
   */
  async speculate(tenant: TenantContext, demand: AdmissionDemand): Promise<Speculation> {
    if (!this.handover.shared) return UNDECIDED;
    const id = this.tickets.nextId();
    try {
      assertDemand(demand);
      const ticket = await this.shared.admit(tenant, demand, id, budgetOf(tenant), true);
      return ticket ? { kind: 'admitted', ticket } : UNDECIDED;
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) return { kind: 'refused', error: err };
      this.handover.enterFallback(err.message);
      return UNDECIDED;
    }
  }

  /**
   * A speculative ticket whose lookup hit: hands its tokens and budget back (the slot stays, as a
   * hit's does) and gives the rate-limit headers as the hit leaves them. `released` settles when
   * the batched release has run (never rejects), for the caller to await alongside the response's
   * other writes.
   */
  releaseAsHit(
    tenant: TenantContext,
    ticket: AdmissionTicket,
  ): { headers: Readonly<Record<string, string>>; released: Promise<void> } {
    const st = this.tickets.stateOf(ticket);
    let released: Promise<void>;
    if (st && !st.settled && st.redisHeld && !st.pgHeld && st.localTokenBucket === null) {
      // Nothing to spend or claim: a lean script, one per tenant and month per event-loop turn.
      this.tickets.close(st);
      void this.renewer.stop(st);
      released = this.shared.releaseAsHit(tenant, st);
    } else {
      released = this.settle(tenant, ticket, null);
    }
    const remaining = ticket.headers['x-ratelimit-remaining-tokens'];
    if (ticket.reservedTokens === 0 || remaining === undefined) {
      return { headers: ticket.headers, released };
    }
    const headers = {
      ...ticket.headers,
      'x-ratelimit-remaining-tokens': String(Number(remaining) + ticket.reservedTokens),
    };
    return { headers, released };
  }

  /**
   * Keeps the ticket's reservations from expiring while its request legitimately outlives the
   * reservation lifetime — a stream lives as long as its provider keeps sending — until the
   * returned function is called or the ticket is settled. One timer per ticket, every third of
   * the lifetime; each tick is one Redis round trip (and one Postgres statement for a reservation
   * held in Postgres). Never throws; a no-op for a settled ticket or one this instance did not
   * issue. The token entry is not renewed: it counts in the window of its admission, like any.
   */
  keepAlive(tenant: TenantContext, ticket: AdmissionTicket): () => void {
    const st = this.tickets.stateOf(ticket);
    if (!st || st.settled) return NO_RENEWAL;
    if (st.tenantId !== tenant.tenantId) {
      this.warnings.warn('renew-tenant', 'keepAlive() got a ticket of another tenant: not renewed');
      return NO_RENEWAL;
    }
    return this.renewer.keepAlive(st);
  }

  /**
   * Converts the reservation to actual spend (or releases it when `actual` is null: failure,
   * client abort, an answer shared by another request) and settles the token count. Fires the
   * alert thresholds the spend crossed. Never throws: a settlement Redis cannot take now is
   * replayed when it can. One Redis round trip in shared mode.
   */
  async settle(
    tenant: TenantContext,
    ticket: AdmissionTicket,
    actual: ActualUsage | null,
  ): Promise<void> {
    if (ticket.reservationId === null) return;
    const st = this.tickets.stateOf(ticket);
    if (!st) {
      // Tickets are per process: settling elsewhere would leave the reservation to expire.
      this.warnings.warn('foreign-ticket', 'settle() got a ticket this instance did not issue');
      return;
    }
    if (!this.tickets.close(st)) return;
    // A Postgres settlement waits for a renewal in flight: landing after it, the renewal would
    // keep the settled row's cost counted for a lifetime instead of its grace period. (In Redis a
    // renewal after the settlement finds nothing to renew.)
    const renewing = this.renewer.stop(st);
    const tokens = actual ? actual.promptTokens + actual.completionTokens : 0;
    const cost = actual ? actual.costUnits : 0;
    this.fallback.correctTokens(tenant, st, tokens);
    try {
      await Promise.all([
        st.pgHeld ? renewing.then(() => this.fallback.settle(st, cost)) : undefined,
        this.shared.settle(tenant, st, tokens, cost),
      ]);
    } catch (err) {
      this.logger.error({ err, tenant: tenant.tenantId }, 'settlement failed');
    }
  }

  /** Rate-limit headers for a tenant route that takes no slot (read-only). */
  async peek(tenant: TenantContext): Promise<Record<string, string>> {
    if (this.handover.shared) {
      try {
        return await this.shared.peek(tenant);
      } catch (err) {
        if (!(err instanceof RedisUnavailableError)) throw err;
        this.handover.enterFallback(err.message);
      }
    }
    return this.fallback.peek(tenant);
  }

  /** This UTC month's spend and live reservations; null when neither store can answer. */
  async monthSpend(tenantId: string): Promise<MonthSpend | null> {
    const month = this.shared.currentMonth();
    if (this.handover.shared) {
      try {
        const r = await this.shared.monthSpend(tenantId, month);
        if (r) return { month: month.label, ...r };
      } catch (err) {
        if (!(err instanceof RedisUnavailableError)) throw err;
      }
    }
    return this.fallback.monthSpend(tenantId, month);
  }
}

function assertDemand(d: AdmissionDemand): void {
  for (const [name, v] of Object.entries(d)) {
    if (!Number.isSafeInteger(v) || (v as number) < 0) {
      throw new RangeError(`AdmissionDemand.${name} must be a whole number ≥ 0`);
    }
  }
}
