import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { checkQuery } from './strict-query';

/**
 * The query parameters a handler (or every handler of a controller) accepts, e.g.
 * `@QueryParams(['days'])`. A route without it accepts none.
 */
export const QueryParams = Reflector.createDecorator<readonly string[]>();

const NONE: ReadonlySet<string> = new Set();

/**
 * Global: every Nest route refuses query parameters it does not declare with `@QueryParams`, and
 * any given twice or in bracket form (`checkQuery`). An interceptor rather than a guard so it
 * runs after authentication: a tenant's bad query is refused, and audited, under its tenant, and
 * a caller without a key learns nothing about a route's parameters.
 */
@Injectable()
export class StrictQueryInterceptor implements NestInterceptor {
  // Keyed by handler function: as many entries as routes, computed once each.
  private readonly accepted = new WeakMap<object, ReadonlySet<string>>();

  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const req = context.switchToHttp().getRequest<Request>();
      checkQuery(req.originalUrl ?? req.url, this.acceptedBy(context));
    }
    return next.handle();
  }

  private acceptedBy(context: ExecutionContext): ReadonlySet<string> {
    const handler = context.getHandler();
    let names = this.accepted.get(handler);
    if (names === undefined) {
      const declared = this.reflector.getAllAndOverride(QueryParams, [handler, context.getClass()]);
      names = declared === undefined ? NONE : new Set(declared);
      this.accepted.set(handler, names);
    }
    return names;
  }
}
