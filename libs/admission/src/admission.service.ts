import { randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { unitsToDecimalString, usdToUnits } from '@gateway/billing';
import { type GatewayConfig, GatewayConfigService, type ModelConfig } from '@gateway/config';
import type { TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import { RedisService, RedisUnavailableError } from '@gateway/redis';
import { refusalThreshold, resolveThresholds } from './alert-thresholds';
import type {
  ActualUsage,
  AdmissionDemand,
  AdmissionTicket,
  MonthSpend,
  Speculation,
} from './admission.types';
import { type BudgetAlert, BudgetAlertSender } from './budget-alert.sender';
import { LocalWindowLimiter } from './local-window.limiter';
import { PostgresBudgetStore } from './postgres-budget.store';
import { PostgresUnavailableError } from './postgres-unavailable.error';
import { promptTokenUpperBound, type PromptMessage } from './prompt-token-bound';
import { type LimitState, rateLimitHeaders, retryAfterHeaders } from './rate-limit-headers';
import { RedisAdmissionStore, type SettleMode } from './redis-admission.store';
import { type AlertProfile, SettleReplayQueue } from './settle-replay.queue';
import { TurnBatcher } from './turn-batcher';
import { type UtcMonth, utcMonthOf } from './utc-month';

/** docs/api.md §7: one sliding window of 60 s for requests and for tokens. */
export const RATE_WINDOW_MS = 60_000;
/** Added to the longest a request can take, for the reservation's lifetime. */
const RESERVATION_MARGIN_MS = 5_000;
/** Requests in flight tracked for the Redis ↔ Postgres hand-overs; more are not tracked. */
const MAX_TRACKED_IN_FLIGHT = 100_000;
/** While in fallback, how often to try to resume shared enforcement (well within 5 s). */
const RESUME_INTERVAL_MS = 500;
/**
 * A cost replayed after an outage counts only in a month hash built at least this long before the
 * settlement (Redis clock, as estimated here): covers the offset estimate's error, so a hash
 * rebuilt from a Postgres snapshot that may hold the request's audit record is never credited twice.
 */
const REPLAY_CLOCK_MARGIN_MS = 100;
const PURGE_INTERVAL_MS = 10 * 60_000;
/** Retry-After of a 503 when neither Redis nor Postgres can answer for a budget. */
const UNAVAILABLE_RETRY_AFTER_S = 2;
const WARN_EVERY_MS = 10_000;
const UNDECIDED: Speculation = Object.freeze({ kind: 'undecided' });
const NO_RENEWAL = (): void => undefined;

/** Per-ticket state settle() needs; kept off the public ticket. */
interface TicketState {
  readonly id: string;
  readonly tenantId: string;
  readonly month: UtcMonth;
  readonly worstUnits: number;
  readonly tokens: number;
  /** When the reservation expires unless renewed (local clock); keepAlive moves it on. */
  expiresAtMs: number;
  /** The reservation is in Redis's month hash. */
  redisHeld: boolean;
  /** The reservation is a row of budget_reservations. */
  pgHeld: boolean;
  /** Fallback tickets: the local token bucket to correct. */
  readonly localTokenBucket: number | null;
  settled: boolean;
  /** Set while keepAlive renews the reservation. */
  renewal: Renewal | null;
}

/** The renewal of one ticket's reservations (keepAlive). */
interface Renewal {
  readonly timer: NodeJS.Timeout;
  /** The renewal round trip in flight, if any (settlePostgres waits for it). */
  running: Promise<void> | null;
}

/** A speculative ticket whose lookup hit, waiting for its turn's release script. */
interface HitRelease {
  readonly tenant: TenantContext;
  readonly st: TicketState;
}

/**
 * Admission control: per-tenant request and token limits over a 60 s sliding window and
 * monthly budgets, exact across every instance, with alerts and a defined Redis-outage mode. See
 * docs/limits-and-budgets.md for the algorithms and their bounds.
 *
 * Shared mode: one Lua script per admission and one per settlement, on Redis's clock.
 * Fallback mode (Redis unavailable, or its circuit open): requests are limited per instance in
 * memory, budgets are checked against Postgres (recorded spend + reservations in
 * `budget_reservations`, under a per-tenant advisory lock); on the way back, reservations taken in
 * Postgres are re-asserted in Redis and the settlements Redis missed are replayed before shared
 * enforcement resumes.
 */
@Injectable()
export class AdmissionService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Admission');
  private readonly local = new LocalWindowLimiter(RATE_WINDOW_MS, 1_000, 20_000);
  private readonly replays = new SettleReplayQueue();
  private readonly inFlight = new Map<string, TicketState>();
  private readonly states = new WeakMap<AdmissionTicket, TicketState>();
  private readonly reservationTtlMs: number;
  private readonly failClosed: boolean;
  private readonly idPrefix = `${randomBytes(6).toString('base64url')}.`;
  private seq = 0;
  private shared = true;
  private fallbackSinceMs = 0;
  private mirroring: Promise<void> = Promise.resolve();
  private resuming = false;
  private resumeTimer: NodeJS.Timeout | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly lastWarn = new Map<string, number>();
  private readonly hitReleases = new TurnBatcher<HitRelease>((batch) => this.releaseHits(batch));

  constructor(
    config: GatewayConfigService,
    private readonly redis: RedisService,
    private readonly store: RedisAdmissionStore,
    private readonly pg: PostgresBudgetStore,
    private readonly alerts: BudgetAlertSender,
    private readonly metrics: GatewayMetrics,
  ) {
    this.reservationTtlMs = reservationLifetimeMs(config.config);
    this.failClosed = config.config.admission.budgetFailurePolicy === 'fail-closed';
  }

  onModuleInit(): void {
    this.unsubscribe = this.redis.breaker.onChange((available) => {
      if (available) void this.resume();
      else this.enterFallback('redis circuit opened');
    });
    if (!this.redis.isAvailable()) this.enterFallback('redis unavailable at start');
    this.metrics.redisUp.set(this.shared ? 1 : 0);
    this.purgeTimer = setInterval(() => {
      this.pg.purgeExpired().catch(() => undefined);
    }, PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    if (this.resumeTimer) clearInterval(this.resumeTimer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    if (this.replays.size > 0) {
      this.logger.warn(
        { pending: this.replays.size },
        'settlements not replayed to Redis at shutdown: Postgres has them; Redis counts them after its next rebuild',
      );
    }
  }

  /** True while limits and budgets are enforced through the shared Redis (for /health). */
  isRedisAvailable(): boolean {
    return this.shared && this.redis.isAvailable();
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
    const id = this.nextId();
    if (this.shared) {
      try {
        const ticket = await this.admitShared(tenant, demand, id, budgetUnits, false);
        if (ticket) return ticket;
      } catch (err) {
        if (!(err instanceof RedisUnavailableError)) throw err;
        this.enterFallback(err.message);
      }
    }
    return this.admitFallback(tenant, demand, id, budgetUnits);
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
    if (!this.shared) return UNDECIDED;
    const id = this.nextId();
    try {
      assertDemand(demand);
      const ticket = await this.admitShared(tenant, demand, id, budgetOf(tenant), true);
      return ticket ? { kind: 'admitted', ticket } : UNDECIDED;
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) return { kind: 'refused', error: err };
      this.enterFallback(err.message);
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
    const st = this.states.get(ticket);
    let released: Promise<void>;
    if (st && !st.settled && st.redisHeld && !st.pgHeld && st.localTokenBucket === null) {
      // Nothing to spend or claim: a lean script, one per tenant and month per event-loop turn.
      st.settled = true;
      this.inFlight.delete(st.id);
      void this.stopRenewal(st);
      released = this.hitReleases.add(`${st.tenantId} ${st.month.label}`, { tenant, st });
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
    const st = this.states.get(ticket);
    if (!st || st.settled) return NO_RENEWAL;
    if (st.tenantId !== tenant.tenantId) {
      this.warnEvery('renew-tenant', 'keepAlive() got a ticket of another tenant: not renewed');
      return NO_RENEWAL;
    }
    if (!st.renewal) {
      const timer = setInterval(() => this.renew(st), renewalPeriodMs(this.reservationTtlMs));
      timer.unref();
      st.renewal = { timer, running: null };
    }
    return () => void this.stopRenewal(st);
  }

  /** One renewal tick: skipped while the previous one is still out. */
  private renew(st: TicketState): void {
    const renewal = st.renewal;
    if (!renewal || renewal.running) return;
    if (st.settled) return void this.stopRenewal(st);
    st.expiresAtMs = Date.now() + this.reservationTtlMs;
    const warn = (err: unknown) =>
      this.warnEvery(
        'renew',
        'reservation not renewed; it may expire before its request ends',
        err,
      );
    renewal.running = Promise.all([
      st.redisHeld && this.redis.isAvailable()
        ? this.store.renew(st.tenantId, st.month, [st.id], this.reservationTtlMs).catch(warn)
        : undefined,
      st.pgHeld ? this.pg.renew(st.id, this.reservationTtlMs).catch(warn) : undefined,
    ]).then(() => {
      renewal.running = null;
    });
  }

  /** Stops renewing; resolves once a renewal still in flight is done. */
  private stopRenewal(st: TicketState): Promise<void> {
    const renewal = st.renewal;
    if (!renewal) return Promise.resolve();
    clearInterval(renewal.timer);
    st.renewal = null;
    return renewal.running ?? Promise.resolve();
  }

  /** A slot/reservation id unique across the fleet: a random per-process prefix and a counter. */
  private nextId(): string {
    return `${this.idPrefix}${(this.seq++).toString(36)}`;
  }

  private async releaseHits(batch: HitRelease[]): Promise<void> {
    const { st } = batch[0];
    try {
      if (!this.shared) throw new RedisUnavailableError('shared admission is in fallback', false);
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
      this.enterFallback(err.message);
      // Replayed like any settlement Redis could not take, once it is back.
      const notAfterMs = this.store.redisNowMs() - REPLAY_CLOCK_MARGIN_MS;
      const mode = err.maybeExecuted ? 'ambiguous' : 'unsent';
      for (const r of batch) this.queueReplay(r.st, mode, 0, 0, notAfterMs, alertProfile(r.tenant));
    }
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
    const st = this.states.get(ticket);
    if (!st) {
      // Tickets are per process: settling elsewhere would leave the reservation to expire.
      this.warnEvery('foreign-ticket', 'settle() got a ticket this instance did not issue');
      return;
    }
    if (st.settled) return;
    st.settled = true;
    this.inFlight.delete(st.id);
    const renewing = this.stopRenewal(st);
    const tokens = actual ? actual.promptTokens + actual.completionTokens : 0;
    const cost = actual ? actual.costUnits : 0;
    if (st.localTokenBucket !== null) {
      this.local.adjust(tokenKey(tenant), st.localTokenBucket, tokens - st.tokens, Date.now());
    }
    try {
      await Promise.all([
        st.pgHeld ? renewing.then(() => this.settlePostgres(st, cost)) : undefined,
        this.settleRedis(tenant, st, tokens, cost),
      ]);
    } catch (err) {
      this.logger.error({ err, tenant: tenant.tenantId }, 'settlement failed');
    }
  }

  /** Rate-limit headers for a tenant route that takes no slot (read-only). */
  async peek(tenant: TenantContext): Promise<Record<string, string>> {
    if (this.shared) {
      try {
        const r = await this.store.peek(
          tenant.tenantId,
          RATE_WINDOW_MS,
          tenant.tokensPerMinute !== null,
        );
        return rateLimitHeaders(
          {
            limit: tenant.rateLimit,
            remaining: tenant.rateLimit - r.count,
            resetMs: r.oldestUs < 0 ? 0 : untilLeaves(r.oldestUs, r.nowUs),
          },
          tenant.tokensPerMinute === null
            ? null
            : {
                limit: tenant.tokensPerMinute,
                remaining: tenant.tokensPerMinute - r.tokensUsed,
                resetMs: r.tokenOldestUs < 0 ? 0 : untilLeaves(r.tokenOldestUs, r.nowUs),
              },
        );
      } catch (err) {
        if (!(err instanceof RedisUnavailableError)) throw err;
        this.enterFallback(err.message);
      }
    }
    const now = Date.now();
    const req = this.local.peek(requestKey(tenant), now);
    const tok = this.local.peek(tokenKey(tenant), now);
    return rateLimitHeaders(
      { limit: tenant.rateLimit, remaining: tenant.rateLimit - req.used, resetMs: req.resetMs },
      tenant.tokensPerMinute === null
        ? null
        : {
            limit: tenant.tokensPerMinute,
            remaining: tenant.tokensPerMinute - tok.used,
            resetMs: tok.resetMs,
          },
    );
  }

  /** This UTC month's spend and live reservations; null when neither store can answer. */
  async monthSpend(tenantId: string): Promise<MonthSpend | null> {
    const month = utcMonthOf(this.store.redisNowMs());
    if (this.shared) {
      try {
        const r = await this.store.spend(tenantId, month);
        if (r) return { month: month.label, ...r };
      } catch (err) {
        if (!(err instanceof RedisUnavailableError)) throw err;
      }
    }
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

  // ---------------------------------------------------------------- shared (Redis) mode

  private async admitShared(
    tenant: TenantContext,
    demand: AdmissionDemand | null,
    id: string,
    budgetUnits: number | null,
    /** See `speculate`: null where a hit would pass but this miss does not. */
    speculative: boolean,
  ): Promise<AdmissionTicket | null> {
    const thresholds = resolveThresholds(tenant.alertThresholds, budgetUnits);
    const tokenDemand = demand ? demand.promptTokensUpperBound + demand.maxCompletionTokens : 0;
    const worst = demand?.worstCaseCostUnits ?? 0;
    let month = utcMonthOf(this.store.redisNowMs());
    let initSpendUnits: number | null = null;
    let trackBudget = demand !== null;
    // At most: one month correction and one rebuild from Postgres.
    for (let attempt = 0; attempt < 4; attempt++) {
      const r = await this.store.admit({
        tenantId: tenant.tenantId,
        id,
        windowMs: RATE_WINDOW_MS,
        limit: tenant.rateLimit,
        tokensPerWindow: tenant.tokensPerMinute,
        miss: demand !== null,
        speculative,
        tokenDemand,
        worstUnits: worst,
        budgetUnits,
        month,
        reservationTtlMs: this.reservationTtlMs,
        initSpendUnits,
        trackBudget,
        refusalClaim: refusalThreshold(thresholds),
        thresholds,
      });
      switch (r.kind) {
        case 'OK': {
          const tokens: LimitState | null =
            tenant.tokensPerMinute === null
              ? null
              : {
                  limit: tenant.tokensPerMinute,
                  remaining: tenant.tokensPerMinute - r.tokensUsed,
                  resetMs: r.tokenOldestUs < 0 ? 0 : untilLeaves(r.tokenOldestUs, r.nowUs),
                };
          const requests: LimitState = {
            limit: tenant.rateLimit,
            remaining: tenant.rateLimit - r.count,
            resetMs: untilLeaves(r.oldestUs, r.nowUs),
          };
          return this.issue(tenant, {
            id: demand ? id : null,
            mode: 'redis',
            month,
            headers: rateLimitHeaders(requests, tokens),
            remaining: requests.remaining,
            worstUnits: trackBudget ? worst : 0,
            tokens: tenant.tokensPerMinute === null ? 0 : tokenDemand,
            redisHeld: trackBudget,
            pgHeld: false,
            localTokenBucket: null,
          });
        }
        case 'RATE':
          throw this.rateLimited(
            tenant,
            'requests',
            r.waitUs / 1000,
            {
              limit: tenant.rateLimit,
              remaining: 0,
              resetMs: r.waitUs / 1000,
            },
            null,
          );
        case 'TOKENS':
          if (speculative) return null;
          throw this.rateLimited(
            tenant,
            'tokens',
            r.waitUs / 1000,
            {
              limit: tenant.rateLimit,
              remaining: tenant.rateLimit - r.count,
              resetMs: r.oldestUs < 0 ? 0 : untilLeaves(r.oldestUs, r.nowUs),
            },
            {
              limit: tenant.tokensPerMinute ?? 0,
              remaining: (tenant.tokensPerMinute ?? 0) - r.tokensUsed,
              resetMs: r.waitUs / 1000,
            },
            tokenDemand,
          );
        case 'BUDGET':
          if (r.claimed) this.fire(tenant, r.claimed, r.spendUnits, budgetUnits, month);
          throw this.budgetExceeded(
            tenant,
            worst,
            r.spendUnits + r.reservedUnits,
            budgetUnits ?? 0,
            rateLimitHeaders(
              {
                limit: tenant.rateLimit,
                remaining: tenant.rateLimit - r.count,
                resetMs: untilLeaves(r.oldestUs, r.nowUs),
              },
              null,
            ),
          );
        case 'MONTH':
          month = utcMonthOf(r.nowUs / 1000);
          initSpendUnits = null;
          continue;
        case 'REBUILD':
          try {
            initSpendUnits = await this.pg.monthSpend(tenant.tenantId, month);
          } catch (err) {
            if (!(err instanceof PostgresUnavailableError)) throw err;
            // Redis has no spend for this month and Postgres cannot say what it is.
            if (budgetUnits !== null && this.failClosed) {
              if (speculative) return null;
              throw this.budgetUnavailable({});
            }
            this.warnEvery(
              'untracked',
              'month spend not rebuilt (Postgres unavailable): admitting without budget tracking',
            );
            trackBudget = false;
          }
          continue;
        case 'UNDECIDED':
          return null;
        case 'STALE':
          throw new RedisUnavailableError('admission reached Redis after its deadline', false);
      }
    }
    throw new RedisUnavailableError('admission did not converge', false);
  }

  private async settleRedis(
    tenant: TenantContext,
    st: TicketState,
    tokens: number,
    cost: number,
  ): Promise<void> {
    // A fallback reservation never seen by Redis that cost nothing leaves nothing to tell it.
    if (!st.redisHeld && cost === 0) return;
    const alert = alertProfile(tenant);
    const notAfterMs = this.store.redisNowMs() - REPLAY_CLOCK_MARGIN_MS;
    if (!this.shared) return this.queueReplay(st, 'unsent', tokens, cost, notAfterMs, alert);
    const mode: SettleMode = st.redisHeld ? 'live' : 'unsent';
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const month = utcMonthOf(this.store.redisNowMs());
        const thresholds = resolveThresholds(alert.fractions, alert.budgetUnits);
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
        if (r.kind === 'OK') this.fireAll(st.tenantId, r.claimed, r.spendUnits, alert, month);
        return;
      }
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) throw err;
      this.enterFallback(err.message);
      this.queueReplay(
        st,
        err.maybeExecuted ? 'ambiguous' : 'unsent',
        tokens,
        cost,
        notAfterMs,
        alert,
      );
    }
  }

  private queueReplay(
    st: TicketState,
    mode: 'unsent' | 'ambiguous',
    tokens: number,
    cost: number,
    notAfterMs: number,
    alert: AlertProfile,
  ): void {
    const month = utcMonthOf(this.store.redisNowMs());
    const ok = st.redisHeld
      ? this.replays.addTicket({
          tenantId: st.tenantId,
          id: st.id,
          mode,
          reservationMonth: st.month,
          month,
          tokens,
          costUnits: cost,
          notAfterMs,
          claim: '',
          alert,
        })
      : this.replays.addCost(st.tenantId, month, cost, notAfterMs, '', alert);
    if (!ok) {
      this.logger.error(
        { tenant: st.tenantId, costUnits: cost },
        'settlement replay queue full: Redis will count this cost only after its next rebuild',
      );
    }
  }

  // ---------------------------------------------------------------- fallback mode

  private async admitFallback(
    tenant: TenantContext,
    demand: AdmissionDemand | null,
    id: string,
    budgetUnits: number | null,
  ): Promise<AdmissionTicket> {
    const now = Date.now();
    const tpm = tenant.tokensPerMinute;
    const tokenDemand = demand ? demand.promptTokensUpperBound + demand.maxCompletionTokens : 0;
    const req = this.local.tryTake(requestKey(tenant), tenant.rateLimit, 1, now);
    if (!req.ok) {
      throw this.rateLimited(
        tenant,
        'requests',
        req.waitMs,
        {
          limit: tenant.rateLimit,
          remaining: 0,
          resetMs: req.waitMs,
        },
        null,
      );
    }
    const requests: LimitState = {
      limit: tenant.rateLimit,
      remaining: tenant.rateLimit - req.used,
      resetMs: req.resetMs,
    };
    let tokens: LimitState | null = null;
    let tokenBucket: number | null = null;
    if (tpm !== null) {
      const tok = this.local.tryTake(tokenKey(tenant), tpm, demand ? tokenDemand : 0, now);
      if (!tok.ok) {
        this.local.adjust(requestKey(tenant), req.bucket, -1, now);
        throw this.rateLimited(
          tenant,
          'tokens',
          tok.waitMs,
          { ...requests, remaining: requests.remaining + 1 },
          { limit: tpm, remaining: tpm - tok.used, resetMs: tok.waitMs },
          tokenDemand,
        );
      }
      tokens = { limit: tpm, remaining: tpm - tok.used, resetMs: tok.resetMs };
      if (demand) tokenBucket = tok.bucket;
    }
    const headers = rateLimitHeaders(requests, tokens);
    const month = utcMonthOf(now);
    const releaseTokens = () => {
      if (tokenBucket !== null)
        this.local.adjust(tokenKey(tenant), tokenBucket, -tokenDemand, Date.now());
    };

    let pgHeld = false;
    const worst = demand?.worstCaseCostUnits ?? 0;
    if (demand && budgetUnits !== null) {
      // Reservations held in Redis when it went away must be in Postgres before we count there.
      await this.mirroring;
      try {
        const r = await this.pg.reserve(
          tenant.tenantId,
          id,
          month,
          worst,
          budgetUnits,
          this.reservationTtlMs,
        );
        if (!r.ok) {
          releaseTokens();
          const claim = refusalThreshold(resolveThresholds(tenant.alertThresholds, budgetUnits));
          if (claim) {
            this.replays.addCost(
              tenant.tenantId,
              month,
              0,
              this.store.redisNowMs(),
              claim,
              alertProfile(tenant),
            );
          }
          throw this.budgetExceeded(
            tenant,
            worst,
            r.spendUnits + r.heldUnits,
            budgetUnits,
            headers,
          );
        }
        pgHeld = true;
      } catch (err) {
        if (!(err instanceof PostgresUnavailableError)) throw err;
        if (this.failClosed) {
          releaseTokens();
          throw this.budgetUnavailable(headers);
        }
        this.warnEvery(
          'fail-open',
          'budget not enforced: Redis and Postgres unavailable (BUDGET_FAILURE_POLICY=fail-open)',
        );
      }
    }
    return this.issue(tenant, {
      id: demand ? id : null,
      mode: 'fallback',
      month,
      headers,
      remaining: requests.remaining,
      worstUnits: pgHeld ? worst : 0,
      tokens: tokenBucket === null ? 0 : tokenDemand,
      redisHeld: false,
      pgHeld,
      localTokenBucket: tokenBucket,
    });
  }

  /**
   * Runs after any renewal still in flight (settle chains it): a renewal landing after the
   * settlement would keep the settled row's cost counted for a whole lifetime instead of its grace
   * period. (In Redis no wait is needed: a renewal after the settlement finds nothing to renew.)
   */
  private async settlePostgres(st: TicketState, cost: number): Promise<void> {
    try {
      await this.pg.settle(st.id, cost);
    } catch (err) {
      // The row keeps counting its worst case until it expires: safe, just conservative.
      this.warnEvery(
        'pg-settle',
        'fallback reservation not settled in Postgres; it will expire',
        err,
      );
    }
  }

  /** Leaves shared mode: later admissions use the local window and Postgres until resume(). */
  private enterFallback(reason: string): void {
    if (!this.shared) return;
    this.shared = false;
    this.fallbackSinceMs = Date.now();
    this.metrics.redisUp.set(0);
    this.logger.warn(
      { reason },
      'admission in fallback: per-instance request limits, Postgres budgets',
    );
    this.mirroring = this.mirrorInFlight();
    if (!this.resumeTimer) {
      this.resumeTimer = setInterval(() => void this.resume(), RESUME_INTERVAL_MS);
      this.resumeTimer.unref();
    }
  }

  /** Copies the Redis reservations of requests still running here into Postgres. */
  private async mirrorInFlight(): Promise<void> {
    const held = [...this.inFlight.values()].filter(
      (s) => s.redisHeld && !s.pgHeld && s.worstUnits > 0,
    );
    if (held.length === 0) return;
    try {
      await this.pg.mirror(
        held.map((s) => ({
          id: s.id,
          tenantId: s.tenantId,
          units: s.worstUnits,
          expiresAtMs: s.expiresAtMs,
        })),
      );
      for (const s of held) s.pgHeld = !s.settled;
    } catch (err) {
      this.logger.error(
        { err, reservations: held.length },
        'could not copy in-flight reservations to Postgres',
      );
    }
  }

  /**
   * Back to shared mode once Redis answers: first make this instance's fallback reservations
   * visible to Redis and replay the settlements it missed, so the shared counters are whole
   * before anything is admitted against them again.
   */
  private async resume(): Promise<void> {
    if (this.shared || this.resuming || !this.redis.isAvailable()) return;
    this.resuming = true;
    try {
      for (const st of [...this.inFlight.values()]) {
        if (st.redisHeld || !st.pgHeld || st.worstUnits === 0) continue;
        const r = await this.store.reassert(
          st.tenantId,
          st.month,
          st.id,
          st.worstUnits,
          st.expiresAtMs,
        );
        if (r === 'STALE')
          throw new RedisUnavailableError('reassert reached Redis after its deadline', false);
        if (r !== 'OK') continue;
        st.redisHeld = true;
        // Settled while we were re-asserting: its cost is queued on its own; release the copy.
        if (st.settled) this.queueRelease(st);
      }
      await this.drainReplays();
      this.shared = true;
      if (this.resumeTimer) clearInterval(this.resumeTimer);
      this.resumeTimer = null;
      this.metrics.redisUp.set(1);
      this.logger.log(
        { fallbackMs: Date.now() - this.fallbackSinceMs },
        'admission back in shared mode: Redis enforces limits and budgets again',
      );
      // Settlements queued while this ran.
      void this.drainReplays().catch(() => undefined);
    } catch (err) {
      if (!(err instanceof RedisUnavailableError))
        this.logger.error({ err }, 'resuming shared admission failed');
    } finally {
      this.resuming = false;
    }
  }

  private queueRelease(st: TicketState): void {
    this.replays.addTicket({
      tenantId: st.tenantId,
      id: st.id,
      mode: 'ambiguous',
      reservationMonth: st.month,
      month: st.month,
      tokens: null,
      costUnits: 0,
      notAfterMs: 0,
      claim: '',
      alert: { fractions: [], budgetUnits: null, url: null, secret: null },
    });
  }

  private async drainReplays(): Promise<void> {
    for (const e of this.replays.takeSnapshot()) {
      const r = await this.store.settle({
        tenantId: e.tenantId,
        id: e.id,
        mode: e.mode,
        reservationMonth: e.reservationMonth,
        month: e.month,
        tokens: e.tokens,
        costUnits: e.costUnits,
        notAfterMs: e.notAfterMs,
        claim: e.claim,
        thresholds: resolveThresholds(e.alert.fractions, e.alert.budgetUnits),
        liveMonthCheck: false,
      });
      if (r.kind === 'STALE')
        throw new RedisUnavailableError('replay reached Redis after its deadline', false);
      if (r.kind === 'OK') this.fireAll(e.tenantId, r.claimed, r.spendUnits, e.alert, e.month);
      this.replays.remove(e.key);
    }
  }

  // ---------------------------------------------------------------- helpers

  private issue(
    tenant: TenantContext,
    t: {
      id: string | null;
      mode: 'redis' | 'fallback';
      month: UtcMonth;
      headers: Record<string, string>;
      remaining: number;
      worstUnits: number;
      tokens: number;
      redisHeld: boolean;
      pgHeld: boolean;
      localTokenBucket: number | null;
    },
  ): AdmissionTicket {
    const ticket: AdmissionTicket = Object.freeze({
      headers: Object.freeze(t.headers),
      rateLimitRemaining: Math.max(0, t.remaining),
      reservationId: t.id,
      mode: t.mode,
      month: t.month.label,
      reservedUnits: t.worstUnits,
      reservedTokens: t.tokens,
    });
    if (t.id === null) return ticket;
    const st: TicketState = {
      id: t.id,
      tenantId: tenant.tenantId,
      month: t.month,
      worstUnits: t.worstUnits,
      tokens: t.tokens,
      expiresAtMs: Date.now() + this.reservationTtlMs,
      redisHeld: t.redisHeld,
      pgHeld: t.pgHeld,
      localTokenBucket: t.localTokenBucket,
      settled: false,
      renewal: null,
    };
    this.states.set(ticket, st);
    if (this.inFlight.size < MAX_TRACKED_IN_FLIGHT) this.inFlight.set(st.id, st);
    else
      this.warnEvery(
        'in-flight',
        'too many requests in flight to track for the Redis/Postgres hand-over',
      );
    return ticket;
  }

  private rateLimited(
    tenant: TenantContext,
    limit: 'requests' | 'tokens',
    waitMs: number,
    requests: LimitState,
    tokens: LimitState | null,
    tokenDemand = 0,
  ): GatewayError {
    this.metrics.rateLimited.inc({ tenant: tenant.tenantId, limit });
    const wait = retryAfterHeaders(waitMs);
    const headers = { ...rateLimitHeaders(requests, tokens), ...wait };
    if (limit === 'requests') {
      return new GatewayError(
        'rate_limit_exceeded',
        `Rate limit of ${tenant.rateLimit} requests per minute reached. Retry after ${wait['Retry-After']} s.`,
        { headers },
      );
    }
    const tpm = tenant.tokensPerMinute ?? 0;
    const message =
      tokenDemand > tpm
        ? `This request may use up to ${tokenDemand} tokens, more than the limit of ${tpm} tokens per minute; lower max_tokens or shorten the prompt.`
        : `Token rate limit of ${tpm} tokens per minute reached (this request may use up to ${tokenDemand}). Retry after ${wait['Retry-After']} s.`;
    return new GatewayError('tokens_rate_limit_exceeded', message, { headers });
  }

  private budgetExceeded(
    tenant: TenantContext,
    worstUnits: number,
    committedUnits: number,
    budgetUnits: number,
    headers: Record<string, string>,
  ): GatewayError {
    this.metrics.budgetRejected.inc({ tenant: tenant.tenantId });
    return new GatewayError(
      'budget_exceeded',
      `Monthly budget of $${unitsToDecimalString(budgetUnits)} cannot cover this request: up to ` +
        `$${unitsToDecimalString(worstUnits)}, with $${unitsToDecimalString(committedUnits)} spent or reserved this month.`,
      { headers: { ...headers, 'x-should-retry': 'false' } },
    );
  }

  private budgetUnavailable(headers: Record<string, string>): GatewayError {
    return new GatewayError(
      'dependency_unavailable',
      'The budget cannot be checked right now (Redis and Postgres unavailable). Retry shortly.',
      { headers: { ...headers, 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) } },
    );
  }

  private fire(
    tenant: TenantContext,
    threshold: string,
    spendUnits: number,
    budgetUnits: number | null,
    month: UtcMonth,
  ): void {
    this.alerts.send({
      tenantId: tenant.tenantId,
      threshold,
      spendUnits,
      budgetUnits: budgetUnits ?? 0,
      month: month.label,
      url: tenant.alertWebhookUrl,
      secret: tenant.alertWebhookSecret,
    });
  }

  private fireAll(
    tenantId: string,
    claimed: readonly string[],
    spendUnits: number,
    alert: AlertProfile,
    month: UtcMonth,
  ): void {
    for (const threshold of claimed) {
      const a: BudgetAlert = {
        tenantId,
        threshold,
        spendUnits,
        budgetUnits: alert.budgetUnits ?? 0,
        month: month.label,
        url: alert.url,
        secret: alert.secret,
      };
      this.alerts.send(a);
    }
  }

  private warnEvery(key: string, message: string, err?: unknown): void {
    const now = Date.now();
    if (now - (this.lastWarn.get(key) ?? 0) < WARN_EVERY_MS) return;
    this.lastWarn.set(key, now);
    this.logger.warn(err ? { err } : {}, message);
  }
}

function budgetOf(tenant: TenantContext): number | null {
  return tenant.monthlyBudget === null ? null : usdToUnits(tenant.monthlyBudget);
}

function alertProfile(tenant: TenantContext): AlertProfile {
  return {
    fractions: tenant.alertThresholds,
    budgetUnits: budgetOf(tenant),
    url: tenant.alertWebhookUrl,
    secret: tenant.alertWebhookSecret,
  };
}

function requestKey(tenant: TenantContext): string {
  return `${tenant.tenantId}|r`;
}

function tokenKey(tenant: TenantContext): string {
  return `${tenant.tenantId}|t`;
}

/** Milliseconds until an entry admitted at `atUs` leaves the window, from Redis time `nowUs`. */
function untilLeaves(atUs: number, nowUs: number): number {
  return Math.max(0, (atUs + RATE_WINDOW_MS * 1000 - nowUs) / 1000);
}

function assertDemand(d: AdmissionDemand): void {
  for (const [name, v] of Object.entries(d)) {
    if (!Number.isSafeInteger(v) || (v as number) < 0) {
      throw new RangeError(`AdmissionDemand.${name} must be a whole number ≥ 0`);
    }
  }
}

/** How often keepAlive renews: a renewal may fail or be late twice before the reservation expires. */
function renewalPeriodMs(lifetimeMs: number): number {
  return Math.max(1, Math.floor(lifetimeMs / 3));
}

/**
 * How long a reservation may stay unsettled before it is presumed orphaned (its instance died):
 * the longest a request can legitimately take — waiting for a coalescing leader, then every route
 * of the slowest model with all its retries — plus a margin.
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
