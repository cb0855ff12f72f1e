import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ExecutionContext, Injectable } from '@nestjs/common';
import { maybeRequestContext } from '@gateway/context';
import { AroundInterceptor } from '@gateway/http';
import { RequestRecorder } from './request-recorder.service';

/**
 * Global record-and-metrics interceptor: after a tenant route's handler succeeds, holds the
 * response until the request's record has committed (and its pending follow-up work is done);
 * the recorder observes the request's metrics with it. Guards run before interceptors, so
 * `ctx.tenant` is already known here; admin and open routes pass through. Failures are recorded
 * by AuditErrorObserver instead. A promise core (`around`), so the fast routes run it as it is.
 */
@Injectable()
export class AuditInterceptor extends AroundInterceptor {
  constructor(private readonly recorder: RequestRecorder) {
    super();
  }

  async around(context: ExecutionContext, next: () => Promise<unknown>): Promise<unknown> {
    if (context.getType() !== 'http') return next();
    const http = context.switchToHttp();
    const ctx = maybeRequestContext(http.getRequest<IncomingMessage>());
    const tenant = ctx?.tenant;
    if (!ctx || !tenant) return next();
    const body = await next();
    await this.recorder.recordSuccess(ctx, tenant, http.getResponse<ServerResponse>().statusCode);
    return body;
  }
}
