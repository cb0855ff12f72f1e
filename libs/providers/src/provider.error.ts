import type { AttemptOutcome } from '@gateway/context';

/**
 * Why an upstream call failed. The router decides from the kind alone: whether the same provider
 * may be tried again (`isRetryable`), whether the next route may be tried (`allowsFallback`), and
 * what the attempt is called in the audit record.
 */
export type ProviderErrorKind =
  /** No answer within the attempt's time (connect, headers or body). */
  | 'timeout'
  /** Refused, reset, DNS failure, socket closed mid-body. */
  | 'connection'
  /** 429. */
  | 'rate_limited'
  /** 5xx (Anthropic's 529 overloaded included), 408, 409. */
  | 'server'
  /** 400, 413, 422: the request itself is at fault; another provider would refuse it too. */
  | 'bad_request'
  /** 401, 403: our credentials for this provider are wrong. */
  | 'auth'
  /** 404: the model (or endpoint) does not exist on this provider. */
  | 'not_found'
  /** A body that does not parse, lacks required fields, or an unexpected status (e.g. a redirect). */
  | 'invalid_response'
  /** The answer exceeded the provider's `max_response_bytes`. */
  | 'too_large'
  /** The caller gave up (client disconnect or its deadline): not the provider's fault. */
  | 'aborted';

const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set([
  'timeout',
  'connection',
  'rate_limited',
  'server',
]);

export interface ProviderErrorOptions {
  readonly status?: number | null;
  readonly retryAfterMs?: number | null;
  /** Internal cause (an undici error, a parse error): logged, never sent to a client. */
  readonly cause?: unknown;
}

/**
 * The one typed upstream failure (after the Vercel AI SDK's APICallError). `message` is safe for a
 * client: a short description of the failure, or for `bad_request` the provider's own error message
 * with anything key-like scrubbed, never the raw body.
 */
export class ProviderError extends Error {
  readonly status: number | null;
  readonly retryAfterMs: number | null;

  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    options: ProviderErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProviderError';
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** Trying the same provider again, after a backoff, may succeed. */
  get isRetryable(): boolean {
    return RETRYABLE.has(this.kind);
  }

  /** The next route may be tried: everything but a request the provider judged malformed. */
  get allowsFallback(): boolean {
    return this.kind !== 'bad_request' && this.kind !== 'aborted';
  }

  /** Whether this failure says something about the provider's health (feeds its breaker). */
  get countsAgainstProvider(): boolean {
    return this.kind !== 'bad_request' && this.kind !== 'aborted';
  }

  get attemptOutcome(): AttemptOutcome {
    switch (this.kind) {
      case 'timeout':
        return 'timeout';
      case 'rate_limited':
        return 'rate_limited';
      case 'bad_request':
        return 'rejected';
      default:
        return 'error';
    }
  }

  /** Classifies an HTTP error status (docs/api.md §4 and §7 "Providers"). */
  static fromStatus(
    status: number,
    providerMessage: string | null,
    retryAfterMs: number | null = null,
  ): ProviderError {
    const kind = kindForStatus(status);
    let message = `HTTP ${status}`;
    if (kind === 'bad_request') {
      message = providerMessage ?? `The provider rejected the request (HTTP ${status}).`;
    } else if (kind === 'invalid_response') {
      message = `unexpected HTTP ${status}`;
    }
    return new ProviderError(kind, message, { status, retryAfterMs });
  }
}

function kindForStatus(status: number): ProviderErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 400 || status === 413 || status === 422) return 'bad_request';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 408 || status === 409 || status >= 500) return 'server';
  // 3xx (redirects are never followed), other 4xx, 1xx: nothing we can use.
  return 'invalid_response';
}
