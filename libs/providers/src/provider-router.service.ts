import { Injectable, Logger } from '@nestjs/common';
import type { ProviderConfig, RouteConfig } from '@gateway/config';
import type { AttemptRecord, AuditDraft } from '@gateway/context';
import { GatewayError } from '@gateway/errors';
import { GatewayMetrics } from '@gateway/observability';
import type { ChatRequest, ChatResult } from '@gateway/types';
import { ProviderCaller } from './provider-caller.service';
import { ProviderError } from './provider.error';
import { ProviderRegistry, type ProviderRuntime } from './provider-registry.service';
import { backoffMs } from './resilience/backoff';
import { sleep } from './resilience/sleep';

/** What one successful attempt reports of itself, when it knows at once (a stream knows at its end). */
export interface AttemptUsage {
  readonly providerModel: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/**
 * One kind of upstream call the router can run along a model's routes: a chat completion, the
 * opening of a stream (it succeeds at the provider's first event), an embedding. The router owns
 * retries, fallback, breakers, attempt records and metrics; the call owns only the one attempt.
 */
export interface RouteCall<T> {
  /** `gen_ai_operation_name` of the metrics. */
  readonly operation: string;
  /** One attempt on one provider, within `timeoutMs`; throws ProviderError (or anything, = invalid). */
  attempt(
    provider: ProviderConfig,
    route: RouteConfig,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<T>;
  /** Model and tokens of a finished attempt, or null when they are only known later. */
  usage(value: T): AttemptUsage | null;
}

export interface Routed<T> {
  value: T;
  route: RouteConfig;
  /** Time spent waiting on providers (calls and backoff), for the gateway-overhead metric. */
  upstreamNs: bigint;
}

export interface RoutedResult {
  result: ChatResult;
  route: RouteConfig;
  /** Time spent waiting on providers (calls and backoff), for the gateway-overhead metric. */
  upstreamNs: bigint;
}

/** A retry is not worth starting with less time than this left on the provider's deadline. */
const MIN_RETRY_WINDOW_MS = 250;
/**
 * Retry-After when every route lacks its key: nothing changes until an operator sets it and
 * restarts, so the hint is long and `x-should-retry: false` tells SDKs not to retry at all.
 */
const UNCONFIGURED_RETRY_AFTER_S = 60;
/** What every attempt of one `run` shares: the call, the request's draft and attempts so far. */
interface RunState<T> {
  readonly call: RouteCall<T>;
  readonly draft: AuditDraft;
  readonly attempts: AttemptRecord[];
  readonly signal: AbortSignal | undefined;
}

interface RouteOutcome<T> {
  readonly routed?: Routed<T>;
  /** Calls made on this route and how many of them timed out. */
  readonly calls: number;
  readonly timeouts: number;
}

/**
 * The one retry loop of the gateway, whatever the call: routes in order; per route, a call, then retries of
 * retryable failures with jittered exponential backoff (or the provider's Retry-After when it fits
 * the provider's deadline), within `max_retries` and the provider's retry budget; then the next
 * route. Open circuits, and providers without their API key, are skipped without a call. A malformed
 * request (upstream 400) stops at once.
 */
@Injectable()
export class ProviderRouter {
  private readonly logger = new Logger('Providers');

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly caller: ProviderCaller,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** A chat completion along the routes (see `run`). */
  async complete(
    routes: readonly RouteConfig[],
    request: ChatRequest,
    draft: AuditDraft,
    signal?: AbortSignal,
  ): Promise<RoutedResult> {
    const { value, route, upstreamNs } = await this.run(
      routes,
      draft,
      {
        operation: 'chat',
        attempt: (provider, r, timeoutMs, s) =>
          this.caller.chat(provider, r, request, timeoutMs, s),
        usage: (result) => result,
      },
      signal,
    );
    return { result: value, route, upstreamNs };
  }

