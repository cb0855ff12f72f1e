/*
 * Failures that say the database cannot answer now — not that the statement is wrong: connection
 * refused, reset or lost; no connection free before the pool's deadline; no answer before the
 * query deadline; the server's own timeouts and shutdown. A request that meets one is answered
 * 503 `dependency_unavailable` with Retry-After, like any other dependency outage, never 500.
 */

/** SQLSTATE classes and codes: connection exception, insufficient resources, operator intervention. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0)/;
/** query_canceled (statement_timeout), idle_in_transaction_session_timeout, lock_not_available. */
const UNAVAILABLE_SQLSTATES = new Set(['57014', '25P03', '55P03']);
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** pg's and pg-pool's own wording for deadlines and lost connections. */
const UNAVAILABLE_MESSAGES = [
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
];

/** True when `err` (or the driver error TypeORM wraps in it) means Postgres cannot answer now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_SQLSTATE.test(code)) return true;
    }
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m)))
      return true;
    e = (e as { driverError?: unknown }).driverError;
  }
  return false;
}
