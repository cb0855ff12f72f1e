import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { GatewayConfigService, type ProviderConfig } from '@gateway/config';
import { GatewayMetrics } from '@gateway/observability';
import {
  CircuitBreaker,
  type CircuitSnapshot,
  type CircuitState,
} from './resilience/circuit-breaker';
import { RetryBudget } from './resilience/retry-budget';
import type { ProviderError, ProviderErrorKind } from './provider.error';

/**
 * `unconfigured`: the provider needs an API key and has none. It is not down: it is never probed,
 * never called, exports no `llm_gateway_provider_up`, and routes on it are skipped.
 */
export type ProviderHealth = 'up' | 'down' | 'unknown' | 'unconfigured';

/** One row of `GET /api/v1/admin/providers` (docs/api.md §4 and §7 "Providers"). */
export interface ProviderStatus {
  provider: string;
  status: ProviderHealth;
  circuit: CircuitState;
  last_error: string | null;
  last_checked_at: string | null;
}

/** Everything this instance knows about one provider. Mutated only through the registry. */
export interface ProviderRuntime {
  readonly config: ProviderConfig;
  readonly breaker: CircuitBreaker;
  readonly budget: RetryBudget;
  health: ProviderHealth;
  /** `set OPENAI_API_KEY` for an unconfigured provider, else null. Fixed at boot. */
  readonly setup: string | null;
  lastError: string | null;
  lastCheckedAt: Date | null;
}

export type CircuitTransitionListener = (provider: string, snapshot: CircuitSnapshot) => void;

/** Health-check failures that mean the provider cannot serve at all (they open its circuit). */
const UNREACHABLE: ReadonlySet<ProviderErrorKind> = new Set(['connection', 'timeout', 'server']);

/** A half-open probe slot is held at most this long past the provider's attempt timeout. */
const PROBE_SLACK_MS = 1_000;

/**
 * Per-provider runtime state of this instance: circuit breaker, retry budget, health. Bounded by
 * the catalog (one entry per provider, made at boot). Everything here is in memory, so routing
 * decisions cost no round trip; CircuitSyncService shares breaker transitions through Redis.
 */
@Injectable()
export class ProviderRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('Providers');
  private readonly runtimes = new Map<string, ProviderRuntime>();
  private readonly listeners: CircuitTransitionListener[] = [];

  constructor(
    private readonly config: GatewayConfigService,
    private readonly metrics: GatewayMetrics,
  ) {
    for (const provider of config.catalog.providers.values()) {
      const cb = provider.circuitBreaker;
      const setup =
        provider.missingCredential === null ? null : `set ${provider.missingCredential}`;
      const runtime: ProviderRuntime = {
        config: provider,
        breaker: new CircuitBreaker(
          { ...cb, probeTimeoutMs: provider.timeoutMs + PROBE_SLACK_MS },
          (state, origin) => this.onTransition(provider.name, state, origin),
        ),
        budget: new RetryBudget(),
        // `mock` makes no calls: it is as up as this process.
        health: setup !== null ? 'unconfigured' : provider.type === 'mock' ? 'up' : 'unknown',
        setup,
        lastError: null,
        lastCheckedAt: null,
      };
      this.runtimes.set(provider.name, runtime);
      if (provider.type === 'mock') this.metrics.providerUp.set({ provider: provider.name }, 1);
    }
  }

  /** One line per provider that cannot be used until its key is set, so boot logs say why. */
  onApplicationBootstrap(): void {
    for (const r of this.runtimes.values()) {
      if (r.setup === null) continue;
      this.logger.warn(
        { provider: r.config.name, missing: r.config.missingCredential },
        `provider ${r.config.name} is unconfigured: ${r.setup}`,
      );
    }
  }

  get(provider: string): ProviderRuntime {
    const runtime = this.runtimes.get(provider);
    if (!runtime) throw new Error(`provider ${provider} is not in the catalog`);
    return runtime;
  }

  all(): IterableIterator<ProviderRuntime> {
    return this.runtimes.values();
  }

  /** Called by CircuitSyncService: local transitions to publish to the fleet. */
  onLocalTransition(listener: CircuitTransitionListener): void {
    this.listeners.push(listener);
  }

  /** A health probe's result (null: healthy); feeds the breaker and the `provider_up` gauge. */
  recordHealth(provider: string, error: ProviderError | null, now = Date.now()): void {
    const r = this.get(provider);
    const recovered = error === null && r.health === 'down';
    r.health = error === null ? 'up' : 'down';
    r.lastCheckedAt = new Date(now);
    if (error !== null) r.lastError = `health check: ${error.kind}: ${error.message}`;
    r.breaker.onHealth(
      error === null ? 'ok' : UNREACHABLE.has(error.kind) ? 'unreachable' : 'other',
      now,
    );
    if (recovered) this.logger.log({ provider }, 'provider health check recovered');
    this.publishUp(r, now);
  }

  /** A call's result, for providers whose status is not known from health checks. */
  recordCall(provider: string, error: string | null): void {
    const r = this.get(provider);
    if (error !== null) {
      r.lastError = error;
      return;
    }
    if (r.config.healthCheck === false && r.health !== 'up') {
      r.health = 'up';
      this.publishUp(r, Date.now());
    }
  }

  statuses(now = Date.now()): ProviderStatus[] {
    return [...this.runtimes.values()].map((r) => ({
      provider: r.config.name,
      status: this.status(r, now),
      circuit: r.breaker.current(now),
      last_error: r.setup !== null ? `unconfigured: ${r.setup}` : r.lastError,
      last_checked_at: r.lastCheckedAt?.toISOString() ?? null,
    }));
  }

  /** Whether a request arriving now could be sent to this provider. */
  available(provider: string, now = Date.now()): boolean {
    const r = this.get(provider);
    return r.health !== 'down' && r.health !== 'unconfigured' && r.breaker.available(now);
  }

  /** Whether the provider has what it needs to be called at all (its API key); fixed at boot. */
  configured(provider: string): boolean {
    return this.get(provider).setup === null;
  }

  /** Takes the fleet's view of a breaker (from Redis). */
  adopt(provider: string, snapshot: CircuitSnapshot, now = Date.now()): void {
    const r = this.runtimes.get(provider);
    if (r?.breaker.adopt(snapshot, now)) this.publishUp(r, now);
  }

  private status(r: ProviderRuntime, now: number): ProviderHealth {
    if (r.health === 'unconfigured') return r.health;
    return r.breaker.current(now) === 'open' ? 'down' : r.health;
  }

  private onTransition(provider: string, state: CircuitState, origin: 'local' | 'fleet'): void {
    const r = this.runtimes.get(provider);
    if (!r) return;
    const level = state === 'open' ? 'warn' : 'log';
    this.logger[level]({ provider, circuit: state, origin }, `circuit ${state}`);
    this.publishUp(r, Date.now());
    if (origin === 'local' && state !== 'half_open') {
      const snapshot = r.breaker.snapshot();
      for (const listener of this.listeners) listener(provider, snapshot);
    }
  }

  /** An unconfigured provider has no series at all: a missing key is not an outage to alert on. */
  private publishUp(r: ProviderRuntime, now: number): void {
    const status = this.status(r, now);
    if (status === 'up' || status === 'down') {
      this.metrics.providerUp.set({ provider: r.config.name }, status === 'up' ? 1 : 0);
    }
  }
}
