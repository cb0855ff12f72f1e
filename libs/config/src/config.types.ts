import type { CidrBlock } from './cidr';

/** The whole validated configuration: read once at boot, immutable afterwards. */
export interface GatewayConfig {
  readonly server: ServerConfig;
  readonly database: DatabaseConfig;
  readonly redis: RedisConfig;
  readonly cache: CacheConfig;
  readonly auth: AuthConfig;
  readonly audit: AuditConfig;
  readonly admission: AdmissionConfig;
  readonly logLevel: LogLevel;
  /** One access-log line per request (pino-http); off saves a few µs of CPU per request. */
  readonly logRequests: boolean;
  /** Debug: observe `llm_gateway_request_stage_seconds` for every request (off by default). */
  readonly metricsRequestStages: boolean;
  readonly catalogPath: string;
  readonly catalog: Catalog;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  /** Request bodies over this size get 413 `request_too_large`. */
  readonly maxBodyBytes: number;
  /** Above common load-balancer idle timeouts (AWS ALB 60 s) so the LB closes first. */
  readonly keepAliveTimeoutMs: number;
  /** How long SIGTERM waits for in-flight requests before closing anyway. */
  readonly shutdownGraceMs: number;
  /**
   * After SIGTERM, how long the server keeps accepting while readiness already answers 503, so
   * load balancers stop routing here before the listener closes.
   */
  readonly shutdownDrainDelayMs: number;
}

export interface DatabaseConfig extends DatabaseDeadlines {
  readonly url: string;
  readonly migrateOnBoot: boolean;
  readonly poolSize: number;
}

/**
 * Every Postgres call has a deadline, so a frozen or unreachable server (SIGSTOP, a dropped
 * network) costs a request seconds, never an unbounded wait. 0 turns one off.
 */
export interface DatabaseDeadlines {
  /** Opening a connection, or waiting for a free one in the pool. */
  readonly connectTimeoutMs: number;
  /** Client side: a query without an answer by then fails, and its connection is discarded. */
  readonly queryTimeoutMs: number;
  /** Server side (`statement_timeout`): the server cancels a statement running longer. */
  readonly statementTimeoutMs: number;
  /** Server side (`idle_in_transaction_session_timeout`): an abandoned transaction's locks go. */
  readonly idleInTransactionTimeoutMs: number;
  /** TCP keepalive idle time on every connection (a peer gone silently is noticed). */
  readonly keepAliveIdleMs: number;
}

export interface RedisConfig {
  readonly url: string;
  /** Non-empty selects Redis Cluster mode. */
  readonly clusterNodes: ReadonlyArray<{ host: string; port: number }>;
  /** Prepended to every key, so several gateways (or test runs) can share one Redis. */
  readonly keyPrefix: string;
  /** Fail fast: a command that takes longer is treated as Redis being unavailable. */
  readonly commandTimeoutMs: number;
}

/** The response cache's Redis (docs/caching.md). */
export interface CacheConfig {
  /**
   * Logical database of the cache entries on a standalone Redis (ignored in cluster mode), already
   * resolved: connections pass it as `db` on a URL stripped of its own database.
   */
  readonly redisDb: number;
  /** A dedicated Redis for the cache, with its own maxmemory and eviction policy; null = REDIS_URL. */
  readonly redisUrl: string | null;
  /** How long identical requests wait for the one in flight before calling the provider themselves. */
  readonly coalesceWaitMs: number;
}

export interface AuthConfig {
  readonly adminApiKey: string;
  /** Upper bound on how long a key lookup is trusted without re-reading Postgres. */
  readonly keyCacheTtlMs: number;
  /**
   * Proxies whose `X-Forwarded-For` entry names the client (for the failed-authentication
   * throttle); empty: the socket's peer is the client.
   */
  readonly trustedProxies: readonly CidrBlock[];
}

