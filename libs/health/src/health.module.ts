import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { MetricsController } from './metrics.controller';
import { RedisHealthIndicator } from './redis-health.indicator';
import { ShutdownService } from './shutdown.service';

const prometheus = PrometheusModule.register({
  path: '/metrics',
  defaultMetrics: { enabled: true },
  controller: MetricsController,
});

/**
 * prom-client names these gauges `_total`, a suffix reserved for counters, so `promtool check
 * metrics` fails on them. Their per-type siblings (`nodejs_active_handles{type}`, …) carry the same
 * numbers; sum them by type for the totals.
 */
const PROMTOOL_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;
for (const name of PROMTOOL_FAILING_DEFAULTS) register.removeSingleMetric(name);

/**
 * The open operational surface: `/health`, `/health/live`, `/health/ready`, `/metrics`, and the
 * draining state. Needs the global config, Redis and TypeORM connection (the app provides them);
 * metric families themselves live in @gateway/observability, on prom-client's default registry,
 * which `/metrics` serves. Import it early in the app's module list: its `onModuleDestroy`
 * marks the instance draining before other modules start closing.
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), prometheus],
  controllers: [HealthController],
  providers: [ShutdownService, HealthService, RedisHealthIndicator],
  exports: [ShutdownService, HealthService],
})
export class HealthModule {}
