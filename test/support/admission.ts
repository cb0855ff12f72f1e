/* Real AdmissionService instances, for the admission integration tests and `npm run drill:budget`. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AdmissionModule, AdmissionService } from '@gateway/admission';
import { type GatewayConfig, loadConfig } from '@gateway/config';
import type { TenantContext } from '@gateway/context';
import { GatewayMetrics } from '@gateway/observability';
import { RedisService } from '@gateway/redis';
import { TEST_CATALOG } from './catalog';
import type { TestDatabase } from './database';
import { infrastructureModules } from './nest';
import { SHARED_REDIS_URL } from './redis-keys';
import { until } from './wait';

export { SHARED_REDIS_URL } from './redis-keys';
export { tenantContext } from './tenant-context';
export { sleep, until } from './wait';

const silent: LoggerService = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
};

export interface AdmissionInstance {
  readonly admission: AdmissionService;
  readonly redis: RedisService;
  readonly metrics: GatewayMetrics;
  readonly config: GatewayConfig;
  readonly app: INestApplicationContext;
  close(): Promise<void>;
}

export interface StartAdmissionOptions {
  database: TestDatabase;
  /** Shared by the instances of one "deployment". */
  prefix: string;
  redisUrl?: string;
  /** REDIS_CLUSTER_NODES (host:port,…): cluster mode. */
  clusterNodes?: string;
  /** A different DATABASE_URL than the database's own (e.g. through a proxy that can freeze). */
  databaseUrl?: string;
  env?: Record<string, string>;
  /** Do not wait for Redis to be connected (it is down on purpose). */
  skipRedisWait?: boolean;
}

export function uniquePrefix(label: string): string {
  return `tadm-${label}-${randomBytes(4).toString('hex')}:`;
}

/**
 * One gateway instance's admission control: its own Nest context, so its own Redis connections
 * and Postgres pool, sharing state with other instances only through Redis and Postgres.
 */
export async function startAdmission(opts: StartAdmissionOptions): Promise<AdmissionInstance> {
  const env: Record<string, string> = {
    ADMIN_API_KEY: 'a'.repeat(40),
    GATEWAY_CONFIG: TEST_CATALOG,
    DATABASE_URL: opts.databaseUrl ?? opts.database.url,
    REDIS_URL: opts.redisUrl ?? SHARED_REDIS_URL,
    REDIS_KEY_PREFIX: opts.prefix,
    ALERT_WEBHOOK_ALLOW_PRIVATE: 'true',
    LOG_LEVEL: 'silent',
    ...(opts.clusterNodes ? { REDIS_CLUSTER_NODES: opts.clusterNodes } : {}),
    ...opts.env,
  };
  const config = loadConfig(env);
  const moduleRef = await Test.createTestingModule({
    imports: [...infrastructureModules(config), AdmissionModule],
  })
    .setLogger(process.env.TEST_ADMISSION_LOGS ? console : silent)
    .compile();
  const app = await moduleRef.init();
  const redis = app.get(RedisService);
  if (!opts.skipRedisWait) {
    await until(() => redis.client.status === 'ready', 10_000, 'redis ready');
    // A cluster client is 'ready' before it has every slot: wait for a real answer.
    await until(
      async () => {
        try {
          await redis.client.get(redis.keys.tenant(randomUUID(), 'probe'));
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      'redis answering',
    );
    // A connection that closed while it settled (a cluster converging) opened the circuit and put
    // admission in fallback; it resumes by itself within a second: start the test in shared mode.
    const admission = app.get(AdmissionService);
    await until(() => admission.isRedisAvailable(), 10_000, 'shared admission');
  }
  return {
    admission: app.get(AdmissionService),
    redis,
    metrics: app.get(GatewayMetrics),
    config,
    app,
    close: () => app.close(),
  };
}

/** Records spend the way the audit lib does: a request_records row. */
export async function insertRecord(
  db: TestDatabase,
  tenantId: string,
  costUnits: number,
  createdAt = new Date(),
): Promise<void> {
  await db.dataSource.query(
    `INSERT INTO request_records (request_id, tenant_id, api_key_id, created_at, endpoint, model,
       provider, provider_model, status_code, outcome, prompt_tokens, completion_tokens,
       cost_units, cost_saved_units, latency_ms, upstream_latency_ms, cached, attempts, error_code)
     VALUES ($1, $2, $3, $4, '/api/v1/completions', 'mock-model', 'mock', 'mock-1', 200,
       'success', 10, 10, $5, 0, 5, 4, false, '[]', NULL)`,
    [randomUUID(), tenantId, randomUUID(), createdAt.toISOString(), costUnits],
  );
}

/** The outcome of one admit() call: the ticket or the GatewayError code. */
export async function tryAdmit(
  admission: AdmissionService,
  tenant: TenantContext,
  demand: Parameters<AdmissionService['admit']>[1],
): Promise<
  | { ok: true; ticket: Awaited<ReturnType<AdmissionService['admit']>>; ms: number }
  | { ok: false; code: string; headers: Record<string, string>; ms: number }
> {
  const start = performance.now();
  try {
    const ticket = await admission.admit(tenant, demand);
    return { ok: true, ticket, ms: performance.now() - start };
  } catch (err) {
    const e = err as { code?: string; headers?: Record<string, string> };
    if (!e.code) throw err;
    return { ok: false, code: e.code, headers: { ...e.headers }, ms: performance.now() - start };
  }
}
