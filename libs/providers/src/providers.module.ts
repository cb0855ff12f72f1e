import { Module } from '@nestjs/common';
import { HealthCheckerService } from './health/health-checker.service';
import { ProviderCaller } from './provider-caller.service';
import { ProviderRegistry } from './provider-registry.service';
import { ProviderRouter } from './provider-router.service';
import { ProvidersService } from './providers.service';
import { CircuitSyncService } from './resilience/circuit-sync.service';
import { UpstreamClient } from './transport/upstream-client';

/**
 * Providers: adapters, the upstream transport, routing with retries, fallback and circuit
 * breakers and health checks (the admin views of providers and models are in libs/api). Needs the
 * global ConfigModule and ObservabilityModule; uses the global RedisModule when present.
 */
@Module({
  providers: [
    UpstreamClient,
    ProviderCaller,
    ProviderRegistry,
    ProviderRouter,
    CircuitSyncService,
    HealthCheckerService,
    ProvidersService,
  ],
  exports: [ProvidersService],
})
export class ProvidersModule {}
