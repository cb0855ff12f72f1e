import type { AdmissionService } from '@gateway/admission';
import type { CachedAnswer, CacheService } from '@gateway/cache';
import type { ModelConfig, RouteConfig } from '@gateway/config';
import {
  type AnswerUsage,
  attachRequestContext,
  type RequestContext,
  type TenantContext,
} from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import type { Answered } from '@gateway/lifecycle';
import type { GatewayMetrics } from '@gateway/observability';
import type { ChatStreamEvent, ProvidersService } from '@gateway/providers';
import { parseCompletionBody } from './completion-request.parser';
import { type CompletionExchange, CompletionsService } from './completions.service';
import type { StreamSink } from './stream-sink';

const tenant = { tenantId: 't1' } as TenantContext;
const route = {
  provider: 'mock',
  model: 'mock-1',
  price: { input: 2, output: 3, inputPerMillion: '2', outputPerMillion: '3', maxOutputTokens: 100 },
} as unknown as RouteConfig;
const model: ModelConfig = { alias: 'mock-model', kind: 'chat', routes: [route] };

function service() {
  const providers = {
    resolveModel: jest.fn(() => model),
    complete: jest.fn(() =>
      Promise.resolve({
        result: {
          content: 'hello',
          finishReason: 'stop',
          promptTokens: 4,
          completionTokens: 2,
          providerModel: 'mock-1',
        },
        route,
        upstreamNs: 5n,
      }),
    ),
    openStream: jest.fn(),
    recordStreamUsage: jest.fn(),
  };
  const cache = { key: jest.fn(() => ({ key: 'k' })) };
  const admission = { promptTokenUpperBound: jest.fn(() => 10) };
  const metrics = {
    streamInterruptions: { inc: jest.fn() },
    timeToFirstToken: { observe: jest.fn() },
  };
  const svc = new CompletionsService(
    providers as unknown as ProvidersService,
    cache as unknown as CacheService,
    admission as unknown as AdmissionService,
    metrics as unknown as GatewayMetrics,
  );
  return { svc, providers, cache, metrics };
}

function context(): RequestContext {
  return attachRequestContext({} as never, 'r1', '/v1/chat/completions');
}

const body = (extra: object = {}) =>
  parseCompletionBody({
    model: 'mock-model',
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });

/** An exchange on a miss that runs the compute directly and remembers what it settled. */
function exchange(svc: CompletionsService, ctx: RequestContext, extra: object = {}) {
  const settled: Array<AnswerUsage | null> = [];
  const holds = { started: 0, released: 0 };
  const x = {
    ctx,
    holdReservation: () => {
      holds.started += 1;
      return () => {
        holds.released += 1;
      };
    },
    plan: svc.plan(tenant, ctx, body(extra)),
    cacheStatus: 'MISS',
    answer: async (
      compute: () => Promise<CachedAnswer>,
      spent: (err: unknown) => AnswerUsage | null = () => null,
    ): Promise<Answered<CachedAnswer>> => {
      try {
        const answer = await compute();
        settled.push(answer);
        return {
          answer,
          cached: false,
          costUnits: answer.costUnits,
          cacheStatus: 'MISS',
          rateLimitRemaining: 1,
        };
      } catch (err) {
        settled.push(spent(err));
        throw err;
      }
    },
  };
  return { x: x as unknown as CompletionExchange, settled, holds };
}

describe('CompletionsService.plan', () => {
  it('names the model in the record, reserves the worst case, and builds the key only when asked', () => {
    const { svc, cache } = service();
    const ctx = context();
    const plan = svc.plan(tenant, ctx, body({ max_tokens: 7 }));
    expect(ctx.audit.model).toBe('mock-model');
    expect(plan.demand).toEqual({
      promptTokensUpperBound: 10,
      maxCompletionTokens: 7,
      worstCaseCostUnits: 10 * 2 + 7 * 3,
    });
    expect(cache.key).not.toHaveBeenCalled();
    plan.cacheKey();
    expect(cache.key).toHaveBeenCalledWith(tenant, 'mock-model', plan.parsed.request);
  });

  it("refuses a max_tokens above the model's largest output before anything is reserved", () => {
    const { svc } = service();
    expect(() => svc.plan(tenant, context(), body({ max_tokens: 101 }))).toThrow(GatewayError);
  });
});

describe('CompletionsService.complete', () => {
  it('calls the provider inside the exchange and prices the answer', async () => {
    const { svc, providers } = service();
    const ctx = context();
    const { x, settled } = exchange(svc, ctx);
    const signal = new AbortController().signal;
    const out = await svc.complete(x, signal);
    expect(providers.complete).toHaveBeenCalledWith(
      tenant,
      model,
      x.plan.parsed.request,
      ctx.audit,
      signal,
    );
    expect(out).toMatchObject({ relayed: false, cacheStatus: 'MISS' });
    expect(out.answer).toMatchObject({
      content: 'hello',
      provider: 'mock',
      costUnits: 4 * 2 + 2 * 3,
    });
    expect(settled).toEqual([out.answer]);
    expect(ctx.upstreamNs).toBe(5n);
  });

  it('charges and records a stream that broke after its first byte', async () => {
    const { svc, providers, metrics } = service();
    const batches: ChatStreamEvent[][] = [
      [
        { kind: 'start', providerModel: null },
        { kind: 'text', text: 'a' },
        { kind: 'text', text: 'b' },
      ],
    ];
    providers.openStream.mockResolvedValue({
      stream: {
        read: () =>
          batches.length > 0
            ? Promise.resolve(batches.shift()!)
            : Promise.reject(new Error('reset')),
        close: jest.fn(),
      },
      route,
      upstreamNs: 0n,
    });
    const sink: StreamSink = { open: jest.fn(), write: jest.fn(() => Promise.resolve()) };
    const ctx = context();
    const { x, settled, holds } = exchange(svc, ctx, { stream: true });
    await expect(svc.complete(x, new AbortController().signal, sink)).rejects.toMatchObject({
      name: 'StreamInterruptedError',
      clientClosed: false,
    });
    // The reservation was held for the stream's life and let go when it broke.
    expect(holds).toEqual({ started: 1, released: 1 });
    // The prompt's bound (the provider never said) and one token per text delta sent.
    const charged = {
      provider: 'mock',
      providerModel: 'mock-1',
      promptTokens: 10,
      completionTokens: 2,
      costUnits: 10 * 2 + 2 * 3,
    };
    expect(settled).toEqual([charged]);
    expect(ctx.audit).toMatchObject({
      outcome: 'upstream_error',
      errorCode: 'stream_interrupted',
      ...charged,
    });
    expect(metrics.streamInterruptions.inc).toHaveBeenCalledWith({
      provider: 'mock',
      cause: 'other',
    });
    expect(sink.open).toHaveBeenCalledWith({ 'X-Cache': 'MISS', 'X-Gateway-Provider': 'mock' });
  });

  it('a stream that fails before its first event settles nothing and stays an ordinary error', async () => {
    const { svc, providers } = service();
    const refused = new Error('no route');
    providers.openStream.mockRejectedValue(refused);
    const ctx = context();
    const { x, settled, holds } = exchange(svc, ctx, { stream: true });
    const sink: StreamSink = { open: jest.fn(), write: jest.fn() };
    await expect(svc.complete(x, new AbortController().signal, sink)).rejects.toBe(refused);
    expect(settled).toEqual([null]);
    expect(holds).toEqual({ started: 1, released: 1 });
    expect(ctx.audit.outcome).toBeNull();
  });
});
