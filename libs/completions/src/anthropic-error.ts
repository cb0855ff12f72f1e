import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  Injectable,
  Logger,
  type LoggerService,
  Optional,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { maybeRequestContext } from '@gateway/context';
import { ErrorObserver, type MappedError, mapError, sendJson } from '@gateway/errors';

/**
 * Anthropic's error types (https://docs.anthropic.com/en/api/errors) by status. The gateway's own
 * refusals without an Anthropic counterpart (402 budget) read as `invalid_request_error`; the
 * status and message still say what happened.
 */
function anthropicType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 429:
      return 'rate_limit_error';
    case 503:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** The error body of `POST /v1/messages`: Anthropic's shape, plus the gateway's code and request id. */
export function anthropicErrorBody(mapped: MappedError): unknown {
  return {
    type: 'error',
    error: {
      type: anthropicType(mapped.status),
      message: mapped.body.error.message,
      code: mapped.code,
    },
    request_id: mapped.body.error.request_id,
  };
}

/**
 * `answerError` for the Anthropic-format path: the same mapping, record and status, written in
 * Anthropic's shape with its `request-id` header.
 */
export async function answerAnthropicError(
  exception: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  observer: ErrorObserver | undefined,
  logger: LoggerService,
): Promise<void> {
  const requestId =
    maybeRequestContext(req)?.requestId ?? String(res.getHeader('x-request-id') ?? '');
  let mapped = mapError(exception, requestId);
  if (mapped.unexpected) logger.error({ err: exception, requestId }, 'unhandled error');
  if (observer) {
    try {
      await observer.onError(req, mapped);
    } catch (err) {
      logger.error({ err, requestId }, 'audit of failed request failed');
      mapped = mapError(err, requestId);
    }
  }
  if (res.headersSent) return;
  for (const name in mapped.headers) res.setHeader(name, mapped.headers[name]);
  res.setHeader('request-id', requestId);
  sendJson(res, mapped.status, anthropicErrorBody(mapped));
}

/** The Nest path's filter for `POST /v1/messages` (the global one answers in OpenAI's shape). */
@Injectable()
@Catch()
export class AnthropicExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(@Optional() private readonly observer?: ErrorObserver) {}

  catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const http = host.switchToHttp();
    return answerAnthropicError(
      exception,
      http.getRequest<Request>(),
      http.getResponse<Response>(),
      this.observer,
      this.logger,
    );
  }
}
