import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { AdmissionService, AdmissionTicket, Speculation } from '@gateway/admission';
import type { CacheKey, CacheMiss, CacheOpening, CacheService } from '@gateway/cache';
import {
  type AnswerUsage,
  attachRequestContext,
  type RequestContext,
  type TenantContext,
} from '@gateway/context';
import { CacheInterceptor } from './cache.interceptor';
import { LimitsGuard } from './limits.guard';
import { exchangeOf, type MeterPlan, parkPlan } from './metered-exchange';

interface Answer {
  readonly text: string;
  readonly cost: number;
}

const tenant = { tenantId: 't1' } as TenantContext;
const demand = { promptTokensUpperBound: 10, maxCompletionTokens: 5, worstCaseCostUnits: 100 };
const ticket = {
  headers: { 'X-RateLimit-Remaining': '4' },
  rateLimitRemaining: 4,
} as unknown as AdmissionTicket;
const STORED = Promise.resolve();

const usage = (a: Answer): AnswerUsage => ({
  provider: 'mock',
  providerModel: 'mock-1',
  promptTokens: 3,
  completionTokens: 2,
  costUnits: a.cost,
});

/** A miss's fill that records how it was used; `leader` false plays a coalesced follower. */
function fill(leader = true, shared?: Answer) {
  const used = { run: 0, abandon: 0 };
  const miss: CacheMiss<Answer> = {
    status: 'miss',
    fill: {
      run: async (compute) => {
        used.run++;
        const answer = leader ? await compute() : shared!;
        return { answer, leader, stored: STORED };
      },
      abandon: () => {
        used.abandon++;
        return STORED;
      },
    },
  };
  return { miss, used };
}

function admission(speculation: Speculation) {
  return {
    admit: jest.fn(() => Promise.resolve(ticket)),
    speculate: jest.fn(() => Promise.resolve(speculation)),
    releaseAsHit: jest.fn(() => ({ headers: { 'X-RateLimit-Remaining': '4' }, released: STORED })),
    settle: jest.fn(() => STORED),
    keepAlive: jest.fn(() => jest.fn()),
  };
}

function cache(opening: Promise<CacheOpening<Answer>>, engaged = true) {
  return {
    controls: jest.fn(() => ({ lookup: engaged, store: engaged })),
    engages: jest.fn(() => engaged),
    open: jest.fn(() => opening),
    bypass: jest.fn(() => fill().miss),
  };
}

interface Run {
  ctx: RequestContext;
  headers: Record<string, string>;
  handler: jest.Mock;
  result: Promise<unknown>;
}

/** The lifecycle after authentication: the plan parked, LimitsGuard, CacheInterceptor, handler. */
async function run(
  adm: ReturnType<typeof admission>,
  c: ReturnType<typeof cache>,
  handler: (ctx: RequestContext) => Promise<unknown>,
): Promise<Run> {
  const req = { headers: {} } as IncomingMessage;
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (n: string, v: string) => (headers[n] = v),
  } as unknown as ServerResponse;
  const ctx = attachRequestContext(req, 'r1', '/x');
  const plan: MeterPlan<Answer> = {
    tenant,
    demand,
    cacheKey: () => ({ tenantId: 't1' }) as unknown as CacheKey<Answer>,
    usage,
  };
  parkPlan(ctx, plan);
  const host = new ExecutionContextHost([req, res]);
  const adm2 = adm as unknown as AdmissionService;
  const allowed = await new LimitsGuard(adm2, c as unknown as CacheService).canActivate(host);
  expect(allowed).toBe(true);
  const h = jest.fn(() => handler(ctx));
  const result = new CacheInterceptor(adm2).around(host, h);
  return { ctx, headers, handler: h, result };
}

const compute = (cost: number) => () => Promise.resolve({ text: 'fresh', cost });

