import { type ArgumentsHost, Catch, type ExceptionFilter, Logger, Optional } from '@nestjs/common';
import type { Request, Response } from 'express';
import { answerError } from './error-response';
import { ErrorObserver } from './error-observer';

/** Maps every error to docs/api.md §4 in one place (`answerError`); unknown errors become a bland 500. */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(@Optional() private readonly observer?: ErrorObserver) {}

  catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const http = host.switchToHttp();
    return answerError(
      exception,
      http.getRequest<Request>(),
      http.getResponse<Response>(),
      this.observer,
      this.logger,
    );
  }
}
