import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ExecutionContext, Injectable } from '@nestjs/common';
import { AdmissionService, type Speculation } from '@gateway/admission';
import type { CacheOpening } from '@gateway/cache';
import {
  markStage,
  type RequestContext,
  requestContext,
  type TenantContext,
} from '@gateway/context';
import { AroundInterceptor } from '@gateway/http';
import { exchangeOf, type Limits, type MeteredExchange } from './metered-exchange';
import { setHeaders } from './set-headers';

/**
 * The response cache around a metered route's handler: awaits the lookup LimitsGuard started. On
 * a hit it settles the hit's admission (a hit takes a request slot only: the speculative miss's
 * tokens and budget go back) and fills the record's draft; the handler then only shapes the cached
 * answer (`exchange.answer` never calls the provider). On a miss it admits the miss — refused:
 * the coalescing fill is abandoned, so identical requests waiting for it call the provider
 * themselves — and the handler's provider call runs inside the fill, which stores the answer.
 * Whatever the handler leaves unused is released when it fails.
 */
@Injectable()
export class CacheInterceptor extends AroundInterceptor {
  constructor(private readonly admission: AdmissionService) {
    super();
  }

  async around(context: ExecutionContext, next: () => Promise<unknown>): Promise<unknown> {
    const http = context.switchToHttp();
    const exchange = exchangeOf<unknown>(requestContext(http.getRequest<IncomingMessage>()));
    await this.decide(exchange, http.getResponse<ServerResponse>());
    markStage(exchange.ctx, 'admission');
    try {
      return await next();
    } finally {
      exchange.releaseUnused();
    }
  }

  private async decide(exchange: MeteredExchange<unknown>, res: ServerResponse): Promise<void> {
    const { lookup, ctx, plan } = exchange;
    const { tenant, demand } = plan;
    if (lookup === null) throw new Error('metered route without LimitsGuard: no lookup started');
    if (lookup.kind === 'bypass') {
      exchange.decision = { kind: 'miss', miss: lookup.miss, ticket: lookup.ticket };
      return;
    }
    let opened: CacheOpening<unknown>;
    try {
      opened = await lookup.opening;
    } catch (err) {
      void lookup.speculating.then((s) => this.release(tenant, s));
      throw err;
    }
    const speculation = await lookup.speculating;
    if (opened.status === 'hit') {
      const limits = await this.admitHit(tenant, ctx, speculation);
      setHeaders(res, limits.headers);
      ctx.audit.answeredFromCache(plan.usage(opened.answer));
      exchange.decision = { kind: 'hit', answer: opened.answer, limits };
      return;
    }
    try {
      if (speculation.kind === 'refused') throw speculation.error;
      const ticket =
        speculation.kind === 'admitted'
          ? speculation.ticket
          : await this.admission.admit(tenant, demand);
      setHeaders(res, ticket.headers);
      exchange.decision = { kind: 'miss', miss: opened, ticket };
    } catch (err) {
      // Refused: identical requests waiting for this one must not wait for a call never made.
      void opened.fill.abandon();
      throw err;
    }
  }

  private async admitHit(
    tenant: TenantContext,
    ctx: RequestContext,
    speculation: Speculation,
  ): Promise<Limits> {
    switch (speculation.kind) {
      case 'admitted': {
        const { ticket } = speculation;
        const { headers, released } = this.admission.releaseAsHit(tenant, ticket);
        ctx.pending.push(released);
        return { headers, rateLimitRemaining: ticket.rateLimitRemaining };
      }
      case 'refused':
        throw speculation.error;
      case 'undecided':
        return this.admission.admit(tenant, null);
    }
  }

  private release(tenant: TenantContext, speculation: Speculation): Promise<void> | undefined {
    if (speculation.kind !== 'admitted') return undefined;
    return this.admission.settle(tenant, speculation.ticket, null);
  }
}
