import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { MetricsController } from './metrics.controller';
import { RedisHealthIndicator } from './redis-health.indicator';
import { ShutdownService } from './shutdown.service';

/**
 * The open operational surface: `/health`, `/health/live`, `/health/ready`, `/metrics`, and the
 * draining state. Needs the global config, Redis and TypeORM connection (the app provides them);
 * metric families themselves live in @gateway/observability, on prom-client's default registry,
 * which `/metrics` serves. Import it early in the app's module list: its `onModuleDestroy`
 * marks the instance draining before other modules start closing.
 */
@Module({
  imports: [
    TerminusModule.forRoot({ logger: false }),
    PrometheusModule.register({
      path: '/metrics',
      defaultMetrics: { enabled: true },
      controller: MetricsController,
    }),
  ],
  controllers: [HealthController],
  providers: [ShutdownService, HealthService, RedisHealthIndicator],
  exports: [ShutdownService, HealthService],
})
export class HealthModule {}
