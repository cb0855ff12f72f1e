import { ERROR_CODES, type ErrorCode } from './error-code';

export interface GatewayErrorOptions {
  /** Dotted path of the offending field, or null. */
  param?: string | null;
  /** Extra response headers (Retry-After, x-should-retry, …). */
  headers?: Readonly<Record<string, string>>;
  /** Internal cause, logged but never sent to the client. */
  cause?: unknown;
  /** Safe structured detail for the client (e.g. fallback attempts without secrets). */
  details?: Readonly<Record<string, unknown>>;
}

/** The one domain exception: a code from ERROR_CODES plus a client-safe message. */
export class GatewayError extends Error {
  readonly param: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}
