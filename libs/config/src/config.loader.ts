import { resolve } from 'node:path';
import { loadCatalogFile } from './catalog.loader';
import { parseCidrList } from './cidr';
import { ConfigError } from './config.error';
import type { DatabaseDeadlines, GatewayConfig, LogLevel } from './config.types';
import { EnvReader } from './env-reader';
import { redisUrlDatabase } from './redis-url';

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
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** The response cache's logical database when neither REDIS_CACHE_DB nor REDIS_CACHE_URL names one. */
const DEFAULT_CACHE_DB = 1;
/** The repo's shipped catalog, found from the working directory the gateway is started in. */
export const DEFAULT_CATALOG_PATH = 'config/gateway.yaml';
/** Relative to the working directory, like the catalog; images and charts set an absolute path. */
export const DEFAULT_AUDIT_SPOOL_DIR = 'var/audit-spool';

/**
 * The one reader of the environment. Validates every variable of docs/api.md §1 and the
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
      ...readDatabaseDeadlines(r),
    },
    redis: {
      url: r.url('REDIS_URL', DEFAULT_REDIS_URL, ['redis', 'rediss']),
      clusterNodes,
      keyPrefix: r.string('REDIS_KEY_PREFIX', 'llmgw:'),
      commandTimeoutMs: r.int('REDIS_COMMAND_TIMEOUT_MS', 100, 5, 10_000),
    },
    cache: {
      ...cacheRedis(r, clusterNodes.length > 0),
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
      insertTimeoutMs: r.int('AUDIT_INSERT_TIMEOUT_MS', 1_500, 50, 60_000),
      spoolDir: resolve(r.string('AUDIT_SPOOL_DIR', DEFAULT_AUDIT_SPOOL_DIR)),
      spoolMaxBytes: r.int('AUDIT_SPOOL_MAX_BYTES', 512 * 1024 * 1024, 1024 * 1024),
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
    metricsRequestStages: r.bool('METRICS_REQUEST_STAGES', false),
    catalogPath,
  };

  const { catalog, problems } = loadCatalogFile(catalogPath, env);
  const all = [...r.problems, ...problems];
  if (all.length > 0) throw new ConfigError(all);
  return Object.freeze({ ...config, catalog });
}

/**
 * Defaults sum to under 5 s for one call (wait for a connection + the query), the longest a
 * request may wait on a Postgres that stopped answering. The statement timeout is below the
 * query timeout so that a merely slow statement is cancelled by the server, which keeps the
 * connection, before the client gives up and discards it.
 */
export const DATABASE_DEADLINE_DEFAULTS: DatabaseDeadlines = Object.freeze({
  connectTimeoutMs: 2_000,
  queryTimeoutMs: 2_500,
  statementTimeoutMs: 2_000,
  idleInTransactionTimeoutMs: 5_000,
  keepAliveIdleMs: 10_000,
});

function readDatabaseDeadlines(r: EnvReader): DatabaseDeadlines {
  const d = DATABASE_DEADLINE_DEFAULTS;
  const deadlines = {
    connectTimeoutMs: r.int('DB_CONNECT_TIMEOUT_MS', d.connectTimeoutMs, 0, 600_000),
    queryTimeoutMs: r.int('DB_QUERY_TIMEOUT_MS', d.queryTimeoutMs, 0, 3_600_000),
    statementTimeoutMs: r.int('DB_STATEMENT_TIMEOUT_MS', d.statementTimeoutMs, 0, 3_600_000),
    idleInTransactionTimeoutMs: r.int(
      'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS',
      d.idleInTransactionTimeoutMs,
      0,
      3_600_000,
    ),
    keepAliveIdleMs: r.int('DB_KEEPALIVE_IDLE_MS', d.keepAliveIdleMs, 1_000, 3_600_000),
  };
  if (
    deadlines.queryTimeoutMs > 0 &&
    (deadlines.statementTimeoutMs === 0 || deadlines.statementTimeoutMs > deadlines.queryTimeoutMs)
  ) {
    r.problems.push(
      `DB_STATEMENT_TIMEOUT_MS: must be between 1 and DB_QUERY_TIMEOUT_MS (${deadlines.queryTimeoutMs}) so the server cancels a slow statement before the client drops its connection`,
    );
  }
  return deadlines;
}

/**
 * Where the cache's entries live. The database in REDIS_URL belongs to the limiters only: ioredis
 * would let it win over REDIS_CACHE_DB and quietly put the cache in the limiters' keyspace, so the
 * cache connection drops it (redisUrlWithoutDatabase) and a pair that still lands both in one
 * database, or a REDIS_CACHE_DB that contradicts REDIS_CACHE_URL's database, fails the boot.
 */
function cacheRedis(r: EnvReader, cluster: boolean): { redisDb: number; redisUrl: string | null } {
  const explicitDb =
    r.raw('REDIS_CACHE_DB') === undefined ? null : r.int('REDIS_CACHE_DB', 1, 0, 255);
  if (r.raw('REDIS_CACHE_URL') !== undefined) {
    const redisUrl = r.url('REDIS_CACHE_URL', '', ['redis', 'rediss']);
    const urlDb = redisUrlDatabase(redisUrl);
    if (explicitDb !== null && urlDb !== null && explicitDb !== urlDb)
      r.problems.push(
        `REDIS_CACHE_DB: ${explicitDb} contradicts the database in REDIS_CACHE_URL (${urlDb}): set only one`,
      );
    return { redisDb: explicitDb ?? urlDb ?? DEFAULT_CACHE_DB, redisUrl };
  }
  const redisDb = explicitDb ?? DEFAULT_CACHE_DB;
  // Cluster mode has only database 0: REDIS_CACHE_DB is ignored there (docs/caching.md).
  const mainDb = redisUrlDatabase(r.string('REDIS_URL', DEFAULT_REDIS_URL)) ?? 0;
  if (!cluster && redisDb === mainDb)
    r.problems.push(
      `REDIS_CACHE_DB: ${redisDb}${explicitDb === null ? ' (the default)' : ''} is also REDIS_URL's database: the cache needs its own (set REDIS_CACHE_DB to another, or REDIS_CACHE_URL)`,
    );
  return { redisDb, redisUrl: null };
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

/**
 * For the migration CLI: just the database settings, so it needs no ADMIN_API_KEY or catalog. A
 * migration may rightly run for minutes (an index on a big table): no query or statement timeout.
 */
export function loadDatabaseConfig(env: Env = process.env) {
  const r = new EnvReader(env);
  const database = {
    url: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/llm_gateway', [
      'postgres',
      'postgresql',
    ]),
    migrateOnBoot: false,
    poolSize: 2,
    ...DATABASE_DEADLINE_DEFAULTS,
    queryTimeoutMs: 0,
    statementTimeoutMs: 0,
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return database;
}
