import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  HealthCheckService,
  type HealthCheckResult,
  HealthIndicatorService,
  type HealthIndicatorResult,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { AuditWriter } from '@gateway/audit';
import { ProvidersService } from '@gateway/providers';
import { healthStatus } from './health-status';
import type { AuditSpoolCheck, DependencyState, HealthReport, RouteState } from './health.types';
import { RedisHealthIndicator } from './redis-health.indicator';
import { ShutdownService } from './shutdown.service';

/** Kubernetes probes time out after 1 s by default; stay under it. */
export const POSTGRES_PING_TIMEOUT_MS = 800;

interface DependencyProbe {
  postgres: HealthIndicatorResult<'postgres'>;
  redis: HealthIndicatorResult<'redis'>;
}

export interface Readiness {
  ready: boolean;
  /** Terminus's result: `{status: ok|error|shutting_down, info, error, details}`. */
  result: HealthCheckResult;
}

/**
 * The facade of the health lib: `/health` (the PRD's three states) and readiness (Postgres and
 * Redis reachable, not draining). Concurrent callers share one round of pings, so a burst of
 * probes and monitors costs one `SELECT 1` and one `PING`. Up/down transitions are logged once
 * each (Terminus's own per-failure logging is off: a probe every few seconds would flood the log).
 */
@Injectable()
export class HealthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Health');
  private routes: Pick<ProvidersService, 'isDegraded'> | null = null;
  private audit: Pick<AuditWriter, 'spoolStatus'> | null = null;
  private inflight: Promise<DependencyProbe> | null = null;
  private lastPostgres: DependencyState = 'up';
  private lastRedis: DependencyState = 'up';

  constructor(
    private readonly checks: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly typeorm: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly shutdown: ShutdownService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * The providers lib is looked up, not imported: the app composes it, and health keeps working
   * (reporting `providers: unknown`) in an app without it.
   */
  onApplicationBootstrap(): void {
    try {
      this.routes = this.moduleRef.get(ProvidersService, { strict: false });
    } catch {
      this.routes = null;
    }
    try {
      this.audit = this.moduleRef.get(AuditWriter, { strict: false });
    } catch {
      this.audit = null;
    }
  }

  async report(): Promise<HealthReport> {
    const draining = this.shutdown.draining;
    // While draining the answer is `unhealthy` whatever the pings say, and the pools are closing:
    // report the last known states instead of logging a spurious outage.
    const deps = draining ? null : await this.probe();
    const checks = {
      postgres: deps ? deps.postgres.postgres.status : this.lastPostgres,
      redis: deps ? deps.redis.redis.status : this.lastRedis,
      providers: this.routeState(),
      draining,
      ...this.auditSpool(),
    };
    return {
      status: healthStatus(checks),
      service: 'llm-gateway',
      timestamp: new Date().toISOString(),
      checks,
    };
  }

  async readiness(): Promise<Readiness> {
    const indicators = this.shutdown.draining
      ? [() => this.drainingCheck()]
      : [
          () => this.drainingCheck(),
          async () => (await this.probe()).postgres,
          async () => (await this.probe()).redis,
        ];
    try {
      return { ready: true, result: await this.checks.check(indicators) };
    } catch (err) {
      // Terminus reports failure by throwing ServiceUnavailableException carrying the result.
      const result = (err as { getResponse?: () => unknown }).getResponse?.();
      if (isHealthCheckResult(result)) return { ready: false, result };
      throw err;
    }
  }

  private drainingCheck(): HealthIndicatorResult<'shutdown'> {
    const check = this.indicators.check('shutdown');
    const since = this.shutdown.drainingSince;
    return since ? check.down({ draining_since: since.toISOString() }) : check.up();
  }

  private auditSpool(): { audit_spool?: AuditSpoolCheck } {
    const s = this.audit?.spoolStatus();
    if (!s) return {};
    return {
      audit_spool: {
        mode: s.mode,
        records: s.records,
        bytes: s.bytes,
        max_bytes: s.maxBytes,
        oldest_age_seconds: Math.round(s.oldestAgeSeconds * 1000) / 1000,
      },
    };
  }

  private routeState(): RouteState {
    if (!this.routes) return 'unknown';
    try {
      return this.routes.isDegraded() ? 'degraded' : 'ok';
    } catch (err) {
      this.logger.warn({ err }, 'providers health could not be read');
      return 'unknown';
    }
  }

  private probe(): Promise<DependencyProbe> {
    this.inflight ??= this.pingAll().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async pingAll(): Promise<DependencyProbe> {
    const [postgres, redis] = await Promise.all([
      this.typeorm.pingCheck('postgres', { timeout: POSTGRES_PING_TIMEOUT_MS }),
      this.redis.pingCheck('redis'),
    ]);
    this.lastPostgres = this.logTransition('postgres', this.lastPostgres, postgres.postgres);
    this.lastRedis = this.logTransition('redis', this.lastRedis, redis.redis);
    return { postgres, redis };
  }

  private logTransition(
    name: string,
    before: DependencyState,
    now: { status: DependencyState; message?: unknown },
  ): DependencyState {
    if (now.status !== before) {
      if (now.status === 'down') {
        this.logger.warn({ dependency: name, reason: now.message ?? null }, `${name} is down`);
      } else {
        this.logger.log({ dependency: name }, `${name} is back up`);
      }
    }
    return now.status;
  }
}

function isHealthCheckResult(value: unknown): value is HealthCheckResult {
  return (
    typeof value === 'object' &&
    value !== null &&
    'status' in value &&
    'details' in value &&
    typeof (value as { status: unknown }).status === 'string'
  );
}
