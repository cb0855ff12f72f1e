import { Injectable } from '@nestjs/common';
import { AdmissionService } from '@gateway/admission';
import { costUnits, maxCompletionTokens, worstCaseUnits } from '@gateway/billing';
import { type CachedAnswer, CacheService } from '@gateway/cache';
import type { ModelConfig, RouteConfig } from '@gateway/config';
import type { AnswerUsage, RequestContext, TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import {
  type Answered,
  type CacheStatus,
  type MeteredExchange,
  type MeterPlan,
} from '@gateway/lifecycle';
import { GatewayMetrics } from '@gateway/observability';
import { ChatStreamAccumulator, ProviderError, ProvidersService } from '@gateway/providers';
import type { ParsedCompletion } from './completion-request.parser';
import { type StreamSink, StreamInterruptedError } from './stream-sink';

/** A completion request's plan: what LimitsGuard reserves and the provider call needs. */
export interface CompletionPlan extends MeterPlan<CachedAnswer> {
  readonly parsed: ParsedCompletion;
  readonly model: ModelConfig;
  /** The prompt's token upper bound: what a broken stream is charged when the provider never said. */
  readonly promptBound: number;
}

export type CompletionExchange = MeteredExchange<CachedAnswer, CompletionPlan>;

export interface CompletionOutcome extends Answered<CachedAnswer> {
  /**
   * True when the answer was already relayed to the stream sink as the provider sent it (only its
   * clean end is left to write); false when it is to be sent whole (JSON, or a stream replay).
   */
  readonly relayed: boolean;
}

/** A stream being relayed: what settles it and fills its record if it breaks. */
interface LiveStream {
  route: RouteConfig | null;
  readonly acc: ChatStreamAccumulator;
}

/**
 * The completion steps that are completions' own; the lifecycle around them is declared on the
 * controller (docs/architecture.md): `plan` (model, output cap, reservation, cache key — run by
 * CompletionRequestGuard), then LimitsGuard (cache lookup and speculative admission, together)
 * and CacheInterceptor (hit, or the miss admitted), then `complete`: the provider call — or the
 * relayed stream — inside the coalescing fill, settled and recorded by the exchange. Each step
 * is a facade of its own lib; this service only fills in what a completion is.
 */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly providers: ProvidersService,
    private readonly cache: CacheService,
    private readonly admission: AdmissionService,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Resolves the requested alias for this tenant: 404 unknown, 403 not allowed, 400 not chat. */
  resolveModel(tenant: TenantContext, ctx: RequestContext, alias: string): ModelConfig {
    ctx.audit.model = alias;
    return this.providers.resolveModel(tenant, alias, 'chat');
  }

  /** Step 1: the model, the output cap (a larger `max_tokens` is refused), what to reserve. */
  plan(tenant: TenantContext, ctx: RequestContext, parsed: ParsedCompletion): CompletionPlan {
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
    const promptBound = this.admission.promptTokenUpperBound(model, request.messages);
    return {
      tenant,
      parsed,
      model,
      promptBound,
      demand: {
        promptTokensUpperBound: promptBound,
        maxCompletionTokens: maxCompletionTokens(model, request.maxTokens),
        worstCaseCostUnits: worstCaseUnits(model, promptBound, request.maxTokens),
      },
      cacheKey: () => this.cache.key(tenant, model.alias, request),
      usage: chatUsage,
    };
  }

  /**
   * Step 3: the answer — cached, shared by a coalesced leader, or from the provider. For a streamed
   * request `sink` is where a provider's stream is relayed as it arrives; a cache hit or a
   * coalesced follower gets the whole answer instead (`relayed: false`), to replay.
   */
  async complete(
    exchange: CompletionExchange,
    signal: AbortSignal,
    sink: StreamSink | null = null,
  ): Promise<CompletionOutcome> {
    const { plan, ctx } = exchange;
    if (sink === null) {
      const out = await exchange.answer(() => this.call(plan, ctx, signal));
      return { ...out, relayed: false };
    }
    const live: LiveStream = { route: null, acc: new ChatStreamAccumulator() };
    const status = exchange.cacheStatus;
    const release = exchange.holdReservation();
    try {
      const out = await exchange.answer(
        () => this.relay(plan, ctx, sink, signal, status, live),
        () => (live.route === null ? null : brokenUsage(plan, live.route, live.acc)),
      );
      return { ...out, relayed: live.route !== null };
    } catch (err) {
      if (live.route === null) throw err;
      this.interrupted(ctx, plan, live.route, live.acc, signal.aborted, err);
      throw new StreamInterruptedError(signal.aborted, { cause: err });
    } finally {
      release();
    }
  }

  /** The provider call of a leader (or uncached request) answering in JSON. */
  private async call(
    plan: CompletionPlan,
    ctx: RequestContext,
    signal: AbortSignal,
  ): Promise<CachedAnswer> {
    const { result, route, upstreamNs } = await this.providers.complete(
      plan.tenant,
      plan.model,
      plan.parsed.request,
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
  }

  /**
   * Records a stream that broke (or lost its client) after its first byte — the exchange settled
   * what it spent (`brokenUsage`) — and counts the interruption.
   */
  private interrupted(
    ctx: RequestContext,
    plan: CompletionPlan,
    route: RouteConfig,
    acc: ChatStreamAccumulator,
    clientClosed: boolean,
    err: unknown,
  ): void {
    ctx.audit.interrupted(clientClosed, brokenUsage(plan, route, acc));
    this.metrics.streamInterruptions.inc({
      provider: route.provider,
      cause: clientClosed ? 'client_closed' : interruptionCause(err),
    });
  }

  /**
   * The streamed call of a leader (or uncached request): opens the provider's stream along the
   * routes (a failure before its first event falls back like any call and reaches the client as
   * a JSON error), then relays it batch by batch, at the client's pace. Resolves with the complete
   * answer — which the cache then stores — once the provider has finished; rejects when the stream
   * breaks or the client leaves first (`live.route` set: the response has started).
   */
  private async relay(
    plan: CompletionPlan,
    ctx: RequestContext,
    sink: StreamSink,
    signal: AbortSignal,
    status: CacheStatus,
    live: LiveStream,
  ): Promise<CachedAnswer> {
    const { model } = plan;
    const { request } = plan.parsed;
    const { stream, route, upstreamNs } = await this.providers.openStream(
      plan.tenant,
      model,
      request,
      ctx.audit,
      signal,
    );
    ctx.upstreamNs += upstreamNs;
    live.route = route;
    const { acc } = live;
    let failure: Error | null = null;
    try {
      sink.open({ 'X-Cache': status, 'X-Gateway-Provider': route.provider });
      for (;;) {
        const waited = process.hrtime.bigint();
        const batch = await stream.read();
        ctx.upstreamNs += process.hrtime.bigint() - waited;
        if (batch === null) break;
        const before = acc.textEvents;
        for (const event of batch) acc.apply(event);
        await sink.write(batch, acc);
        if (before === 0 && acc.textEvents > 0) this.observeFirstToken(ctx, route);
      }
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    } finally {
      stream.close();
    }
    // A client that left after the provider's last event still got a finished answer.
    const complete = acc.ended || (acc.finishReason !== null && acc.hasUsage);
    if (!complete) {
      throw failure ?? new ProviderError('connection', 'the provider stream ended early');
    }
    const promptTokens = acc.promptTokens ?? plan.promptBound;
    const completionTokens = acc.completionTokens ?? acc.textEvents;
    const usage = { promptTokens, completionTokens };
    const providerModel = acc.providerModel ?? route.model;
    this.providers.recordStreamUsage(route, { ...usage, providerModel });
    return {
      content: acc.content,
      finishReason: acc.finishReason ?? 'stop',
      ...usage,
      provider: route.provider,
      providerModel,
      costUnits: costUnits(route.price, usage),
    };
  }

  private observeFirstToken(ctx: RequestContext, route: RouteConfig): void {
    const seconds = Number(process.hrtime.bigint() - ctx.startedAt) / 1e9;
    this.metrics.timeToFirstToken.observe(
      {
        gen_ai_operation_name: 'chat',
        gen_ai_provider_name: route.provider,
        gen_ai_request_model: route.model,
      },
      seconds,
    );
  }
}

/** What a cached or provider answer used, for the settlement and the record. */
function chatUsage(answer: CachedAnswer): AnswerUsage {
  return answer;
}

/**
 * What a stream that broke after its first byte is charged: the tokens the provider reported,
 * else the prompt's upper bound and one completion token per delta sent (the larger of that and
 * the provider's last count, which Anthropic sends early).
 */
function brokenUsage(
  plan: CompletionPlan,
  route: RouteConfig,
  acc: ChatStreamAccumulator,
): AnswerUsage {
  const promptTokens = acc.promptTokens ?? plan.promptBound;
  const completionTokens = Math.max(acc.completionTokens ?? 0, acc.textEvents);
  return {
    provider: route.provider,
    providerModel: acc.providerModel ?? route.model,
    promptTokens,
    completionTokens,
    costUnits: costUnits(route.price, { promptTokens, completionTokens }),
  };
}

/** The interruption's cause for the metric: the provider failure's kind (a bounded set). */
function interruptionCause(err: unknown): string {
  const cause = err instanceof StreamInterruptedError ? err.cause : err;
  return cause instanceof ProviderError ? cause.kind : 'other';
}
