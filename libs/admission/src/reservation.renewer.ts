import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { RedisService } from '@gateway/redis';
import { AdmissionSettings } from './admission.settings';
import type { TicketState } from './admission-tickets';
import { PostgresBudgetStore } from './postgres-budget.store';
import { RedisAdmissionStore } from './redis-admission.store';
import { WarnEvery } from './warn-every';

/** The renewal of one ticket's reservations. */
interface Renewal {
  readonly timer: NodeJS.Timeout;
  /** The renewal round trip in flight, if any (settling in Postgres waits for it). */
  running: Promise<void> | null;
}

const NOTHING = Promise.resolve();

/**
 * Keeps the reservations of requests that outlive the reservation lifetime (streams) from
 * expiring: one unref'd timer per kept-alive ticket, every `renewalPeriodMs` (a third of the
 * lifetime), pushing the expiry to now + lifetime — one Redis round trip for a reservation held in
 * Redis, one Postgres statement for one held in Postgres. Bounded: a timer per live stream, at
 * most one renewal in flight per ticket, nothing per chunk. Never throws.
 */
@Injectable()
export class ReservationRenewer implements OnModuleDestroy {
  private readonly warnings = new WarnEvery(new Logger('Admission'));
  /** One entry per ticket kept alive, removed when it stops or settles. */
  private readonly renewals = new Map<TicketState, Renewal>();

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly redis: RedisService,
    private readonly store: RedisAdmissionStore,
    private readonly pg: PostgresBudgetStore,
  ) {}

  /**
   * Starts renewing (once per ticket); the returned function stops. No-op for a settled ticket,
   * and for one holding no reservation (untracked or fail-open): a hand-over only ever moves a
   * held reservation between the stores, so such a ticket never comes to hold one.
   */
  keepAlive(st: TicketState): () => void {
    if (st.settled || (!st.redisHeld && !st.pgHeld)) return () => undefined;
    if (!this.renewals.has(st)) {
      const timer = setInterval(() => this.renew(st), this.settings.renewalPeriodMs);
      timer.unref();
      this.renewals.set(st, { timer, running: null });
    }
    return () => void this.stop(st);
  }

  /** Stops renewing `st`; resolves once a renewal still in flight is done. */
  stop(st: TicketState): Promise<void> {
    const renewal = this.renewals.get(st);
    if (!renewal) return NOTHING;
    clearInterval(renewal.timer);
    this.renewals.delete(st);
    return renewal.running ?? NOTHING;
  }

  /** Tickets being renewed (for tests and shutdown). */
  get size(): number {
    return this.renewals.size;
  }

  onModuleDestroy(): void {
    for (const r of this.renewals.values()) clearInterval(r.timer);
    this.renewals.clear();
  }

  /** One tick: skipped while the previous one is still out; ends itself once settled. */
  private renew(st: TicketState): void {
    const renewal = this.renewals.get(st);
    if (!renewal || renewal.running) return;
    if (st.settled) return void this.stop(st);
    const ttlMs = this.settings.reservationTtlMs;
    st.expiresAtMs = Date.now() + ttlMs;
    const warn = (err: unknown) =>
      this.warnings.warn(
        'renew',
        'reservation not renewed; it may expire before its request ends',
        err,
      );
    renewal.running = Promise.all([
      st.redisHeld && this.redis.isAvailable()
        ? this.store.renew(st.tenantId, st.month, [st.id], ttlMs).catch(warn)
        : undefined,
      st.pgHeld ? this.pg.renew(st.id, ttlMs).catch(warn) : undefined,
    ]).then(() => {
      renewal.running = null;
    });
  }
}
