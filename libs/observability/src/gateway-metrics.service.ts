import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, register } from 'prom-client';

// OpenTelemetry GenAI semantic-convention bucket boundaries.
const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const OVERHEAD_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];
/** From 25 µs to 1 s: a stage of a lone request takes tens to hundreds of microseconds. */
const STAGE_BUCKETS = [
  0.000025, 0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075, 0.001, 0.0015, 0.002,
  0.003, 0.005, 0.01, 0.025, 0.1, 1,
];

function once<T>(name: string, make: () => T): T {
  // Tests boot several apps in one process: reuse a family instead of registering it twice.
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * Every metric family of docs/api.md §8 (names fixed) plus the project's documented extensions.
 * Label values come from the catalog or admin-created tenant ids only, never from request input.
 */
@Injectable()
export class GatewayMetrics {
  readonly tokenUsage = once(
    'gen_ai_client_token_usage',
    () =>
      new Histogram({
        name: 'gen_ai_client_token_usage',
        help: 'Number of input and output tokens used (OTel GenAI).',
        labelNames: [
          'gen_ai_operation_name',
          'gen_ai_provider_name',
          'gen_ai_request_model',
          'gen_ai_token_type',
        ] as const,
        buckets: TOKEN_BUCKETS,
      }),
  );
  readonly operationDuration = once(
    'gen_ai_client_operation_duration_seconds',
    () =>
      new Histogram({
        name: 'gen_ai_client_operation_duration_seconds',
        help: 'GenAI operation duration (OTel GenAI).',
        labelNames: [
          'gen_ai_operation_name',
          'gen_ai_provider_name',
          'gen_ai_request_model',
          'error_type',
        ] as const,
        buckets: DURATION_BUCKETS,
      }),
  );
  readonly requestsTotal = once(
    'llm_gateway_requests_total',
    () =>
      new Counter({
        name: 'llm_gateway_requests_total',
        help: 'Tenant completion requests by outcome.',
        labelNames: ['tenant', 'model', 'provider', 'outcome'] as const,
      }),
  );
  readonly requestDuration = once(
    'llm_gateway_request_duration_seconds',
    () =>
      new Histogram({
        name: 'llm_gateway_request_duration_seconds',
        help: 'End-to-end request duration in the gateway.',
        labelNames: ['outcome'] as const,
        buckets: DURATION_BUCKETS,
      }),
  );
  readonly overhead = once(
    'llm_gateway_overhead_seconds',
    () =>
      new Histogram({
        name: 'llm_gateway_overhead_seconds',
        help: 'Time spent in the gateway, excluding the wait for the provider.',
        buckets: OVERHEAD_BUCKETS,
      }),
  );
  readonly tokensTotal = once(
    'llm_gateway_tokens_total',
    () =>
      new Counter({
        name: 'llm_gateway_tokens_total',
        help: 'Tokens billed, by tenant, provider, model and type.',
        labelNames: ['tenant', 'provider', 'model', 'type'] as const,
      }),
  );
  readonly costUsdTotal = once(
    'llm_gateway_cost_usd_total',
    () =>
      new Counter({
        name: 'llm_gateway_cost_usd_total',
        help: 'Cost in USD (exact per request; the counter is a float sum for dashboards only).',
        labelNames: ['tenant', 'provider', 'model'] as const,
      }),
  );
  readonly cacheRequests = once(
    'llm_gateway_cache_requests_total',
    () =>
      new Counter({
        name: 'llm_gateway_cache_requests_total',
        help: 'Response cache lookups by result.',
        labelNames: ['result'] as const,
      }),
  );
  /** Extension: Redis time of the cache lookup (on a miss also the coalescing lock attempt). */
  readonly cacheOperationDuration = once(
    'llm_gateway_cache_operation_duration_seconds',
    () =>
      new Histogram({
        name: 'llm_gateway_cache_operation_duration_seconds',
        help: 'Cache lookups (on a miss also the coalescing lock attempt), as awaited by the request (Redis round trip included).',
        labelNames: ['operation'] as const,
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      }),
  );
  /**
   * Extension, for debugging latency: a tenant request's time by stage (body, auth, admission,
   * provider, record, respond; libs/context request-stages.ts). Observed only with
   * `METRICS_REQUEST_STAGES=true`; empty otherwise. Fine buckets: the stages take microseconds.
   */
  readonly requestStage = once(
    'llm_gateway_request_stage_seconds',
    () =>
      new Histogram({
        name: 'llm_gateway_request_stage_seconds',
        help: 'Time of each stage of a request in the gateway (debug; METRICS_REQUEST_STAGES=true).',
        labelNames: ['stage'] as const,
        buckets: STAGE_BUCKETS,
      }),
  );
  readonly authLastKnown = once(
    'llm_gateway_auth_last_known_total',
    () =>
      new Counter({
        name: 'llm_gateway_auth_last_known_total',
        help: 'Requests authenticated from a key’s last known answer because Postgres could not answer.',
        labelNames: ['scope'] as const,
      }),
  );
  readonly rateLimited = once(
    'llm_gateway_rate_limited_total',
    () =>
      new Counter({
        name: 'llm_gateway_rate_limited_total',
        help: 'Requests refused by a rate limit.',
        labelNames: ['tenant', 'limit'] as const,
      }),
  );
  readonly budgetRejected = once(
    'llm_gateway_budget_rejected_total',
    () =>
      new Counter({
        name: 'llm_gateway_budget_rejected_total',
        help: 'Requests refused because the monthly budget could not cover them.',
        labelNames: ['tenant'] as const,
      }),
  );
  readonly fallbacks = once(
    'llm_gateway_fallbacks_total',
    () =>
      new Counter({
        name: 'llm_gateway_fallbacks_total',
        help: 'Fallbacks from one provider to the next within a request.',
        labelNames: ['from_provider', 'to_provider'] as const,
      }),
  );
  readonly providerUp = once(
    'llm_gateway_provider_up',
    () =>
      new Gauge({
        name: 'llm_gateway_provider_up',
        help: '1 when the provider is considered healthy, else 0.',
        labelNames: ['provider'] as const,
      }),
  );
  readonly auditPending = once(
    'llm_gateway_audit_pending',
    () =>
      new Gauge({
        name: 'llm_gateway_audit_pending',
        help: 'Audit records not yet committed to Postgres.',
      }),
  );

  // --- extensions (documented in docs/operations.md) ---
  readonly redisUp = once(
    'llm_gateway_redis_up',
    () =>
      new Gauge({
        name: 'llm_gateway_redis_up',
        help: '1 when Redis answers, else 0 (limits and budgets are in fallback mode).',
      }),
  );
  readonly alertsSent = once(
    'llm_gateway_budget_alerts_total',
    () =>
      new Counter({
        name: 'llm_gateway_budget_alerts_total',
        help: 'Budget alert webhooks by result.',
        labelNames: ['tenant', 'threshold', 'result'] as const,
      }),
  );
  readonly upstreamAttempts = once(
    'llm_gateway_upstream_attempts_total',
    () =>
      new Counter({
        name: 'llm_gateway_upstream_attempts_total',
        help: 'Calls made to providers, by outcome (retries and fallbacks included).',
        labelNames: ['provider', 'outcome'] as const,
      }),
  );
  readonly auditBatchRows = once(
    'llm_gateway_audit_batch_rows',
    () =>
      new Histogram({
        name: 'llm_gateway_audit_batch_rows',
        help: 'Rows per audit group-commit insert.',
        buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      }),
  );

  // --- audit outage spool (libs/audit, documented in docs/operations.md) ---
  /** Static: families are shared by every app a test process boots (see `once`). */
  private static spoolOldest: () => number | null = () => null;
  readonly auditSpoolRecords = once(
    'llm_gateway_audit_spool_records',
    () =>
      new Gauge({
        name: 'llm_gateway_audit_spool_records',
        help: 'Audit records in the local spool, durable but not yet replayed into Postgres.',
      }),
  );
  readonly auditSpoolBytes = once(
    'llm_gateway_audit_spool_bytes',
    () =>
      new Gauge({
        name: 'llm_gateway_audit_spool_bytes',
        help: 'Bytes the local audit spool holds.',
      }),
  );
  readonly auditSpoolMaxBytes = once(
    'llm_gateway_audit_spool_max_bytes',
    () =>
      new Gauge({
        name: 'llm_gateway_audit_spool_max_bytes',
        help: 'AUDIT_SPOOL_MAX_BYTES: past it, records that Postgres cannot take are refused.',
      }),
  );
  readonly auditSpoolOldestAge = once(
    'llm_gateway_audit_spool_oldest_age_seconds',
    () =>
      new Gauge({
        name: 'llm_gateway_audit_spool_oldest_age_seconds',
        help: 'Age of the oldest record in the local audit spool (0 when empty).',
        collect() {
          const oldest = GatewayMetrics.spoolOldest();
          this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
        },
      }),
  );
  readonly auditSpooled = once(
    'llm_gateway_audit_spooled_total',
    () =>
      new Counter({
        name: 'llm_gateway_audit_spooled_total',
        help: 'Audit records written to the local spool because Postgres could not take them.',
      }),
  );
  readonly auditReplayed = once(
    'llm_gateway_audit_replayed_total',
    () =>
      new Counter({
        name: 'llm_gateway_audit_replayed_total',
        help: 'Spooled audit records replayed into Postgres.',
      }),
  );
  readonly auditRejected = once(
    'llm_gateway_audit_rejected_total',
    () =>
      new Counter({
        name: 'llm_gateway_audit_rejected_total',
        help: 'Audit records Postgres refused for their content, kept in rejected.spool.',
      }),
  );
  readonly auditUnrecorded = once(
    'llm_gateway_audit_unrecorded_total',
    () =>
      new Counter({
        name: 'llm_gateway_audit_unrecorded_total',
        help: 'Audit records neither Postgres nor the spool could take (logged instead).',
      }),
  );

  /** The spool's oldest record (epoch ms, or null), read when /metrics is scraped. */
  setAuditSpoolOldest(source: () => number | null): void {
    GatewayMetrics.spoolOldest = source;
  }
  // --- Streaming (one block: time to first token, streamed requests, interruptions) ---
  /** From the request's arrival to the first text written to the client, for provider streams. */
  readonly timeToFirstToken = once(
    'gen_ai_server_time_to_first_token_seconds',
    () =>
      new Histogram({
        name: 'gen_ai_server_time_to_first_token_seconds',
        help: 'Time from the request to the first token sent to the client (OTel GenAI), streams answered by a provider.',
        labelNames: [
          'gen_ai_operation_name',
          'gen_ai_provider_name',
          'gen_ai_request_model',
        ] as const,
        // OTel GenAI's bucket boundaries for this family.
        buckets: [
          0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
        ],
      }),
  );
  readonly streamsTotal = once(
    'llm_gateway_streams_total',
    () =>
      new Counter({
        name: 'llm_gateway_streams_total',
        help: 'Streamed responses (200 text/event-stream) by outcome (audit vocabulary).',
        labelNames: ['outcome'] as const,
      }),
  );
  readonly streamInterruptions = once(
    'llm_gateway_stream_interruptions_total',
    () =>
      new Counter({
        name: 'llm_gateway_stream_interruptions_total',
        help: 'Streams that ended after their first byte without a clean end, by cause.',
        labelNames: ['provider', 'cause'] as const,
      }),
  );
}
