/** The error a Redis command gets when it missed its deadline (ioredis's own wording). */
export const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * Rejects with "Command timed out" if `work` has not settled `ms` after the call, where a reply
 * that had already arrived by then counts as in time. A timer that fires late because the event
 * loop was busy (a CPU-saturated gateway, a long GC pause) runs before the I/O that queued up
 * meanwhile; a plain timeout would then fail commands whose replies sit unread in the socket, and
 * a saturated gateway would take its own lag for a Redis outage (the circuit opens, admission
 * falls back to Postgres, and load gets worse). So when the timer fires, the verdict waits one
 * turn of the loop (`setImmediate` runs after the poll phase has delivered pending replies).
 */
export function lagAwareTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new Error(COMMAND_TIMED_OUT));
      });
    }, ms);
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
