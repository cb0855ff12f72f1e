import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { GatewayMetrics } from '@gateway/observability';
import { RedisService, RedisUnavailableError } from '@gateway/redis';
import { resolveThresholds } from './alert-thresholds';
import { type AdmissionMode, AdmissionModeMachine } from './admission-mode.machine';
import { AdmissionTickets, type TicketState } from './admission-tickets';
import { BudgetAlertDispatcher } from './budget-alert.dispatcher';
import { PostgresBudgetStore } from './postgres-budget.store';
import { RedisAdmissionStore } from './redis-admission.store';
import { type AlertProfile, SettleReplayQueue } from './settle-replay.queue';
import { type UtcMonth, utcMonthOf } from './utc-month';

/** While in fallback, how often to try to resume shared enforcement (well within 5 s). */
const RESUME_INTERVAL_MS = 500;
/**
 * A cost replayed after an outage counts only in a month hash built at least this long before the
 * settlement (Redis clock, as estimated here): covers the offset estimate's error, so a hash
 * rebuilt from a Postgres snapshot that may hold the request's audit record is never credited twice.
 */
const REPLAY_CLOCK_MARGIN_MS = 100;
const NO_ALERT: AlertProfile = Object.freeze({
  fractions: [],
  budgetUnits: null,
  url: null,
  secret: null,
});

/**
 * Carries admission across the Redis ↔ Postgres hand-overs, driving AdmissionModeMachine:
 * - leaving shared mode, it copies the Redis reservations of requests still running here into
 *   Postgres (fallback budgets wait for that copy, `mirrored()`), and starts trying to resume;
 * - settlements Redis could not take meanwhile are queued (`queueReplay`);
 * - resuming, it re-asserts this instance's Postgres reservations in Redis and replays the queue,
 *   so the shared counters are whole before anything is admitted against them again.
 */
@Injectable()
export class AdmissionModeHandover implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Admission');
  private readonly machine = new AdmissionModeMachine();
  private readonly replays = new SettleReplayQueue();
  private fallbackSinceMs = 0;
  private mirroring: Promise<void> = Promise.resolve();
  private resumeTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly redis: RedisService,
    private readonly store: RedisAdmissionStore,
    private readonly pg: PostgresBudgetStore,
    private readonly tickets: AdmissionTickets,
    private readonly alerts: BudgetAlertDispatcher,
    private readonly metrics: GatewayMetrics,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.redis.breaker.onChange((available) => {
      if (available) void this.resume();
      else this.enterFallback('redis circuit opened');
    });
    if (!this.redis.isAvailable()) this.enterFallback('redis unavailable at start');
    this.metrics.redisUp.set(this.machine.shared ? 1 : 0);
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    if (this.resumeTimer) clearInterval(this.resumeTimer);
    this.resumeTimer = null;
    if (this.replays.size > 0) {
      this.logger.warn(
        { pending: this.replays.size },
        'settlements not replayed to Redis at shutdown: Postgres has them; Redis counts them after its next rebuild',
      );
    }
  }

  get mode(): AdmissionMode {
    return this.machine.mode;
  }

  /** True while admissions go to Redis. */
  get shared(): boolean {
    return this.machine.shared;
  }

  /** Leaves shared mode: later admissions use the local window and Postgres until resume(). */
  enterFallback(reason: string): void {
    if (!this.machine.leaveShared()) return;
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

  /** Resolves once the reservations held in Redis when it went away are in Postgres (or failed). */
  mirrored(): Promise<void> {
    return this.mirroring;
  }

  /**
   * Back to shared mode once Redis answers: first make this instance's fallback reservations
   * visible to Redis and replay the settlements it missed. Called by the breaker and a timer.
   */
  async resume(): Promise<void> {
    if (!this.machine.beginResume(this.redis.isAvailable())) return;
    try {
      await this.reassertFallbackReservations();
      await this.drainReplays();
    } catch (err) {
      this.machine.abandonResume();
      if (!(err instanceof RedisUnavailableError))
        this.logger.error({ err }, 'resuming shared admission failed');
      return;
    }
    this.machine.finishResume();
    if (this.resumeTimer) clearInterval(this.resumeTimer);
    this.resumeTimer = null;
    this.metrics.redisUp.set(1);
    this.logger.log(
      { fallbackMs: Date.now() - this.fallbackSinceMs },
      'admission back in shared mode: Redis enforces limits and budgets again',
    );
    // Settlements queued while this ran.
    void this.drainReplays().catch(() => undefined);
  }

  /** Redis time (ms) an 'unsent' replay of a settlement made now must not count after. */
  replayNotAfterMs(): number {
    return this.store.redisNowMs() - REPLAY_CLOCK_MARGIN_MS;
  }

  /** A settlement Redis did not take (unsent) or may not have taken (ambiguous), for later. */
  queueReplay(
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

  /** A refusal for budget seen in fallback claims its threshold in Redis once it is back. */
  queueRefusalClaim(tenantId: string, month: UtcMonth, claim: string, alert: AlertProfile): void {
    this.replays.addCost(tenantId, month, 0, this.store.redisNowMs(), claim, alert);
  }

  get pendingReplays(): number {
    return this.replays.size;
  }

  /** Copies the Redis reservations of requests still running here into Postgres. */
  private async mirrorInFlight(): Promise<void> {
    const held = this.tickets
      .inFlight()
      .filter((s) => s.redisHeld && !s.pgHeld && s.worstUnits > 0);
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

  /** Makes the reservations taken in Postgres during the outage visible to Redis again. */
  private async reassertFallbackReservations(): Promise<void> {
    for (const st of this.tickets.inFlight()) {
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
      alert: NO_ALERT,
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
      if (r.kind === 'OK') this.alerts.fire(e.tenantId, r.claimed, r.spendUnits, e.alert, e.month);
      this.replays.remove(e.key);
    }
  }
}
