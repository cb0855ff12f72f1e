import { Injectable } from '@nestjs/common';
import {
  type AdmissionDemand,
  type AdmissionTicket,
  AdmissionService,
  type Speculation,
} from '@gateway/admission';
import { costUnits, maxCompletionTokens, worstCaseUnits } from '@gateway/billing';
import {
  type CachedAnswer,
  type CacheMiss,
  type CacheOpening,
  CacheService,
  type Coalesced,
} from '@gateway/cache';
import type { ModelConfig, RouteConfig } from '@gateway/config';
import type { RequestContext, TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import {
  type ChatRequest,
  ChatStreamAccumulator,
  ProviderError,
  ProvidersService,
} from '@gateway/providers';
import type { ParsedCompletion } from './completion-request.parser';
import { type StreamSink, StreamInterruptedError } from './stream-sink';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** What a response reports of the tenant's rate limits. */
type Limits = Pick<AdmissionTicket, 'headers' | 'rateLimitRemaining'>;

export interface CompletionOutcome {
  readonly answer: CachedAnswer;
  /** True for a cache hit or an answer shared by a coalesced leader: cost 0 for this request. */
  readonly cached: boolean;
  readonly costUnits: number;
  readonly cacheStatus: CacheStatus;
  readonly rateLimitRemaining: number;
  /** Rate-limit headers for the response. */
  readonly headers: Readonly<Record<string, string>>;
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
 * The completion pipeline: model → cache lookup (one round trip that also takes the coalescing
 * lock on a miss), sent together with a speculative admission as a miss (rate slot, token and
 * budget reservations, one round trip) → on a hit, the reservations go back and only the slot
 * stays → provider (coalesced across instances) → settlement. Each step is a facade of
 * its own lib; this service only orders them and fills the request's audit draft, which the audit
 * interceptor writes before the response leaves.
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

  async complete(
    tenant: TenantContext,
    ctx: RequestContext,
    parsed: ParsedCompletion,
    cacheControl: string | undefined,
    signal: AbortSignal,
    /** Called as soon as the request is admitted, so even a later failure carries rate-limit headers. */
    setHeaders: (headers: Readonly<Record<string, string>>) => void,
    /**
     * For a streamed request: where a provider's stream is relayed as it arrives. A cache hit or
     * a coalesced follower gets the whole answer instead (`relayed: false`), to replay.
     */
    sink: StreamSink | null = null,
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
    const promptBound = this.admission.promptTokenUpperBound(model, request.messages);
    const demand: AdmissionDemand = {
      promptTokensUpperBound: promptBound,
      maxCompletionTokens: maxCompletionTokens(model, request.maxTokens),
      worstCaseCostUnits: worstCaseUnits(model, promptBound, request.maxTokens),
    };

    let missed: CacheMiss;
    let ticket: AdmissionTicket;
    if (!this.cache.engages(controls)) {
      // `no-store` skips the lookup, so it needs no key and no speculation: a plain miss.
      missed = this.cache.bypass();
      ticket = await this.admission.admit(tenant, demand);
    } else {
      // The lookup and the admission go out together: a miss waits for one round trip, not two.
      const opening = this.cache.open(
        tenant,
        this.cache.key(tenant, model.alias, request),
        controls,
      );
      const speculating = this.admission.speculate(tenant, demand); // never rejects
      let opened: CacheOpening;
      try {
        opened = await opening;
      } catch (err) {
        void speculating.then((s) => this.release(tenant, s));
        throw err;
      }
      const speculation = await speculating;

      if (opened.status === 'hit') {
        const limits = await this.admitHit(tenant, ctx, speculation);
        setHeaders(limits.headers);
        this.recordCached(ctx, opened.answer);
        return this.outcome(opened.answer, true, 0, 'HIT', limits);
      }
      missed = opened;
      try {
        if (speculation.kind === 'refused') throw speculation.error;
        ticket =
          speculation.kind === 'admitted'
            ? speculation.ticket
            : await this.admission.admit(tenant, demand);
      } catch (err) {
        // Refused: identical requests waiting for this one must not wait for a call never made.
        void opened.fill.abandon();
        throw err;
      }
    }
    const { fill } = missed;
    setHeaders(ticket.headers);
    const status: CacheStatus = missed.status === 'bypass' ? 'BYPASS' : 'MISS';
    const live: LiveStream = { route: null, acc: new ChatStreamAccumulator() };

    const call = async (): Promise<CachedAnswer> => {
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
    const compute =
      sink === null
        ? call
        : () => this.relay(tenant, ctx, model, request, sink, signal, status, live);
    let shared: Coalesced;
    try {
      shared = await fill.run(compute);
    } catch (err) {
      if (live.route !== null) {
        // Broken after its first byte: tokens were spent and part of the answer delivered.
        this.chargeBroken(tenant, ctx, ticket, live.route, live.acc, promptBound, signal.aborted);
        this.metrics.streamInterruptions.inc({
          provider: live.route.provider,
          cause: signal.aborted ? 'client_closed' : interruptionCause(err),
        });
        throw new StreamInterruptedError(signal.aborted, { cause: err });
      }
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
    return this.outcome(answer, false, answer.costUnits, status, ticket, live.route !== null);
  }

  /**
   * The streamed call of a leader (or uncached request): opens the provider's stream along the
   * routes (a failure before its first event falls back like any call and reaches the client as
   * a JSON error), then relays it batch by batch, at the client's pace. Resolves with the complete
   * answer — which the cache then stores — once the provider has finished; rejects when the stream
   * breaks or the client leaves first (`live.route` set: the response has started).
   */
  private async relay(
    tenant: TenantContext,
    ctx: RequestContext,
    model: ModelConfig,
    request: ChatRequest,
    sink: StreamSink,
    signal: AbortSignal,
    status: CacheStatus,
    live: LiveStream,
  ): Promise<CachedAnswer> {
    const { stream, route, upstreamNs } = await this.providers.openStream(
      tenant,
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
    const promptTokens =
      acc.promptTokens ?? this.admission.promptTokenUpperBound(model, request.messages);
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

  /**
   * Charges and records a stream that broke (or lost its client) after its first byte: the tokens
   * the provider reported, else the prompt's upper bound and one completion token per delta sent
   * (the larger of that and the provider's last count, which Anthropic sends early).
   */
  private chargeBroken(
    tenant: TenantContext,
    ctx: RequestContext,
    ticket: AdmissionTicket,
    route: RouteConfig,
    acc: ChatStreamAccumulator,
    promptBound: number,
    clientClosed: boolean,
  ): void {
    const promptTokens = acc.promptTokens ?? promptBound;
    const completionTokens = Math.max(acc.completionTokens ?? 0, acc.textEvents);
    const cost = costUnits(route.price, { promptTokens, completionTokens });
    ctx.pending.push(
      this.admission.settle(tenant, ticket, { promptTokens, completionTokens, costUnits: cost }),
    );
    const a = ctx.audit;
    a.outcome = clientClosed ? 'client_closed' : 'upstream_error';
    a.errorCode = clientClosed ? null : 'stream_interrupted';
    a.provider = route.provider;
    a.providerModel = acc.providerModel ?? route.model;
    a.promptTokens = promptTokens;
    a.completionTokens = completionTokens;
    a.costUnits = cost;
  }

  /** A hit takes a request slot only: the speculative miss's tokens and budget go back. */
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
    limits: Limits,
    relayed = false,
  ): CompletionOutcome {
    return {
      answer,
      cached,
      costUnits: cost,
      cacheStatus,
      rateLimitRemaining: limits.rateLimitRemaining,
      headers: limits.headers,
      relayed,
    };
  }
}

/** The interruption's cause for the metric: the provider failure's kind (a bounded set). */
function interruptionCause(err: unknown): string {
  const cause = err instanceof StreamInterruptedError ? err.cause : err;
  return cause instanceof ProviderError ? cause.kind : 'other';
}
