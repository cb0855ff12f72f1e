import { type ArgumentsHost, Catch, type ExceptionFilter, Logger, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import { maybeRequestContext } from '@gateway/context';
import { mapError } from './error-mapping';
import { ErrorObserver } from './error-observer';

/** Maps every error to CONTRACT §4 in one place; unknown errors become a bland 500. */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(@Optional() private readonly observer?: ErrorObserver) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const requestId =
      maybeRequestContext(req)?.requestId ?? String(res.getHeader('x-request-id') ?? '');
    const mapped = mapError(exception, requestId);

    if (mapped.unexpected) {
      this.logger.error({ err: exception, requestId }, 'unhandled error');
    }
    if (this.observer) {
      try {
        await this.observer.onError(req, mapped);
      } catch (err) {
        // The record could not be made durable: the client must not believe the request was accounted.
        this.logger.error({ err, requestId }, 'audit of failed request failed');
        const fallback = mapError(err, requestId);
        if (!res.headersSent) res.status(fallback.status).json(fallback.body);
        return;
      }
    }
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(mapped.headers)) res.setHeader(k, v);
    res.status(mapped.status).json(mapped.body);
  }
}
