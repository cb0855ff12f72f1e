import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { HealthCheckConfig, ProviderConfig } from '@gateway/config';
import { ProviderCaller } from '../provider-caller.service';
import type { ProviderError } from '../provider.error';
import { ProviderRegistry, type ProviderRuntime } from '../provider-registry.service';

/** A probe answers fast or counts as failed. */
const MAX_PROBE_TIMEOUT_MS = 2_000;
/**
 * While a provider is down it is probed at least this often, whatever its interval, so its
 * recovery is noticed (and traffic returns) well within 5 s (docs/api.md §7).
 */
const DOWN_INTERVAL_MS = 1_000;
/** Room for timer and event-loop delays, so `interval_ms` holds as a bound under load. */
const TIMER_SLACK_MS = 250;

/**
 * Periodic cheap probes (the models endpoint by default) per provider with a `health_check`. Each
 * result feeds the provider's breaker, `llm_gateway_provider_up`, statuses() and `/health`;
 * readiness never depends on them.
 *
 * `interval_ms` is the longest an outage goes unnoticed: probes start `interval − probe timeout`
 * after the previous one ended, so even a hung provider (the probe times out) is seen within it.
 * Unconfigured providers (no API key) are not probed: they could only answer 401, which would
 * read as an outage.
 */
@Injectable()
export class HealthCheckerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Providers');
  /** One per probed provider: bounded by the catalog. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly caller: ProviderCaller,
  ) {}

  onApplicationBootstrap(): void {
    for (const runtime of this.registry.all()) {
      const { config } = runtime;
      if (config.type === 'mock' || config.healthCheck === false) continue;
      if (runtime.health === 'unconfigured') continue;
      this.schedule(runtime, 0);
    }
  }

  /** Stops before the transport closes its pools, so shutdown does not read as an outage. */
  onModuleDestroy(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Runs one probe now and records it. */
  async probe(runtime: ProviderRuntime): Promise<void> {
    const { config } = runtime;
    const hc = config.healthCheck;
    if (hc === false) return;
    let error: ProviderError | null = null;
    try {
      await this.caller.probe(config, hc.path, probeTimeoutMs(config, hc));
    } catch (err) {
      error = ProviderCaller.toProviderError(err);
    }
    if (this.stopped) return;
    if (error !== null && runtime.health !== 'down') {
      this.logger.warn(
        { provider: config.name, kind: error.kind, error: error.message },
        'provider health check failed',
      );
    }
    this.registry.recordHealth(config.name, error);
  }

  private schedule(runtime: ProviderRuntime, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      void this.probe(runtime).finally(() => {
        const hc = runtime.config.healthCheck;
        if (hc === false) return;
        const down = runtime.health === 'down';
        const next = down
          ? Math.min(hc.intervalMs, DOWN_INTERVAL_MS)
          : Math.max(hc.intervalMs - probeTimeoutMs(runtime.config, hc) - TIMER_SLACK_MS, 50);
        this.schedule(runtime, next);
      });
    }, delayMs);
    timer.unref();
    this.timers.set(runtime.config.name, timer);
  }
}

function probeTimeoutMs(config: ProviderConfig, hc: HealthCheckConfig): number {
  return Math.max(
    50,
    Math.min(config.timeoutMs, MAX_PROBE_TIMEOUT_MS, Math.floor(hc.intervalMs / 2)),
  );
}
