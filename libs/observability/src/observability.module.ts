import { Global, Module } from '@nestjs/common';
import { GatewayMetrics } from './gateway-metrics.service';

/** Global: metrics are infrastructure every lib records into. */
@Global()
@Module({ providers: [GatewayMetrics], exports: [GatewayMetrics] })
export class ObservabilityModule {}
