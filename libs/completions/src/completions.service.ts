import { Injectable } from '@nestjs/common';
import { type AdmissionTicket, AdmissionService } from '@gateway/admission';
import { costUnits, maxCompletionTokens, worstCaseUnits } from '@gateway/billing';
import { type CachedAnswer, type CacheOpening, CacheService, type Coalesced } from '@gateway/cache';
import type { ModelConfig } from '@gateway/config';
import type { RequestContext, TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { ProvidersService } from '@gateway/providers';
import type { ParsedCompletion } from './completion-request.parser';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

export interface CompletionOutcome {
  readonly answer: CachedAnswer;
  /** True for a cache hit or an answer shared by a coalesced leader: cost 0 for this request. */
  readonly cached: boolean;
  readonly costUnits: number;
  readonly cacheStatus: CacheStatus;
  readonly rateLimitRemaining: number;
  /** Rate-limit headers for the response. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The completion pipeline: model → cache lookup (one round trip that also takes the coalescing
 * lock on a miss) → admission (rate slot, and on a miss the budget and token reservations, in one
 * Redis round trip) → provider (coalesced across instances) → settlement. Each step is a facade of
 * its own lib; this service only orders them and fills the request's audit draft, which the audit
 * interceptor writes before the response leaves.
 */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly providers: ProvidersService,
    private readonly cache: CacheService,
    private readonly admission: AdmissionService,
  ) {}

  /** Resolves the requested alias for this tenant: 404 unknown, 403 not allowed. */
  resolveModel(tenant: TenantContext, ctx: RequestContext, alias: string): ModelConfig {
    ctx.audit.model = alias;
    const model = this.providers.model(alias);
    if (!model) {
      throw new GatewayError('model_not_found', `The model '${alias}' does not exist.`, {
        param: 'model',
      });
    }
    if (tenant.allowedModels !== null && !tenant.allowedModels.includes(alias)) {
      throw new GatewayError('model_not_allowed', `This key may not use the model '${alias}'.`, {
        param: 'model',
      });
    }
    return model;
  }

  async complete(
    tenant: TenantContext,
    ctx: RequestContext,
    parsed: ParsedCompletion,
    cacheControl: string | undefined,
    signal: AbortSignal,
    /** Called as soon as the request is admitted, so even a later failure carries rate-limit headers. */
    setHeaders: (headers: Readonly<Record<string, string>>) => void,
  ): Promise<CompletionOutcome> {
    const model = this.resolveModel(tenant, ctx, parsed.model);
    const { request } = parsed;
    const outputCap = maxCompletionTokens(model, null);
    if (request.maxTokens !== null && request.maxTokens > outputCap) {
      throw new GatewayError(
        'invalid_request',
        `'max_tokens' is larger than the model's maximum output (${outputCap}).`,
        { param: 'max_tokens' },
      );
    }

    const controls = this.cache.controls(cacheControl);
    // `no-store` requests (which also skip the lookup) need no key: it is not built for them.
    const opened: CacheOpening = this.cache.engages(controls)
      ? await this.cache.open(tenant, this.cache.key(tenant, model.alias, request), controls)
      : this.cache.bypass();

    if (opened.status === 'hit') {
      const ticket = await this.admission.admit(tenant, null);
      setHeaders(ticket.headers);
      this.recordCached(ctx, opened.answer);
      return this.outcome(opened.answer, true, 0, 'HIT', ticket);
    }

    const { fill } = opened;
    let ticket: AdmissionTicket;
    try {
      const promptBound = this.admission.promptTokenUpperBound(model, request.messages);
      ticket = await this.admission.admit(tenant, {
        promptTokensUpperBound: promptBound,
        maxCompletionTokens: maxCompletionTokens(model, request.maxTokens),
        worstCaseCostUnits: worstCaseUnits(model, promptBound, request.maxTokens),
      });
    } catch (err) {
      // Refused: identical requests waiting for this one must not wait for a call never made.
      void fill.abandon();
      throw err;
    }
    setHeaders(ticket.headers);

    const compute = async (): Promise<CachedAnswer> => {
      const { result, route, upstreamNs } = await this.providers.complete(
        tenant,
        model,
        request,
        ctx.audit,
        signal,
      );
      ctx.upstreamNs += upstreamNs;
      return {
        content: result.content,
        finishReason: result.finishReason,
        promptTokens: result.promptTokens,
        completionTokens: result.completionTokens,
        provider: route.provider,
        providerModel: result.providerModel,
        costUnits: costUnits(route.price, result),
      };
    };
    let shared: Coalesced;
    try {
      shared = await fill.run(compute);
    } catch (err) {
      // Nothing was spent that we know of: release the whole reservation.
      ctx.pending.push(this.admission.settle(tenant, ticket, null));
      throw err;
    }
    // Storing the answer overlaps the audit record's commit instead of delaying the response.
    ctx.pending.push(shared.stored);

    const { answer, leader } = shared;
    if (!leader) {
      ctx.pending.push(this.admission.settle(tenant, ticket, null));
      this.recordCached(ctx, answer);
      return this.outcome(answer, true, 0, 'HIT', ticket);
    }
    ctx.pending.push(
      this.admission.settle(tenant, ticket, {
        promptTokens: answer.promptTokens,
        completionTokens: answer.completionTokens,
        costUnits: answer.costUnits,
      }),
    );
    const a = ctx.audit;
    a.outcome = 'success';
    a.provider = answer.provider;
    a.providerModel = answer.providerModel;
    a.promptTokens = answer.promptTokens;
    a.completionTokens = answer.completionTokens;
    a.costUnits = answer.costUnits;
    return this.outcome(
      answer,
      false,
      answer.costUnits,
      opened.status === 'bypass' ? 'BYPASS' : 'MISS',
      ticket,
    );
  }

  private recordCached(ctx: RequestContext, answer: CachedAnswer): void {
    const a = ctx.audit;
    a.outcome = 'cached';
    a.cached = true;
    a.provider = answer.provider;
    a.providerModel = answer.providerModel;
    a.promptTokens = answer.promptTokens;
    a.completionTokens = answer.completionTokens;
    a.costUnits = 0;
    a.costSavedUnits = answer.costUnits;
  }

  private outcome(
    answer: CachedAnswer,
    cached: boolean,
    cost: number,
    cacheStatus: CacheStatus,
    ticket: AdmissionTicket,
  ): CompletionOutcome {
    return {
      answer,
      cached,
      costUnits: cost,
      cacheStatus,
      rateLimitRemaining: ticket.rateLimitRemaining,
      headers: ticket.headers,
    };
  }
}
