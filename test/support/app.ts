import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { loadConfig, type GatewayConfig } from '@gateway/config';
import { createGatewayApp } from '../../apps/gateway/src/bootstrap';
import { TEST_CATALOG } from './catalog';
import { createTestDatabase, type TestDatabase } from './database';

export { TEST_CATALOG };

export interface StartOptions {
  /** Extra environment (e.g. OPENAI_BASE_URL of a fake upstream, limits, durability). */
  env?: Record<string, string>;
  /** Path of a catalog file; defaults to test/support/catalog.test.yaml. */
  catalog?: string;
  /** Reuse a database (e.g. a second instance of the same deployment). */
  database?: TestDatabase;
  /** Reuse a Redis key prefix (a second instance shares the first one's Redis state). */
  redisKeyPrefix?: string;
}

export interface TestGateway {
  url: string;
  app: NestExpressApplication;
  config: GatewayConfig;
  database: TestDatabase;
  adminKey: string;
  redisKeyPrefix: string;
  env: Record<string, string>;
  /** supertest agent bound to this instance. */
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * Boots the real app in-process on a random port, with a fresh migrated database (unless one is
 * passed) and a unique Redis key prefix, against the shared local Postgres and Redis.
 */
export async function startGateway(opts: StartOptions = {}): Promise<TestGateway> {
  const ownsDatabase = !opts.database;
  const database = opts.database ?? (await createTestDatabase('e2e'));
  const redisKeyPrefix = opts.redisKeyPrefix ?? `t${randomBytes(5).toString('hex')}:`;
  const adminKey = opts.env?.ADMIN_API_KEY ?? `admin-${randomBytes(24).toString('hex')}`;
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: database.url,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: redisKeyPrefix,
    ADMIN_API_KEY: adminKey,
    GATEWAY_CONFIG: opts.catalog ?? TEST_CATALOG,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ALERT_WEBHOOK_ALLOW_PRIVATE: 'true',
    // One audit spool directory per app (two instances may not share one).
    AUDIT_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'llmgw-spool-')),
    ...opts.env,
  };
  const config = loadConfig(env);
  const app = await createGatewayApp(config);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    app,
    config,
    database,
    adminKey,
    redisKeyPrefix,
    env,
    http: () => request(url),
    async close() {
      await app.close();
      if (!opts.env?.AUDIT_SPOOL_DIR) rmSync(env.AUDIT_SPOOL_DIR, { recursive: true, force: true });
      if (ownsDatabase) await database.drop();
    },
  };
}

export interface CreatedTenant {
  tenant_id: string;
  api_key: string;
  key_id: string;
  [field: string]: unknown;
}

/** Creates a tenant through the admin API (each test makes its own tenants). */
export async function createTenant(
  gw: TestGateway,
  body: Record<string, unknown> = {},
): Promise<CreatedTenant> {
  const res = await gw
    .http()
    .post('/api/v1/admin/tenants')
    .set('X-API-Key', gw.adminKey)
    .send({
      name: `tenant-${randomBytes(3).toString('hex')}`,
      rate_limit: 1000,
      monthly_budget: 100,
      ...body,
    });
  if (res.status !== 201) {
    throw new Error(`createTenant failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body as CreatedTenant;
}

/** A tenant's audit records through the admin API (newest first, up to 500). */
export async function auditOf<T = Record<string, unknown>>(
  gw: TestGateway,
  tenantId: string,
): Promise<T[]> {
  const res = await gw
    .http()
    .get(`/api/v1/admin/audit?tenant_id=${tenantId}&limit=500`)
    .set('X-API-Key', gw.adminKey);
  expect(res.status).toBe(200);
  return res.body.data as T[];
}
