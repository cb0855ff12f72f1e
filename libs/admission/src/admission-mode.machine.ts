import { IllegalModeTransitionError } from './illegal-mode-transition.error';

/**
 * - `shared`: Redis enforces limits and budgets for the fleet.
 * - `fallback`: Redis is away; this instance limits requests in memory, budgets in Postgres.
 * - `resuming`: Redis answers again; this instance is handing its fallback state back to Redis
 *   and still admits as in fallback until that is done.
 */
export type AdmissionMode = 'shared' | 'fallback' | 'resuming';

/**
 * Which mode admission runs in, and the only ways it may change:
 *
 *     shared ──leaveShared──▶ fallback ──beginResume──▶ resuming ──finishResume──▶ shared
 *                                ▲                          │
 *                                └──────abandonResume───────┘
 *
 * Requests race with the breaker and with the resume loop, so the two "may happen anytime" events
 * are answered, not thrown: `leaveShared` outside `shared` (already away) and `beginResume`
 * outside `fallback` or without Redis (nothing to do, or one resume at a time) return false and
 * change nothing. Finishing or abandoning a resume that never began is a bug and throws.
 * Pure: the hand-over (AdmissionModeHandover) does the work each transition calls for.
 */
export class AdmissionModeMachine {
  private current: AdmissionMode = 'shared';

  get mode(): AdmissionMode {
    return this.current;
  }

  /** Admissions go to Redis only in `shared`: while resuming, Redis's counters are not whole yet. */
  get shared(): boolean {
    return this.current === 'shared';
  }

  /** shared → fallback. True when this call left shared mode (the caller starts the fallback). */
  leaveShared(): boolean {
    if (this.current !== 'shared') return false;
    this.current = 'fallback';
    return true;
  }

  /** fallback → resuming, guarded by Redis answering. True when this call is the one to resume. */
  beginResume(redisAvailable: boolean): boolean {
    if (this.current !== 'fallback' || !redisAvailable) return false;
    this.current = 'resuming';
    return true;
  }

  /** resuming → shared: Redis has every reservation and settlement of the outage. */
  finishResume(): void {
    this.expect('resuming', 'finishResume');
    this.current = 'shared';
  }

  /** resuming → fallback: Redis failed again mid-way; a later attempt starts over. */
  abandonResume(): void {
    this.expect('resuming', 'abandonResume');
    this.current = 'fallback';
  }

  private expect(mode: AdmissionMode, transition: string): void {
    if (this.current !== mode) throw new IllegalModeTransitionError(this.current, transition);
  }
}
