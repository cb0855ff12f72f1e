import { resolve } from 'node:path';
import { loadCatalogFile } from './catalog.loader';
import { parseCidrList } from './cidr';
import { ConfigError } from './config.error';
import type { GatewayConfig, LogLevel } from './config.types';
import { EnvReader } from './env-reader';

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
/** The repo's shipped catalog, found from the working directory the gateway is started in. */
export const DEFAULT_CATALOG_PATH = 'config/gateway.yaml';

/**
 * The one reader of the environment (STYLE §3). Validates every variable of CONTRACT §1 and the
 * project's extensions (docs/configuration.md), then loads the catalog. Throws ConfigError listing
 * every problem, one per line.
 */
export function loadConfig(env: Env = process.env): GatewayConfig {
  const r = new EnvReader(env);

  const clusterNodes = parseClusterNodes(r.raw('REDIS_CLUSTER_NODES'), r.problems);
  const catalogPath = resolve(r.string('GATEWAY_CONFIG', DEFAULT_CATALOG_PATH));

  const config = {
    server: {
      host: r.string('HOST', '0.0.0.0'),
      port: r.int('PORT', 8080, 0, 65535),
      maxBodyBytes: r.int('MAX_BODY_BYTES', 1_048_576, 1024, 64 * 1024 * 1024),
      keepAliveTimeoutMs: r.int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 65_000, 1_000, 3_600_000),
      shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', 25_000, 0, 600_000),
      shutdownDrainDelayMs: r.int('SHUTDOWN_DRAIN_DELAY_MS', 3_000, 0, 120_000),
    },
    database: {
      url: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/llm_gateway', [
        'postgres',
        'postgresql',
      ]),
      migrateOnBoot: r.bool('DB_MIGRATE_ON_BOOT', false),
      poolSize: r.int('DB_POOL_SIZE', 10, 1, 200),
    },
    redis: {
      url: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis', 'rediss']),
      clusterNodes,
      keyPrefix: r.string('REDIS_KEY_PREFIX', 'llmgw:'),
      commandTimeoutMs: r.int('REDIS_COMMAND_TIMEOUT_MS', 100, 5, 10_000),
    },
    cache: {
      redisDb: r.int('REDIS_CACHE_DB', 1, 0, 255),
      redisUrl:
        r.raw('REDIS_CACHE_URL') === undefined
          ? null
          : r.url('REDIS_CACHE_URL', '', ['redis', 'rediss']),
      coalesceWaitMs: r.int('CACHE_COALESCE_WAIT_MS', 120_000, 100, 600_000),
    },
    auth: {
      adminApiKey: r.required('ADMIN_API_KEY', (v) =>
        v.length < 32 ? `must be at least 32 characters (got ${v.length})` : null,
      ),
      keyCacheTtlMs: r.int('KEY_CACHE_TTL_MS', 800, 0, 1_000),
      trustedProxies: parseCidrList('TRUSTED_PROXIES', r.raw('TRUSTED_PROXIES'), r.problems),
    },
    audit: {
      durability: r.oneOf('AUDIT_DURABILITY', ['sync', 'async'] as const, 'sync'),
      batchMaxRows: r.int('AUDIT_BATCH_MAX_ROWS', 500, 1, 10_000),
    },
    admission: {
      budgetFailurePolicy: r.oneOf(
        'BUDGET_FAILURE_POLICY',
        ['fail-closed', 'fail-open'] as const,
        'fail-closed',
      ),
      alertWebhookAllowPrivate: r.bool('ALERT_WEBHOOK_ALLOW_PRIVATE', false),
    },
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logRequests: r.bool('LOG_REQUESTS', true),
    catalogPath,
  };

  const { catalog, problems } = loadCatalogFile(catalogPath, env);
  const all = [...r.problems, ...problems];
  if (all.length > 0) throw new ConfigError(all);
  return Object.freeze({ ...config, catalog });
}

function parseClusterNodes(
  value: string | undefined,
  problems: string[],
): Array<{ host: string; port: number }> {
  if (!value) return [];
  const nodes: Array<{ host: string; port: number }> = [];
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(.+):(\d{1,5})$/.exec(part);
    if (!m || Number(m[2]) > 65535) {
      problems.push(`REDIS_CLUSTER_NODES: "${part}" is not host:port`);
      continue;
    }
    nodes.push({ host: m[1], port: Number(m[2]) });
  }
  return nodes;
}

/** For the migration CLI: just the database settings, so it needs no ADMIN_API_KEY or catalog. */
export function loadDatabaseConfig(env: Env = process.env) {
  const r = new EnvReader(env);
  const database = {
    url: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/llm_gateway', [
      'postgres',
      'postgresql',
    ]),
    migrateOnBoot: false,
    poolSize: 2,
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return database;
}
