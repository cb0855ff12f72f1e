import type { IncomingMessage } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { maybeRequestContext } from '@gateway/context';
import { checkQuery, QueryParams } from '@gateway/http';
import { RouteKind } from './route.decorators';

const NONE: ReadonlySet<string> = new Set();

/**
 * Global: every route refuses query parameters it does not declare with `@QueryParams`, and any
 * given twice or in bracket form (`checkQuery`). On a tenant or admin route the refusal is kept on
 * the request context and raised by authentication (`authenticate`, after the key and the body
 * error), so a tenant's bad query is refused, and audited, under its tenant, a caller without a
 * key learns nothing about a route's parameters, and nothing after authentication — the limits
 * guard's reservation above all — runs for a request already refused. Open routes refuse at once.
 * A guard rather than an interceptor so that it runs before every route's own guards.
 */
@Injectable()
export class StrictQueryGuard implements CanActivate {
  // Keyed by handler function: as many entries as routes, computed once each.
  private readonly accepted = new WeakMap<object, ReadonlySet<string>>();
  private readonly deferred = new WeakMap<object, boolean>();

  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<IncomingMessage & { originalUrl?: string }>();
    const url = req.originalUrl ?? req.url;
    // The common case, and every fast-route request: no query string, nothing to look up.
    if (url === undefined || !url.includes('?')) return true;
    try {
      checkQuery(url, this.acceptedBy(context));
    } catch (err) {
      const ctx = maybeRequestContext(req);
      if (ctx === undefined || !this.authenticated(context)) throw err;
      ctx.queryError = err;
    }
    return true;
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

  private authenticated(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let kind = this.deferred.get(handler);
    if (kind === undefined) {
      kind =
        this.reflector.getAllAndOverride(RouteKind, [handler, context.getClass()]) !== undefined;
      this.deferred.set(handler, kind);
    }
    return kind;
  }
}
