import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { TenantContext } from '@gateway/context';
import { refusalThreshold, tenantThresholds } from './alert-thresholds';
import { AdmissionModeHandover } from './admission-mode.handover';
import { AdmissionRefusals } from './admission-refusals';
import { AdmissionTickets, type TicketState } from './admission-tickets';
import { AdmissionSettings, RATE_WINDOW_MS } from './admission.settings';
import type { AdmissionDemand, AdmissionTicket, MonthSpend } from './admission.types';
import { LocalWindowLimiter } from './local-window.limiter';
import { type PgReserveResult, PostgresBudgetStore } from './postgres-budget.store';
import { PostgresUnavailableError } from './postgres-unavailable.error';
import { type LimitState, rateLimitHeaders } from './rate-limit-headers';
import { alertProfile } from './tenant-budget';
import { type UtcMonth, utcMonthOf } from './utc-month';
import { WarnEvery } from './warn-every';

const PURGE_INTERVAL_MS = 10 * 60_000;

/** A slot or tokens taken from the local window: the state for headers, the bucket to correct. */
interface LocalTaken {
  readonly state: LimitState;
  readonly bucket: number;
}

/**
 * Fallback mode, while Redis is away: requests and tokens limited per instance in memory
 * (LocalWindowLimiter), budgets checked against Postgres — recorded spend plus the reservations
 * of `budget_reservations`, under a per-tenant advisory lock, exact across instances.
 */
