export { HealthModule } from './health.module';
export { HealthService, type Readiness } from './health.service';
export { ShutdownService } from './shutdown.service';
export { healthStatus } from './health-status';
export type {
  DependencyState,
  HealthChecks,
  HealthReport,
  HealthStatus,
  RouteState,
} from './health.types';
