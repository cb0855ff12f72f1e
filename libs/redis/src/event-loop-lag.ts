import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Each window of the lag's measurement; the recent lag covers the last one or two. */
const WINDOW_MS = 1_000;

/**
 * How late this process's event loop has been running lately: the worst event-loop delay over
 * the last one to two seconds (ms), from Node's own histogram (libuv, no JavaScript timer).
 *
 * A large recent lag means this machine's CPUs are oversubscribed. Then the dependencies on it
 * (Redis, Postgres, a load balancer's other replicas) are starved too, and silence from them for
 * a few hundred milliseconds is what a slow, not a dead, dependency looks like. Deadlines that
 * judge "has it stopped answering?" widen their silence window by this much, so an overloaded
 * gateway does not take its own load for an outage; on an idle machine the lag is ~0 and a
 * frozen dependency is still detected as fast as before.
 */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram;
  private previousMaxMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.previousMaxMs = this.histogram.max / 1e6;
      this.histogram.reset();
    }, WINDOW_MS);
    this.timer.unref();
  }

  /** The worst event-loop delay over the last 1–2 s, in ms (0 before any sample). */
  recentMs(): number {
    return Math.max(this.previousMaxMs, this.histogram.max / 1e6);
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

let shared: EventLoopLag | null = null;

/** The process's one lag monitor (started on first use). */
export function eventLoopLag(): EventLoopLag {
  shared ??= new EventLoopLag();
  return shared;
}
