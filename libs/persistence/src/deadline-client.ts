import { Client } from 'pg';

/** The error pg gives a query that passed `query_timeout` (its own wording). */
const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * The pool's connection class: pg's Client, except that a connection whose query passed the
 * client-side `query_timeout` is closed at once. pg fails such a query but leaves it running on
 * the connection; TypeORM then hands the connection back to the pool as healthy, and every later
 * query on it would wait behind the stuck one — and behind a dropped network, TCP may take many
 * minutes to notice (keepalive does not probe while data is unacknowledged). Closing it frees the
 * pool slot; the pool opens a fresh connection on demand, so nothing is lost once the server
 * answers again.
 */
export class DeadlineClient extends Client {
  constructor(config?: ConstructorParameters<typeof Client>[0]) {
    super(config);
    // Looked up at each call, not bound once: whatever wraps pg's Client (tracing, tests counting
    // queries) after this connection was opened still sees its queries.
    const query = (...args: unknown[]): unknown =>
      (Client.prototype.query as (...a: unknown[]) => unknown).apply(this, args);
    this.query = ((...args: unknown[]) => {
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        args[last] = (err: unknown, result: unknown) => {
          this.discardIfTimedOut(err);
          (callback as (err: unknown, result: unknown) => void)(err, result);
        };
        return query(...args);
      }
      const result = query(...args);
      if (result instanceof Promise) result.catch((err: unknown) => this.discardIfTimedOut(err));
      return result;
    }) as Client['query'];
  }

  private discardIfTimedOut(err: unknown): void {
    if (err instanceof Error && err.message === QUERY_READ_TIMEOUT) {
      // end() with a query still active destroys the socket instead of waiting for the server;
      // the pool then drops this client when it is released.
      this.end().catch(() => undefined);
    }
  }
}
