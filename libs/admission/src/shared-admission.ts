import { Injectable, Logger } from '@nestjs/common';
import type { TenantContext } from '@gateway/context';
import { RedisUnavailableError } from '@gateway/redis';
import {
  refusalThreshold,
  type ResolvedThreshold,
  resolveThresholds,
  tenantThresholds,
} from './alert-thresholds';
import { AdmissionModeHandover } from './admission-mode.handover';
import { AdmissionRefusals } from './admission-refusals';
import { AdmissionTickets, type TicketState } from './admission-tickets';
import { AdmissionSettings, RATE_WINDOW_MS } from './admission.settings';
import type { AdmissionDemand, AdmissionTicket } from './admission.types';
import { BudgetAlertDispatcher } from './budget-alert.dispatcher';
import { PostgresBudgetStore } from './postgres-budget.store';
import { PostgresUnavailableError } from './postgres-unavailable.error';
import { type LimitState, rateLimitHeaders } from './rate-limit-headers';
import type { AdmitReply, PeekReply, SettleMode } from './redis-admission.replies';
import { RedisAdmissionStore } from './redis-admission.store';
import { type AlertProfile } from './settle-replay.queue';
import { alertProfile } from './tenant-budget';
import { TurnBatcher } from './turn-batcher';
import { type UtcMonth, utcMonthOf } from './utc-month';
import { WarnEvery } from './warn-every';

/** One admission's fixed inputs, and what the script's answers have changed so far. */
interface SharedAdmit {
  readonly tenant: TenantContext;
  readonly demand: AdmissionDemand | null;
  readonly id: string;
  readonly budgetUnits: number | null;
  /** See AdmissionService.speculate: null where a hit would pass but this miss does not. */
  readonly speculative: boolean;
  readonly thresholds: readonly ResolvedThreshold[];
  readonly tokenDemand: number;
  readonly worstUnits: number;
  /** The month Redis's clock is in, corrected by a MONTH answer. */
  month: UtcMonth;
  /** The month's spend from Postgres, after a REBUILD answer. */
  initSpendUnits: number | null;
  /** False once the month could not be rebuilt and the policy lets the request through. */
  trackBudget: boolean;
}

/** A speculative ticket whose lookup hit, waiting for its turn's release script. */
interface HitRelease {
  readonly tenant: TenantContext;
  readonly st: TicketState;
}

type Reply<K extends AdmitReply['kind']> = Extract<AdmitReply, { kind: K }>;

/**
 * Shared mode: limits and budgets decided by one Lua script per admission and one per
 * settlement, atomically on Redis's clock, exact across every instance (admission.scripts.ts).
 * Admission calls throw RedisUnavailableError for the facade to fall back; settlements never do:
 * what Redis cannot take now is queued with the hand-over and replayed when it is back.
 */
