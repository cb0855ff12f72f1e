import type { HealthChecks, HealthStatus } from './health.types';

/**
 * docs/api.md §3/§9: `unhealthy` when the gateway cannot serve (no Postgres means no durable audit
 * record, so no request can be answered; draining means it is going away), `degraded` when it
 * serves with reduced guarantees (Redis down: limits and budgets in fallback mode; some model
 * without an available route; audit records waiting in the local spool).
 */
export function healthStatus(checks: HealthChecks): HealthStatus {
  if (checks.draining || checks.postgres === 'down') return 'unhealthy';
  if (checks.redis === 'down' || checks.providers === 'degraded') return 'degraded';
  // Records waiting in the local spool are durable but not yet in the ledger (reports lag).
  if (checks.audit_spool && checks.audit_spool.records > 0) return 'degraded';
  return 'healthy';
}