describe('LimitsGuard + CacheInterceptor', () => {
  it('a hit takes the slot only, fills the record as cached, and never computes', async () => {
    const adm = admission({ kind: 'admitted', ticket });
    const c = cache(Promise.resolve({ status: 'hit', answer: { text: 'old', cost: 7 } }));
    const computing = jest.fn(compute(1));
    const r = await run(adm, c, (ctx) => exchangeOf<Answer>(ctx).answer(computing));
    await expect(r.result).resolves.toEqual({
      answer: { text: 'old', cost: 7 },
      cached: true,
      costUnits: 0,
      cacheStatus: 'HIT',
      rateLimitRemaining: 4,
    });
    expect(computing).not.toHaveBeenCalled();
    expect(adm.releaseAsHit).toHaveBeenCalledWith(tenant, ticket);
    expect(adm.settle).not.toHaveBeenCalled();
    expect(r.headers['X-RateLimit-Remaining']).toBe('4');
    expect(r.ctx.audit).toMatchObject({ outcome: 'cached', costUnits: 0, costSavedUnits: 7 });
  });

  it('a miss is admitted on its speculation, computed in the fill and settled with its cost', async () => {
    const adm = admission({ kind: 'admitted', ticket });
    const { miss, used } = fill();
    const r = await run(adm, cache(Promise.resolve(miss)), (ctx) =>
      exchangeOf<Answer>(ctx).answer(compute(9)),
    );
    await expect(r.result).resolves.toMatchObject({ cacheStatus: 'MISS', costUnits: 9 });
    expect(used.run).toBe(1);
    expect(adm.admit).not.toHaveBeenCalled();
    expect(adm.settle).toHaveBeenCalledWith(tenant, ticket, {
      promptTokens: 3,
      completionTokens: 2,
      costUnits: 9,
    });
    expect(r.ctx.audit).toMatchObject({ outcome: 'success', costUnits: 9, provider: 'mock' });
    expect(r.ctx.pending).toContain(STORED);
  });

  it("holds a miss's reservation for a long answer, and holds nothing for a hit", async () => {
    const adm = admission({ kind: 'admitted', ticket });
    const r = await run(adm, cache(Promise.resolve(fill().miss)), (ctx) => {
      const release = exchangeOf<Answer>(ctx).holdReservation();
      release();
      return exchangeOf<Answer>(ctx).answer(compute(1));
    });
    await r.result;
    expect(adm.keepAlive).toHaveBeenCalledWith(tenant, ticket);
    expect(adm.keepAlive.mock.results[0].value).toHaveBeenCalledTimes(1);

    const hitAdm = admission({ kind: 'admitted', ticket });
    const hit = await run(
      hitAdm,
      cache(Promise.resolve({ status: 'hit', answer: { text: 'old', cost: 7 } })),
      (ctx) => {
        exchangeOf<Answer>(ctx).holdReservation()();
        return exchangeOf<Answer>(ctx).answer(compute(1));
      },
    );
    await hit.result;
    expect(hitAdm.keepAlive).not.toHaveBeenCalled();
  });

  it('starts the lookup and the speculation together, before either answers', async () => {
    const adm = admission({ kind: 'admitted', ticket });
    let open!: (o: CacheOpening<Answer>) => void;
    const c = cache(new Promise((resolve) => (open = resolve)));
    const r = await run(adm, c, (ctx) => exchangeOf<Answer>(ctx).answer(compute(1)));
    expect(c.open).toHaveBeenCalledTimes(1);
    expect(adm.speculate).toHaveBeenCalledWith(tenant, demand);
    expect(r.handler).not.toHaveBeenCalled();
    open(fill().miss);
    await r.result;
    expect(r.handler).toHaveBeenCalledTimes(1);
  });

  it('an undecided speculation is admitted again as a miss', async () => {
    const adm = admission({ kind: 'undecided' });
    const r = await run(adm, cache(Promise.resolve(fill().miss)), (ctx) =>
      exchangeOf<Answer>(ctx).answer(compute(1)),
    );
    await r.result;
    expect(adm.admit).toHaveBeenCalledWith(tenant, demand);
  });

  it('a refused miss abandons the fill and never reaches the handler', async () => {
    const refusal = new Error('rate limited');
    const adm = admission({ kind: 'refused', error: refusal });
    const { miss, used } = fill();
    const r = await run(adm, cache(Promise.resolve(miss)), () => Promise.resolve('x'));
    await expect(r.result).rejects.toBe(refusal);
    expect(used.abandon).toBe(1);
    expect(r.handler).not.toHaveBeenCalled();
  });

  it('a failed lookup releases the speculative reservation', async () => {
    const adm = admission({ kind: 'admitted', ticket });
    const broken = new Error('decode');
    const r = await run(adm, cache(Promise.reject(broken)), () => Promise.resolve('x'));
    await expect(r.result).rejects.toBe(broken);
    await new Promise((resolve) => setImmediate(resolve));
    expect(adm.settle).toHaveBeenCalledWith(tenant, ticket, null);
  });

  it('a handler that fails before using the fill abandons it and releases the reservation', async () => {
    const adm = admission({ kind: 'admitted', ticket });
    const { miss, used } = fill();
    const bug = new Error('shape');
    const r = await run(adm, cache(Promise.resolve(miss)), () => Promise.reject(bug));
    await expect(r.result).rejects.toBe(bug);
    expect(used.abandon).toBe(1);
    expect(adm.settle).toHaveBeenCalledWith(tenant, ticket, null);
  });

  it('a coalesced follower pays nothing and is recorded as cached', async () => {
    const adm = admission({ kind: 'admitted', ticket });
    const { miss } = fill(false, { text: 'shared', cost: 5 });
    const r = await run(adm, cache(Promise.resolve(miss)), (ctx) =>
      exchangeOf<Answer>(ctx).answer(compute(1)),
    );
    await expect(r.result).resolves.toMatchObject({ cached: true, cacheStatus: 'HIT' });
    expect(adm.settle).toHaveBeenCalledWith(tenant, ticket, null);
    expect(r.ctx.audit).toMatchObject({ outcome: 'cached', costSavedUnits: 5 });
  });

  it('a failed call settles what `spent` says it used, then rethrows', async () => {
    const adm = admission({ kind: 'admitted', ticket });
    const failure = new Error('upstream');
    const r = await run(adm, cache(Promise.resolve(fill().miss)), (ctx) =>
      exchangeOf<Answer>(ctx).answer(
        () => Promise.reject(failure),
        () => usage({ text: '', cost: 4 }),
      ),
    );
    await expect(r.result).rejects.toBe(failure);
    expect(adm.settle).toHaveBeenCalledTimes(1);
    expect(adm.settle).toHaveBeenCalledWith(tenant, ticket, {
      promptTokens: 3,
      completionTokens: 2,
      costUnits: 4,
    });
  });

  it('no-store is admitted (or refused) by the guard itself, with no lookup', async () => {
    const adm = admission({ kind: 'admitted', ticket });
    const c = cache(Promise.resolve(fill().miss), false);
    const r = await run(adm, c, (ctx) => exchangeOf<Answer>(ctx).answer(compute(2)));
    await expect(r.result).resolves.toMatchObject({ cacheStatus: 'MISS' });
    expect(c.open).not.toHaveBeenCalled();
    expect(adm.speculate).not.toHaveBeenCalled();
    expect(adm.admit).toHaveBeenCalledWith(tenant, demand);
    expect(r.headers['X-RateLimit-Remaining']).toBe('4');

    const refused = admission({ kind: 'admitted', ticket });
    refused.admit.mockImplementation(() => Promise.reject(new Error('budget')));
    await expect(
      run(refused, cache(Promise.resolve(fill().miss), false), jest.fn()),
    ).rejects.toThrow('budget');
  });

  it('refuses to run without the route request step that parks the plan', () => {
    const req = { headers: {} } as IncomingMessage;
    attachRequestContext(req, 'r2', '/x');
    const guard = new LimitsGuard(
      {} as AdmissionService,
      cache(Promise.resolve(fill().miss)) as never,
    );
    expect(() => guard.canActivate(new ExecutionContextHost([req, {}]))).toThrow(/no plan parked/);
  });
});