export interface AuditConfig {
  /** `sync`: a response waits for its record to be durable; `async`: it does not. */
  readonly durability: 'sync' | 'async';
  readonly batchMaxRows: number;
  /** How long one audit INSERT may take before its batch goes to the local spool instead. */
  readonly insertTimeoutMs: number;
  /** Directory of the outage spool (absolute); one process per directory. */
  readonly spoolDir: string;
  /** Most bytes the spool may hold; beyond it records are refused (503 in sync mode). */
  readonly spoolMaxBytes: number;
}

export interface AdmissionConfig {
  /** Budgets when neither Redis nor Postgres can answer: refuse (503) or admit. */
  readonly budgetFailurePolicy: 'fail-closed' | 'fail-open';
  readonly alertWebhookAllowPrivate: boolean;
}

export type ProviderType = 'openai' | 'anthropic' | 'openai-compatible' | 'mock';

export interface HealthCheckConfig {
  readonly path: string;
  readonly intervalMs: number;
}

export interface ProviderConfig {
  readonly name: string;
  readonly type: ProviderType;
  /** Absent only for `mock`. No trailing slash. */
  readonly baseUrl: string | null;
  /** Secret: never logged, never echoed. Empty string when not configured. */
  readonly apiKey: string;
  /**
   * Null when the provider can be called. Otherwise it needs an API key and has none (it is
   * `unconfigured`), and this names what to set: the environment variable its `api_key` reads
   * (`OPENAI_API_KEY`), or the catalog field when the key is written in the file.
   */
  readonly missingCredential: string | null;
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Total time this provider may take within one request: its attempts and their backoff (default `timeoutMs`). */
  readonly deadlineMs: number;
  /** Retries on the same provider before moving to the next route. */
  readonly maxRetries: number;
  readonly healthCheck: HealthCheckConfig | false;
  /** `mock` only: simulated latency. */
  readonly latencyMs: number;
  /** Upstream response bodies larger than this are refused as invalid. */
  readonly maxResponseBytes: number;
  readonly circuitBreaker: CircuitBreakerConfig;
}

/** When a provider is taken out of rotation and how long for (docs/providers.md). */
export interface CircuitBreakerConfig {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** Share of failed calls in the window (0–1] that opens it… */
  readonly failureRatio: number;
  /** …once the window holds at least this many calls. */
  readonly minRequests: number;
  readonly windowMs: number;
  /** First ejection; doubled on each further trip… */
  readonly openMs: number;
  /** …up to this (kept below 5 s so a recovered provider gets traffic back within 5 s). */
  readonly maxOpenMs: number;
}

/**
 * A price in units of 1e-10 USD per token. Catalog prices are USD per 1M tokens with at most
 * 4 decimals, so every price (and so every cost) is an exact integer in these units.
 */
export type PricePerToken = number;

export interface ModelPrice {
  /** Units of 1e-10 USD per prompt token. */
  readonly input: PricePerToken;
  /** Units of 1e-10 USD per completion token. */
  readonly output: PricePerToken;
  /** The published per-1M prices as written in the catalog, for display. */
  readonly inputPerMillion: string;
  readonly outputPerMillion: string;
  /** The model's largest possible completion, reserved when a request has no `max_tokens`. */
  readonly maxOutputTokens: number;
}

export interface RouteConfig {
  readonly provider: string;
  readonly model: string;
  readonly price: ModelPrice;
  /**
   * Embedding routes only: the length of the vectors the model returns by default (catalog
   * `dimensions`), when declared. Bounds a request's `dimensions` and sizes the `mock` provider's
   * vectors.
   */
  readonly dimensions?: number;
}

/**
 * What a model alias answers: `chat` (the completion endpoints) or `embedding` (`/v1/embeddings`).
 * A request to the other kind's endpoint is refused before anything is reserved or called.
 */
export type ModelKind = 'chat' | 'embedding';

export interface ModelConfig {
  readonly alias: string;
  readonly kind: ModelKind;
  readonly routes: readonly RouteConfig[];
}

export interface Catalog {
  readonly providers: ReadonlyMap<string, ProviderConfig>;
  readonly models: ReadonlyMap<string, ModelConfig>;
}