@Injectable()
export class SharedAdmission {
  private readonly logger = new Logger('Admission');
  private readonly warnings = new WarnEvery(this.logger);
  private readonly hitReleases = new TurnBatcher<HitRelease>((batch) => this.releaseHits(batch));

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly store: RedisAdmissionStore,
    private readonly pg: PostgresBudgetStore,
    private readonly tickets: AdmissionTickets,
    private readonly refusals: AdmissionRefusals,
    private readonly alerts: BudgetAlertDispatcher,
    private readonly handover: AdmissionModeHandover,
  ) {}

  /** The UTC month Redis's clock is in, as estimated here. */
  currentMonth(): UtcMonth {
    return utcMonthOf(this.store.redisNowMs());
  }

  /**
   * One admission (ADMIT_LUA): the ticket, a GatewayError refusal thrown, or null when a
   * speculative miss would be refused where a hit would not (and when the script has nothing to
   * decide: UNDECIDED). Throws RedisUnavailableError when Redis cannot decide.
   */
  async admit(
    tenant: TenantContext,
    demand: AdmissionDemand | null,
    id: string,
    budgetUnits: number | null,
    speculative: boolean,
  ): Promise<AdmissionTicket | null> {
    const a: SharedAdmit = {
      tenant,
      demand,
      id,
      budgetUnits,
      speculative,
      thresholds: tenantThresholds(tenant.alertThresholds, budgetUnits),
      tokenDemand: demand ? demand.promptTokensUpperBound + demand.maxCompletionTokens : 0,
      worstUnits: demand?.worstCaseCostUnits ?? 0,
      month: this.currentMonth(),
      initSpendUnits: null,
      trackBudget: demand !== null,
    };
    // At most: one month correction and one rebuild from Postgres.
    for (let attempt = 0; attempt < 4; attempt++) {
      const r = await this.runAdmit(a);
      switch (r.kind) {
        case 'OK':
          return this.admitted(a, r);
        case 'RATE':
          throw this.refusedForRequests(a, r);
        case 'TOKENS':
          if (speculative) return null;
          throw this.refusedForTokens(a, r);
        case 'BUDGET':
          throw this.refusedForBudget(a, r);
        case 'MONTH':
          a.month = utcMonthOf(r.nowUs / 1000);
          a.initSpendUnits = null;
          continue;
        case 'REBUILD':
          if (!(await this.rebuildMonth(a))) return null;
          continue;
        case 'UNDECIDED':
          return null;
        case 'STALE':
          throw new RedisUnavailableError('admission reached Redis after its deadline', false);
      }
    }
    throw new RedisUnavailableError('admission did not converge', false);
  }

  /**
   * Converts the reservation to `cost` and the token entry to `tokens` (SETTLE_LUA), firing the
   * thresholds crossed; queued for replay when Redis cannot take it now. Never throws
   * RedisUnavailableError.
   */
  async settle(
    tenant: TenantContext,
    st: TicketState,
    tokens: number,
    cost: number,
  ): Promise<void> {
    // A fallback reservation never seen by Redis that cost nothing leaves nothing to tell it.
    if (!st.redisHeld && cost === 0) return;
    const alert = alertProfile(tenant);
    const notAfterMs = this.handover.replayNotAfterMs();
    if (!this.handover.shared) {
      return this.handover.queueReplay(st, 'unsent', tokens, cost, notAfterMs, alert);
    }
    try {
      await this.settleNow(st, tokens, cost, notAfterMs, alert);
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) throw err;
      this.handover.enterFallback(err.message);
      const mode = err.maybeExecuted ? 'ambiguous' : 'unsent';
      this.handover.queueReplay(st, mode, tokens, cost, notAfterMs, alert);
    }
  }

  /**
   * A speculative ticket (already closed) whose lookup hit: its tokens and budget go back in one
   * RELEASE_LUA per tenant and month per event-loop turn. Resolves when sent; never rejects.
   */
  releaseAsHit(tenant: TenantContext, st: TicketState): Promise<void> {
    return this.hitReleases.add(`${st.tenantId} ${st.month.label}`, { tenant, st });
  }

  /** Rate-limit headers from Redis without taking a slot. Throws RedisUnavailableError. */
  async peek(tenant: TenantContext): Promise<Record<string, string>> {
    const limited = tenant.tokensPerMinute !== null;
    const r = await this.store.peek(tenant.tenantId, RATE_WINDOW_MS, limited);
    return rateLimitHeaders(requestsLeft(tenant, r), tokensLeft(tenant, r));
  }

  /** The month's spend and live reservations in Redis; null when Redis has no hash for it. */
  monthSpend(
    tenantId: string,
    month: UtcMonth,
  ): Promise<{ spendUnits: number; reservedUnits: number } | null> {
    return this.store.spend(tenantId, month);
  }

  // ---------------------------------------------------------------- admission steps

  private runAdmit(a: SharedAdmit): Promise<AdmitReply> {
    return this.store.admit({
      tenantId: a.tenant.tenantId,
      id: a.id,
      windowMs: RATE_WINDOW_MS,
      limit: a.tenant.rateLimit,
      tokensPerWindow: a.tenant.tokensPerMinute,
      miss: a.demand !== null,
      speculative: a.speculative,
      tokenDemand: a.tokenDemand,
      worstUnits: a.worstUnits,
      budgetUnits: a.budgetUnits,
      month: a.month,
      reservationTtlMs: this.settings.reservationTtlMs,
      initSpendUnits: a.initSpendUnits,
      trackBudget: a.trackBudget,
      refusalClaim: refusalThreshold(a.thresholds),
      thresholds: a.thresholds,
    });
  }

  private admitted(a: SharedAdmit, r: Reply<'OK'>): AdmissionTicket {
    const { tenant } = a;
    const requests: LimitState = {
      limit: tenant.rateLimit,
      remaining: tenant.rateLimit - r.count,
      resetMs: untilLeaves(r.oldestUs, r.nowUs),
    };
    return this.tickets.issue(tenant, {
      id: a.demand ? a.id : null,
      mode: 'redis',
      month: a.month,
      headers: rateLimitHeaders(requests, tokensLeft(tenant, r)),
      remaining: requests.remaining,
      worstUnits: a.trackBudget ? a.worstUnits : 0,
      tokens: tenant.tokensPerMinute === null ? 0 : a.tokenDemand,
      redisHeld: a.trackBudget,
      pgHeld: false,
      localTokenBucket: null,
    });
  }

  private refusedForRequests({ tenant }: SharedAdmit, r: Reply<'RATE'>): Error {
    const waitMs = r.waitUs / 1000;
    return this.refusals.rateLimited(
      tenant,
      'requests',
      waitMs,
      { limit: tenant.rateLimit, remaining: 0, resetMs: waitMs },
      null,
    );
  }

  private refusedForTokens(a: SharedAdmit, r: Reply<'TOKENS'>): Error {
    const { tenant } = a;
    const waitMs = r.waitUs / 1000;
    const tpm = tenant.tokensPerMinute ?? 0;
    return this.refusals.rateLimited(
      tenant,
      'tokens',
      waitMs,
      requestsLeft(tenant, r),
      { limit: tpm, remaining: tpm - r.tokensUsed, resetMs: waitMs },
      a.tokenDemand,
    );
  }

  /** The slot is taken (docs/api.md §4 and §7); the 1.0 alert fires on the month's first refusal. */
  private refusedForBudget(a: SharedAdmit, r: Reply<'BUDGET'>): Error {
    const { tenant } = a;
    if (r.claimed)
      this.alerts.fire(tenant.tenantId, [r.claimed], r.spendUnits, alertProfile(tenant), a.month);
    const requests: LimitState = {
      limit: tenant.rateLimit,
      remaining: tenant.rateLimit - r.count,
      resetMs: untilLeaves(r.oldestUs, r.nowUs),
    };
    return this.refusals.budgetExceeded(
      tenant,
      a.worstUnits,
      r.spendUnits + r.reservedUnits,
      a.budgetUnits ?? 0,
      rateLimitHeaders(requests, null),
    );
  }

  /**
   * Redis has no hash for the month: its spend comes from Postgres. When Postgres cannot say,
   * a budgeted tenant under fail-closed is refused (503; a speculation stays undecided: false),
   * anyone else is admitted without budget tracking.
   */
  private async rebuildMonth(a: SharedAdmit): Promise<boolean> {
    try {
      a.initSpendUnits = await this.pg.monthSpend(a.tenant.tenantId, a.month);
      return true;
    } catch (err) {
      if (!(err instanceof PostgresUnavailableError)) throw err;
    }
    if (a.budgetUnits !== null && this.settings.failClosed) {
      if (a.speculative) return false;
      throw this.refusals.budgetUnavailable({});
    }
    this.warnings.warn(
      'untracked',
      'month spend not rebuilt (Postgres unavailable): admitting without budget tracking',
    );
    a.trackBudget = false;
    return true;
  }

  // ---------------------------------------------------------------- settlement steps

  private async settleNow(
    st: TicketState,
    tokens: number,
    cost: number,
    notAfterMs: number,
    alert: AlertProfile,
  ): Promise<void> {
    const mode: SettleMode = st.redisHeld ? 'live' : 'unsent';
    const thresholds = resolveThresholds(alert.fractions, alert.budgetUnits);
    // A second attempt only when the month turned between the estimate and Redis's clock.
    for (let attempt = 0; attempt < 2; attempt++) {
      const month = this.currentMonth();
      const r = await this.store.settle({
        tenantId: st.tenantId,
        id: st.id,
        mode,
        reservationMonth: st.month,
        month,
        tokens,
        costUnits: cost,
        notAfterMs,
        claim: '',
        thresholds,
        liveMonthCheck: true,
      });
      if (r.kind === 'MONTH') continue;
      if (r.kind === 'STALE')
        throw new RedisUnavailableError('settlement reached Redis after its deadline', false);
      if (r.kind === 'OK') this.alerts.fire(st.tenantId, r.claimed, r.spendUnits, alert, month);
      return;
    }
  }

  private async releaseHits(batch: HitRelease[]): Promise<void> {
    const { st } = batch[0];
    try {
      if (!this.handover.shared)
        throw new RedisUnavailableError('shared admission is in fallback', false);
      await this.store.release(
        st.tenantId,
        st.month,
        batch.map((r) => r.st.id),
      );
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) {
        // The reservations stay held until they expire: conservative, never an overshoot.
        this.logger.error({ err, tenant: st.tenantId }, 'releasing hits failed');
        return;
      }
      this.handover.enterFallback(err.message);
      // Replayed like any settlement Redis could not take, once it is back.
      const notAfterMs = this.handover.replayNotAfterMs();
      const mode = err.maybeExecuted ? 'ambiguous' : 'unsent';
      for (const r of batch) {
        this.handover.queueReplay(r.st, mode, 0, 0, notAfterMs, alertProfile(r.tenant));
      }
    }
  }
}

/** Requests left in the window, from a reply that counted the tenant's slots. */
function requestsLeft(
  tenant: TenantContext,
  r: { count: number; oldestUs: number; nowUs: number },
): LimitState {
  return {
    limit: tenant.rateLimit,
    remaining: tenant.rateLimit - r.count,
    resetMs: r.oldestUs < 0 ? 0 : untilLeaves(r.oldestUs, r.nowUs),
  };
}

/** Tokens left in the window; null when the tenant has no token limit. */
function tokensLeft(
  tenant: TenantContext,
  r: Pick<PeekReply, 'tokensUsed' | 'tokenOldestUs' | 'nowUs'>,
): LimitState | null {
  if (tenant.tokensPerMinute === null) return null;
  return {
    limit: tenant.tokensPerMinute,
    remaining: tenant.tokensPerMinute - r.tokensUsed,
    resetMs: r.tokenOldestUs < 0 ? 0 : untilLeaves(r.tokenOldestUs, r.nowUs),
  };
}

/** Milliseconds until an entry admitted at `atUs` leaves the window, from Redis time `nowUs`. */
function untilLeaves(atUs: number, nowUs: number): number {
  return Math.max(0, (atUs + RATE_WINDOW_MS * 1000 - nowUs) / 1000);
}
