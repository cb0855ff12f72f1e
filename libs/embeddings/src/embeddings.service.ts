import { Injectable } from '@nestjs/common';
import {
  type AdmissionDemand,
  type AdmissionTicket,
  AdmissionService,
  inputTokenUpperBound,
  type Speculation,
} from '@gateway/admission';
import { costUnits, worstCaseUnits } from '@gateway/billing';
import {
  type CacheMiss,
  type CacheOpening,
  CacheService,
  type Coalesced,
  type EmbeddingAnswer,
} from '@gateway/cache';
import type { ModelConfig } from '@gateway/config';
import type { RequestContext, TenantContext } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { ProvidersService } from '@gateway/providers';
import type { ParsedEmbedding } from './embedding-request.parser';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** What a response reports of the tenant's rate limits. */
type Limits = Pick<AdmissionTicket, 'headers' | 'rateLimitRemaining'>;

export interface EmbeddingsOutcome {
  readonly answer: EmbeddingAnswer;
  /** True for a cache hit or an answer shared by a coalesced leader: cost 0 for this request. */
  readonly cached: boolean;
  readonly costUnits: number;
  readonly cacheStatus: CacheStatus;
  /** Rate-limit headers for the response. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The embeddings pipeline, in the completion pipeline's order and through the same facades: model
 * (an embedding alias) → cache lookup sent together with a speculative admission as a miss (the
 * request slot, input tokens against tokens_per_minute, the budget's worst case: the input-token
 * bound at the dearest route's input price) → on a hit, the reservations go back and only the slot
 * stays → provider (coalesced across instances; the router's retries, fallback and breakers) →
 * settlement. Fills the request's audit draft, which the audit interceptor writes before the
 * response leaves.
 */
@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly providers: ProvidersService,
    private readonly cache: CacheService,
    private readonly admission: AdmissionService,
  ) {}

  async embed(
    tenant: TenantContext,
    ctx: RequestContext,
    parsed: ParsedEmbedding,
    cacheControl: string | undefined,
    signal: AbortSignal,
    /** Called as soon as the request is admitted, so even a later failure carries rate-limit headers. */
    setHeaders: (headers: Readonly<Record<string, string>>) => void,
  ): Promise<EmbeddingsOutcome> {
    ctx.audit.model = parsed.model;
    const model = this.providers.resolveModel(tenant, parsed.model, 'embedding');
    const { request } = parsed;
    checkDimensions(model, request.dimensions);

    const inputBound = inputTokenUpperBound(request.input);
    const demand: AdmissionDemand = {
      promptTokensUpperBound: inputBound,
      maxCompletionTokens: 0,
      worstCaseCostUnits: worstCaseUnits(model, inputBound, 0),
    };
    const controls = this.cache.controls(cacheControl);

    let missed: CacheMiss<EmbeddingAnswer>;
    let ticket: AdmissionTicket;
    if (!this.cache.engages(controls)) {
      missed = this.cache.bypass<EmbeddingAnswer>();
      ticket = await this.admission.admit(tenant, demand);
    } else {
      // The lookup and the admission go out together: a miss waits for one round trip, not two.
      const key = this.cache.embeddingKey(tenant, model.alias, request, parsed.encoding);
      const opening = this.cache.open(tenant, key, controls);
      const speculating = this.admission.speculate(tenant, demand); // never rejects
      let opened: CacheOpening<EmbeddingAnswer>;
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
        recordCached(ctx, opened.answer);
        return outcome(opened.answer, true, 0, 'HIT', limits);
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
    setHeaders(ticket.headers);

    const compute = async (): Promise<EmbeddingAnswer> => {
      const { result, route, upstreamNs } = await this.providers.embed(
        tenant,
        model,
        request,
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
    };
    let shared: Coalesced<EmbeddingAnswer>;
    try {
      shared = await missed.fill.run(compute);
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
      recordCached(ctx, answer);
      return outcome(answer, true, 0, 'HIT', ticket);
    }
    ctx.pending.push(
      this.admission.settle(tenant, ticket, {
        promptTokens: answer.promptTokens,
        completionTokens: 0,
        costUnits: answer.costUnits,
      }),
    );
    const a = ctx.audit;
    a.outcome = 'success';
    a.provider = answer.provider;
    a.providerModel = answer.providerModel;
    a.promptTokens = answer.promptTokens;
    a.completionTokens = 0;
    a.costUnits = answer.costUnits;
    const status = missed.status === 'bypass' ? 'BYPASS' : 'MISS';
    return outcome(answer, false, answer.costUnits, status, ticket);
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

function recordCached(ctx: RequestContext, answer: EmbeddingAnswer): void {
  const a = ctx.audit;
  a.outcome = 'cached';
  a.cached = true;
  a.provider = answer.provider;
  a.providerModel = answer.providerModel;
  a.promptTokens = answer.promptTokens;
  a.completionTokens = 0;
  a.costUnits = 0;
  a.costSavedUnits = answer.costUnits;
}

function outcome(
  answer: EmbeddingAnswer,
  cached: boolean,
  cost: number,
  cacheStatus: CacheStatus,
  limits: Limits,
): EmbeddingsOutcome {
  return { answer, cached, costUnits: cost, cacheStatus, headers: limits.headers };
}
