/** What the leader of a coalesced computation announced: its answer is stored, or it gave up. */
export type LeaderSignal = 'ok' | 'fail';

export interface Waiter {
  /** Settles with the leader's signal; never rejects. */
  readonly signal: Promise<LeaderSignal>;
  cancel(): void;
}

/**
 * The requests of this instance that wait for another request's answer, by lock key. Bounded:
 * past `max` waiters a request simply does not register and falls back to polling, so a burst can
 * never grow this map without limit.
 */
export class CoalesceWaiters {
  private readonly byLock = new Map<string, Set<(s: LeaderSignal) => void>>();
  private total = 0;

  constructor(private readonly max = 10_000) {}

  get size(): number {
    return this.total;
  }

  register(lockKey: string): Waiter | null {
    if (this.total >= this.max) return null;
    let resolve!: (s: LeaderSignal) => void;
    const signal = new Promise<LeaderSignal>((r) => (resolve = r));
    let set = this.byLock.get(lockKey);
    if (!set) this.byLock.set(lockKey, (set = new Set()));
    set.add(resolve);
    this.total++;
    let active = true;
    const remove = () => {
      if (!active) return;
      active = false;
      this.total--;
      const current = this.byLock.get(lockKey);
      current?.delete(resolve);
      if (current?.size === 0) this.byLock.delete(lockKey);
    };
    return {
      signal: signal.finally(remove),
      cancel: () => {
        remove();
        resolve('fail');
      },
    };
  }

  deliver(lockKey: string, signal: LeaderSignal): void {
    const set = this.byLock.get(lockKey);
    if (!set) return;
    for (const resolve of [...set]) resolve(signal);
  }
}