@Injectable()
export class FallbackAdmission implements OnModuleInit, OnModuleDestroy {
  private readonly warnings = new WarnEvery(new Logger('Admission'));
  private readonly local = new LocalWindowLimiter(RATE_WINDOW_MS, 1_000, 20_000);
  private purgeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly pg: PostgresBudgetStore,
    private readonly tickets: AdmissionTickets,
    private readonly refusals: AdmissionRefusals,
    private readonly handover: AdmissionModeHandover,
  ) {}

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => {
      this.pg.purgeExpired().catch(() => undefined);
    }, PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
  }

  /** Admits on this instance's windows and Postgres's budget, or throws the GatewayError refusal. */
  async admit(
    tenant: TenantContext,
    demand: AdmissionDemand | null,
    id: string,
    budgetUnits: number | null,
  ): Promise<AdmissionTicket> {
    const now = Date.now();
    const tokenDemand = demand ? demand.promptTokensUpperBound + demand.maxCompletionTokens : 0;
    const slot = this.takeRequestSlot(tenant, now);
    const taken = this.takeTokens(tenant, demand ? tokenDemand : 0, slot, now);
    const tokenBucket = demand && taken ? taken.bucket : null;
    const headers = rateLimitHeaders(slot.state, taken?.state ?? null);
    const month = utcMonthOf(now);
    const giveBackTokens = () => {
      if (tokenBucket !== null)
        this.local.adjust(tokenKey(tenant), tokenBucket, -tokenDemand, Date.now());
    };
    const worst = demand?.worstCaseCostUnits ?? 0;
    const pgHeld =
      demand !== null && budgetUnits !== null
        ? await this.reserveBudget(tenant, id, month, worst, budgetUnits, headers, giveBackTokens)
        : false;
    return this.tickets.issue(tenant, {
      id: demand ? id : null,
      mode: 'fallback',
      month,
      headers,
      remaining: slot.state.remaining,
      worstUnits: pgHeld ? worst : 0,
      tokens: tokenBucket === null ? 0 : tokenDemand,
      redisHeld: false,
      pgHeld,
      localTokenBucket: tokenBucket,
    });
  }

  /** Settles a Postgres reservation; a failure leaves it counting its worst case until it expires. */
  async settle(st: TicketState, cost: number): Promise<void> {
    try {
      await this.pg.settle(st.id, cost);
    } catch (err) {
      // The row keeps counting its worst case until it expires: safe, just conservative.
      this.warnings.warn(
        'pg-settle',
        'fallback reservation not settled in Postgres; it will expire',
        err,
      );
    }
  }

  /** Corrects a fallback ticket's local token count to what the request used. */
  correctTokens(tenant: TenantContext, st: TicketState, tokens: number): void {
    if (st.localTokenBucket === null) return;
    this.local.adjust(tokenKey(tenant), st.localTokenBucket, tokens - st.tokens, Date.now());
  }

  /** This instance's window state as rate-limit headers, taking nothing. */
  peek(tenant: TenantContext): Record<string, string> {
    const now = Date.now();
    const req = this.local.peek(requestKey(tenant), now);
    const tok = this.local.peek(tokenKey(tenant), now);
    const tpm = tenant.tokensPerMinute;
    return rateLimitHeaders(
      { limit: tenant.rateLimit, remaining: tenant.rateLimit - req.used, resetMs: req.resetMs },
      tpm === null ? null : { limit: tpm, remaining: tpm - tok.used, resetMs: tok.resetMs },
    );
  }

  /** The month's spend from Postgres: recorded spend and live reservations; null when down. */
  async monthSpend(tenantId: string, month: UtcMonth): Promise<MonthSpend | null> {
    try {
      const [spendUnits, reservedUnits] = await Promise.all([
        this.pg.monthSpend(tenantId, month),
        this.pg.held(tenantId),
      ]);
      return { month: month.label, spendUnits, reservedUnits };
    } catch (err) {
      if (err instanceof PostgresUnavailableError) return null;
      throw err;
    }
  }

  // ---------------------------------------------------------------- admission steps

  private takeRequestSlot(tenant: TenantContext, now: number): LocalTaken {
    const req = this.local.tryTake(requestKey(tenant), tenant.rateLimit, 1, now);
    if (!req.ok) {
      throw this.refusals.rateLimited(
        tenant,
        'requests',
        req.waitMs,
        { limit: tenant.rateLimit, remaining: 0, resetMs: req.waitMs },
        null,
      );
    }
    const state = {
      limit: tenant.rateLimit,
      remaining: tenant.rateLimit - req.used,
      resetMs: req.resetMs,
    };
    return { state, bucket: req.bucket };
  }

  /** null when the tenant has no token limit. A refusal gives the request slot back. */
  private takeTokens(
    tenant: TenantContext,
    amount: number,
    slot: LocalTaken,
    now: number,
  ): LocalTaken | null {
    const tpm = tenant.tokensPerMinute;
    if (tpm === null) return null;
    const tok = this.local.tryTake(tokenKey(tenant), tpm, amount, now);
    if (!tok.ok) {
      this.local.adjust(requestKey(tenant), slot.bucket, -1, now);
      throw this.refusals.rateLimited(
        tenant,
        'tokens',
        tok.waitMs,
        { ...slot.state, remaining: slot.state.remaining + 1 },
        { limit: tpm, remaining: tpm - tok.used, resetMs: tok.waitMs },
        amount,
      );
    }
    return {
      state: { limit: tpm, remaining: tpm - tok.used, resetMs: tok.resetMs },
      bucket: tok.bucket,
    };
  }

  /**
   * Reserves the worst case in Postgres. True when reserved; false when neither store can
   * answer and the policy is fail-open. Refusals (402, or 503 under fail-closed) give the tokens
   * back; the slot stays taken, as in shared mode.
   */
  private async reserveBudget(
    tenant: TenantContext,
    id: string,
    month: UtcMonth,
    worst: number,
    budgetUnits: number,
    headers: Record<string, string>,
    giveBackTokens: () => void,
  ): Promise<boolean> {
    // Reservations held in Redis when it went away must be in Postgres before we count there.
    await this.handover.mirrored();
    let r: PgReserveResult;
    try {
      r = await this.pg.reserve(
        tenant.tenantId,
        id,
        month,
        worst,
        budgetUnits,
        this.settings.reservationTtlMs,
      );
    } catch (err) {
      if (!(err instanceof PostgresUnavailableError)) throw err;
      if (this.settings.failClosed) {
        giveBackTokens();
        throw this.refusals.budgetUnavailable(headers);
      }
      this.warnings.warn(
        'fail-open',
        'budget not enforced: Redis and Postgres unavailable (BUDGET_FAILURE_POLICY=fail-open)',
      );
      return false;
    }
    if (r.ok) return true;
    giveBackTokens();
    const claim = refusalThreshold(tenantThresholds(tenant.alertThresholds, budgetUnits));
    if (claim) this.handover.queueRefusalClaim(tenant.tenantId, month, claim, alertProfile(tenant));
    throw this.refusals.budgetExceeded(
      tenant,
      worst,
      r.spendUnits + r.heldUnits,
      budgetUnits,
      headers,
    );
  }
}

function requestKey(tenant: TenantContext): string {
  return `${tenant.tenantId}|r`;
}

function tokenKey(tenant: TenantContext): string {
  return `${tenant.tenantId}|t`;
}
