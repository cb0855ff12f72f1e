/** Postgres could not answer in time (down, overloaded, or the tenant's lock is contended). */
export class PostgresUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PostgresUnavailableError';
  }
}
