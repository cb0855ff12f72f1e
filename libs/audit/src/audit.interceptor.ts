import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { mergeMap, type Observable } from 'rxjs';
import { maybeRequestContext } from '@gateway/context';
import { RequestRecorder } from './request-recorder.service';

/**
 * Global interceptor: after a tenant route's handler succeeds, holds the response until the
 * request's record has committed (and its pending follow-up work is done). Guards run before
 * interceptors, so `ctx.tenant` is already known here; admin and open routes pass through.
 * Failures are recorded by AuditErrorObserver instead.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(private readonly recorder: RequestRecorder) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const ctx = maybeRequestContext(http.getRequest<Request>());
    const tenant = ctx?.tenant;
    if (!ctx || !tenant) return next.handle();
    const res = http.getResponse<Response>();
    return next.handle().pipe(
      mergeMap(async (body: unknown) => {
        await this.recorder.recordSuccess(ctx, tenant, res.statusCode);
        return body;
      }),
    );
  }
}
