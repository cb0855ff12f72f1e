/**
 * Redis could not answer: the circuit is open (the command was never sent), or the command failed
 * for a reason that says nothing about the command itself (timeout, connection lost, cluster down).
 * Callers fall back; they never turn this into a 5xx on their own.
 */
export class RedisUnavailableError extends Error {
  constructor(
    message: string,
    /** False only when the command certainly never reached Redis (circuit open, socket not writable). */
    readonly maybeExecuted: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}
