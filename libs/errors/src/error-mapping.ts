import { HttpException } from '@nestjs/common';
import { ERROR_CODES, type ErrorCode, type ErrorOutcome } from './error-code';
import { isDatabaseUnavailable } from './database-unavailable';
import { GatewayError } from './gateway.error';

export interface MappedError {
  status: number;
  code: ErrorCode;
  outcome: ErrorOutcome;
  headers: Readonly<Record<string, string>>;
  body: {
    error: {
      message: string;
      type: string;
      code: ErrorCode;
      param: string | null;
      request_id: string;
      [extra: string]: unknown;
    };
  };
  /** True when the cause is a bug, to be logged with its stack. */
  unexpected: boolean;
}

/** The single mapping from anything thrown to the client-facing error (docs/api.md §4, §9). */
export function mapError(err: unknown, requestId: string): MappedError {
  const ge = toGatewayError(err);
  const def = ERROR_CODES[ge.code];
  return {
    status: def.status,
    code: ge.code,
    outcome: def.outcome,
    headers: ge.headers,
    unexpected: ge.code === 'internal_error',
    body: {
      error: {
        message: ge.message,
        type: def.type,
        code: ge.code,
        param: ge.param,
        request_id: requestId,
        ...(ge.details ?? {}),
      },
    },
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof HttpException) return fromHttpException(err);
  const bp = err as BodyParserError | null;
  if (bp && typeof bp === 'object' && typeof bp.type === 'string') {
    // body-parser / raw-body errors (they carry `type` and `status`).
    switch (bp.type) {
      case 'entity.too.large':
        return new GatewayError(
          'request_too_large',
          'Request body exceeds the maximum allowed size.',
        );
      case 'entity.parse.failed':
        return new GatewayError('invalid_request', 'Request body is not valid JSON.');
      case 'encoding.unsupported':
        // body-parser's 415 is a Content-Encoding it cannot decode; the 400 is a body that is not UTF-8.
        if (bp.status === 415) {
          return new GatewayError(
            'unsupported_media_type',
            'Content-Encoding must be gzip, deflate, br or identity.',
          );
        }
        return new GatewayError('invalid_request', 'Request body must be UTF-8 encoded JSON.');
      case 'charset.unsupported':
        return new GatewayError(
          'unsupported_media_type',
          'Request body must be UTF-8 encoded JSON.',
        );
      case 'encoding.corrupt':
        return new GatewayError(
          'invalid_request',
          'Request body could not be decoded with its Content-Encoding.',
        );
      case 'request.aborted':
        return new GatewayError('invalid_request', 'The client aborted the request.');
      default:
        if ((bp.status ?? bp.statusCode ?? 500) < 500) {
          return new GatewayError('invalid_request', 'The request body could not be read.');
        }
    }
  }
  if (isDatabaseUnavailable(err)) {
    return new GatewayError(
      'dependency_unavailable',
      'The database is not answering right now. Retry shortly.',
      { headers: { 'Retry-After': DATABASE_RETRY_AFTER_S }, cause: err },
    );
  }
  return new GatewayError('internal_error', 'Internal error.', { cause: err });
}

/** Seconds to wait after a database failure: its deadlines are a few seconds. */
const DATABASE_RETRY_AFTER_S = '2';

function fromHttpException(err: HttpException): GatewayError {
  const status = err.getStatus();
  switch (status) {
    case 404:
      return new GatewayError('not_found', 'Not found.');
    case 405:
      return new GatewayError('not_found', 'Not found.');
    case 413:
      return new GatewayError(
        'request_too_large',
        'Request body exceeds the maximum allowed size.',
      );
    case 401:
      return new GatewayError('invalid_api_key', 'Invalid API key.');
    case 403:
      return new GatewayError('wrong_key_scope', 'This key may not call this route.');
    case 429:
      return new GatewayError('rate_limit_exceeded', 'Rate limit exceeded.');
    case 503:
      return new GatewayError('not_ready', 'Service unavailable.');
    default:
      if (status >= 400 && status < 500) {
        return new GatewayError('invalid_request', err.message || 'Invalid request.');
      }
      return new GatewayError('internal_error', 'Internal error.', { cause: err });
  }
}
