import pino, { type Logger } from 'pino';
import type { Params } from 'nestjs-pino';
import type { GatewayConfig } from '@gateway/config';

/**
 * Every credential path is redacted wherever it appears in a logged object; request headers (where
 * keys travel) are never serialized in the first place.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.api_key',
  '*.apiKey',
  '*.adminApiKey',
  '*.alert_webhook_secret',
  '*.authorization',
  '*["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
];

export interface GatewayLoggers {
  /**
   * The process's logger. A line about one request names it itself (`requestId`, and the tenant
   * where known); nothing is built per request unless something logs. Neither pino-http's
   * per-request child loggers (about 0.5 ms of CPU per request here) nor a mixin over an
   * AsyncLocalStorage (its promise hooks, about 10 % of a lone request's CPU) pay for themselves;
   * see docs/BENCHMARKS.md.
   */
  readonly root: Logger;
  /**
   * The access-line logger: no redaction pass (the line is built from known-safe fields only —
   * method, path without query, status, ids — and redacting every line cost more CPU than writing
   * it).
   */
  readonly access: Logger;
}

/** Lines are written to stdout once this many bytes are buffered... */
const LOG_BUFFER_BYTES = 4096;
/** ...or this often, whichever comes first. */
const LOG_FLUSH_MS = 200;

/**
 * Both loggers write through one stdout stream, so lines never interleave. The stream buffers:
 * under load one write carries dozens of lines instead of one syscall per line, and at low traffic
 * a line waits at most LOG_FLUSH_MS. pino flushes the buffer synchronously when the process exits
 * (normal exit, SIGTERM drain, uncaught error); a SIGKILL, or an exit while a write is in flight,
 * can lose up to the last LOG_BUFFER_BYTES. The timer also issues an empty write when idle.
 */
export function createLoggers(config: GatewayConfig): GatewayLoggers {
  const stream = pino.destination({ minLength: LOG_BUFFER_BYTES });
  setInterval(() => {
    // flush() throws if the stream is mid-open or already ended; a timer must never throw.
    try {
      stream.flush();
    } catch {
      /* the next tick or the exit handler writes it */
    }
  }, LOG_FLUSH_MS).unref();
  const root = pino(
    {
      level: config.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    stream,
  );
  return { root, access: pino({ level: config.logLevel }, stream) };
}

/**
 * nestjs-pino over that logger, without its per-request middleware (no pino-http child loggers,
 * no AsyncLocalStorage): the access line is our own middleware (accessLogMiddleware).
 */
export function loggerOptions(logger: Logger): Params {
  return { pinoHttp: { logger }, useExisting: true, forRoutes: [] };
}
