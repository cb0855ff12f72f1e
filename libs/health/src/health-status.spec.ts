import { healthStatus } from './health-status';
import type { HealthChecks } from './health.types';

const ok: HealthChecks = { postgres: 'up', redis: 'up', providers: 'ok', draining: false };

describe('healthStatus', () => {
  it('is healthy when every dependency is up', () => {
    expect(healthStatus(ok)).toBe('healthy');
  });

  it('is healthy when no providers lib reports (unknown never degrades)', () => {
    expect(healthStatus({ ...ok, providers: 'unknown' })).toBe('healthy');
  });

  it('is degraded when Redis is down', () => {
    expect(healthStatus({ ...ok, redis: 'down' })).toBe('degraded');
  });

  it('is degraded when some model has no available route', () => {
    expect(healthStatus({ ...ok, providers: 'degraded' })).toBe('degraded');
  });

  it('is degraded while audit records wait in the local spool, healthy once it is empty', () => {
    const spool = {
      mode: 'postgres',
      records: 0,
      bytes: 0,
      max_bytes: 1024,
      oldest_age_seconds: 0,
    } as const;
    expect(healthStatus({ ...ok, audit_spool: spool })).toBe('healthy');
    expect(
      healthStatus({
        ...ok,
        audit_spool: { ...spool, records: 3, bytes: 900, oldest_age_seconds: 2 },
      }),
    ).toBe('degraded');
  });

  it('is unhealthy when Postgres is down, whatever else is up', () => {
    expect(healthStatus({ ...ok, postgres: 'down' })).toBe('unhealthy');
    expect(healthStatus({ ...ok, postgres: 'down', redis: 'down' })).toBe('unhealthy');
  });

  it('is unhealthy while draining, even with every dependency up', () => {
    expect(healthStatus({ ...ok, draining: true })).toBe('unhealthy');
  });
});
