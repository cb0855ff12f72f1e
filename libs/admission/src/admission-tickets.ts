import { randomBytes } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { TenantContext } from '@gateway/context';
import { AdmissionSettings } from './admission.settings';
import type { AdmissionTicket } from './admission.types';
import type { UtcMonth } from './utc-month';
import { WarnEvery } from './warn-every';

/** Requests in flight tracked for the Redis ↔ Postgres hand-overs; more are not tracked. */
const MAX_TRACKED_IN_FLIGHT = 100_000;

/** Per-ticket state that settling, renewing and the mode hand-overs need; kept off the ticket. */
export interface TicketState {
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
}

/** What an admission decided, for `issue`. */
export interface Issued {
  /** null for a cache hit: nothing to settle. */
  readonly id: string | null;
  readonly mode: 'redis' | 'fallback';
  readonly month: UtcMonth;
  readonly headers: Record<string, string>;
  readonly remaining: number;
  readonly worstUnits: number;
  readonly tokens: number;
  readonly redisHeld: boolean;
  readonly pgHeld: boolean;
  readonly localTokenBucket: number | null;
}

/**
 * The tickets this instance issued: fleet-unique ids, the state behind each ticket (looked up by
 * the ticket itself, so a ticket cannot be forged or settled elsewhere), and the requests still in
 * flight, which the hand-overs between Redis and Postgres carry across (bounded).
 */
@Injectable()
export class AdmissionTickets {
  private readonly warnings = new WarnEvery(new Logger('Admission'));
  private readonly states = new WeakMap<AdmissionTicket, TicketState>();
  private readonly live = new Map<string, TicketState>();
  private readonly idPrefix = `${randomBytes(6).toString('base64url')}.`;
  private seq = 0;

  constructor(private readonly settings: AdmissionSettings) {}

  /** A slot/reservation id unique across the fleet: a random per-process prefix and a counter. */
  nextId(): string {
    return `${this.idPrefix}${(this.seq++).toString(36)}`;
  }

  issue(tenant: TenantContext, t: Issued): AdmissionTicket {
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
      expiresAtMs: Date.now() + this.settings.reservationTtlMs,
      redisHeld: t.redisHeld,
      pgHeld: t.pgHeld,
      localTokenBucket: t.localTokenBucket,
      settled: false,
    };
    this.states.set(ticket, st);
    if (this.live.size < MAX_TRACKED_IN_FLIGHT) this.live.set(st.id, st);
    else
      this.warnings.warn(
        'in-flight',
        'too many requests in flight to track for the Redis/Postgres hand-over',
      );
    return ticket;
  }

  /** The state of a ticket this instance issued; undefined for a hit's or another's ticket. */
  stateOf(ticket: AdmissionTicket): TicketState | undefined {
    return this.states.get(ticket);
  }

  /** Marks the ticket settled; false when it already was (a ticket settles once). */
  close(st: TicketState): boolean {
    if (st.settled) return false;
    st.settled = true;
    this.live.delete(st.id);
    return true;
  }

  /** The tickets not settled yet (a copy: hand-overs await between them). */
  inFlight(): TicketState[] {
    return [...this.live.values()];
  }
}
