import type { ServerResponse } from 'node:http';
import type {
  ActualUsage,
  AdmissionDemand,
  AdmissionService,
  AdmissionTicket,
  Speculation,
} from '@gateway/admission';
import type { CacheKey, CacheMiss, CacheOpening } from '@gateway/cache';
import {
  type AnswerUsage,
  markStage,
  type RequestContext,
  type TenantContext,
} from '@gateway/context';

export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** What a response reports of the tenant's rate limits. */
export type Limits = Pick<AdmissionTicket, 'headers' | 'rateLimitRemaining'>;

/**
 * What a metered route's request step (a guard before LimitsGuard) learned from the body: what
 * to reserve, how to find the answer in the cache, and what an answer costs.
 */
export interface MeterPlan<A> {
  readonly tenant: TenantContext;
  readonly demand: AdmissionDemand;
  /** The answer's cache key; built only when the request's Cache-Control engages the cache. */
  cacheKey(): CacheKey<A>;
  /** Who gave an answer and what it used: for the settlement and the record. */
  usage(answer: A): AnswerUsage;
}

/** How a request got its answer, for the handler to shape its response. */
export interface Answered<A> {
  readonly answer: A;
  /** True for a cache hit or an answer shared by a coalesced leader: cost 0 for this request. */
  readonly cached: boolean;
  readonly costUnits: number;
  readonly cacheStatus: CacheStatus;
  readonly rateLimitRemaining: number;
}

/** Started by LimitsGuard: the admission, and the cache lookup when the cache is engaged. */
export type Lookup<A> =
  | { readonly kind: 'bypass'; readonly miss: CacheMiss<A>; readonly ticket: AdmissionTicket }
  | {
      readonly kind: 'open';
      readonly opening: Promise<CacheOpening<A>>;
      readonly speculating: Promise<Speculation>;
    };

/** Decided by CacheInterceptor once the lookup is in. */
export type Decision<A> =
  | { readonly kind: 'hit'; readonly answer: A; readonly limits: Limits }
  | { readonly kind: 'miss'; readonly miss: CacheMiss<A>; readonly ticket: AdmissionTicket };

/**
 * One metered request as it passes through its lifecycle, parked on its RequestContext: the
 * request step sets the plan, LimitsGuard starts the lookup, CacheInterceptor decides hit or miss,
 * and the handler gets its answer with `answer(compute)`, which runs the provider call inside the
 * coalescing fill and settles it. Whatever the handler does not use, the interceptor releases.
 */
export class MeteredExchange<A, P extends MeterPlan<A> = MeterPlan<A>> {
  lookup: Lookup<A> | null = null;
  decision: Decision<A> | null = null;
  private fillUsed = false;

  constructor(
    readonly plan: P,
    readonly ctx: RequestContext,
    readonly res: ServerResponse,
    private readonly admission: AdmissionService,
  ) {}

  /** What X-Cache will say once answered: known before the call (a stream sends it first). */
  get cacheStatus(): CacheStatus {
    const d = this.decided();
    if (d.kind === 'hit') return 'HIT';
    return d.miss.status === 'bypass' ? 'BYPASS' : 'MISS';
  }

