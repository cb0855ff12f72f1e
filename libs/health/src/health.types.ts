/** The three states of `GET /health` (CONTRACT §3). */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export type DependencyState = 'up' | 'down';

/** `unknown` when the app has no providers lib (e.g. a tooling app), which never degrades health. */
export type RouteState = 'ok' | 'degraded' | 'unknown';

/** What each dependency looked like when `/health` was answered (a documented extension). */
export interface HealthChecks {
  readonly postgres: DependencyState;
  readonly redis: DependencyState;
  readonly providers: RouteState;
  readonly draining: boolean;
}

/** The body of `GET /health`: the PRD's shape plus `checks`. */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly service: 'llm-gateway';
  readonly timestamp: string;
  readonly checks: HealthChecks;
}
