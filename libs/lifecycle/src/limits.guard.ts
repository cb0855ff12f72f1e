import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { AdmissionService } from '@gateway/admission';
import { CacheService } from '@gateway/cache';
import { requestContext } from '@gateway/context';
import { openExchange } from './metered-exchange';
import { setHeaders } from './set-headers';

const ignore = (): void => undefined;

/**
 * The tenant's limits (rate, tokens per minute, monthly budget) for a metered route, after its
 * request step parked the plan. A request that does not engage the cache (`no-store`) is admitted
 * here, and refused here when over a limit. Otherwise the cache lookup and a speculative admission
 * as a miss start together and are parked on the exchange without being awaited — a miss then
 * waits for one round trip, not two — and CacheInterceptor decides, knowing hit or miss. Rate-limit
 * headers go on the response as soon as a request is admitted, so a later failure carries them.
 */
@Injectable()
export class LimitsGuard implements CanActivate {
  constructor(
    private readonly admission: AdmissionService,
    private readonly cache: CacheService,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<IncomingMessage>();
    const res = http.getResponse<ServerResponse>();
    const exchange = openExchange(requestContext(req), res, this.admission);
    const { tenant, demand } = exchange.plan;
    const controls = this.cache.controls(req.headers['cache-control']);
    if (!this.cache.engages(controls)) {
      // `no-store` skips the lookup, so it needs no key and no speculation: a plain miss.
      const miss = this.cache.bypass<never>();
      return this.admission.admit(tenant, demand).then((ticket) => {
        setHeaders(res, ticket.headers);
        exchange.lookup = { kind: 'bypass', miss, ticket };
        return true;
      });
    }
    const opening = this.cache.open(tenant, exchange.plan.cacheKey(), controls);
    // Awaited by CacheInterceptor; until then a failed lookup must not count as unhandled.
    opening.catch(ignore);
    exchange.lookup = {
      kind: 'open',
      opening,
      speculating: this.admission.speculate(tenant, demand), // never rejects
    };
    return true;
  }
}