  /**
   * The answer: the cached one on a hit; otherwise `compute` run inside the coalescing fill (an
   * identical request in flight may answer instead), then the admission settled with what the
   * answer cost and the record's draft filled. On failure the reservation is settled with what
   * `spent` says was used (nothing, by default) and the error rethrown. Storing the answer and
   * the settlement overlap the record's commit (`ctx.pending`) instead of delaying the response.
   */
  async answer(
    compute: () => Promise<A>,
    spent: (err: unknown) => AnswerUsage | null = () => null,
  ): Promise<Answered<A>> {
    const d = this.decided();
    if (d.kind === 'hit') {
      return answered(d.answer, true, 0, 'HIT', d.limits.rateLimitRemaining);
    }
    if (this.fillUsed) throw new Error('MeteredExchange.answer: the fill was already used');
    this.fillUsed = true;
    const { miss, ticket } = d;
    const { ctx, plan } = this;
    const { tenant } = plan;
    let shared;
    try {
      shared = await miss.fill.run(compute);
    } catch (err) {
      const used = spent(err);
      ctx.pending.push(this.admission.settle(tenant, ticket, used && actual(used)));
      throw err;
    }
    markStage(ctx, 'provider');
    ctx.pending.push(shared.stored);
    const usage = plan.usage(shared.answer);
    if (!shared.leader) {
      ctx.pending.push(this.admission.settle(tenant, ticket, null));
      ctx.audit.answeredFromCache(usage);
      return answered(shared.answer, true, 0, 'HIT', ticket.rateLimitRemaining);
    }
    ctx.pending.push(this.admission.settle(tenant, ticket, actual(usage)));
    ctx.audit.answered(usage);
    const status = miss.status === 'bypass' ? 'BYPASS' : 'MISS';
    return answered(shared.answer, false, usage.costUnits, status, ticket.rateLimitRemaining);
  }

  /**
   * Keeps a miss's reservation from expiring while its answer takes longer than the reservation
   * lifetime allows (a stream lives as long as its provider keeps sending); the returned function
   * stops it, and so does the settlement. Nothing to hold on a hit.
   */
  holdReservation(): () => void {
    const d = this.decided();
    if (d.kind === 'hit') return () => undefined;
    return this.admission.keepAlive(this.plan.tenant, d.ticket);
  }

  /**
   * A miss whose handler failed before calling the provider: identical requests waiting for it
   * must not wait for a call never made, and the reservation goes back whole.
   */
  releaseUnused(): void {
    const d = this.decision;
    if (d === null || d.kind !== 'miss' || this.fillUsed) return;
    this.fillUsed = true;
    void d.miss.fill.abandon();
    this.ctx.pending.push(this.admission.settle(this.plan.tenant, d.ticket, null));
  }

  private decided(): Decision<A> {
    if (this.decision === null) {
      throw new Error('metered route without CacheInterceptor: the lifecycle is miswired');
    }
    return this.decision;
  }
}

function actual(usage: AnswerUsage): ActualUsage {
  const { promptTokens, completionTokens, costUnits } = usage;
  return { promptTokens, completionTokens, costUnits };
}

function answered<A>(
  answer: A,
  cached: boolean,
  costUnits: number,
  cacheStatus: CacheStatus,
  rateLimitRemaining: number,
): Answered<A> {
  return { answer, cached, costUnits, cacheStatus, rateLimitRemaining };
}

// `ctx.metered` holds the plan after the request step, then the exchange after LimitsGuard.

/** The route's request step parks the request's plan for LimitsGuard (once per request). */
export function parkPlan<A>(ctx: RequestContext, plan: MeterPlan<A>): void {
  ctx.metered = plan;
}

/** LimitsGuard opens the request's exchange from the parked plan. */
export function openExchange(
  ctx: RequestContext,
  res: ServerResponse,
  admission: AdmissionService,
): MeteredExchange<unknown> {
  const plan = ctx.metered;
  if (plan === null || typeof plan !== 'object' || plan instanceof MeteredExchange) {
    throw new Error('metered route without its request step: no plan parked');
  }
  const exchange = new MeteredExchange(plan as MeterPlan<unknown>, ctx, res, admission);
  ctx.metered = exchange;
  return exchange;
}

/** The request's exchange; throws if LimitsGuard did not open one (a wiring bug). */
export function exchangeOf<A, P extends MeterPlan<A> = MeterPlan<A>>(
  ctx: RequestContext,
): MeteredExchange<A, P> {
  const exchange = ctx.metered;
  if (!(exchange instanceof MeteredExchange)) {
    throw new Error('metered route without LimitsGuard: no exchange opened');
  }
  return exchange as MeteredExchange<A, P>;
}
