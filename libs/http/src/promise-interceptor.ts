import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { defer, lastValueFrom, type Observable } from 'rxjs';

/**
 * An interceptor whose work is a promise around the rest of the chain: `next()` runs the inner
 * interceptors and the handler and resolves with the handler's result. The fast routes call
 * `around` directly (no Observable per request); Nest calls `intercept`, which AroundInterceptor
 * builds on `around`, so both ways in run the same code.
 */
export interface PromiseInterceptor extends NestInterceptor {
  around(context: ExecutionContext, next: () => Promise<unknown>): Promise<unknown>;
}

export function isPromiseInterceptor(interceptor: unknown): interceptor is PromiseInterceptor {
  return typeof (interceptor as Partial<PromiseInterceptor> | null)?.around === 'function';
}

/** Base of the gateway's interceptors: Nest's `intercept` as a thin shell over `around`. */
export abstract class AroundInterceptor implements PromiseInterceptor {
  abstract around(context: ExecutionContext, next: () => Promise<unknown>): Promise<unknown>;

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return defer(() =>
      this.around(context, () => lastValueFrom(next.handle(), { defaultValue: undefined })),
    );
  }
}
