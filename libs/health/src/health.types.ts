/** The three states of `GET /health` (docs/api.md §3). */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export type DependencyState = 'up' | 'down';

/** `unknown` when the app has no providers lib (e.g. a tooling app), which never degrades health. */
export type RouteState = 'ok' | 'degraded' | 'unknown';

/** The audit outage spool: records durable locally and not yet in Postgres. */
export interface AuditSpoolCheck {
  readonly mode: 'postgres' | 'spooling';
  readonly records: number;
  readonly bytes: number;
  readonly max_bytes: number;
  readonly oldest_age_seconds: number;
}

/** What each dependency looked like when `/health` was answered (a documented extension). */
export interface HealthChecks {
  readonly postgres: DependencyState;
  readonly redis: DependencyState;
  readonly providers: RouteState;
  readonly draining: boolean;
  /** Absent in an app without the audit lib. */
  readonly audit_spool?: AuditSpoolCheck;
}

/** The body of `GET /health`: the PRD's shape plus `checks`. */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly service: 'llm-gateway';
  readonly timestamp: string;
  readonly checks: HealthChecks;
}
