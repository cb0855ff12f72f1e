export { ObservabilityModule } from './observability.module';
export { GatewayMetrics } from './gateway-metrics.service';
export { chooseRequestId } from './request-id';