  /**
   * Runs `call` along the routes until one attempt succeeds. Every attempt is appended to
   * `draft.attempts`; on success `draft.provider`, `upstreamLatencyMs` and (when the call reports
   * it) `providerModel` are set. Throws GatewayError: `upstream_bad_request` (400, no fallback),
   * `all_providers_failed` (502), `upstream_timeout` (504, every call timed out or the caller gave
   * up), `no_provider_available` (503, no call could be made).
   */
  async run<T>(
    routes: readonly RouteConfig[],
    draft: AuditDraft,
    call: RouteCall<T>,
    signal?: AbortSignal,
  ): Promise<Routed<T>> {
    const attempts: AttemptRecord[] = [];
    const state: RunState<T> = { call, draft, attempts, signal };
    let calls = 0;
    let timeouts = 0;
    let upstreamNs = 0n;
    let previous: string | null = null;
    try {
      for (const route of routes) {
        const runtime = this.registry.get(route.provider);
        if (runtime.setup !== null) {
          // Not a failure: `previous` stays, so passing over it counts as no fallback.
          attempts.push({
            provider: route.provider,
            outcome: 'skipped_unconfigured',
            latency_ms: 0,
          });
          continue;
        }
        const started = process.hrtime.bigint();
        const outcome = await this.tryRoute(state, runtime, route, previous);
        upstreamNs += process.hrtime.bigint() - started;
        calls += outcome.calls;
        timeouts += outcome.timeouts;
        if (outcome.routed) {
          draft.provider = route.provider;
          const usage = call.usage(outcome.routed.value);
          if (usage !== null) draft.providerModel = usage.providerModel;
          draft.upstreamLatencyMs = Number(upstreamNs / 1_000_000n);
          return { ...outcome.routed, upstreamNs };
        }
        previous = route.provider;
      }
    } finally {
      draft.attempts.push(...attempts);
      if (draft.upstreamLatencyMs === null && calls > 0) {
        draft.upstreamLatencyMs = Number(upstreamNs / 1_000_000n);
      }
    }
    throw this.failure(routes, attempts, calls, timeouts);
  }

