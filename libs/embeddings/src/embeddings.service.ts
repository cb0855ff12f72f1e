import { Injectable } from '@nestjs/common';
import { inputTokenUpperBound } from '@gateway/admission';
import { costUnits, worstCaseUnits } from '@gateway/billing';
import { CacheService, type EmbeddingAnswer } from '@gateway/cache';
import type { ModelConfig } from '@gateway/config';
import type { AnswerUsage, RequestContext, TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import type { Answered, MeteredExchange, MeterPlan } from '@gateway/lifecycle';
import { ProvidersService } from '@gateway/providers';
import type { ParsedEmbedding } from './embedding-request.parser';

/** An embeddings request's plan: what LimitsGuard reserves and the provider call needs. */
export interface EmbeddingPlan extends MeterPlan<EmbeddingAnswer> {
  readonly parsed: ParsedEmbedding;
  readonly model: ModelConfig;
}

export type EmbeddingExchange = MeteredExchange<EmbeddingAnswer, EmbeddingPlan>;

/**
 * The embeddings steps that are embeddings' own, in the completion lifecycle's order and through
 * the same declaration (docs/architecture.md): `plan` (an embedding alias; the request slot, input
 * tokens against tokens_per_minute, the budget's worst case: the input-token bound at the dearest
 * route's input price; the cache key — run by EmbeddingRequestGuard), then LimitsGuard and
 * CacheInterceptor as for completions, then `embed`: the provider call (the router's retries,
 * fallback and breakers) inside the coalescing fill, settled and recorded by the exchange.
 */
@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly providers: ProvidersService,
    private readonly cache: CacheService,
  ) {}

  /** Step 1: the model (404, 403, 400 not an embedding model), `dimensions`, what to reserve. */
  plan(tenant: TenantContext, ctx: RequestContext, parsed: ParsedEmbedding): EmbeddingPlan {
    ctx.audit.model = parsed.model;
    const model = this.providers.resolveModel(tenant, parsed.model, 'embedding');
    const { request } = parsed;
    checkDimensions(model, request.dimensions);
    const inputBound = inputTokenUpperBound(request.input);
    return {
      tenant,
      parsed,
      model,
      demand: {
        promptTokensUpperBound: inputBound,
        maxCompletionTokens: 0,
        worstCaseCostUnits: worstCaseUnits(model, inputBound, 0),
      },
      cacheKey: () => this.cache.embeddingKey(tenant, model.alias, request, parsed.encoding),
      usage: embeddingUsage,
    };
  }

  /** Step 3: the vectors — cached, shared by a coalesced leader, or from the provider. */
  embed(exchange: EmbeddingExchange, signal: AbortSignal): Promise<Answered<EmbeddingAnswer>> {
    const { plan, ctx } = exchange;
    return exchange.answer(async () => {
      const { result, route, upstreamNs } = await this.providers.embed(
        plan.tenant,
        plan.model,
        plan.parsed.request,
        ctx.audit,
        signal,
      );
      ctx.upstreamNs += upstreamNs;
      return {
        vectors: result.vectors,
        promptTokens: result.promptTokens,
        provider: route.provider,
        providerModel: result.providerModel,
        costUnits: costUnits(route.price, {
          promptTokens: result.promptTokens,
          completionTokens: 0,
        }),
      };
    });
  }
}

function embeddingUsage(answer: EmbeddingAnswer): AnswerUsage {
  return {
    provider: answer.provider,
    providerModel: answer.providerModel,
    promptTokens: answer.promptTokens,
    completionTokens: 0,
    costUnits: answer.costUnits,
  };
}

/** A `dimensions` above what a route declares it returns is refused before anything is reserved. */
function checkDimensions(model: ModelConfig, dimensions: number | null): void {
  if (dimensions === null) return;
  const declared = model.routes.flatMap((r) => (r.dimensions === undefined ? [] : [r.dimensions]));
  if (declared.length === 0) return;
  const most = Math.min(...declared);
  if (dimensions > most) {
    throw new GatewayError(
      'invalid_request',
      `'dimensions' is larger than the model's vectors (${most}).`,
      { param: 'dimensions' },
    );
  }
}