  private async tryRoute<T>(
    state: RunState<T>,
    runtime: ProviderRuntime,
    route: RouteConfig,
    previous: string | null,
  ): Promise<RouteOutcome<T>> {
    const { call, draft, attempts, signal } = state;
    const { config: provider, breaker, budget } = runtime;
    const admission = breaker.tryAcquire(Date.now());
    if (admission === 'reject') {
      attempts.push({ provider: provider.name, outcome: 'skipped_circuit_open', latency_ms: 0 });
      return { calls: 0, timeouts: 0 };
    }
    if (previous !== null) {
      this.metrics.fallbacks.inc({ from_provider: previous, to_provider: provider.name });
    }
    const probe = admission === 'probe';
    const deadline = Date.now() + provider.deadlineMs;
    let calls = 0;
    let timeouts = 0;
    for (let retry = 0; ; retry++) {
      const startedAt = Date.now();
      if (retry === 0) budget.recordRequest(startedAt);
      const timeoutMs = Math.max(1, Math.min(provider.timeoutMs, deadline - startedAt));
      const t0 = process.hrtime.bigint();
      let error: ProviderError;
      try {
        calls++;
        const value = await call.attempt(provider, route, timeoutMs, signal);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        breaker.onSuccess(Date.now(), probe);
        this.registry.recordCall(provider.name, null);
        this.recordAttempt(call.operation, attempts, route, 'success', seconds, null);
        const usage = call.usage(value);
        if (usage !== null) this.recordTokens(call.operation, route, usage);
        return { routed: { value, route, upstreamNs: 0n }, calls, timeouts };
      } catch (err) {
        error = ProviderCaller.toProviderError(err);
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const now = Date.now();

      if (error.kind === 'aborted') {
        breaker.release(probe);
        this.recordAttempt(call.operation, attempts, route, 'timeout', seconds, error);
        throw new GatewayError(
          'upstream_timeout',
          'The request was cancelled before a provider answered.',
          {
            cause: error,
          },
        );
      }
      this.recordAttempt(call.operation, attempts, route, error.attemptOutcome, seconds, error);
      if (error.kind === 'bad_request') {
        // The provider is healthy; the request is at fault and every other provider would say so.
        breaker.onSuccess(now, probe);
        throw new GatewayError('upstream_bad_request', error.message, { cause: error });
      }
      if (error.kind === 'timeout') timeouts++;
      breaker.onFailure(now, probe);
      this.registry.recordCall(provider.name, `${error.kind}: ${error.message}`);
      this.logger.debug(
        {
          requestId: draft.requestId,
          provider: provider.name,
          kind: error.kind,
          status: error.status,
          retry,
        },
        'upstream attempt failed',
      );

      if (retry >= provider.maxRetries || !error.isRetryable || probe) break;
      if (breaker.current(now) !== 'closed') break;
      const wait = Math.max(backoffMs(retry + 1), error.retryAfterMs ?? 0);
      if (deadline - (now + wait) < Math.min(provider.timeoutMs, MIN_RETRY_WINDOW_MS)) break;
      if (!budget.tryRetry(now)) break;
      try {
        await sleep(wait, signal);
      } catch {
        throw new GatewayError(
          'upstream_timeout',
          'The request was cancelled before a provider answered.',
        );
      }
    }
    return { calls, timeouts };
  }

  private recordAttempt(
    operation: string,
    attempts: AttemptRecord[],
    route: RouteConfig,
    outcome: AttemptRecord['outcome'],
    seconds: number,
    error: ProviderError | null,
  ): void {
    attempts.push({ provider: route.provider, outcome, latency_ms: Math.round(seconds * 1000) });
    this.metrics.upstreamAttempts.inc({ provider: route.provider, outcome });
    const labels = {
      gen_ai_operation_name: operation,
      gen_ai_provider_name: route.provider,
      gen_ai_request_model: route.model,
    };
    this.metrics.operationDuration.observe(
      error === null ? labels : { ...labels, error_type: error.kind },
      seconds,
    );
  }

  /**
   * The token-usage histogram for one answered call. Public for calls whose usage is only known
   * after the router returned (a stream reports its usage at its end).
   */
  recordTokens(operation: string, route: RouteConfig, result: AttemptUsage): void {
    const labels = {
      gen_ai_operation_name: operation,
      gen_ai_provider_name: route.provider,
      gen_ai_request_model: route.model,
    };
    this.metrics.tokenUsage.observe({ ...labels, gen_ai_token_type: 'input' }, result.promptTokens);
    this.metrics.tokenUsage.observe(
      { ...labels, gen_ai_token_type: 'output' },
      result.completionTokens,
    );
  }

  /** 503 when no call could be made, 504 when every call timed out, else 502 (docs/api.md §4 and §7). */
  private failure(
    routes: readonly RouteConfig[],
    attempts: readonly AttemptRecord[],
    calls: number,
    timeouts: number,
  ): GatewayError {
    const details = { attempts: attempts.map((a) => ({ ...a })) };
    const summary = attempts.map((a) => `${a.provider}: ${a.outcome}`).join(', ');
    if (calls === 0) return this.unavailable(routes, details, summary);
    if (timeouts === calls) {
      return new GatewayError('upstream_timeout', `No provider answered in time (${summary}).`, {
        details,
      });
    }
    return new GatewayError('all_providers_failed', `All providers failed (${summary}).`, {
      details,
    });
  }

  /**
   * 503 `no_provider_available`: no route could be called. When the reason is a missing key, the
   * message says which one to set; when every route lacks its key no wait helps (Retry-After is a
   * long hint and `x-should-retry: false` stops SDK retries), else Retry-After is the time until
   * the first open circuit lets a probe through.
   */
  private unavailable(
    routes: readonly RouteConfig[],
    details: { attempts: AttemptRecord[] },
    summary: string,
  ): GatewayError {
    const runtimes = [...new Set(routes.map((r) => this.registry.get(r.provider)))];
    const unconfigured = runtimes.filter((r) => r.setup !== null);
    const configured = runtimes.filter((r) => r.setup === null);
    if (configured.length === 0) {
      const setups = [...new Set(unconfigured.map((r) => r.setup))].join(', or ');
      return new GatewayError(
        'no_provider_available',
        `No provider is configured for this model: ${setups} (${summary}).`,
        {
          details,
          headers: {
            'Retry-After': String(UNCONFIGURED_RETRY_AFTER_S),
            'x-should-retry': 'false',
          },
        },
      );
    }
    const now = Date.now();
    const waits = configured.map((r) => r.breaker.snapshot().until - now);
    const retryAfter = Math.max(1, Math.ceil(Math.min(...waits) / 1000));
    const hints = unconfigured.map((r) => `; ${r.config.name} is unconfigured: ${r.setup}`);
    return new GatewayError(
      'no_provider_available',
      `No provider is available for this model right now (${summary})${hints.join('')}.`,
      { details, headers: { 'Retry-After': String(retryAfter) } },
    );
  }
}
